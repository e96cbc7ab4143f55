//! Files: the one way to replace a file atomically, the daemon's private
//! files and directories, and the names of unfinished files.
//!
//! Every place that writes a whole file which someone else may read at any
//! moment (a report, a sidecar, a pipeline document, a bundled program)
//! goes through [`write_atomic`], so a reader sees the old file or the new
//! one, never half of one; a crash leaves the old file, and at worst a
//! hidden partial file beside it.

pub(crate) mod partial;
pub(crate) mod private;

use std::ffi::OsString;
use std::fs::Permissions;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Who may read a file [`write_atomic`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// The daemon's user only (0600): the history, pipeline documents,
    /// anything in the data directory.
    Private,
    /// The daemon's user only, executable (0700): bundled programs.
    PrivateProgram,
    /// As the umask gives (0666 less the umask): files meant for others,
    /// such as drop-folder sidecars, pipeline reports and the manifest
    /// `wfctl` writes for its user.
    Shared,
}

impl Access {
    fn mode(self) -> u32 {
        match self {
            Access::Private => private::PRIVATE_FILE_MODE,
            Access::PrivateProgram => 0o700,
            Access::Shared => 0o666,
        }
    }
}

/// Replaces `path` with `bytes` atomically and durably.
///
/// The bytes go to a new file `.<name>.<random>.partial` next to `path`,
/// created exclusively (never through something already there, such as a
/// symlink another user planted in a shared folder) with the mode `access`
/// asks for; it is flushed to disk, renamed over `path`, and the directory
/// is flushed so the rename itself survives a power cut. Missing parent
/// directories are created, private ones for [`Access::Private`] and
/// [`Access::PrivateProgram`].
///
/// An error before the rename leaves `path` as it was and removes the
/// partial file; an error after it (flushing the directory) means the new
/// file is in place but may not survive a power cut.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], access: Access) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match access {
        Access::Private | Access::PrivateProgram => private::create_dir_all(dir)?,
        Access::Shared => std::fs::create_dir_all(dir)?,
    }
    let mut prefix = OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".");
    let mut file = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".partial")
        .permissions(Permissions::from_mode(access.mode()))
        .tempfile_in(dir)?;
    if access != Access::Shared {
        // The exact mode, whatever the umask took away.
        file.as_file()
            .set_permissions(Permissions::from_mode(access.mode()))?;
    }
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Removes the partial files [`write_atomic`] left in `dir` when the
/// process died mid-write. Only for directories nobody but the daemon
/// writes to (the bundled workflows), where no write can be under way
/// while it starts.
pub(crate) fn remove_stale_partials(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(".partial") && entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Flushes a directory, so that a rename in it survives a power cut.
/// Some filesystems (network and FUSE mounts) refuse to fsync a directory
/// at all; there the rename is as durable as they make it, and the file
/// is already in place, so that is not an error (PostgreSQL's
/// `fsync_fname` makes the same call).
fn sync_dir(dir: &Path) -> io::Result<()> {
    use rustix::io::Errno;
    let refused = |e: &io::Error| {
        e.raw_os_error()
            .map(Errno::from_raw_os_error)
            .is_some_and(|errno| [Errno::INVAL, Errno::NOTSUP, Errno::BADF].contains(&errno))
    };
    match std::fs::File::open(dir)?.sync_all() {
        Err(e) if refused(&e) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o7777
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_file_with_the_mode_asked_for_and_leaves_nothing_else() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("nested/report.json");
        write_atomic(&file, b"old", Access::Shared).unwrap();
        write_atomic(&file, b"new", Access::Private).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"new");
        assert_eq!(mode(&file), 0o600);
        assert_eq!(entries(&root.path().join("nested")), ["report.json"]);

        let program = root.path().join("program");
        write_atomic(&program, b"#!/bin/sh\n", Access::PrivateProgram).unwrap();
        assert_eq!(mode(&program), 0o700);
    }

    #[test]
    fn never_writes_through_a_planted_symlink() {
        let root = tempfile::tempdir().unwrap();
        let victim = root.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let target = root.path().join("sidecar.json");
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        write_atomic(&target, b"{}", Access::Shared).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert!(!std::fs::symlink_metadata(&target)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn stale_partials_are_swept_and_nothing_else() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join(".hello.a1b2c3.partial"), b"half").unwrap();
        std::fs::write(root.path().join("hello"), b"whole").unwrap();
        std::fs::write(root.path().join("notes.partial"), b"visible").unwrap();
        remove_stale_partials(root.path()).unwrap();
        assert_eq!(entries(root.path()), ["hello", "notes.partial"]);
    }

    #[test]
    fn a_failed_write_leaves_no_partial_behind() {
        let root = tempfile::tempdir().unwrap();
        // Renaming a file over a directory fails after the bytes are written.
        let dir = root.path().join("taken");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("inside"), b"x").unwrap();
        assert!(write_atomic(&dir, b"{}", Access::Shared).is_err());
        assert_eq!(entries(root.path()), ["taken"]);
    }
}
