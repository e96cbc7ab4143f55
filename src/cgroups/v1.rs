//! The cgroup v1 hierarchies, one per controller, as hosts with the
//! legacy or hybrid layout have them (and this project's machines do):
//! where this daemon's group is in each.

use std::path::PathBuf;

/// The directory of this process's own group in the v1 hierarchy of
/// `controller`, from /proc/self/mountinfo and /proc/self/cgroup.
pub(super) fn own_group_dir(mountinfo: &str, own: &str, controller: &str) -> Option<PathBuf> {
    // /proc/self/cgroup: ID:CONTROLLERS:PATH
    let path = own.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_id, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        controllers
            .split(',')
            .any(|c| c == controller)
            .then_some(path)
    })?;
    super::mounted_group_dir(mountinfo, path, |kind, options| {
        kind == "cgroup" && options.split(',').any(|o| o == controller)
    })
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
