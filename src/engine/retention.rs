//! History retention: finished executions older than the configured
//! retention are deleted with their log, artifacts and kept working
//! directory (Temporal's namespace retention, pueue's `clean`). Running and
//! queued executions are never touched, whatever their age, nor is the
//! newest execution (see store/retention.rs).

use std::sync::Arc;
use std::time::Duration;

use super::{run_dirs, Engine, EngineError};
use crate::clock::now_ms;
use crate::store::StoreError;

/// Most time between two prunings.
const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// Least time between two prunings.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// What one pruning deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pruned {
    /// Executions.
    pub(crate) executions: usize,
    /// Drop-folder ledger entries.
    pub(crate) drop_files: usize,
}

impl Engine {
    /// Deletes the history of executions that ended more than `retention`
    /// ago, in bounded steps, and their kept working directories.
    pub(crate) async fn prune_history(&self, retention: Duration) -> Result<Pruned, EngineError> {
        let cutoff = now_ms() - retention.as_millis().min(i64::MAX as u128) as i64;
        let mut pruned = Pruned::default();
        loop {
            let step = self.writer.prune_step(cutoff).await?;
            pruned.executions += step.executions.len();
            pruned.drop_files += step.drop_files;
            let dirs: Vec<_> = step
                .executions
                .iter()
                .map(|id| self.run_dirs.path_of(id))
                .collect();
            if !dirs.is_empty() {
                let removed = tokio::task::spawn_blocking(move || {
                    for dir in dirs {
                        if let Err(e) = run_dirs::remove_kept(&dir) {
                            tracing::warn!(dir = %dir.display(), error = %e, "cannot delete the working directory of an expired execution");
                        }
                    }
                })
                .await;
                if let Err(e) = removed {
                    tracing::error!(error = %e, "deleting the working directories of expired executions failed");
                }
            }
            if !step.more {
                return Ok(pruned);
            }
        }
    }

    /// Prunes now and then every tenth of `retention` (between a second and
    /// an hour), until the history writer stops.
    pub(crate) async fn keep_history_within(self: Arc<Self>, retention: Duration) {
        let interval = (retention / 10).clamp(MIN_INTERVAL, MAX_INTERVAL);
        loop {
            match self.prune_history(retention).await {
                Ok(pruned) if pruned != Pruned::default() => tracing::info!(
                    executions = pruned.executions,
                    drop_files = pruned.drop_files,
                    retention_days = retention.as_secs_f64() / 86_400.0,
                    "deleted expired history"
                ),
                Ok(_) => {}
                Err(EngineError::Store(StoreError::WriterStopped)) => return,
                Err(e) => tracing::error!(error = %e, "deleting expired history failed"),
            }
            tokio::time::sleep(interval).await;
        }
    }
}
