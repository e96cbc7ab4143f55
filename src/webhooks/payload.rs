//! The JSON body of an event, in the Standard Webhooks shape
//! `{"type", "timestamp", "data"}`, built from the history when the event
//! is fanned out (what it is about has ended by then and does not change),
//! or for an execution from its end as the engine committed it.

use serde_json::{json, Value};

use super::recent_ends::RecentEnds;
use crate::store::{ExecutionRecord, Notification, StoreReader};

/// The body of `notification`, read on a blocking thread.
pub(super) fn body(reader: &StoreReader, recent: &mut RecentEnds, n: &Notification) -> Value {
    let data = match n.kind.split_once('.') {
        Some(("execution", _)) => match recent.take(&n.subject) {
            Some(record) => execution_data(&n.subject, &record),
            None => execution(reader, &n.subject),
        },
        Some(("batch", _)) => batch(reader, &n.subject),
        Some(("schedule", _)) => schedule(reader, &n.subject),
        Some(("drop_file", _)) => drop_file(reader, &n.subject),
        _ => json!({}),
    };
    envelope(&n.kind, n.time_ms, data)
}

/// `{"type", "timestamp", "data"}`.
pub(super) fn envelope(kind: &str, time_ms: i64, data: Value) -> Value {
    json!({"type": kind, "timestamp": rfc3339(time_ms), "data": data})
}

fn rfc3339(ms: i64) -> Value {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
        .unwrap_or(Value::Null)
}

/// An ended execution, read from the history (what the engine holds in
/// memory adds nothing once it has ended).
fn execution(reader: &StoreReader, id: &str) -> Value {
    let record = uuid::Uuid::parse_str(id)
        .ok()
        .and_then(|uuid| reader.execution(uuid).ok().flatten());
    match record {
        Some(e) => execution_data(id, &e),
        // Deleted by retention before the fan-out: the id is all there is.
        None => json!({"execution_id": id}),
    }
}

fn execution_data(id: &str, e: &ExecutionRecord) -> Value {
    let mut data = json!({
        "execution_id": id,
        "workflow_id": e.workflow_id,
        "workflow_name": e.workflow_name,
        "state": e.state.as_str(),
        "exit_code": e.exit_code,
        "signal": e.signal,
        "error": e.error,
        "create_time": rfc3339(e.create_ms),
        "start_time": e.start_ms.map(rfc3339),
        "end_time": e.end_ms.map(rfc3339),
        "labels": e.labels,
        "batch_id": e.batch_id,
    });
    if let Some(s) = &e.scheduled_by {
        data["schedule_id"] = json!(s.schedule_id);
        data["scheduled_time"] = rfc3339(s.scheduled_ms);
    }
    if let Some(r) = &e.retry {
        // Whether another attempt follows this one (or already has).
        let will_retry = r.next_attempt.is_some()
            || (!r.settled && r.policy.retries(r.attempt, e.state, e.exit_code));
        data["will_retry"] = json!(will_retry);
        data["attempt"] = json!(r.attempt);
        data["max_attempts"] = json!(r.policy.max_attempts);
        data["first_attempt_id"] = json!(r.first_attempt.map(|id| id.to_string()));
    }
    data
}

fn batch(reader: &StoreReader, id: &str) -> Value {
    match reader.batch_counts(id) {
        Ok(Some(c)) => json!({
            "batch_id": id,
            "succeeded": c.succeeded,
            "failed": c.failed,
            "total": c.queued + c.running + c.succeeded + c.failed,
            "create_time": rfc3339(c.create_ms),
            "end_time": c.last_end_ms.map(rfc3339),
        }),
        _ => json!({"batch_id": id}),
    }
}

/// A schedule's run, named by its request id (`schedule/<id>/...`).
fn schedule(reader: &StoreReader, run_key: &str) -> Value {
    let id = run_key
        .strip_prefix("schedule/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(run_key);
    match reader.schedule_run(id, run_key) {
        Ok(Some(run)) => {
            json!({
                "schedule_id": id,
                "scheduled_time": rfc3339(run.scheduled_ms),
                "outcome": run.outcome.as_str(),
                "error": run.error,
                "triggered": run.triggered,
            })
        }
        _ => json!({"schedule_id": id}),
    }
}

fn drop_file(reader: &StoreReader, id: &str) -> Value {
    match reader.drop_file(id) {
        Ok(Some(f)) => json!({
            "job_id": id,
            "folder": f.folder.to_string_lossy(),
            "file_name": f.original_name,
            "mode": f.mode,
            "error": f.error,
            "final_path": f.final_path.map(|p| p.to_string_lossy().into_owned()),
            "execution_ids": f.execution_ids,
        }),
        _ => json!({"job_id": id}),
    }
}
