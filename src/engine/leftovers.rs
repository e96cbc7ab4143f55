//! What a killed program left behind. A program that ends by itself, even
//! on SIGTERM, cleans up after itself; one killed with SIGKILL (after the
//! grace period, on a forced cancel, by the OOM killer) or orphaned by a
//! daemon crash cannot. The VM pipeline names everything it has not
//! finished `.<name>.partial-<pid>` (`vm/partial.rs`), with its own pid, so
//! the daemon can tell exactly which entries the dead process owned:
//! partial outputs below the output directory, scratch directories in the
//! execution's working directory.
//!
//! They are removed at once after a program died of a signal, before its
//! end is recorded (a client that sees the end never sees them), and at
//! start-up for every pid that is not a live process any more, or that
//! belonged to an execution recovery has just interrupted.

use std::path::{Path, PathBuf};

use super::Engine;
use crate::fs::partial;
use crate::process::stat_from_state;

/// How deep below the output directory partial outputs are looked for:
/// `OUTPUT_DIR/YYYY-MM-DD/<name>/.<file>.partial-<pid>/` is three levels
/// down, and an `output_path` may add folders of its own; deeper than this
/// is left to the operator (the sweep runs only after a kill and at start,
/// so a deep bound costs little).
pub(super) const OUTPUT_SEARCH_DEPTH: usize = 16;

/// How deep below the runs directory scratch directories are looked for at
/// start-up: `runs/<id>/.<name>.work.partial-<pid>/`.
const RUNS_SEARCH_DEPTH: usize = 2;

impl Engine {
    /// Removes what the program `pid` of execution `execution_id`, just
    /// killed, left below the output directory and in `run_dir`. Called on
    /// the worker thread once the program's process group is gone.
    pub(super) fn remove_leftovers_of(&self, execution_id: &str, pid: i32, run_dir: &Path) {
        let roots = [
            (self.config.output_dir.clone(), OUTPUT_SEARCH_DEPTH),
            (run_dir.to_path_buf(), 1),
        ];
        let owner = u32::try_from(pid).ok();
        sweep_all(&roots, &|candidate| Some(candidate) == owner, execution_id);
    }

    /// At start-up, after recovery killed the process groups of the
    /// executions it interrupted (`interrupted`: their pids): removes every
    /// partial entry below the output directory and the runs directory
    /// whose owner is not a live process or is one of those; after a host
    /// restart (`host_restarted`), every one (their owners died with the
    /// host, and their pids may be reused).
    pub(super) async fn remove_leftovers_at_start(
        &self,
        interrupted: Vec<i32>,
        host_restarted: bool,
    ) {
        let roots = [
            (self.config.output_dir.clone(), OUTPUT_SEARCH_DEPTH),
            (self.config.runs_dir.clone(), RUNS_SEARCH_DEPTH),
        ];
        let swept = tokio::task::spawn_blocking(move || {
            let owned_by_dead = |pid: u32| {
                host_restarted
                    || i32::try_from(pid)
                        .is_ok_and(|pid| interrupted.contains(&pid) || !is_live(pid))
            };
            sweep_all(&roots, &owned_by_dead, "start-up");
        })
        .await;
        if let Err(e) = swept {
            tracing::warn!(error = %e, "the start-up sweep of partial leftovers failed");
        }
    }
}

/// Sweeps each root and logs what was removed and what could not be.
fn sweep_all(roots: &[(PathBuf, usize)], owned_by_dead: &dyn Fn(u32) -> bool, why: &str) {
    for (root, depth) in roots {
        let swept = partial::sweep(root, *depth, owned_by_dead);
        for path in &swept.removed {
            tracing::info!(path = %path.display(), %why, "removed a killed program's partial leftover");
        }
        for (path, error) in &swept.failed {
            tracing::warn!(path = %path.display(), %error, %why, "cannot remove a killed program's partial leftover");
        }
    }
}

/// Whether `pid` is a process that still runs (not a zombie).
fn is_live(pid: i32) -> bool {
    stat_from_state(pid).is_some_and(|stat| {
        let state = stat.trim_start();
        !(state.starts_with('Z') || state.starts_with('X'))
    })
}
