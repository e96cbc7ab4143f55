//! `qemu-img` wrappers: info, convert with progress, check, compare, and
//! the overlay the fix stage works on. Exit codes are interpreted as
//! qemu-img documents them (see /work/shared/reference/hyper2kvm.md).

use std::path::{Path, PathBuf};

use regex::Regex;
use serde::{Deserialize, Serialize};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use super::command::{self, describe_status, CommandError, CommandOutput};

/// The program name looked up on PATH.
pub(crate) const QEMU_IMG: &str = "qemu-img";

/// Errors of qemu-img operations.
#[derive(Debug, thiserror::Error)]
pub(crate) enum QemuError {
    /// qemu-img is not on PATH.
    #[error("qemu-img is not installed (Debian/Ubuntu: apt-get install qemu-utils)")]
    NotInstalled,
    /// It could not be started.
    #[error("cannot run qemu-img {op}: {source}")]
    Spawn {
        /// The subcommand.
        op: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// It failed.
    #[error("qemu-img {op} {path} failed ({status}): {message}")]
    Failed {
        /// The subcommand.
        op: &'static str,
        /// The image it worked on.
        path: PathBuf,
        /// Exit code or signal.
        status: String,
        /// What qemu-img said.
        message: String,
    },
    /// It printed something we could not read.
    #[error("qemu-img {op} {path}: unexpected output: {message}")]
    BadOutput {
        /// The subcommand.
        op: &'static str,
        /// The image it worked on.
        path: PathBuf,
        /// The parse error.
        message: String,
    },
    /// The pipeline was cancelled; qemu-img was stopped.
    #[error("cancelled")]
    Cancelled,
}

impl QemuError {
    fn from_command(op: &'static str, error: CommandError) -> Self {
        match error {
            CommandError::Cancelled => Self::Cancelled,
            CommandError::Spawn { source, .. } => Self::Spawn { op, source },
        }
    }
}

/// What `qemu-img info --output=json` says about one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ImageInfo {
    /// The file name as qemu-img saw it.
    pub(crate) filename: String,
    /// The detected format (`vpc` for VHD).
    pub(crate) format: String,
    /// Size of the disk the guest sees, in bytes.
    #[serde(rename = "virtual-size")]
    pub(crate) virtual_size: u64,
    /// Bytes allocated on the host.
    #[serde(rename = "actual-size", default)]
    pub(crate) actual_size: Option<u64>,
    /// Cluster size, for formats that have one.
    #[serde(
        rename = "cluster-size",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) cluster_size: Option<u64>,
    /// The backing file, when the image has one.
    #[serde(
        rename = "backing-filename",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) backing_filename: Option<String>,
    /// What qemu-img knows of the image's format in particular: a qcow2's
    /// `data-file`, a VMDK's `extents`.
    #[serde(
        rename = "format-specific",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) format_specific: Option<serde_json::Value>,
    /// The image was not closed cleanly.
    #[serde(rename = "dirty-flag", default)]
    pub(crate) dirty_flag: bool,
}

fn qemu_img() -> Result<Command, QemuError> {
    let program = command::find_program(QEMU_IMG).ok_or(QemuError::NotInstalled)?;
    Ok(Command::new(program))
}

/// Runs `qemu-img OP ...`, `args` adding what follows the subcommand.
async fn run(
    op: &'static str,
    cancel: &CancellationToken,
    args: impl FnOnce(&mut Command) -> &mut Command,
) -> Result<CommandOutput, QemuError> {
    let mut command = qemu_img()?;
    args(command.arg(op));
    command::run(&mut command, cancel)
        .await
        .map_err(|e| QemuError::from_command(op, e))
}

/// The output of a run that must exit 0, or [`QemuError::Failed`].
fn succeeded(
    op: &'static str,
    path: &Path,
    out: CommandOutput,
) -> Result<CommandOutput, QemuError> {
    if out.status.success() {
        return Ok(out);
    }
    Err(QemuError::Failed {
        op,
        path: path.to_path_buf(),
        status: describe_status(out.status),
        message: out.error_text(),
    })
}

/// `qemu-img info --output=json -f FMT IMG`: this image alone, its backing
/// file not opened. The format is always given: letting qemu-img probe it
/// would read a raw disk whose guest wrote a qcow2 header as that qcow2.
pub(crate) async fn info(
    path: &Path,
    format: &str,
    cancel: &CancellationToken,
) -> Result<ImageInfo, QemuError> {
    info_json(&["-f", format], path, cancel).await
}

/// `qemu-img info --output=json --backing-chain -f FMT IMG`: the image
/// first, then each backing file.
pub(crate) async fn info_chain(
    path: &Path,
    format: &str,
    cancel: &CancellationToken,
) -> Result<Vec<ImageInfo>, QemuError> {
    info_json(&["--backing-chain", "-f", format], path, cancel).await
}

/// Runs `qemu-img info --output=json OPTIONS PATH` and parses what it
/// printed.
async fn info_json<T: serde::de::DeserializeOwned>(
    options: &[&str],
    path: &Path,
    cancel: &CancellationToken,
) -> Result<T, QemuError> {
    let out = run("info", cancel, |c| {
        c.arg("--output=json").args(options).arg(path)
    })
    .await?;
    let out = succeeded("info", path, out)?;
    serde_json::from_str(&out.stdout).map_err(|e| QemuError::BadOutput {
        op: "info",
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// `qemu-img create -f qcow2 -F FMT -b BACKING OVERLAY`: a copy-on-write
/// layer, so guest fixes never touch the source.
pub(crate) async fn create_overlay(
    backing: &Path,
    backing_format: &str,
    overlay: &Path,
    cancel: &CancellationToken,
) -> Result<(), QemuError> {
    let out = run("create", cancel, |c| {
        c.args(["-q", "-f", "qcow2", "-F", backing_format, "-b"])
            .arg(backing)
            .arg(overlay)
    })
    .await?;
    succeeded("create", overlay, out).map(drop)
}

/// What to convert.
#[derive(Debug, Clone)]
pub(crate) struct ConvertJob<'a> {
    /// Source image.
    pub(crate) source: &'a Path,
    /// Its format.
    pub(crate) source_format: &'a str,
    /// Where to write.
    pub(crate) destination: &'a Path,
    /// Output format.
    pub(crate) format: &'a str,
    /// Pass `-c` (only qcow2 supports it; the caller decides).
    pub(crate) compress: bool,
}

/// `qemu-img convert -p -f IN -O FMT [-c] SRC DST`, calling `on_progress`
/// with each percentage qemu-img prints. On cancel qemu-img is killed and
/// [`QemuError::Cancelled`] returned; the caller removes what was written.
pub(crate) async fn convert(
    job: &ConvertJob<'_>,
    cancel: &CancellationToken,
    mut on_progress: impl FnMut(f64),
) -> Result<(), QemuError> {
    let mut command = qemu_img()?;
    command
        .args(["convert", "-p", "-f", job.source_format, "-O", job.format])
        .args(job.compress.then_some("-c"))
        .arg(job.source)
        .arg(job.destination);
    let mut parser = ProgressParser::default();
    let out = command::run_reading(&mut command, cancel, |bytes| {
        for percent in parser.feed(bytes) {
            on_progress(percent);
        }
    })
    .await
    .map_err(|e| QemuError::from_command("convert", e))?;
    if !out.status.success() {
        return Err(QemuError::Failed {
            op: "convert",
            path: job.source.to_path_buf(),
            status: describe_status(out.status),
            message: out.stderr.trim().to_string(),
        });
    }
    Ok(())
}

/// Turns qemu-img's `-p` output (`    (42.17/100%)` lines ended by `\r`)
/// into percentages. Fed with raw bytes as they arrive; a line split over
/// two reads is kept until its end comes.
#[derive(Debug, Default)]
pub(crate) struct ProgressParser {
    pending: Vec<u8>,
}

impl ProgressParser {
    /// Feeds bytes, returns the percentages of the lines they completed.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Vec<f64> {
        let mut found = Vec::new();
        for &b in bytes {
            if b == b'\r' || b == b'\n' {
                if let Some(p) = parse_progress(&String::from_utf8_lossy(&self.pending)) {
                    found.push(p);
                }
                self.pending.clear();
            } else if self.pending.len() < 4096 {
                self.pending.push(b);
            }
        }
        found
    }
}

/// The percentage in one line of `qemu-img -p` output, if it has one.
pub(crate) fn parse_progress(line: &str) -> Option<f64> {
    static PATTERN: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let re = PATTERN.get_or_init(|| {
        Regex::new(r"\((\d+(?:\.\d+)?)/100%\)").expect("the progress pattern is valid")
    });
    re.captures(line)?
        .get(1)?
        .as_str()
        .parse::<f64>()
        .ok()
        .map(|p| p.clamp(0.0, 100.0))
}

/// What `qemu-img check` found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CheckOutcome {
    /// Exit 0: no errors.
    Clean(serde_json::Value),
    /// Exit 3: leaked clusters only (wasted space, data intact).
    Leaks(serde_json::Value),
    /// Exit 2: the image is corrupted.
    Corrupted(String),
    /// Exit 63: the format has no consistency checks (raw, vpc).
    Unsupported,
    /// Any other failure (exit 1: could not check).
    Failed(String),
}

/// `qemu-img check --output=json -f FMT IMG`.
pub(crate) async fn check(
    path: &Path,
    format: &str,
    cancel: &CancellationToken,
) -> Result<CheckOutcome, QemuError> {
    let out = run("check", cancel, |c| {
        c.args(["--output=json", "-f", format]).arg(path)
    })
    .await?;
    let json = || serde_json::from_str(&out.stdout).unwrap_or(serde_json::Value::Null);
    Ok(match out.code() {
        0 => CheckOutcome::Clean(json()),
        3 => CheckOutcome::Leaks(json()),
        2 => CheckOutcome::Corrupted(format!("{} {}", out.stdout.trim(), out.stderr.trim())),
        63 => CheckOutcome::Unsupported,
        _ => CheckOutcome::Failed(out.error_text()),
    })
}

/// What `qemu-img compare` found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CompareOutcome {
    /// Exit 0: same guest-visible content.
    Identical,
    /// Exit 1: the content differs (qemu-img names the first offset).
    Different(String),
    /// Exit 2 or more: the comparison could not be made.
    Error(String),
}

/// `qemu-img compare -f FMT1 -F FMT2 A B`.
pub(crate) async fn compare(
    a: &Path,
    a_format: &str,
    b: &Path,
    b_format: &str,
    cancel: &CancellationToken,
) -> Result<CompareOutcome, QemuError> {
    let out = run("compare", cancel, |c| {
        c.args(["-f", a_format, "-F", b_format]).arg(a).arg(b)
    })
    .await?;
    Ok(match out.code() {
        0 => CompareOutcome::Identical,
        1 => CompareOutcome::Different(out.stdout.trim().to_string()),
        _ => CompareOutcome::Error(out.error_text()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_split_on_carriage_returns_and_across_reads() {
        let mut parser = ProgressParser::default();
        assert_eq!(parser.feed(b"    (0.00/100%)\r    (42.1"), vec![0.0]);
        assert_eq!(parser.feed(b"7/100%)\r"), vec![42.17]);
        assert_eq!(parser.feed(b"    (100.00/100%)\r\n"), vec![100.0]);
        assert!(parser.feed(b"something else\n").is_empty());
    }

    #[test]
    fn info_json_parses() {
        let info: ImageInfo = serde_json::from_str(
            r#"{"virtual-size": 67108864, "filename": "b.qcow2", "cluster-size": 65536,
                "format": "qcow2", "actual-size": 270336, "dirty-flag": false,
                "format-specific": {"type": "qcow2"}}"#,
        )
        .unwrap();
        assert_eq!(info.format, "qcow2");
        assert_eq!(info.virtual_size, 64 << 20);
        assert_eq!(info.actual_size, Some(270336));
    }
}
