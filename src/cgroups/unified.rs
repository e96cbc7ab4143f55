//! The unified (cgroup v2) hierarchy: where this daemon's groups go in
//! it, and making them able to hold limits.
//!
//! In v2 a group hands its controllers to its children only when it holds
//! no processes itself (the root excepted). A daemon given a delegated
//! subtree (systemd's `Delegate=`, or root) therefore moves itself into a
//! leaf of its own, `workflowd-<hash>-daemon`, enables `memory` and `pids`
//! in the group it was started in, and keeps its runs' groups under a
//! sibling, `workflowd-<hash>`:
//!
//! ```text
//! <the daemon's group>          memory, pids for its children
//! ├── workflowd-<hash>-daemon   the daemon and its guardian
//! └── workflowd-<hash>          memory, pids for its children
//!     └── <execution id>        one run: memory.max, pids.max, ...
//! ```

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The controllers a run's group needs. CPU time is read from cpu.stat,
/// which every group has, with or without the `cpu` controller.
const CONTROLLERS: [&str; 2] = ["memory", "pids"];

/// This process's group in the unified hierarchy, from
/// /proc/self/mountinfo and /proc/self/cgroup; None when there is no
/// unified hierarchy mounted or this process is not in it.
pub(super) fn own_group_dir(mountinfo: &str, own: &str) -> Option<PathBuf> {
    // /proc/self/cgroup: the unified hierarchy's line is `0::PATH`.
    let path = own.lines().find_map(|line| line.strip_prefix("0::"))?;
    super::mounted_group_dir(mountinfo, path, |kind, _| kind == "cgroup2")
}

/// The group a daemon started in `group` moves out of, to the leaf
/// `leaf` in it: `group` itself, unless it is such a leaf already (a
/// daemon started again where the last one moved to), then its parent.
pub(super) fn started_in(group: PathBuf, leaf: &str) -> PathBuf {
    match group.parent() {
        Some(parent) if group.file_name().is_some_and(|name| name == leaf) => parent.to_path_buf(),
        _ => group,
    }
}

/// Whether `group` offers every controller a run's group needs, and this
/// process may create groups in it; an error says what is missing.
pub(super) fn check_delegated(group: &Path) -> Result<(), String> {
    let offered = read(&group.join("cgroup.controllers"))?;
    let missing: Vec<&str> = CONTROLLERS
        .into_iter()
        .filter(|wanted| !offered.split_whitespace().any(|c| c == *wanted))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the cgroup v2 group {} is not given the {} controller(s)",
            group.display(),
            missing.join(", ")
        ));
    }
    rustix::fs::access(group, rustix::fs::Access::WRITE_OK)
        .map_err(|e| format!("cannot create groups in {}: {e}", group.display()))
}

/// Makes `own` (the group the daemon started in) hand the controllers to
/// its children, moving this process into the leaf `daemon_leaf` first
/// when `own` may not hold processes and do that; then creates `base`,
/// under which the runs' groups go, handing them the controllers too.
pub(super) fn prepare(own: &Path, daemon_leaf: &Path, base: &Path) -> Result<(), String> {
    if let Err(first) = enable_controllers(own) {
        // Only processes in `own` keep it from handing controllers down.
        if first.raw_os_error() != Some(rustix::io::Errno::BUSY.raw_os_error()) {
            return Err(format!("{}: {first}", own.display()));
        }
        // This daemon leaves for a leaf and tries again, but only when it
        // is alone there: in a group it shares (a login session's) the
        // move would not help, and would leave a leaf behind.
        let others: Vec<String> = read(&own.join("cgroup.procs"))?
            .split_whitespace()
            .filter(|pid| *pid != std::process::id().to_string())
            .map(str::to_string)
            .collect();
        if !others.is_empty() {
            return Err(format!(
                "cannot hand the memory and pids controllers down from {}: other processes \
                 than this daemon are in it ({}): give the daemon a group of its own, as \
                 systemd's Delegate= does",
                own.display(),
                others.join(" ")
            ));
        }
        make_dir(daemon_leaf)?;
        write(&daemon_leaf.join("cgroup.procs"), "0")?;
        enable_controllers(own).map_err(|e| {
            format!(
                "cannot hand the memory and pids controllers down from {}: {e}",
                own.display()
            )
        })?;
    }
    make_dir(base)?;
    enable_controllers(base).map_err(|e| format!("{}: {e}", base.display()))
}

/// Writes `+memory +pids` to `group`'s cgroup.subtree_control.
fn enable_controllers(group: &Path) -> std::io::Result<()> {
    let enable: Vec<String> = CONTROLLERS.iter().map(|c| format!("+{c}")).collect();
    std::fs::write(group.join("cgroup.subtree_control"), enable.join(" "))
}

fn make_dir(dir: &Path) -> Result<(), String> {
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() != ErrorKind::AlreadyExists => {
            Err(format!("cannot create {}: {e}", dir.display()))
        }
        _ => Ok(()),
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, value: &str) -> Result<(), String> {
    std::fs::write(path, value).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_group_is_found_in_the_unified_hierarchy() {
        let mounts = "33 31 0:30 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n\
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            own_group_dir(mounts, "2:cpuacct:/a\n0::/system.slice/workflowd.service\n"),
            Some(PathBuf::from(
                "/sys/fs/cgroup/unified/system.slice/workflowd.service"
            ))
        );
        // A container's view: the mount shows part of the hierarchy.
        let inner = "41 31 0:38 /ctr /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            own_group_dir(inner, "0::/ctr/app\n"),
            Some(PathBuf::from("/sys/fs/cgroup/app"))
        );
        assert_eq!(own_group_dir(mounts, "2:cpuacct:/a\n"), None);
        // A daemon started in the leaf an earlier one moved into.
        assert_eq!(
            started_in(
                PathBuf::from("/cg/svc/workflowd-1-daemon"),
                "workflowd-1-daemon"
            ),
            PathBuf::from("/cg/svc")
        );
        assert_eq!(
            started_in(PathBuf::from("/cg/svc"), "workflowd-1-daemon"),
            PathBuf::from("/cg/svc")
        );
        assert_eq!(own_group_dir("", "0::/\n"), None);
    }
}
