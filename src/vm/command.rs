//! Running an external tool (qemu-img, libguestfs, a fix command) to the
//! end so that a cancel request stops it, and reading what it printed.
//! Every tool of the pipeline is run through [`run_reading`], except the
//! boot test's qemu, which writes to log files and has its own time limit
//! (`stage/boot_test.rs`).

use std::{
    ffi::OsStr,
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
};

use tokio::{io::AsyncReadExt, process::Command};
use tokio_util::sync::CancellationToken;

/// Longest tool output kept in an error message.
const MAX_ERROR_CHARS: usize = 2000;

/// Why a tool did not give a result.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CommandError {
    /// It could not be started, or waiting for it failed.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The error.
        source: std::io::Error,
    },
    /// The pipeline was cancelled while it ran; it was stopped.
    #[error("cancelled")]
    Cancelled,
}

/// What a finished tool left.
#[derive(Debug)]
pub(crate) struct CommandOutput {
    /// Its exit status.
    pub(crate) status: ExitStatus,
    /// Its stdout (lossy UTF-8).
    pub(crate) stdout: String,
    /// Its stderr (lossy UTF-8).
    pub(crate) stderr: String,
}

impl CommandOutput {
    /// The exit code, or -1 when a signal ended it.
    pub(crate) fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }

    /// The most useful error text: stderr, else stdout, else the status.
    pub(crate) fn error_text(&self) -> String {
        let text = if self.stderr.trim().is_empty() {
            self.stdout.trim()
        } else {
            self.stderr.trim()
        };
        if text.is_empty() {
            describe_status(self.status)
        } else {
            text.to_string()
        }
    }
}

/// "exit code N" or "signal N".
pub(crate) fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

/// Whether a status says the process was ended by SIGTERM or SIGINT: the
/// tools share our process group, so the daemon's SIGTERM may reach them
/// before our own handler has noticed it.
fn stopped_by_signal(status: ExitStatus) -> bool {
    matches!(status.signal(), Some(15) | Some(2))
}

/// Tool output short enough for an error message: its end, where tools
/// put the reason they stopped.
pub(crate) fn clip(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_ERROR_CHARS {
        return text.to_string();
    }
    let tail: String = text
        .chars()
        .rev()
        .take(MAX_ERROR_CHARS)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("...{tail}")
}

/// Runs a tool to the end, collecting its output; stops it (SIGKILL) and
/// returns [`CommandError::Cancelled`] when the pipeline is cancelled first.
pub(crate) async fn run(
    command: &mut Command,
    cancel: &CancellationToken,
) -> Result<CommandOutput, CommandError> {
    run_reading(command, cancel, |_| {}).await
}

/// [`run`], handing each piece of stdout to `on_stdout` as it arrives
/// (qemu-img's progress) as well as collecting it.
pub(crate) async fn run_reading(
    command: &mut Command,
    cancel: &CancellationToken,
    mut on_stdout: impl FnMut(&[u8]),
) -> Result<CommandOutput, CommandError> {
    let program = command
        .as_std()
        .get_program()
        .to_string_lossy()
        .into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| CommandError::Spawn {
            program: program.clone(),
            source,
        })?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let read_out = async {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stdout.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    on_stdout(&buf[..n]);
                    all.extend_from_slice(&buf[..n]);
                }
            }
        }
        all
    };
    let read_err = async {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf).await;
        buf
    };
    let outcome = {
        let finished = async { tokio::join!(child.wait(), read_out, read_err) };
        tokio::select! {
            done = finished => Some(done),
            _ = cancel.cancelled() => None,
        }
    };
    let Some((status, out, err)) = outcome else {
        let _ = child.start_kill();
        let _ = child.wait().await;
        return Err(CommandError::Cancelled);
    };
    let status = status.map_err(|source| CommandError::Spawn { program, source })?;
    if cancel.is_cancelled() || stopped_by_signal(status) {
        return Err(CommandError::Cancelled);
    }
    Ok(CommandOutput {
        status,
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
    })
}

/// Finds a program the way a shell would: a name with a slash is a path
/// (it must exist and be executable), anything else is looked up on PATH.
pub(crate) fn find_program(name: impl AsRef<OsStr>) -> Option<PathBuf> {
    let name = Path::new(name.as_ref());
    if name.as_os_str().is_empty() {
        return None;
    }
    if name.components().count() > 1 {
        return is_executable(name).then(|| name.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_path_or_by_path() {
        assert!(find_program("sh").is_some());
        assert!(find_program("/bin/sh").is_some());
        assert!(find_program("surely-not-a-program-xyz").is_none());
        assert!(find_program("").is_none());
    }

    #[tokio::test]
    async fn a_tool_runs_to_the_end_and_its_output_is_kept() {
        let mut seen = Vec::new();
        let out = run_reading(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            &CancellationToken::new(),
            |bytes| seen.extend_from_slice(bytes),
        )
        .await
        .unwrap();
        assert_eq!(out.code(), 3);
        assert_eq!(out.stdout, "out\n");
        assert_eq!(seen, b"out\n");
        assert_eq!(out.error_text(), "err");
    }

    #[tokio::test]
    async fn a_cancel_stops_a_running_tool() {
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            stop.cancel();
        });
        let started = std::time::Instant::now();
        let result = run(Command::new("sleep").arg("30"), &cancel).await;
        assert!(matches!(result, Err(CommandError::Cancelled)), "{result:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn long_output_is_clipped_to_its_end() {
        let long = format!("start{}end", "x".repeat(MAX_ERROR_CHARS));
        let clipped = clip(&long);
        assert!(clipped.starts_with("...") && clipped.ends_with("xend"));
        assert_eq!(clipped.chars().count(), MAX_ERROR_CHARS + 3);
        assert_eq!(clip("  short \n"), "short");
    }
}
