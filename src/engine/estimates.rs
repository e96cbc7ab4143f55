//! Estimates of active executions and batches (docs/estimates.md): the
//! engine gathers what the math in [`crate::estimate`] needs (live trees,
//! start times, the workflows' latest successful runs, a batch's counts)
//! and computes them as of now.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::active::{ActiveExecution, Phase};
use super::{Engine, EngineError};
use crate::clock::now_ms;
use crate::estimate::batch::{batch_estimate, ActiveMember, BatchTally};
use crate::estimate::{self, execution_estimate, Estimate, PastRuns, Stage, HISTORY_RUNS};
use crate::events::ExecutionState;
use crate::store::{BatchCounts, ExecutionRecord, SuccessfulRun};

/// How many active batches GetStatus shows, the newest: each costs a
/// count of its executions and its members' estimates, and the dashboard
/// asks every few seconds however many drop-folder jobs are waiting.
pub(crate) const ACTIVE_BATCHES_SHOWN: usize = 50;

/// A batch at a glance.
#[derive(Debug, Clone)]
pub(crate) struct BatchSummary {
    /// Its executions by state, from the history.
    pub(crate) counts: BatchCounts,
    /// Its estimate; None once none of it is active.
    pub(crate) estimate: Option<Estimate>,
}

impl BatchSummary {
    /// When its last execution ended; None while any is active.
    pub(crate) fn end_ms(&self) -> Option<i64> {
        let active = self.counts.queued + self.counts.running;
        self.counts.last_end_ms.filter(|_| active == 0)
    }
}

impl Engine {
    /// Adds a run that has just succeeded (its end committed) to its
    /// workflow's history for later estimates.
    pub(super) fn remember_if_succeeded(&self, execution: &ActiveExecution) {
        let Some((start_ms, end_ms)) = execution.log().successful_run() else {
            return;
        };
        self.run_history.record(
            &execution.workflow_id,
            SuccessfulRun {
                id: execution.id,
                end_ms,
                duration_ms: (end_ms - start_ms).max(0),
            },
        );
    }

    /// What the latest successful runs of each of these workflows say,
    /// reading the history once for those not asked about before.
    async fn past_runs(
        &self,
        workflow_ids: BTreeSet<&str>,
    ) -> Result<HashMap<String, PastRuns>, EngineError> {
        for id in self.run_history.not_loaded(&workflow_ids) {
            self.load_run_history(id).await?;
        }
        Ok(workflow_ids
            .into_iter()
            .filter_map(|id| Some((id.to_string(), self.run_history.past_runs(id)?)))
            .collect())
    }

    /// Reads a workflow's latest successful runs from the history into
    /// the run history, once: concurrent callers share the first one's
    /// read (a failed read is retried by the next caller).
    async fn load_run_history(&self, workflow_id: &str) -> Result<(), EngineError> {
        self.run_history
            .load_once(workflow_id)
            .get_or_try_init(|| async {
                let id = workflow_id.to_string();
                let runs = self
                    .read(move |r| r.latest_successful_runs(&id, HISTORY_RUNS))
                    .await?;
                self.run_history.load(workflow_id, runs);
                Ok::<(), EngineError>(())
            })
            .await?;
        Ok(())
    }

    /// The estimates of these executions as the engine gives them
    /// ([`Engine::execution`], [`Engine::list_executions`]), in their
    /// order: None for finished ones and those with nothing to go on.
    pub(crate) async fn estimates(
        &self,
        records: &[ExecutionRecord],
    ) -> Result<Vec<Option<Estimate>>, EngineError> {
        let active: Vec<_> = records
            .iter()
            .map(|r| record_stage(r).map(|stage| (r.workflow_id.as_str(), stage)))
            .collect();
        let workflows = active.iter().flatten().map(|(id, _)| *id).collect();
        let past = self.past_runs(workflows).await?;
        let now = now_ms();
        Ok(active
            .into_iter()
            .map(|a| {
                a.and_then(|(workflow_id, stage)| {
                    execution_estimate(stage, past.get(workflow_id).copied(), now)
                })
            })
            .collect())
    }

    /// One batch at a glance; None when no execution has that batch id.
    pub(crate) async fn batch(&self, batch_id: &str) -> Result<Option<BatchSummary>, EngineError> {
        let id = batch_id.to_string();
        match self.read(move |r| r.batch_counts(&id)).await? {
            Some(counts) => Ok(self.summarize(vec![counts]).await?.pop()),
            None => Ok(None),
        }
    }

    /// The newest [`ACTIVE_BATCHES_SHOWN`] batches with executions still
    /// queued or running, newest first.
    pub(crate) async fn active_batches(&self) -> Result<Vec<BatchSummary>, EngineError> {
        let commits = self.writer.commits();
        let counts = match self.active_batch_counts.get(commits, &()) {
            Some(counts) => counts,
            None => {
                let counts = self
                    .read(|r| r.active_batch_counts(ACTIVE_BATCHES_SHOWN))
                    .await?;
                self.active_batch_counts.put(commits, (), counts)
            }
        };
        self.summarize(counts.to_vec()).await
    }

    /// Batches' counts with their estimates, from their active members:
    /// the active set is looked through once for all of them, and the
    /// history once for their workflows.
    async fn summarize(&self, batches: Vec<BatchCounts>) -> Result<Vec<BatchSummary>, EngineError> {
        let wanted: HashSet<&str> = batches
            .iter()
            .filter(|c| c.queued + c.running > 0)
            .map(|c| c.batch_id.as_str())
            .collect();
        let mut members: HashMap<&str, Vec<Arc<ActiveExecution>>> = HashMap::new();
        if !wanted.is_empty() {
            for execution in self.active_map().values() {
                let batch = execution.batch_id.as_deref();
                if let Some(batch) = batch.and_then(|b| wanted.get(b)) {
                    members.entry(batch).or_default().push(execution.clone());
                }
            }
        }
        // Outside the active set's lock: each stage reads the member's tree.
        let staged: HashMap<&str, Vec<(&str, Stage)>> = members
            .iter_mut()
            .map(|(batch, members)| {
                // Ids are UUIDv7, in the order they were accepted: the queue's.
                members.sort_by_key(|m| m.id);
                let staged = members
                    .iter()
                    .filter_map(|m| live_stage(m).map(|stage| (m.workflow_id.as_str(), stage)))
                    .collect();
                (*batch, staged)
            })
            .collect();
        let past = self
            .past_runs(staged.values().flatten().map(|(id, _)| *id).collect())
            .await?;
        let now = now_ms();
        let estimates: Vec<Option<Estimate>> = batches
            .iter()
            .map(|counts| {
                let staged = staged.get(counts.batch_id.as_str())?;
                let active: Vec<ActiveMember<'_>> = staged
                    .iter()
                    .map(|(workflow_id, stage)| ActiveMember {
                        workflow_id,
                        stage: *stage,
                        past: past.get(*workflow_id).copied(),
                    })
                    .collect();
                let tally = BatchTally {
                    total: counts.total(),
                    finished: counts.succeeded + counts.failed,
                };
                batch_estimate(tally, &active, self.config.max_concurrent_jobs, now)
            })
            .collect();
        Ok(batches
            .into_iter()
            .zip(estimates)
            .map(|(counts, estimate)| BatchSummary { counts, estimate })
            .collect())
    }
}

/// Where an execution is, from its record with live state; None once it
/// has finished.
fn record_stage(record: &ExecutionRecord) -> Option<Stage> {
    match record.state {
        ExecutionState::Queued => Some(Stage::Queued),
        ExecutionState::Running => Some(Stage::Running {
            start_ms: record.start_ms,
            progress: record.tree.as_ref().and_then(estimate::progress),
        }),
        _ => None,
    }
}

/// Where an active execution is now; None once its end is numbered (a
/// batch's counts may already have it as finished: it must not count
/// twice) or a cancel has taken it off the queue.
fn live_stage(execution: &ActiveExecution) -> Option<Stage> {
    let phase = execution.control().phase;
    let log = execution.log();
    if log.end_numbered() {
        return None;
    }
    match phase {
        Phase::Queued => Some(Stage::Queued),
        Phase::Running { start_ms, .. } => Some(Stage::Running {
            start_ms: Some(start_ms),
            progress: estimate::progress(&log.tree),
        }),
        Phase::CancelledWhileQueued { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::active::Activation;
    use crate::engine::execution_log::Ending;
    use crate::engine::testing::TestEngine;
    use crate::events::LogCounts;
    use crate::tree::ExecutionTree;

    #[tokio::test]
    async fn a_member_whose_end_is_numbered_is_no_longer_active() {
        let t = TestEngine::start(1, 1, &[]).await;
        let execution = ActiveExecution::new(
            Activation {
                id: uuid::Uuid::now_v7(),
                rowid: 1,
                workflow_id: "w".into(),
                batch_id: Some("b".into()),
                argv: Vec::new(),
                limits: Default::default(),
                namespace: "default".into(),
                timeout: None,
                committed: Vec::new(),
                next_sequence: 1,
                tree: ExecutionTree::default(),
                counts: LogCounts::default(),
                accepted: None,
                retries: false,
            },
            t.engine.writer.clone(),
            t.metrics.execution("w"),
        );
        assert_eq!(live_stage(&execution), Some(Stage::Queued));
        execution.control().phase = Phase::Running {
            pid: 1,
            start_ms: 5,
        };
        assert_eq!(
            live_stage(&execution),
            Some(Stage::Running {
                start_ms: Some(5),
                progress: None
            })
        );
        // Committed or not, the batch's counts may have it as finished.
        let _end = execution.log().number_end(
            Vec::new(),
            Ending::without_exit(ExecutionState::Failed, "x".into()),
        );
        assert_eq!(live_stage(&execution), None);
        t.stop().await;
    }
}
