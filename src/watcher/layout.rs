//! The 3-directory layout of a drop folder and the file moves in it:
//!
//! ```text
//! DIR/to_be_processed/            drop zone (only its top level is watched)
//! DIR/processing/                 being worked on
//! DIR/processed/YYYY-MM-DD/<file> (+ <file>.report.json or <file>.meta.json)
//! DIR/failed/YYYY-MM-DD/<file>    (+ <file>.error.json)
//! ```
//!
//! Every move is one rename within the folder (atomic). A name already taken
//! at the destination becomes `<stem>_<YYYYMMDD_HHMMSS><suffix>` as upstream
//! does, plus `_<n>` while that is taken too.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Local};

/// The directories of one drop folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The folder itself.
    pub(crate) root: PathBuf,
    /// `to_be_processed/`.
    pub(crate) incoming: PathBuf,
    /// `processing/`.
    pub(crate) processing: PathBuf,
    /// `processed/`.
    pub(crate) processed: PathBuf,
    /// `failed/`.
    pub(crate) failed: PathBuf,
}

impl Layout {
    /// The layout below `root`.
    pub(crate) fn new(root: &Path) -> Self {
        Layout {
            root: root.to_path_buf(),
            incoming: root.join("to_be_processed"),
            processing: root.join("processing"),
            processed: root.join("processed"),
            failed: root.join("failed"),
        }
    }

    /// Creates the four directories.
    pub(crate) fn create(&self) -> std::io::Result<()> {
        for dir in [
            &self.incoming,
            &self.processing,
            &self.processed,
            &self.failed,
        ] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(())
    }
}

/// `base/YYYY-MM-DD` for the local date of `now`.
pub(crate) fn date_dir(base: &Path, now: DateTime<Local>) -> PathBuf {
    base.join(now.format("%Y-%m-%d").to_string())
}

/// Whether anything (even a dangling symlink) is at `path`.
fn taken(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// A free path for `name` in `dir`: the name itself, else
/// `<stem>_<YYYYMMDD_HHMMSS><suffix>`, else that with `_2`, `_3`, ...
/// `also_free` lists suffixes whose files must be free too (the sidecar).
pub(crate) fn free_path(
    dir: &Path,
    name: &OsStr,
    now: DateTime<Local>,
    also_free: &[&str],
) -> PathBuf {
    let free = |candidate: &OsStr| {
        !taken(&dir.join(candidate))
            && also_free
                .iter()
                .all(|suffix| !taken(&dir.join(with_suffix(candidate, suffix))))
    };
    if free(name) {
        return dir.join(name);
    }
    let (stem, suffix) = split_name(name);
    let stamp = now.format("%Y%m%d_%H%M%S").to_string();
    for n in 1.. {
        let mut candidate = OsString::from(stem);
        candidate.push("_");
        candidate.push(&stamp);
        if n > 1 {
            candidate.push(format!("_{n}"));
        }
        candidate.push(suffix);
        if free(&candidate) {
            return dir.join(candidate);
        }
    }
    unreachable!("an unbounded counter finds a free name")
}

/// `name` + `suffix` (e.g. `x.json` + `.error.json`).
pub(crate) fn with_suffix(name: &OsStr, suffix: &str) -> OsString {
    let mut out = name.to_os_string();
    out.push(suffix);
    out
}

/// A path with `suffix` appended to its file name.
pub(crate) fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    path.with_file_name(with_suffix(path.file_name().unwrap_or_default(), suffix))
}

/// Splits `name.tar.gz`-style names at the last dot: (`name.tar`, `.gz`);
/// names without a dot (or only a leading one) have no suffix.
fn split_name(name: &OsStr) -> (&OsStr, &OsStr) {
    let bytes = name.as_bytes();
    match bytes.iter().rposition(|b| *b == b'.') {
        Some(0) | None => (name, OsStr::new("")),
        Some(dot) => (
            OsStr::from_bytes(&bytes[..dot]),
            OsStr::from_bytes(&bytes[dot..]),
        ),
    }
}

/// The stem of a file name (upstream's job id): the name without its last
/// extension, lossily as text.
pub(crate) fn stem(name: &OsStr) -> String {
    split_name(name).0.to_string_lossy().into_owned()
}

/// Whether a name in `to_be_processed/` is skipped: hidden names, which
/// rsync, scp and editors use for files still being written.
pub(crate) fn ignored(name: &OsStr) -> bool {
    name.as_bytes().first() == Some(&b'.')
}

/// The names waiting in `dir` (not ignored), or an empty list when it cannot
/// be read.
pub(crate) fn waiting(dir: &Path) -> Vec<OsString> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| !ignored(n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn clashing_names_get_a_timestamp_then_a_counter() {
        let dir = tempfile::tempdir().unwrap();
        let now = Local.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();
        let name = OsStr::new("vm 1.json");
        assert_eq!(
            free_path(dir.path(), name, now, &[]),
            dir.path().join("vm 1.json")
        );
        std::fs::write(dir.path().join("vm 1.json"), "").unwrap();
        let second = free_path(dir.path(), name, now, &[]);
        assert_eq!(second, dir.path().join("vm 1_20250102_030405.json"));
        std::fs::write(&second, "").unwrap();
        assert_eq!(
            free_path(dir.path(), name, now, &[]),
            dir.path().join("vm 1_20250102_030405_2.json")
        );
        // A leftover sidecar also makes a name taken.
        std::fs::write(dir.path().join("b.yaml.error.json"), "").unwrap();
        assert_eq!(
            free_path(dir.path(), OsStr::new("b.yaml"), now, &[".error.json"]),
            dir.path().join("b_20250102_030405.yaml")
        );
        assert_eq!(
            free_path(dir.path(), OsStr::new(".hidden"), now, &[]),
            dir.path().join(".hidden")
        );
    }

    #[test]
    fn stems_drop_the_last_extension() {
        assert_eq!(stem(OsStr::new("web-01.vmdk")), "web-01");
        assert_eq!(stem(OsStr::new("a.tar.gz")), "a.tar");
        assert_eq!(stem(OsStr::new("noext")), "noext");
    }
}
