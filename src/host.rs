//! Who this host is, for telling its processes from another host's or an
//! earlier boot's: the kernel's boot id (a random UUID per boot) and the
//! host name.

/// The kernel's id of this boot; None without /proc.
pub(crate) fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
}

/// The host's name (`uname -n`).
pub(crate) fn name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}
