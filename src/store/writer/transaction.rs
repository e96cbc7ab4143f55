//! What each write operation does to the database, inside the group's one
//! transaction; the writer thread ([`super`]) decides what to group, when
//! to commit and what to do after.

use crate::store::db::{args, storable, Db, Dialect, Value};

use super::{is_storage_failure, RowidStash, WriteOp};
use crate::events::{LogEvent, LogPayload, WorkflowEvent};
use crate::store::codec::encode;
use crate::store::{
    audit, drop_files, retention, retries, schedules, tokens, webhooks, NewExecution, PruneStep,
    StoreError,
};

const INSERT_EVENT: &str =
    "INSERT INTO log_events (execution, seq, time_ms, kind, flags, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// An execution's columns and values (?1 to ?15) as both inserts write them.
macro_rules! execution_row {
    ($columns:literal, $values:literal, $rest:literal) => {
        concat!(
            "INSERT INTO executions (",
            $columns,
            "id, workflow_id, workflow_name, state, create_ms, argv_json, request_id, timeout_ms, \
             batch_id, schedule_id, scheduled_ms, retry_json, attempt, first_attempt, limits_json, \
             namespace) VALUES (",
            $values,
            "?1, ?2, ?3, 'QUEUED', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            $rest
        )
    };
}

/// A new execution numbered by the database (SQLite); no row when its
/// request id was taken.
const INSERT_EXECUTION: &str = execution_row!("", "", " ON CONFLICT DO NOTHING RETURNING rowid");

/// A new execution numbered ahead ([`RowidStash`]), its row id ?16.
const INSERT_NUMBERED_EXECUTION: &str = execution_row!("rowid, ", "?16, ", "");

/// The same with a request id: no row when the request id was taken.
const INSERT_NUMBERED_EXECUTION_UNLESS_TAKEN: &str = execution_row!(
    "rowid, ",
    "?16, ",
    " ON CONFLICT DO NOTHING RETURNING rowid"
);

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
    db: Db<'_>,
    ops: &[WriteOp],
    rowids: &mut RowidStash,
) -> Result<Vec<OpResult>, StoreError> {
    db.transaction(|tx| write_group(tx, ops, rowids))
}

fn write_group(
    tx: Db<'_>,
    ops: &[WriteOp],
    rowids: &mut RowidStash,
) -> Result<Vec<OpResult>, StoreError> {
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
                // A savepoint, so a failure undoes only this execution.
                OpResult::Created(own_result(
                    tx.savepoint(|sp| insert_execution(sp, execution, first_event, rowids)),
                )?)
            }
            WriteOp::Append { execution, events } => {
                append(tx, *execution, events.iter().map(|e| e.as_ref()))?;
                OpResult::Written
            }
            WriteOp::MarkStarting { execution, .. } => {
                tx.execute_deferred(
                    "UPDATE executions SET state = 'RUNNING' WHERE rowid = ?1 AND state = 'QUEUED'",
                    args![execution],
                )?;
                OpResult::Written
            }
            WriteOp::MarkStarted {
                execution,
                start_ms,
                pid,
                pid_start_ticks,
                started,
            } => {
                tx.execute_deferred(
                    "UPDATE executions SET state = 'RUNNING', start_ms = ?2, pid = ?3, pid_start_ticks = ?4 WHERE rowid = ?1",
                    args![execution, start_ms, pid, pid_start_ticks],
                )?;
                append(tx, *execution, std::iter::once(started.as_ref()))?;
                OpResult::Written
            }
            WriteOp::MarkFinished {
                execution,
                outcome,
                events,
                ..
            } => {
                tx.execute_deferred(
                    "UPDATE executions SET state = ?2, end_ms = ?3, exit_code = ?4, signal = ?5, error = ?6, \
                     tree_json = ?7, counts_json = ?8, peak_memory_bytes = ?9, cpu_time_ms = ?10 WHERE rowid = ?1",
                    args![
                    execution,
                    outcome.state.as_str(),
                    outcome.end_ms,
                    outcome.exit_code,
                    outcome.signal,
                    outcome.error,
                    serde_json::to_string(&outcome.tree).expect("trees serialize"),
                    serde_json::to_string(&outcome.counts).expect("counts serialize"),
                        outcome.usage.and_then(|u| u.peak_memory_bytes),
                        outcome.usage.map(|u| u.cpu_time_ms),
                    ],
                )?;
                append(tx, *execution, events.iter().map(|e| e.as_ref()))?;
                OpResult::Written
            }
            WriteOp::DropFile { write, .. } => {
                // A savepoint, so a failure undoes only this change.
                let result = tx.savepoint(|sp| drop_files::apply(sp, write));
                OpResult::Applied(own_result(result)?)
            }
            WriteOp::Schedule { write, .. } => {
                // A savepoint, so a failure undoes only this change.
                let result = tx.savepoint(|sp| schedules::apply(sp, write));
                OpResult::Applied(own_result(result)?)
            }
            WriteOp::Webhook { write, .. } => {
                // A savepoint, so a failure undoes only this change.
                let result = tx.savepoint(|sp| webhooks::apply(sp, write));
                OpResult::Applied(own_result(result)?)
            }
            WriteOp::Audit { event, .. } => {
                // A savepoint, so a failure undoes only this change.
                let result = tx.savepoint(|sp| audit::append(sp, event));
                OpResult::Applied(own_result(result)?)
            }
            WriteOp::Token { write, .. } => {
                // A savepoint, so a failure undoes only this change.
                let result = tx.savepoint(|sp| tokens::apply(sp, write));
                OpResult::Applied(own_result(result)?)
            }
            WriteOp::SettleRetries { execution, .. } => {
                // A savepoint, so a failure undoes only this change.
                let result = tx.savepoint(|sp| retries::settle(sp, *execution));
                OpResult::Applied(own_result(result)?)
            }
            WriteOp::Prune {
                ended_before_ms, ..
            } => {
                // A savepoint, so a failure undoes only this step.
                let result = tx.savepoint(|sp| retention::prune_step(sp, *ended_before_ms));
                OpResult::Pruned(own_result(result)?)
            }
            WriteOp::Barrier { .. } | WriteOp::Close { .. } => OpResult::Written,
        };
        results.push(result);
    }
    Ok(results)
}

fn insert_execution(
    db: Db<'_>,
    e: &NewExecution,
    first_event: &LogEvent,
    rowids: &mut RowidStash,
) -> Result<i64, StoreError> {
    let id = e.id.to_string();
    let argv = serde_json::to_string(&e.argv).expect("argv serializes");
    let retry = e
        .retry
        .as_ref()
        .map(|r| serde_json::to_string(&r.policy).expect("policies serialize"));
    let first_attempt = e
        .retry
        .as_ref()
        .and_then(|r| r.first_attempt)
        .map(|id| id.to_string());
    let limits =
        (!e.limits.is_empty()).then(|| serde_json::to_string(&e.limits).expect("limits serialize"));
    let schedule_id = e.scheduled_by.as_ref().map(|s| &s.schedule_id);
    let scheduled_ms = e.scheduled_by.as_ref().map(|s| s.scheduled_ms);
    let attempt = e.retry.as_ref().map_or(1, |r| r.attempt);
    let mut values = args![
        id,
        e.workflow_id,
        e.workflow_name,
        e.create_ms,
        argv,
        e.request_id,
        e.timeout_ms,
        e.batch_id,
        schedule_id,
        scheduled_ms,
        retry,
        attempt,
        first_attempt,
        limits,
        e.namespace,
    ]
    .to_vec();
    let rowid = match db.dialect() {
        Dialect::Sqlite => db.query_opt(INSERT_EXECUTION, &values, |row| row.get::<i64>(0))?,
        // Numbered ahead, in the sequence's order whether or not there is
        // a request id, so rows stay numbered as created.
        Dialect::Postgres => {
            let rowid = rowids.take(db)?;
            values.push(Value::Int(rowid));
            if e.request_id.is_none() {
                // Nothing to conflict on: nothing waits for this insert.
                db.execute_deferred(INSERT_NUMBERED_EXECUTION, &values)?;
                Some(rowid)
            } else {
                db.query_opt(INSERT_NUMBERED_EXECUTION_UNLESS_TAKEN, &values, |row| {
                    row.get::<i64>(0)
                })?
            }
        }
    };
    let Some(rowid) = rowid else {
        return Err(StoreError::DuplicateRequestId(
            e.request_id.clone().unwrap_or_default(),
        ));
    };
    // The attempt this one follows points to it from now on: a crash
    // leaves both or neither.
    if let Some(previous) = e.retry.as_ref().and_then(|r| r.previous_rowid) {
        db.execute_deferred(
            "UPDATE executions SET next_attempt = ?2 WHERE rowid = ?1",
            args![previous, e.id.to_string()],
        )?;
    }
    for (name, value) in &e.inputs {
        db.execute_deferred(
            "INSERT INTO execution_inputs (execution, name, value) VALUES (?1, ?2, ?3)",
            args![rowid, name, value],
        )?;
    }
    for (key, value) in &e.labels {
        db.execute_deferred(
            "INSERT INTO execution_labels (execution, key, value, create_ms) VALUES (?1, ?2, ?3, ?4)",
            args![rowid, key, value, e.create_ms],
        )?;
    }
    append(db, rowid, std::iter::once(first_event))?;
    Ok(rowid)
}

/// An execution's events in one statement on PostgreSQL, where each
/// statement is a bind and execute of its own on the server: the columns as
/// arrays.
const INSERT_EVENTS_UNNEST: &str =
    "INSERT INTO log_events (execution, seq, time_ms, kind, flags, text) \
     SELECT CAST(?1 AS BIGINT), * FROM UNNEST(CAST(?2 AS BIGINT[]), CAST(?3 AS BIGINT[]), \
     CAST(?4 AS BIGINT[]), CAST(?5 AS BIGINT[]), CAST(?6 AS TEXT[]))";

/// Inserts events, plus an artifact row for each state_file_created: on
/// SQLite with one prepared statement run per event (a call, no round
/// trip), on PostgreSQL all in one statement.
fn append<'a>(
    db: Db<'_>,
    execution: i64,
    events: impl Iterator<Item = &'a LogEvent> + Clone,
) -> Result<(), StoreError> {
    match db {
        Db::Sqlite(_) => {
            for event in events.clone() {
                let (kind, flags, text) = encode(&event.payload);
                db.execute(
                    INSERT_EVENT,
                    args![execution, event.sequence, event.time_ms, kind, flags, text],
                )?;
            }
        }
        Db::Postgres(conn) => {
            let (mut seqs, mut times, mut kinds, mut flags, mut texts) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for event in events.clone() {
                let (kind, flag, text) = encode(&event.payload);
                seqs.push(event.sequence as i64);
                times.push(event.time_ms);
                kinds.push(kind);
                flags.push(flag);
                texts.push(match storable(&text) {
                    std::borrow::Cow::Borrowed(_) => text.into_owned(),
                    std::borrow::Cow::Owned(kept) => kept,
                });
            }
            if !seqs.is_empty() {
                conn.defer_native(
                    INSERT_EVENTS_UNNEST,
                    vec![
                        Box::new(execution),
                        Box::new(seqs),
                        Box::new(times),
                        Box::new(kinds),
                        Box::new(flags),
                        Box::new(texts),
                    ],
                )?;
            }
        }
    }
    for event in events {
        if let LogPayload::Event(WorkflowEvent::StateFileCreated {
            phase,
            file_path,
            description,
        }) = &event.payload
        {
            db.execute_deferred(
                "INSERT INTO artifacts (execution, seq, phase, path, description, time_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                args![execution, event.sequence, phase, file_path, description, event.time_ms],
            )?;
        }
    }
    Ok(())
}
