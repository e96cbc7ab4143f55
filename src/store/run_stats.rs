//! What the estimates read from the history: the latest successful runs
//! of workflows, and counts of a batch's executions by state.

use uuid::Uuid;

use super::db::{args, Db};
use super::{StoreError, StoreReader};
use crate::events::ExecutionState;

/// One successful run of a workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SuccessfulRun {
    /// The execution.
    pub(crate) id: Uuid,
    /// When it ended, ms since the epoch.
    pub(crate) end_ms: i64,
    /// How long its program ran (start to end), ms.
    pub(crate) duration_ms: i64,
}

/// A batch's executions by state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BatchCounts {
    /// The batch.
    pub(crate) batch_id: String,
    /// Queued.
    pub(crate) queued: u32,
    /// Running.
    pub(crate) running: u32,
    /// Succeeded.
    pub(crate) succeeded: u32,
    /// Ended otherwise (failed, cancelled, timed out, interrupted).
    pub(crate) failed: u32,
    /// When its first execution was accepted, ms since the epoch.
    pub(crate) create_ms: i64,
    /// When its last execution to end ended, if any has.
    pub(crate) last_end_ms: Option<i64>,
}

impl BatchCounts {
    /// All its executions.
    pub(crate) fn total(&self) -> u32 {
        self.queued + self.running + self.succeeded + self.failed
    }
}

impl StoreReader {
    /// The latest `limit` successful runs of `workflow_id`, latest end
    /// first (the order the engine keeps them in). Reads the first
    /// `limit` entries of the index of successful runs, so a workflow with
    /// a long history, failed runs included, costs no more than one with a
    /// short one.
    pub(crate) fn latest_successful_runs(
        &self,
        workflow_id: &str,
        limit: usize,
    ) -> Result<Vec<SuccessfulRun>, StoreError> {
        self.with_db(|db| {
            let rows = db.query(
                "SELECT id, start_ms, end_ms FROM executions \
                 WHERE workflow_id = ?1 AND state = 'SUCCEEDED' \
                 AND start_ms IS NOT NULL AND end_ms IS NOT NULL \
                 ORDER BY end_ms DESC LIMIT ?2",
                args![workflow_id, limit],
                |row| {
                    Ok((
                        row.get::<String>(0)?,
                        row.get::<i64>(1)?,
                        row.get::<i64>(2)?,
                    ))
                },
            )?;
            let mut runs = Vec::new();
            for (id, start_ms, end_ms) in rows {
                runs.push(SuccessfulRun {
                    id: Uuid::parse_str(&id)
                        .map_err(|e| StoreError::Corrupt(format!("execution {id}: id: {e}")))?,
                    end_ms,
                    duration_ms: (end_ms - start_ms).max(0),
                });
            }
            Ok(runs)
        })
    }

    /// The counts of one batch, in one query; None when no execution has
    /// that batch id.
    pub(crate) fn batch_counts(&self, batch_id: &str) -> Result<Option<BatchCounts>, StoreError> {
        self.with_db(|db| batch_counts(db, batch_id))
    }

    /// The counts of the `limit` newest batches (by their first
    /// execution's create time) with executions still queued or running,
    /// newest first. Finding them reads the active executions (at most
    /// the queue and the workers) and one index entry per batch; counting
    /// reads only the batch index of those `limit`.
    pub(crate) fn active_batch_counts(&self, limit: usize) -> Result<Vec<BatchCounts>, StoreError> {
        self.with_db(|db| {
            let ids = db.query(
                "SELECT active.batch_id FROM \
                 (SELECT DISTINCT batch_id FROM executions \
                  WHERE state IN ('QUEUED', 'RUNNING') AND batch_id IS NOT NULL) AS active \
                 ORDER BY (SELECT MIN(create_ms) FROM executions AS e \
                           WHERE e.batch_id = active.batch_id) DESC, active.batch_id DESC \
                 LIMIT ?1",
                args![limit],
                |row| row.get::<String>(0),
            )?;
            let mut batches = Vec::with_capacity(ids.len());
            for id in ids {
                batches.extend(batch_counts(db, &id)?);
            }
            Ok(batches)
        })
    }
}

fn batch_counts(db: Db<'_>, batch_id: &str) -> Result<Option<BatchCounts>, StoreError> {
    let rows = db.query(
        "SELECT state, COUNT(*), MIN(create_ms), MAX(end_ms) FROM executions \
         WHERE batch_id = ?1 GROUP BY state",
        args![batch_id],
        |row| {
            Ok((
                row.get::<String>(0)?,
                row.get::<u32>(1)?,
                row.get::<i64>(2)?,
                row.get::<Option<i64>>(3)?,
            ))
        },
    )?;
    let mut counts: Option<BatchCounts> = None;
    for (state, count, create_ms, end_ms) in rows {
        let c = counts.get_or_insert_with(|| BatchCounts {
            batch_id: batch_id.to_string(),
            queued: 0,
            running: 0,
            succeeded: 0,
            failed: 0,
            create_ms,
            last_end_ms: None,
        });
        c.create_ms = c.create_ms.min(create_ms);
        c.last_end_ms = c.last_end_ms.max(end_ms);
        match ExecutionState::parse(&state) {
            Some(ExecutionState::Queued) => c.queued += count,
            Some(ExecutionState::Running) => c.running += count,
            Some(ExecutionState::Succeeded) => c.succeeded += count,
            _ => c.failed += count,
        }
    }
    Ok(counts)
}
