//! What each write operation does to the database, inside the group's one
//! transaction; the writer thread ([`super`]) decides what to group, when
//! to commit and what to do after.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{is_storage_failure, WriteOp};
use crate::events::{LogEvent, LogPayload, WorkflowEvent};
use crate::store::codec::encode;
use crate::store::{
    audit, drop_files, retention, retries, schedules, tokens, webhooks, NewExecution, PruneStep,
    StoreError,
};

const INSERT_EVENT: &str =
    "INSERT INTO log_events (execution, seq, time_ms, kind, flags, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// An operation's own outcome, for operations that reply with one.
pub(super) enum OpResult {
    Written,
    Created(Result<i64, StoreError>),
    /// A ledger or schedule change's own outcome.
    Applied(Result<(), StoreError>),
    Pruned(Result<PruneStep, StoreError>),
}

/// An operation's own failure, unless it is a storage failure: that fails
/// the whole group, so it is retried instead of reported to the caller.
fn own_result<T>(result: Result<T, StoreError>) -> Result<Result<T, StoreError>, StoreError> {
    match result {
        Err(error) if is_storage_failure(&error) => Err(error),
        result => Ok(result),
    }
}

/// Writes the operations in one transaction; returns each one's own result,
/// in order. Nothing is consumed, so a failed group can be tried again.
pub(super) fn commit_group(
    conn: &mut Connection,
    ops: &[WriteOp],
) -> Result<Vec<OpResult>, StoreError> {
    let mut tx = conn.transaction()?;
    let mut results = Vec::with_capacity(ops.len());
    for op in ops {
        let result = match op {
            WriteOp::CreateExecution {
                execution,
                first_event,
                ..
            } => {
                // Nobody can be subscribed yet (the id is not out), so the
                // first event needs no publishing.
                OpResult::Created(own_result(insert_execution(
                    &mut tx,
                    execution,
                    first_event,
                ))?)
            }
            WriteOp::Append { execution, events } => {
                append(&tx, *execution, events.iter().map(|e| e.as_ref()))?;
                OpResult::Written
            }
            WriteOp::MarkStarted {
                execution,
                start_ms,
                pid,
                pid_start_ticks,
                started,
            } => {
                tx.prepare_cached(
                    "UPDATE executions SET state = 'RUNNING', start_ms = ?2, pid = ?3, pid_start_ticks = ?4 WHERE rowid = ?1",
                )?
                .execute(params![execution, start_ms, pid, pid_start_ticks.map(|t| t as i64)])?;
                append(&tx, *execution, std::iter::once(started.as_ref()))?;
                OpResult::Written
            }
            WriteOp::MarkFinished {
                execution,
                outcome,
                events,
                ..
            } => {
                tx.prepare_cached(
                    "UPDATE executions SET state = ?2, end_ms = ?3, exit_code = ?4, signal = ?5, error = ?6, \
                     tree_json = ?7, counts_json = ?8, peak_memory_bytes = ?9, cpu_time_ms = ?10 WHERE rowid = ?1",
                )?
                .execute(params![
                    execution,
                    outcome.state.as_str(),
                    outcome.end_ms,
                    outcome.exit_code,
                    outcome.signal,
                    outcome.error,
                    serde_json::to_string(&outcome.tree).expect("trees serialize"),
                    serde_json::to_string(&outcome.counts).expect("counts serialize"),
                    outcome
                        .usage
                        .and_then(|u| u.peak_memory_bytes)
                        .map(|bytes| bytes as i64),
                    outcome.usage.map(|u| u.cpu_time_ms as i64),
                ])?;
                append(&tx, *execution, events.iter().map(|e| e.as_ref()))?;
                OpResult::Written
            }
            WriteOp::DropFile { write, .. } => {
                // A savepoint, so a failure undoes only this change.
                let sp = tx.savepoint()?;
                let result = drop_files::apply(&sp, write);
                if result.is_ok() {
                    sp.commit()?;
                }
                OpResult::Applied(own_result(result)?)
            }
            WriteOp::Schedule { write, .. } => {
                // A savepoint, so a failure undoes only this change.
                let sp = tx.savepoint()?;
                let result = schedules::apply(&sp, write);
                if result.is_ok() {
                    sp.commit()?;
                }
                OpResult::Applied(own_result(result)?)
            }
            WriteOp::Webhook { write, .. } => {
                // A savepoint, so a failure undoes only this change.
                let sp = tx.savepoint()?;
                let result = webhooks::apply(&sp, write);
                if result.is_ok() {
                    sp.commit()?;
                }
                OpResult::Applied(own_result(result)?)
            }
            WriteOp::Audit { event, .. } => {
                // A savepoint, so a failure undoes only this change.
                let sp = tx.savepoint()?;
                let result = audit::append(&sp, event);
                if result.is_ok() {
                    sp.commit()?;
                }
                OpResult::Applied(own_result(result)?)
            }
            WriteOp::Token { write, .. } => {
                // A savepoint, so a failure undoes only this change.
                let sp = tx.savepoint()?;
                let result = tokens::apply(&sp, write);
                if result.is_ok() {
                    sp.commit()?;
                }
                OpResult::Applied(own_result(result)?)
            }
            WriteOp::SettleRetries { execution, .. } => {
                OpResult::Applied(own_result(retries::settle(&tx, *execution))?)
            }
            WriteOp::Prune {
                ended_before_ms, ..
            } => {
                // A savepoint, so a failure undoes only this step.
                let sp = tx.savepoint()?;
                let result = retention::prune_step(&sp, *ended_before_ms);
                if result.is_ok() {
                    sp.commit()?;
                }
                OpResult::Pruned(own_result(result)?)
            }
            WriteOp::Barrier { .. } | WriteOp::Close { .. } => OpResult::Written,
        };
        results.push(result);
    }
    tx.commit()?;
    Ok(results)
}

fn insert_execution(
    tx: &mut Transaction<'_>,
    e: &NewExecution,
    first_event: &LogEvent,
) -> Result<i64, StoreError> {
    // A savepoint, so a failure undoes only this execution, not the group.
    let sp = tx.savepoint()?;
    let inserted = sp
        .prepare_cached(
            "INSERT INTO executions (id, workflow_id, workflow_name, state, create_ms, argv_json, request_id, timeout_ms, batch_id, schedule_id, scheduled_ms, \
             retry_json, attempt, first_attempt, limits_json, namespace) \
             VALUES (?1, ?2, ?3, 'QUEUED', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) ON CONFLICT DO NOTHING RETURNING rowid",
        )?
        .query_row(
            params![
                e.id.to_string(),
                e.workflow_id,
                e.workflow_name,
                e.create_ms,
                serde_json::to_string(&e.argv).expect("argv serializes"),
                e.request_id,
                e.timeout_ms.map(|t| t as i64),
                e.batch_id,
                e.scheduled_by.as_ref().map(|s| &s.schedule_id),
                e.scheduled_by.as_ref().map(|s| s.scheduled_ms),
                e.retry
                    .as_ref()
                    .map(|r| serde_json::to_string(&r.policy).expect("policies serialize")),
                e.retry.as_ref().map_or(1, |r| r.attempt),
                e.retry
                    .as_ref()
                    .and_then(|r| r.first_attempt)
                    .map(|id| id.to_string()),
                (!e.limits.is_empty())
                    .then(|| serde_json::to_string(&e.limits).expect("limits serialize")),
                e.namespace,
            ],
            |row| row.get::<_, i64>(0),
        )
        .optional()?;
    let Some(rowid) = inserted else {
        return Err(StoreError::DuplicateRequestId(
            e.request_id.clone().unwrap_or_default(),
        ));
    };
    // The attempt this one follows points to it from now on: a crash
    // leaves both or neither.
    if let Some(previous) = e.retry.as_ref().and_then(|r| r.previous_rowid) {
        sp.prepare_cached("UPDATE executions SET next_attempt = ?2 WHERE rowid = ?1")?
            .execute(params![previous, e.id.to_string()])?;
    }
    for (name, value) in &e.inputs {
        sp.prepare_cached(
            "INSERT INTO execution_inputs (execution, name, value) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![rowid, name, value])?;
    }
    for (key, value) in &e.labels {
        sp.prepare_cached(
            "INSERT INTO execution_labels (execution, key, value, create_ms) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![rowid, key, value, e.create_ms])?;
    }
    append(&sp, rowid, std::iter::once(first_event))?;
    sp.commit()?;
    Ok(rowid)
}

/// Inserts events with one prepared statement, plus an artifact row for each
/// state_file_created.
fn append<'a>(
    conn: &Connection,
    execution: i64,
    events: impl Iterator<Item = &'a LogEvent>,
) -> Result<(), StoreError> {
    let mut insert = conn.prepare_cached(INSERT_EVENT)?;
    for event in events {
        let (kind, flags, text) = encode(&event.payload);
        insert.execute(params![
            execution,
            event.sequence as i64,
            event.time_ms,
            kind,
            flags,
            text
        ])?;
        if let LogPayload::Event(WorkflowEvent::StateFileCreated {
            phase,
            file_path,
            description,
        }) = &event.payload
        {
            conn.prepare_cached(
                "INSERT INTO artifacts (execution, seq, phase, path, description, time_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![execution, event.sequence as i64, phase, file_path, description, event.time_ms])?;
        }
    }
    Ok(())
}
