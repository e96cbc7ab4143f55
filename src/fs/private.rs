//! Files and directories that only the daemon's user may read: the data
//! directory and everything the daemon keeps in it (the history with its
//! inputs and logs, run directories, pipeline documents).
//!
//! The mode is given to the system call that creates the file, so there is
//! no moment in which a permissive umask leaves it open to others: a umask
//! can only take bits away from 0700 / 0600, never add any.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of every directory the daemon creates for itself.
pub(crate) const PRIVATE_DIR_MODE: u32 = 0o700;

/// Mode of every file the daemon creates for itself.
pub(crate) const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `dir` and any missing parents, each with [`PRIVATE_DIR_MODE`].
/// Directories that already exist are left as they are.
pub(crate) fn create_dir_all(dir: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR_MODE)
        .create(dir)
}

/// Creates one directory with [`PRIVATE_DIR_MODE`]; fails if it exists.
pub(crate) fn create_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().mode(PRIVATE_DIR_MODE).create(dir)
}

/// Takes every permission away from group and others on an existing file
/// or directory (a data directory made by an older daemon or by hand).
/// Returns the mode it had when it changed anything, so the caller can say
/// so; a path that does not exist is left alone.
pub(crate) fn tighten(path: &Path) -> io::Result<Option<u32>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if meta.file_type().is_symlink() {
        return Ok(None);
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 == 0 {
        return Ok(None);
    }
    std::fs::set_permissions(path, Permissions::from_mode(mode & !0o077))?;
    Ok(Some(mode))
}

/// Creates `path` with [`PRIVATE_FILE_MODE`] if it does not exist; an
/// existing file is opened as it is.
pub(crate) fn create_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(PRIVATE_FILE_MODE)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn created_private_and_existing_ones_tightened() {
        let root = tempfile::tempdir().unwrap();
        let nested = root.path().join("a/b");
        create_dir_all(&nested).unwrap();
        assert_eq!(mode(&root.path().join("a")), 0o700);
        assert_eq!(mode(&nested), 0o700);

        let file = nested.join("f.json");
        crate::fs::write_atomic(&file, b"{}", crate::fs::Access::Private).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).unwrap(), b"{}");

        let open = root.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(tighten(&open).unwrap(), Some(0o1777));
        assert_eq!(mode(&open), 0o1700);
        assert_eq!(tighten(&open).unwrap(), None, "nothing left to take");
        assert_eq!(tighten(&root.path().join("missing")).unwrap(), None);
    }
}
