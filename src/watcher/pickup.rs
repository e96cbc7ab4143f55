//! When a dropped file is complete enough to take.
//!
//! A copy in progress must not be picked up half-way. The rule:
//!
//! 1. a file is *quiet* when a writer closed it (inotify `IN_CLOSE_WRITE`)
//!    or it was renamed into the folder (`IN_MOVED_TO`) and nothing changed
//!    it since; otherwise when its size and mtime were the same at two
//!    checks at least [`SETTLE`] apart (this covers files found by the
//!    start-up scan and writers whose events were missed);
//! 2. and no process has it open for writing: every `/proc/<pid>/fd` link
//!    pointing at it is looked up and its `fdinfo` flags checked for
//!    `O_WRONLY`/`O_RDWR`.
//!
//! (2) sees only the processes this daemon may inspect (its own user's, or
//! all when it runs as root) and no writers on other hosts of a network file
//! system; for those the quiet period of (1) is the only guard, so such
//! writers should copy to a hidden name (`.name`, ignored) and rename it in
//! when done, the atomic way rsync and scp already work.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// How long size and mtime must stay the same for a file nobody announced
/// as closed.
pub(crate) const SETTLE: Duration = Duration::from_millis(250);

/// How a candidate's file looked at the last check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Look {
    len: u64,
    modified: Option<SystemTime>,
}

/// One file in `to_be_processed/` not taken yet.
#[derive(Debug, Clone)]
struct Candidate {
    /// A writer closed it (or it was renamed in) and nothing changed it since.
    closed: bool,
    /// The last look and when it was taken.
    last: Option<(Look, Instant)>,
    /// When it was first seen (files are taken in this order).
    first_seen: Instant,
    /// Not before this time (after a failed take).
    retry_at: Option<Instant>,
}

/// The files of one drop zone that may become ready.
#[derive(Debug, Default)]
pub(crate) struct Candidates {
    files: HashMap<OsString, Candidate>,
}

/// What the watcher saw happen to a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Found by a scan, created, or written to.
    Changed,
    /// Closed after writing, or renamed in.
    Closed,
    /// Removed or renamed away.
    Gone,
}

impl Candidates {
    /// Records what happened to `name`.
    pub(crate) fn saw(&mut self, name: OsString, seen: Seen) {
        match seen {
            Seen::Gone => {
                self.files.remove(&name);
            }
            Seen::Changed | Seen::Closed => {
                let now = Instant::now();
                let candidate = self.files.entry(name).or_insert(Candidate {
                    closed: false,
                    last: None,
                    first_seen: now,
                    retry_at: None,
                });
                candidate.closed = seen == Seen::Closed;
                if seen == Seen::Changed {
                    candidate.last = None;
                }
            }
        }
    }

    /// Adds `name` as found by a scan, unless it is known already.
    pub(crate) fn found(&mut self, name: OsString) {
        if !self.files.contains_key(&name) {
            self.saw(name, Seen::Changed);
        }
    }

    /// Forgets names no longer in the directory listing.
    pub(crate) fn retain_listed(&mut self, listed: &HashSet<OsString>) {
        self.files.retain(|name, _| listed.contains(name));
    }

    /// Whether there is nothing to check.
    pub(crate) fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Takes a new look at every candidate in `dir`; returns the quiet ones,
    /// oldest first. Names that disappeared are forgotten.
    pub(crate) fn quiet(&mut self, dir: &Path) -> Vec<OsString> {
        let now = Instant::now();
        let mut ready = Vec::new();
        self.files.retain(|name, candidate| {
            let Ok(meta) = std::fs::symlink_metadata(dir.join(name)) else {
                return false;
            };
            if candidate.retry_at.is_some_and(|at| now < at) {
                return true;
            }
            if !meta.is_file() {
                // Directories, symlinks, fifos: nothing is being written
                // into them here; they are dealt with at once.
                ready.push((candidate.first_seen, name.clone()));
                return true;
            }
            let look = Look {
                len: meta.len(),
                modified: meta.modified().ok(),
            };
            let settled = match candidate.last {
                Some((last, at)) => last == look && now.duration_since(at) >= SETTLE,
                None => false,
            };
            if candidate.last.is_none_or(|(last, _)| last != look) {
                candidate.last = Some((look, now));
            }
            if candidate.closed || settled {
                ready.push((candidate.first_seen, name.clone()));
            }
            true
        });
        ready.sort();
        ready.into_iter().map(|(_, name)| name).collect()
    }

    /// The candidate was taken (or given up on): forget it.
    pub(crate) fn remove(&mut self, name: &OsString) {
        self.files.remove(name);
    }

    /// A take failed; try again after `delay`, from a fresh look.
    pub(crate) fn retry_later(&mut self, name: &OsString, delay: Duration) {
        if let Some(candidate) = self.files.get_mut(name) {
            candidate.retry_at = Some(Instant::now() + delay);
            candidate.closed = false;
            candidate.last = None;
        }
    }

    /// A writer still has it open: wait for the next close, or for it to
    /// settle again.
    pub(crate) fn still_written(&mut self, name: &OsString) {
        if let Some(candidate) = self.files.get_mut(name) {
            candidate.closed = false;
            candidate.last = None;
        }
    }
}

/// The paths among `paths` that some process has open for writing, as far
/// as /proc shows. Blocking: run it off the async threads.
pub(crate) fn open_for_writing(paths: &HashSet<PathBuf>) -> HashSet<PathBuf> {
    let mut open = HashSet::new();
    if paths.is_empty() {
        return open;
    }
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return open;
    };
    for process in processes.flatten() {
        let name = process.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            if !paths.contains(&target) {
                continue;
            }
            let info = std::fs::read_to_string(format!(
                "/proc/{pid}/fdinfo/{}",
                fd.file_name().to_string_lossy()
            ))
            .unwrap_or_default();
            // `flags:` is octal; the access mode is its low two bits.
            let writable = info
                .lines()
                .find_map(|l| l.strip_prefix("flags:"))
                .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
                .is_none_or(|flags| flags & 0o3 != 0);
            if writable {
                open.insert(target);
            }
        }
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn an_open_writer_is_seen_and_a_closed_file_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("being written.json");
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(b"{").unwrap();
        let wanted: HashSet<PathBuf> = [path.clone()].into();
        assert_eq!(open_for_writing(&wanted), wanted);
        drop(file);
        let _reader = std::fs::File::open(&path).unwrap();
        assert!(open_for_writing(&wanted).is_empty(), "readers do not count");
    }

    #[test]
    fn unannounced_files_are_quiet_only_after_settling() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "x").unwrap();
        std::fs::write(dir.path().join("b"), "x").unwrap();
        let mut candidates = Candidates::default();
        candidates.found("a".into());
        candidates.saw("b".into(), Seen::Closed);
        assert_eq!(candidates.quiet(dir.path()), [OsString::from("b")]);
        std::thread::sleep(SETTLE);
        let mut quiet = candidates.quiet(dir.path());
        quiet.sort();
        assert_eq!(quiet, [OsString::from("a"), OsString::from("b")]);
        std::fs::remove_file(dir.path().join("a")).unwrap();
        candidates.quiet(dir.path());
        assert_eq!(candidates.files.len(), 1, "vanished files are forgotten");
    }
}
