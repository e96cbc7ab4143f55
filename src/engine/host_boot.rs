//! Whether the host restarted since the previous daemon ran. Process ids
//! and start times begin again at each boot, so after a restart a pid the
//! history kept may name anybody's process, with a matching start time
//! by chance: recovery must not signal it. The kernel's boot id (a random
//! UUID per boot) is kept in the data directory at each start and compared
//! at the next.

use std::path::Path;

use crate::host::boot_id as current;

/// Whether the boot id kept in `file` is another boot's. False when it
/// is unknown (no file yet, as before this check existed, or no /proc):
/// then recovery judges processes as before, by pid and start time.
pub(super) fn restarted_since(file: &Path) -> bool {
    let kept = std::fs::read_to_string(file).ok();
    match (kept, current()) {
        (Some(kept), Some(now)) => kept.trim() != now,
        _ => false,
    }
}

/// Keeps this boot's id in `file` for the next start.
pub(super) fn remember(file: &Path) {
    let Some(now) = current() else { return };
    if let Err(e) = crate::fs::write_atomic(file, now.as_bytes(), crate::fs::Access::Private) {
        tracing::warn!(file = %file.display(), error = %e, "cannot keep the host's boot id; the next start cannot tell a host restart");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_boots_id_is_a_restart_and_an_unknown_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("boot-id");
        assert!(!restarted_since(&file), "no file: unknown");
        remember(&file);
        assert!(!restarted_since(&file), "the same boot");
        std::fs::write(&file, "00000000-0000-0000-0000-000000000000\n").unwrap();
        assert!(restarted_since(&file));
    }
}
