//! Which executables the daemon is willing to run: a program found in a
//! workflow directory runs with the daemon's rights (often root), so only
//! a file its own user or root controls may be run. Anyone else who could
//! write the file, or replace it in its directory, could run code as the
//! daemon.
//!
//! The rules, checked by discovery before `--workflow-metadata` and again
//! by the runner right before each start:
//! - the file is owned by the daemon's user or by root, and neither its
//!   group nor others may write it;
//! - a symlink on the way (each one of a chain, as /etc/alternatives makes
//!   them) is owned by the daemon's user or root too: in a sticky
//!   directory anyone may leave a link of their own and swap its target;
//! - the directory holding the program and the one holding each link and
//!   the final file are owned by the daemon's user or root, and neither
//!   their group nor others may write them, unless they have the sticky
//!   bit (as /tmp has), which keeps others from renaming or deleting files
//!   they do not own. Only these immediate directories are checked: the
//!   ones above are the system's (/, /usr, /home), and a rule for every
//!   ancestor would refuse ordinary setups without making them safer.
//!
//! Group write is harmless when the group is the owner's private group
//! (named like the owner, no other members): umask 002 systems give every
//! file such a group, a cargo build's `target/` included.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The bits that let the group or others write.
const GROUP_OR_OTHERS_WRITE: u32 = 0o022;
const GROUP_WRITE: u32 = 0o020;
const OTHERS_WRITE: u32 = 0o002;
const STICKY: u32 = 0o1000;

/// Most symlinks followed from a program to its file (the kernel's limit).
const MAX_SYMLINKS: usize = 40;

/// Fails with the reason when `program` may not be run by the daemon.
pub(crate) fn check(program: &Path) -> Result<(), String> {
    let daemon_uid = rustix::process::geteuid().as_raw();
    let mut current = program.to_path_buf();
    for _ in 0..MAX_SYMLINKS {
        check_directory_of(&current, daemon_uid)?;
        let entry = std::fs::symlink_metadata(&current)
            .map_err(|e| format!("cannot inspect {}: {e}", current.display()))?;
        if !entry.file_type().is_symlink() {
            let what = if current == program {
                "it".to_string()
            } else {
                format!("its target {}", current.display())
            };
            return check_owner_and_mode(&what, &entry, daemon_uid, false);
        }
        let owner = entry.uid();
        if owner != daemon_uid && owner != 0 {
            return Err(format!(
                "the symlink {} is owned by uid {owner}, not by the daemon's user ({daemon_uid}) \
                 or root: its owner could point it anywhere",
                current.display()
            ));
        }
        let target = std::fs::read_link(&current)
            .map_err(|e| format!("cannot read the symlink {}: {e}", current.display()))?;
        current = match current.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
    }
    Err(format!(
        "more than {MAX_SYMLINKS} symlinks lead from it to a file"
    ))
}

/// Checks the directory holding `entry`.
fn check_directory_of(entry: &Path, daemon_uid: u32) -> Result<(), String> {
    let dir: PathBuf = match entry.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let meta = std::fs::metadata(&dir)
        .map_err(|e| format!("cannot inspect its directory {}: {e}", dir.display()))?;
    check_owner_and_mode(
        &format!("its directory {}", dir.display()),
        &meta,
        daemon_uid,
        true,
    )
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
    let mut writable = mode & GROUP_OR_OTHERS_WRITE;
    if writable == GROUP_WRITE && is_private_group(meta.gid(), owner) {
        writable = 0;
    }
    if writable != 0 && !(is_dir && mode & STICKY != 0) {
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

/// Whether `gid` is `uid`'s private group: named like the user, with no
/// member but the user, so group write gives nobody else anything.
fn is_private_group(gid: u32, uid: u32) -> bool {
    use uzers::os::unix::GroupExt;
    let (Some(group), Some(user)) = (uzers::get_group_by_gid(gid), uzers::get_user_by_uid(uid))
    else {
        return false;
    };
    group.name() == user.name() && group.members().iter().all(|member| member == user.name())
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
        if rustix::process::geteuid().as_raw() == 0 {
            // A group that is not the owner's private one (nogroup).
            std::os::unix::fs::chown(&program, None, Some(65534)).unwrap();
            std::fs::set_permissions(&program, Permissions::from_mode(0o775)).unwrap();
            let message = check(&program).unwrap_err();
            assert!(message.contains("writable by its group"), "{message}");
            std::os::unix::fs::chown(&program, None, Some(0)).unwrap();
        }
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

        // Each link of a chain is judged: the second one sits in an open
        // directory, where anyone could swap it.
        std::fs::set_permissions(&open, Permissions::from_mode(0o755)).unwrap();
        let hop = root.path().join("swappable");
        std::fs::create_dir(&hop).unwrap();
        std::os::unix::fs::symlink(&target, hop.join("next")).unwrap();
        std::fs::set_permissions(&hop, Permissions::from_mode(0o777)).unwrap();
        let chain = root.path().join("chain");
        std::os::unix::fs::symlink(hop.join("next"), &chain).unwrap();
        std::fs::set_permissions(root.path(), Permissions::from_mode(0o755)).unwrap();
        let message = check(&chain).unwrap_err();
        assert!(message.contains(&hop.display().to_string()), "{message}");
        std::fs::set_permissions(&hop, Permissions::from_mode(0o755)).unwrap();
        assert_eq!(check(&chain), Ok(()));
    }

    #[test]
    fn a_link_owned_by_someone_else_is_refused_even_in_a_sticky_directory() {
        if rustix::process::geteuid().as_raw() != 0 {
            // Only root can give a link another owner.
            return;
        }
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("real");
        std::fs::write(&target, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&target, Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(root.path(), Permissions::from_mode(0o1777)).unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(check(&link), Ok(()));
        std::os::unix::fs::lchown(&link, Some(65534), None).unwrap();
        let message = check(&link).unwrap_err();
        assert!(
            message.contains("the symlink") && message.contains("65534"),
            "{message}"
        );
    }

    #[test]
    fn group_write_by_the_owners_private_group_is_harmless() {
        use uzers::os::unix::GroupExt;
        let uid = rustix::process::geteuid().as_raw();
        let Some(user) = uzers::get_user_by_uid(uid) else {
            return;
        };
        let private = uzers::get_group_by_name(user.name())
            .filter(|g| g.members().iter().all(|m| m == user.name()));
        let Some(private) = private else {
            return;
        };
        let root = tempfile::tempdir().unwrap();
        let program = root.path().join("p");
        std::fs::write(&program, "#!/bin/sh\n").unwrap();
        std::os::unix::fs::chown(&program, None, Some(private.gid())).unwrap();
        std::fs::set_permissions(&program, Permissions::from_mode(0o775)).unwrap();
        std::fs::set_permissions(root.path(), Permissions::from_mode(0o755)).unwrap();
        assert_eq!(check(&program), Ok(()));
    }
}
