//! Start-up recovery: what a previous daemon left behind when it died.
//!
//! Executions it was running, or starting (RUNNING without a pid, or
//! QUEUED with a run directory: `runner.rs`), are marked INTERRUPTED (with
//! an `interrupted` event) and their process groups, if still alive, are
//! killed: nobody watches them any more. Executions it had queued are
//! queued again, in their original order. What killed programs left in
//! the output and working directories is removed (`leftovers.rs`). After a host restart
//! (`host_boot.rs`) no process of theirs can be alive, and their pids may
//! be anybody's: nothing is signalled. Nor after a PostgreSQL history was
//! last written by a daemon on another host (a standby took over,
//! docs/postgres.md): its pids mean nothing here.

use std::sync::Arc;

use rustix::process::Signal;

use super::active::Activation;
use super::execution_log::Ending;
use super::{Engine, EngineError};
use crate::events::{ExecutionState, Lifecycle, LogPayload};
use crate::process::{kill_group, start_time_ticks};

/// How far the clocks of the daemons sharing a history may disagree.
const CLOCK_SKEW_MS: i64 = 60_000;

impl Engine {
    /// A daemon other than this host in this boot that may have started
    /// one of `lost` (a PostgreSQL history shared with a standby): then
    /// their pids name nothing of ours. Conservative: any claim from the
    /// one current at the earliest start on counts.
    async fn writer_elsewhere(
        &self,
        lost: &[crate::store::ExecutionRecord],
    ) -> Result<Option<crate::store::writer_claim::Claimant>, EngineError> {
        // One without a pid has nothing to signal (and no start time).
        let Some(since) = lost
            .iter()
            .filter(|r| r.pid.is_some())
            .map(|r| r.start_ms.unwrap_or(r.create_ms))
            .min()
        else {
            return Ok(None);
        };
        let writers = self
            .read(move |r| r.writers_since(since - CLOCK_SKEW_MS))
            .await?;
        let me = crate::store::writer_claim::Claimant::this_daemon();
        Ok(writers
            .into_iter()
            .find(|w| w.host != me.host || w.boot_id != me.boot_id))
    }

    /// Recovers the history of a previous run. Call once, before serving.
    pub(crate) async fn recover(self: &Arc<Self>) -> Result<(), EngineError> {
        let mut lost = self
            .read(|r| r.executions_in_state(ExecutionState::Running))
            .await?;
        let queued = self
            .read(|r| r.executions_in_state(ExecutionState::Queued))
            .await?;
        // With SQLite a queued execution with a run directory was being
        // started: its program may have run before its `started` was
        // committed, so it is not run again (runner.rs). With PostgreSQL
        // its RUNNING would be committed before any spawn.
        let (starting, queued): (Vec<_>, Vec<_>) = queued.into_iter().partition(|record| {
            !self.config.running_committed_before_spawn
                && self.run_dirs.path_of(&record.id).exists()
        });
        lost.extend(starting);
        let host_restarted = super::host_boot::restarted_since(&self.config.boot_id_file);
        let elsewhere = self.writer_elsewhere(&lost).await?;
        let mut interrupted_pids = Vec::new();
        for record in lost {
            // Another host's pids say nothing of this host's leftovers.
            if elsewhere.is_none() {
                interrupted_pids.extend(record.pid);
            }
            let reason = match (record.pid, record.pid_start_ticks) {
                _ if elsewhere.is_some() => {
                    let host = elsewhere.as_ref().map(|p| p.host.as_str()).unwrap_or("");
                    format!("the daemon on {host} stopped while the execution was running; its processes there are not signalled from this host")
                }
                _ if host_restarted => {
                    "the host restarted while the execution was running".to_string()
                }
                (Some(pid), Some(ticks)) => {
                    // The pid may belong to someone else by now: kill the
                    // group only when its leader is still our program,
                    // alive or a zombie nobody reaped (the guardian killed
                    // it with the daemon), or gone (then the
                    // kernel keeps the id reserved while the group has
                    // members, so they can only be our leftovers).
                    let leader_gone = !std::path::Path::new(&format!("/proc/{pid}")).exists();
                    if leader_gone || start_time_ticks(pid) == Some(ticks) {
                        if kill_group(pid, Signal::KILL) {
                            format!("the daemon stopped while the execution was running; its process group {pid} was still alive and has been killed")
                        } else {
                            "the daemon stopped while the execution was running; its processes had already exited".to_string()
                        }
                    } else {
                        "the daemon stopped while the execution was running; its processes had already exited".to_string()
                    }
                }
                _ => "the daemon stopped while the execution was starting".to_string(),
            };
            tracing::warn!(execution = %record.id, %reason, "marking execution INTERRUPTED");
            let rowid = record.rowid;
            let (last_sequence, tree, counts) = self.read(move |r| r.replay_summary(rowid)).await?;
            let active = self.activate(Activation {
                id: record.id,
                rowid,
                retries: record.retry.is_some(),
                workflow_id: record.workflow_id,
                batch_id: record.batch_id,
                argv: record.argv,
                timeout: None,
                limits: record.limits,
                namespace: record.namespace.into(),
                committed: Vec::new(),
                next_sequence: last_sequence + 1,
                tree,
                counts,
                accepted: None,
            });
            active
                .finish(
                    vec![LogPayload::Lifecycle(Lifecycle::Interrupted {
                        reason: reason.clone(),
                    })],
                    Ending::without_exit(ExecutionState::Interrupted, reason),
                )
                .await?;
            self.forget(&active);
        }
        // Before anything new starts, so no live run's partials are there
        // to be mistaken for leftovers.
        self.remove_leftovers_at_start(interrupted_pids, host_restarted)
            .await;
        super::host_boot::remember(&self.config.boot_id_file);

        let mut scheduler_entries = Vec::new();
        for record in queued {
            let rowid = record.rowid;
            let (last_sequence, tree, counts) = self.read(move |r| r.replay_summary(rowid)).await?;
            scheduler_entries.push(self.activate(Activation {
                id: record.id,
                rowid,
                retries: record.retry.is_some(),
                workflow_id: record.workflow_id,
                batch_id: record.batch_id,
                argv: record.argv,
                timeout: record.timeout_ms.map(std::time::Duration::from_millis),
                limits: record.limits,
                namespace: record.namespace.into(),
                committed: Vec::new(),
                next_sequence: last_sequence + 1,
                tree,
                counts,
                accepted: None,
            }));
        }
        if !scheduler_entries.is_empty() {
            tracing::info!(
                count = scheduler_entries.len(),
                "re-queued executions from the previous run"
            );
        }
        let mut scheduler = self.scheduler();
        for entry in &scheduler_entries {
            scheduler.namespaces.requeued(&entry.namespace);
        }
        for entry in scheduler_entries {
            scheduler.queue.push_back(entry);
        }
        self.dispatch(&mut scheduler);
        Ok(())
    }
}
