//! Control groups for executions with resource limits (docs/security.md,
//! "Resource limits"): the kernel holds such a run's whole tree, the
//! processes that left its process group included, to its process and
//! memory limits, counts its CPU time, and lets Cancel and timeouts reach
//! every process of it.
//!
//! This is the cgroup v1 hierarchy, with the `pids`, `memory` and
//! `cpuacct` controllers each mounted on their own, as hosts with the
//! legacy or hybrid layout have it (and this project's machines do). A
//! unified (v2) hierarchy with these controllers delegated is not used
//! yet: there the runner's process-group watch and setrlimit enforce the
//! limits, as they do wherever this daemon may not create groups.
//!
//! Each daemon keeps its groups under one of its own in each hierarchy,
//! `workflowd-<hash of its data directory>`, inside the group it was
//! started in, so two daemons never touch each other's, and a daemon
//! started again on the same data finds what its previous life left.

mod execution;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use execution::{CgroupSample, ExecutionCgroup};

/// A controller this daemon uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Controller {
    /// Process count (pids.max, pids.current, pids.events).
    Pids,
    /// Memory (memory.limit_in_bytes, memory.max_usage_in_bytes,
    /// memory.oom_control).
    Memory,
    /// CPU time (cpuacct.usage).
    Cpuacct,
}

impl Controller {
    const ALL: [Controller; 3] = [Controller::Pids, Controller::Memory, Controller::Cpuacct];

    fn name(self) -> &'static str {
        match self {
            Controller::Pids => "pids",
            Controller::Memory => "memory",
            Controller::Cpuacct => "cpuacct",
        }
    }
}

/// This daemon's group in each hierarchy, under which each execution with
/// limits gets one of its own.
#[derive(Debug)]
pub struct Cgroups {
    /// In the order of [`Controller::ALL`].
    bases: Vec<(Controller, PathBuf)>,
}

impl Cgroups {
    /// Where this daemon's groups go, for the data directory `data_dir`;
    /// an error says why there are none (no such hierarchy, or no right to
    /// create groups in it).
    pub fn for_daemon(data_dir: &Path) -> Result<Cgroups, String> {
        let mounts = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
        let name = format!(
            "workflowd-{:016x}",
            crate::fnv::fnv1a(data_dir.as_os_str().as_encoded_bytes().iter().copied())
        );
        let mut bases = Vec::new();
        for controller in Controller::ALL {
            let dir = own_group_dir(&mounts, &own, controller.name()).ok_or_else(|| {
                format!(
                    "no cgroup v1 hierarchy with the {} controller",
                    controller.name()
                )
            })?;
            // Created with the first run's group: a daemon that runs
            // nothing with limits leaves no trace in the hierarchy.
            rustix::fs::access(&dir, rustix::fs::Access::WRITE_OK)
                .map_err(|e| format!("cannot create groups in {}: {e}", dir.display()))?;
            bases.push((controller, dir.join(&name)));
        }
        Ok(Cgroups { bases })
    }

    /// A new group for the execution `id`, holding `limits`.
    pub fn create(
        &self,
        id: &str,
        limits: &crate::program_limits::ProgramLimits,
    ) -> std::io::Result<ExecutionCgroup> {
        ExecutionCgroup::create(&self.bases, id, limits)
    }

    /// Kills what an earlier life of this daemon left in its groups (a
    /// crash leaves every program it ran with limits, those that left
    /// their process group too) and removes the groups. Returns how many
    /// groups were found.
    pub fn remove_leftovers(&self) -> usize {
        // Every hierarchy: a removal cut short may have left a group in
        // one and not another.
        let ids: std::collections::BTreeSet<String> = self
            .bases
            .iter()
            .filter_map(|(_, base)| std::fs::read_dir(base).ok())
            .flat_map(|entries| entries.flatten())
            .filter(|entry| entry.path().is_dir())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        let found = ids.len();
        for id in ids {
            let group = ExecutionCgroup::existing(&self.bases, &id);
            let killed = group.kill_all();
            if killed > 0 {
                tracing::warn!(group = %id, processes = killed, "killed what a previous life of the daemon left in an execution's control group");
            }
            if let Err(e) = group.remove() {
                tracing::warn!(group = %id, error = %e, "could not remove a control group left by a previous life");
            }
        }
        found
    }
}

impl Drop for Cgroups {
    /// The daemon's own groups go with it, once its runs' groups are gone
    /// (a group with children cannot be removed, and is kept).
    fn drop(&mut self) {
        for (_, base) in &self.bases {
            let _ = std::fs::remove_dir(base);
        }
    }
}

/// The control groups of a daemon starting on `data_dir`, with what an
/// earlier life left in them killed; None when `enabled` is false
/// (config `cgroups`) or the host has none it may create, which is
/// logged with the reason.
pub fn at_daemon_start(enabled: bool, data_dir: &Path) -> Option<Arc<Cgroups>> {
    if !enabled {
        tracing::info!(
            "control groups off (cgroups = false): resource limits use the process-group watch"
        );
        return None;
    }
    match Cgroups::for_daemon(data_dir) {
        Ok(cgroups) => {
            let leftovers = cgroups.remove_leftovers();
            tracing::info!(
                leftovers,
                "each run with resource limits gets a control group"
            );
            Some(Arc::new(cgroups))
        }
        Err(why) => {
            tracing::info!(%why, "no control groups: resource limits use the process-group watch");
            None
        }
    }
}

/// The directory of this process's own group in the v1 hierarchy of
/// `controller`, from /proc/self/mountinfo and /proc/self/cgroup.
fn own_group_dir(mountinfo: &str, own: &str, controller: &str) -> Option<PathBuf> {
    // mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ... - FSTYPE SOURCE SUPER_OPTIONS
    let (root, mount_point) = mountinfo.lines().find_map(|line| {
        let (mount, filesystem) = line.split_once(" - ")?;
        let mut filesystem = filesystem.split(' ');
        let (kind, _source, options) = (filesystem.next()?, filesystem.next()?, filesystem.next()?);
        if kind != "cgroup" || !options.split(',').any(|o| o == controller) {
            return None;
        }
        let mut fields = mount.split(' ');
        let root = fields.nth(3)?;
        let mount_point = fields.next()?;
        Some((root.to_string(), PathBuf::from(mount_point)))
    })?;
    // /proc/self/cgroup: ID:CONTROLLERS:PATH
    let path = own.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_id, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        controllers
            .split(',')
            .any(|c| c == controller)
            .then(|| path.to_string())
    })?;
    // The mount may show a part of the hierarchy (a container's view):
    // our path is relative to the hierarchy's root, the mount to `root`.
    let inside = if root == "/" {
        path.as_str()
    } else {
        path.strip_prefix(root.as_str())?
    };
    Some(mount_point.join(inside.trim_start_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n\
        35 31 0:32 /outer /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n\
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
    const OWN: &str = "8:pids:/\n4:memory:/outer/api/7\n2:cpuacct:/a\n0::/\n";

    #[test]
    fn our_own_group_is_found_in_each_hierarchy() {
        assert_eq!(
            own_group_dir(MOUNTINFO, OWN, "pids"),
            Some(PathBuf::from("/sys/fs/cgroup/pids"))
        );
        assert_eq!(
            own_group_dir(MOUNTINFO, OWN, "memory"),
            Some(PathBuf::from("/sys/fs/cgroup/memory/api/7"))
        );
        assert_eq!(
            own_group_dir(MOUNTINFO, OWN, "cpuacct"),
            Some(PathBuf::from("/sys/fs/cgroup/cpuacct/a"))
        );
        // Only v1 hierarchies: the unified one is not looked at.
        assert_eq!(own_group_dir(MOUNTINFO, OWN, "hugetlb"), None);
    }
}
