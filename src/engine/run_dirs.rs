//! Working directories of executions, `<runs>/<id>/`, with recycling of
//! the empty ones.
//!
//! Most programs leave nothing in their working directory, and creating a
//! directory is one of the dearest steps of starting a short program: ext4
//! allocates an inode for it, and right after many deletions it scans the
//! inode bitmap past every recently freed inode (a quarter of a millisecond
//! each on a 2-core VM, about a fifth of spawning `sh`). So a directory left
//! empty when its execution ends is renamed into `<runs>/.spare/`, and the
//! next execution renames a spare into place instead of creating one; a
//! rename allocates nothing. Directories with files in them are kept: they
//! hold what the program wrote (state files, reports). Every one is made
//! private (0700): it holds the execution's files, readable by no one else.

use std::io;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use uuid::Uuid;

use crate::fs::private;

/// Name of the directory holding empty directories ready for reuse.
pub(super) const SPARE_DIR: &str = ".spare";

/// Most spare directories kept; beyond that an empty directory is removed.
const MAX_SPARES: usize = 64;

/// The working directories under one runs directory.
#[derive(Debug)]
pub(super) struct RunDirs {
    root: PathBuf,
    spares: Mutex<Vec<PathBuf>>,
}

impl RunDirs {
    /// The runs directory `root`, with the spares a previous daemon left
    /// (any that cannot be listed are simply not reused).
    pub(super) fn new(root: PathBuf) -> RunDirs {
        let spares = std::fs::read_dir(root.join(SPARE_DIR))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path())
                    .take(MAX_SPARES)
                    .collect()
            })
            .unwrap_or_default();
        RunDirs {
            root,
            spares: Mutex::new(spares),
        }
    }

    /// Where execution `id` runs.
    pub(super) fn path_of(&self, id: &Uuid) -> PathBuf {
        self.root.join(id.to_string())
    }

    /// Makes the working directory of `id`: a spare renamed into place, or a
    /// new directory when there is none.
    pub(super) fn prepare(&self, id: &Uuid) -> io::Result<PathBuf> {
        let dir = self.path_of(id);
        while let Some(spare) = self.take_spare() {
            // A spare removed behind our back is skipped.
            if std::fs::rename(&spare, &dir).is_ok() {
                return Ok(dir);
            }
        }
        private::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Called once the execution of `dir` has ended and its process group
    /// is gone: an empty directory becomes a spare (or is removed when there
    /// are enough); one with files in it is kept. Failures only cost the
    /// reuse, so they are logged, not returned.
    pub(super) fn retire(&self, dir: &Path) {
        match is_empty(dir) {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(e) => {
                tracing::debug!(dir = %dir.display(), error = %e, "cannot list a finished working directory");
                return;
            }
        }
        let Some(name) = dir.file_name() else { return };
        if self.spares.lock().len() >= MAX_SPARES {
            let _ = std::fs::remove_dir(dir);
            return;
        }
        let spare = self.root.join(SPARE_DIR).join(name);
        let renamed = std::fs::rename(dir, &spare).or_else(|e| {
            if e.kind() != io::ErrorKind::NotFound {
                return Err(e);
            }
            // The first retirement creates the spare directory.
            private::create_dir_all(&self.root.join(SPARE_DIR))?;
            std::fs::rename(dir, &spare)
        });
        match renamed {
            Ok(()) => self.spares.lock().push(spare),
            Err(e) => {
                tracing::debug!(dir = %dir.display(), error = %e, "cannot keep a working directory for reuse")
            }
        }
    }

    fn take_spare(&self) -> Option<PathBuf> {
        self.spares.lock().pop()
    }
}

/// Deletes a kept working directory and everything in it, if it exists (an
/// execution whose history expired). Blocking: may be a large tree.
pub(super) fn remove_kept(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn is_empty(dir: &Path) -> io::Result<bool> {
    Ok(std::fs::read_dir(dir)?.next().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_directories_are_reused_and_others_kept() {
        let root = tempfile::tempdir().unwrap();
        let dirs = RunDirs::new(root.path().to_path_buf());
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());

        let dir_a = dirs.prepare(&a).unwrap();
        assert_eq!(dir_a, root.path().join(a.to_string()));
        assert!(dir_a.is_dir());
        dirs.retire(&dir_a);
        assert!(!dir_a.exists(), "an empty directory is retired");
        assert!(root.path().join(SPARE_DIR).join(a.to_string()).is_dir());

        // The spare becomes b's directory; b leaves a file, so it is kept.
        let dir_b = dirs.prepare(&b).unwrap();
        assert!(dir_b.is_dir());
        assert_eq!(
            std::fs::read_dir(root.path().join(SPARE_DIR))
                .unwrap()
                .count(),
            0
        );
        std::fs::write(dir_b.join("state.json"), "{}").unwrap();
        dirs.retire(&dir_b);
        assert!(dir_b.join("state.json").is_file());

        // No spare left: c gets a new directory.
        let dir_c = dirs.prepare(&c).unwrap();
        assert!(dir_c.is_dir());
        dirs.retire(&dir_c);

        // A new daemon finds the spare a previous one left.
        let again = RunDirs::new(root.path().to_path_buf());
        let d = Uuid::new_v4();
        again.prepare(&d).unwrap();
        assert_eq!(
            std::fs::read_dir(root.path().join(SPARE_DIR))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn a_vanished_spare_falls_back_to_creating_the_directory() {
        let root = tempfile::tempdir().unwrap();
        let dirs = RunDirs::new(root.path().to_path_buf());
        let a = Uuid::new_v4();
        let dir_a = dirs.prepare(&a).unwrap();
        dirs.retire(&dir_a);
        std::fs::remove_dir(root.path().join(SPARE_DIR).join(a.to_string())).unwrap();
        let b = Uuid::new_v4();
        assert!(dirs.prepare(&b).unwrap().is_dir());
    }
}
