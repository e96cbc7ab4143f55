//! Which executables the daemon is willing to run: a program found in a
//! workflow directory runs with the daemon's rights (often root), so only
//! a file its own user or root controls may be run. Anyone else who could
//! write the file, or replace it in its directory, could run code as the
//! daemon.
//!
//! The rules, checked by discovery before `--workflow-metadata` and again
//! by the runner right before each start:
//! - the file (for a symlink: its target) is owned by the daemon's user or
//!   by root, and neither its group nor others may write it;
//! - the directory holding it (and, for a symlink, the directory holding
//!   the target) is owned by the daemon's user or root, and neither its
//!   group nor others may write it, unless it has the sticky bit (as /tmp
//!   has), which keeps others from renaming or deleting files they do not
//!   own. Only the immediate directory is checked: the ones above it are
//!   the system's (/, /usr, /home), and a rule for every ancestor would
//!   refuse ordinary setups without making them safer.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The bits that let the group or others write.
const GROUP_OR_OTHERS_WRITE: u32 = 0o022;
const OTHERS_WRITE: u32 = 0o002;
const STICKY: u32 = 0o1000;

/// Fails with the reason when `program` may not be run by the daemon.
pub fn check(program: &Path) -> Result<(), String> {
    let daemon_uid = rustix::process::geteuid().as_raw();
    let file = std::fs::metadata(program).map_err(|e| format!("cannot inspect it: {e}"))?;
    check_owner_and_mode("it", &file, daemon_uid, false)?;
    let mut dirs = vec![program.parent().map(Path::to_path_buf)];
    let is_link = std::fs::symlink_metadata(program).is_ok_and(|m| m.file_type().is_symlink());
    if is_link {
        let target = std::fs::canonicalize(program)
            .map_err(|e| format!("cannot resolve its symlink: {e}"))?;
        dirs.push(target.parent().map(Path::to_path_buf));
    }
    for dir in dirs.into_iter().flatten() {
        let meta = std::fs::metadata(&dir)
            .map_err(|e| format!("cannot inspect its directory {}: {e}", dir.display()))?;
        check_owner_and_mode(
            &format!("its directory {}", dir.display()),
            &meta,
            daemon_uid,
            true,
        )?;
    }
    Ok(())
}

fn check_owner_and_mode(
    what: &str,
    meta: &std::fs::Metadata,
    daemon_uid: u32,
    is_dir: bool,
) -> Result<(), String> {
    let owner = meta.uid();
    if owner != daemon_uid && owner != 0 {
        return Err(format!(
            "{what} is owned by uid {owner}, not by the daemon's user ({daemon_uid}) or root"
        ));
    }
    let mode = meta.mode();
    if mode & GROUP_OR_OTHERS_WRITE != 0 && !(is_dir && mode & STICKY != 0) {
        let who = if mode & OTHERS_WRITE != 0 {
            "others"
        } else {
            "its group"
        };
        return Err(format!(
            "{what} is writable by {who} (mode {:o}); only the daemon's user or root may be able to change a program it runs",
            mode & 0o7777
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::Permissions;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writable_files_and_directories_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let program = root.path().join("p");
        std::fs::write(&program, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&program, Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(root.path(), Permissions::from_mode(0o755)).unwrap();
        assert_eq!(check(&program), Ok(()));

        std::fs::set_permissions(&program, Permissions::from_mode(0o757)).unwrap();
        let message = check(&program).unwrap_err();
        assert!(message.contains("writable by others"), "{message}");
        std::fs::set_permissions(&program, Permissions::from_mode(0o775)).unwrap();
        let message = check(&program).unwrap_err();
        assert!(message.contains("writable by its group"), "{message}");
        std::fs::set_permissions(&program, Permissions::from_mode(0o755)).unwrap();

        std::fs::set_permissions(root.path(), Permissions::from_mode(0o777)).unwrap();
        let message = check(&program).unwrap_err();
        assert!(message.starts_with("its directory"), "{message}");
        // The sticky bit keeps others from replacing the file.
        std::fs::set_permissions(root.path(), Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(check(&program), Ok(()));

        // A symlink is judged by its target's directory too.
        let open = root.path().join("open");
        std::fs::create_dir(&open).unwrap();
        let target = open.join("real");
        std::fs::write(&target, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&target, Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&open, Permissions::from_mode(0o777)).unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let message = check(&link).unwrap_err();
        assert!(message.contains(&open.display().to_string()), "{message}");
    }
}
