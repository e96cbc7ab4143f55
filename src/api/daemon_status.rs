//! GetStatus: the daemon's version and uptime, the engine's counts, the
//! workflow directories, the drop folders and the active batches, in one
//! answer (the health probe of dashboards and `wfctl status`). A caller
//! seeing only some namespaces gets the counts, directories, drop folders
//! and batches of those; one that names a namespace gets that
//! namespace's counts and batches (its directories and drop folders stay
//! those of every namespace it sees).

use tonic::{Response, Status};

use super::{convert, WorkflowApi};
use crate::pb;
use crate::watcher::DropMode;

/// Facts about the daemon that GetStatus reports besides the engine's counts.
#[derive(Debug, Clone)]
pub(crate) struct DaemonInfo {
    /// Daemon version.
    pub(crate) version: String,
    /// Start time, ms since the epoch.
    pub(crate) started_at_ms: i64,
    /// History file.
    pub(crate) database_path: String,
    /// How long finished executions are kept; None: forever.
    pub(crate) history_retention: Option<std::time::Duration>,
}

impl WorkflowApi {
    /// The active batches GetStatus shows; none when the history cannot
    /// be read for them (GetStatus is the health probe: the rest of it
    /// still answers).
    async fn active_batches_shown(
        &self,
        seen: &crate::namespaces::Visibility,
    ) -> Vec<pb::BatchSummary> {
        match self.engine.active_batches().await {
            Ok(batches) => {
                let mut shown = Vec::new();
                for batch in &batches {
                    if self.sees_batch(seen, &batch.counts.batch_id).await {
                        shown.push(convert::batch(batch));
                    }
                }
                shown
            }
            Err(e) => {
                tracing::warn!(error = %e, "no active batches: the history could not be read");
                Vec::new()
            }
        }
    }

    /// GetStatus for a caller seeing `seen` that asks for the counts of
    /// `namespace` (empty: of every namespace it sees).
    pub(super) async fn get_status_call(
        &self,
        seen: &crate::namespaces::Visibility,
        namespace: &str,
    ) -> Result<Response<pb::GetStatusResponse>, Status> {
        let counted = super::namespaces::narrowed(seen, namespace);
        let status = self.engine.status(&counted).await?;
        let active_batches = self.active_batches_shown(&counted).await;
        let catalog = self.engine.catalog();
        catalog.settled().await;
        // A caller seeing only some namespaces sees their directories, as
        // ListWorkflows lists their workflows (the bundled ones are every
        // namespace's), and the drop folders whose runs go into them.
        let mut directories = catalog.directory_summaries();
        let mut probing = catalog.probing();
        let now = crate::clock::now_ms();
        let mut drop_folders = match &self.drop_folders {
            Some(folders) => folders.statuses().await,
            None => Vec::new(),
        };
        if *seen != crate::namespaces::Visibility::All {
            directories.retain(|d| {
                let of = self.engine.namespaces_of_directory(&d.path);
                seen.sees_any(of.iter().map(String::as_str))
            });
            probing.retain(|path| self.sees_program(seen, path));
            drop_folders.retain(|d| seen.sees(&d.namespace));
        }
        Ok(Response::new(pb::GetStatusResponse {
            version: self.info.version.clone(),
            start_time: Some(convert::timestamp(self.info.started_at_ms)),
            uptime_seconds: ((now - self.info.started_at_ms).max(0) / 1000) as u64,
            max_workers: status.max_workers as u32,
            running: status.running as u32,
            queued: status.queued as u32,
            max_queue: status.max_queue as u32,
            succeeded_today: status.succeeded_today,
            failed_today: status.failed_today,
            total_executions: status.totals_by_state.values().sum(),
            totals_by_state: status.totals_by_state.into_iter().collect(),
            workflows_discovered: directories.iter().map(|d| d.workflows).sum(),
            discovery_errors: directories.iter().map(|d| d.failures).sum(),
            programs_probing: probing.len() as u32,
            active_batches,
            workflow_directories: directories
                .into_iter()
                .map(|d| pb::WorkflowDirectory {
                    path: d.path.to_string_lossy().into_owned(),
                    workflows: d.workflows,
                    discovery_errors: d.failures,
                    exists: d.exists,
                })
                .collect(),
            database_path: self.info.database_path.clone(),
            history_retention: self.info.history_retention.map(convert::pb_duration),
            history_write_failure: status.history_write_failure.map(|failure| {
                pb::HistoryWriteFailure {
                    error: failure.error,
                    since: Some(convert::timestamp(failure.since_ms)),
                }
            }),
            drop_folders: drop_folders
                .into_iter()
                .map(|d| pb::DropFolder {
                    path: d.path.to_string_lossy().into_owned(),
                    mode: match d.mode {
                        DropMode::Manifest => pb::DropFolderMode::Manifest,
                        DropMode::Disk => pb::DropFolderMode::Disk,
                    } as i32,
                    files_waiting: d.files_waiting.min(u64::from(u32::MAX)) as u32,
                    files_processing: d.files_processing.min(u64::from(u32::MAX)) as u32,
                    processed_today: d.processed_today,
                    failed_today: d.failed_today,
                    watching: d.watching,
                })
                .collect(),
            output_dir: self
                .manifests
                .as_ref()
                .map(|m| m.output_dir().to_string_lossy().into_owned())
                .unwrap_or_default(),
            program_limits_enforcement: self.engine.program_limits_enforcement(),
            daemons: self.daemons_shown().await,
        }))
    }
}
