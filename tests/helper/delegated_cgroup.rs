//! A cgroup v2 group of its own for each daemon under test, as systemd's
//! `Delegate=` gives a service, when `WORKFLOW_TEST_CGROUP_DELEGATE` names
//! a group to make them in (scripts/test-cgroup-v2.sh does, in a VM): the
//! daemon then has to move itself into a leaf to hand the controllers to
//! its runs' groups (src/cgroups/unified.rs), which is the path a daemon
//! under systemd takes.

use std::ffi::CString;
use std::path::{Path, PathBuf};

/// The group the daemon with temp dir `root` starts in, made if missing;
/// None unless the tests are asked to delegate.
pub(super) fn for_daemon(root: &Path) -> Option<PathBuf> {
    let parent = PathBuf::from(std::env::var_os("WORKFLOW_TEST_CGROUP_DELEGATE")?);
    let group = parent.join(root.file_name().expect("a temp dir name"));
    match std::fs::create_dir(&group) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            panic!("cannot make the daemon's group {}: {e}", group.display())
        }
        _ => Some(group),
    }
}

/// Makes `command` start in `group`: or, when an earlier daemon there
/// handed its controllers down (and so may hold no process), in the leaf
/// it moved into, where a restart under a supervisor would find it.
pub(super) fn start_in(command: &mut tokio::process::Command, group: &Path) {
    let earlier_leaf = std::fs::read_dir(group).ok().and_then(|entries| {
        entries
            .flatten()
            .map(|entry| entry.path())
            .find(|path| path.is_dir() && path.to_string_lossy().ends_with("-daemon"))
    });
    let join = earlier_leaf.unwrap_or_else(|| group.to_path_buf());
    let procs = CString::new(
        join.join("cgroup.procs")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .expect("no NUL in a path");
    // SAFETY: between fork and exec the closure only makes system calls
    // on memory allocated before the fork.
    unsafe {
        command.pre_exec(move || {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(fd);
            Ok(())
        });
    }
}

/// Kills everything in `group` and below, and removes the groups.
pub(super) fn remove(group: &Path) {
    let _ = std::fs::write(group.join("cgroup.kill"), "1");
    remove_tree(group);
}

/// Removes the groups under `dir`, then `dir`, waiting (up to about 2 s
/// each) for killed processes to be gone.
fn remove_tree(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().is_dir() {
            remove_tree(&entry.path());
        }
    }
    for _ in 0..200 {
        match std::fs::remove_dir(dir) {
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            _ => return,
        }
    }
}
