//! Where the convert stage writes an output until it is complete, so a
//! crash or cancel never leaves a half-written file under the final name.

use std::path::{Path, PathBuf};

use crate::{fs::partial, policy::WorkflowPolicy, vm::error::StageError};

/// A conversion target written in a hidden sibling directory
/// (`.<file>.partial-<pid>/<file>`) and moved into place when complete.
/// The file keeps its final name inside the directory because vmdk embeds
/// its own file name.
pub(super) struct PartialOutput {
    destination: PathBuf,
    dir: PathBuf,
    /// Where qemu-img writes.
    pub(super) file: PathBuf,
    /// Directories created for the output, outermost first.
    created: Vec<PathBuf>,
}

impl PartialOutput {
    /// Makes the hidden directory next to `destination` (already confined
    /// to the output directory); checks again once the directories exist,
    /// so a symlink put in the way meanwhile is not followed out.
    pub(super) fn prepare(destination: &Path, policy: &WorkflowPolicy) -> Result<Self, StageError> {
        let parent = destination
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let file_name = destination.file_name().ok_or_else(|| {
            StageError::failed(format!("{} is not a file path", destination.display()))
        })?;
        let mut created = Vec::new();
        let mut dir = parent.as_path();
        while !dir.exists() {
            created.push(dir.to_path_buf());
            match dir.parent() {
                Some(up) if !up.as_os_str().is_empty() => dir = up,
                _ => break,
            }
        }
        created.reverse();
        std::fs::create_dir_all(&parent).map_err(StageError::io("create", &parent))?;
        // The pid keeps two runs writing the same output from removing
        // each other's partial files (the last one to finish wins), and
        // tells the daemon whose leftovers these are after a SIGKILL.
        let partial_dir = parent.join(partial::partial_name(file_name, std::process::id()));
        policy
            .confine_output(&partial_dir)
            .map_err(StageError::refused("convert.output_path"))?;
        let _ = std::fs::remove_dir_all(&partial_dir);
        std::fs::create_dir(&partial_dir).map_err(StageError::io("create", &partial_dir))?;
        Ok(PartialOutput {
            destination: destination.to_path_buf(),
            file: partial_dir.join(file_name),
            dir: partial_dir,
            created,
        })
    }

    /// Moves the finished file into place; returns its size. Without
    /// `overwrite` a file that appeared at the destination meanwhile is
    /// kept: a hard link never replaces anything.
    pub(super) fn commit(self, overwrite: bool) -> Result<u64, StageError> {
        let moved = if overwrite {
            std::fs::rename(&self.file, &self.destination)
        } else {
            std::fs::hard_link(&self.file, &self.destination)
        };
        if let Err(e) = moved {
            let why = if e.kind() == std::io::ErrorKind::AlreadyExists {
                "it already exists and convert.overwrite is not true".to_string()
            } else {
                e.to_string()
            };
            let message = format!(
                "cannot move {} to {}: {why}",
                self.file.display(),
                self.destination.display()
            );
            self.discard();
            return Err(StageError::failed(message));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        std::fs::metadata(&self.destination)
            .map(|m| m.len())
            .map_err(StageError::io("stat", &self.destination))
    }

    /// Removes what was written, and the directories made for it if they
    /// are empty.
    pub(super) fn discard(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        for dir in self.created.iter().rev() {
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
}
