//! Control groups for executions with resource limits (docs/security.md,
//! "Resource limits"): the kernel holds such a run's whole tree, the
//! processes that left its process group included, to its process and
//! memory limits, counts its CPU time, and lets Cancel and timeouts reach
//! every process of it.
//!
//! Either hierarchy: the unified one (cgroup v2) when this daemon is given
//! a subtree of it with the `memory` and `pids` controllers (root, or
//! systemd's `Delegate=`), else the v1 hierarchies with the `pids`,
//! `memory` and `cpuacct` controllers each mounted on their own, as hosts
//! with the legacy or hybrid layout have them. Where neither may be used,
//! the runner's process-group watch and setrlimit enforce the limits.
//!
//! Each daemon keeps its groups under one of its own,
//! `workflowd-<hash of its data directory>`, inside the group it was
//! started in, so two daemons never touch each other's, and a daemon
//! started again on the same data finds what its previous life left.

mod execution;
mod unified;
mod v1;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use execution::{CgroupSample, ExecutionCgroup};

/// A controller this daemon uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Controller {
    /// Process count (pids.max, pids.current, pids.events).
    Pids,
    /// Memory (v1: memory.limit_in_bytes, memory.max_usage_in_bytes,
    /// memory.oom_control).
    Memory,
    /// CPU time (v1: cpuacct.usage).
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

/// Where a group is: one directory per controller's hierarchy (v1), or
/// one in the unified hierarchy (v2).
#[derive(Debug, Clone)]
pub(crate) enum GroupDirs {
    /// In the order of [`Controller::ALL`].
    V1(Vec<(Controller, PathBuf)>),
    Unified(PathBuf),
}

impl GroupDirs {
    /// The group `name` under this one.
    fn child(&self, name: &str) -> GroupDirs {
        match self {
            GroupDirs::V1(dirs) => GroupDirs::V1(
                dirs.iter()
                    .map(|(controller, dir)| (*controller, dir.join(name)))
                    .collect(),
            ),
            GroupDirs::Unified(dir) => GroupDirs::Unified(dir.join(name)),
        }
    }

    /// Each directory of the group.
    fn dirs(&self) -> impl Iterator<Item = &Path> {
        let (v1, unified) = match self {
            GroupDirs::V1(dirs) => (Some(dirs.iter().map(|(_, dir)| dir.as_path())), None),
            GroupDirs::Unified(dir) => (None, Some(dir.as_path())),
        };
        v1.into_iter().flatten().chain(unified)
    }
}

/// This daemon's group, under which each execution with limits gets one
/// of its own.
#[derive(Debug)]
pub struct Cgroups {
    base: GroupDirs,
    /// v2: the group the daemon started in, and the leaf it moves into
    /// (see `unified.rs`).
    unified_parent: Option<(PathBuf, PathBuf)>,
}

impl Cgroups {
    /// Where this daemon's groups go, for the data directory `data_dir`;
    /// an error says why there are none (no such hierarchy, or no right to
    /// create groups in it). Looks only: [`Cgroups::prepare`] readies them.
    pub fn for_daemon(data_dir: &Path) -> Result<Cgroups, String> {
        let mounts = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
        let name = format!(
            "workflowd-{:016x}",
            crate::fnv::fnv1a(data_dir.as_os_str().as_encoded_bytes().iter().copied())
        );
        let leaf = format!("{name}-daemon");
        let unified = match unified::own_group_dir(&mounts, &own)
            .map(|group| unified::started_in(group, &leaf))
        {
            Some(group) => match unified::check_delegated(&group) {
                Ok(()) => {
                    return Ok(Cgroups {
                        base: GroupDirs::Unified(group.join(&name)),
                        unified_parent: Some((group.clone(), group.join(&leaf))),
                    })
                }
                Err(why) => why,
            },
            None => "no cgroup v2 hierarchy".to_string(),
        };
        let mut bases = Vec::new();
        for controller in Controller::ALL {
            let dir = v1::own_group_dir(&mounts, &own, controller.name()).ok_or_else(|| {
                format!(
                    "{unified}, and no cgroup v1 hierarchy with the {} controller",
                    controller.name()
                )
            })?;
            // Created with the first run's group: a daemon that runs
            // nothing with limits leaves no trace in the hierarchy.
            rustix::fs::access(&dir, rustix::fs::Access::WRITE_OK)
                .map_err(|e| format!("cannot create groups in {}: {e}", dir.display()))?;
            bases.push((controller, dir.join(&name)));
        }
        Ok(Cgroups {
            base: GroupDirs::V1(bases),
            unified_parent: None,
        })
    }

    /// Readies the daemon's group for its runs' groups. v2 needs it done
    /// before any run (the daemon may move into a leaf of its own, see
    /// `unified.rs`), and before the daemon starts other processes that
    /// would stay behind; v1 needs nothing.
    fn prepare(&self) -> Result<(), String> {
        match (&self.base, &self.unified_parent) {
            (GroupDirs::Unified(base), Some((own, leaf))) => unified::prepare(own, leaf, base),
            _ => Ok(()),
        }
    }

    /// Which hierarchy the groups are in, and the controllers used, for
    /// GetStatus.
    pub fn describe(&self) -> &'static str {
        match self.base {
            GroupDirs::V1(_) => "a cgroup v1 group per run with limits (pids, memory, cpuacct)",
            GroupDirs::Unified(_) => {
                "a cgroup v2 group per run with limits (pids, memory, cpu.stat)"
            }
        }
    }

    /// A new group for the execution `id`, holding `limits`.
    pub fn create(
        &self,
        id: &str,
        limits: &crate::program_limits::ProgramLimits,
    ) -> std::io::Result<ExecutionCgroup> {
        ExecutionCgroup::create(self.base.child(id), limits)
    }

    /// Kills what an earlier life of this daemon left in its groups (a
    /// crash leaves every program it ran with limits, those that left
    /// their process group too) and removes the groups. Returns how many
    /// groups were found.
    pub fn remove_leftovers(&self) -> usize {
        // Every hierarchy: a removal cut short may have left a group in
        // one and not another.
        let ids: std::collections::BTreeSet<String> = self
            .base
            .dirs()
            .filter_map(|base| std::fs::read_dir(base).ok())
            .flat_map(|entries| entries.flatten())
            .filter(|entry| entry.path().is_dir())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        let found = ids.len();
        for id in ids {
            let group = ExecutionCgroup::existing(self.base.child(&id));
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

/// Where the group at `path` (as /proc/self/cgroup gives it) is, in the
/// first mount in `mountinfo` of a hierarchy `is_hierarchy(fstype,
/// super options)` accepts.
fn mounted_group_dir(
    mountinfo: &str,
    path: &str,
    is_hierarchy: impl Fn(&str, &str) -> bool,
) -> Option<PathBuf> {
    // mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ... - FSTYPE SOURCE SUPER_OPTIONS
    let (root, mount_point) = mountinfo.lines().find_map(|line| {
        let (mount, filesystem) = line.split_once(" - ")?;
        let mut filesystem = filesystem.split(' ');
        let kind = filesystem.next()?;
        let options = filesystem.nth(1).unwrap_or("");
        if !is_hierarchy(kind, options) {
            return None;
        }
        let mut fields = mount.split(' ');
        let root = fields.nth(3)?;
        let mount_point = fields.next()?;
        Some((root, PathBuf::from(mount_point)))
    })?;
    // The mount may show a part of the hierarchy (a container's view):
    // our path is relative to the hierarchy's root, the mount to `root`.
    let inside = if root == "/" {
        path
    } else {
        path.strip_prefix(root)?
    };
    Some(mount_point.join(inside.trim_start_matches('/')))
}

impl Drop for Cgroups {
    /// The daemon's own groups go with it, once its runs' groups are gone
    /// (a group with children cannot be removed, and is kept).
    fn drop(&mut self) {
        for base in self.base.dirs() {
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
    match Cgroups::for_daemon(data_dir).and_then(|cgroups| cgroups.prepare().map(|()| cgroups)) {
        Ok(cgroups) => {
            let leftovers = cgroups.remove_leftovers();
            tracing::info!(
                leftovers,
                enforcement = cgroups.describe(),
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
