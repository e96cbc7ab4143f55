//! How `wfctl` prints data: the `--output` formats, the JSON form of the
//! proto messages, and small table helpers.
//!
//! JSON follows the proto3 JSON mapping with the proto's own snake_case field
//! names (like `protoc --preserving_proto_field_names`): enums by their full
//! name (`EXECUTION_STATE_SUCCEEDED`), timestamps as RFC 3339 text, durations
//! as `"1.5s"`. Unlike the canonical mapping every field is present (unset
//! optional fields are `null`) and 64-bit integers are JSON numbers, so
//! scripts can index fields without checking for them first.

use std::io::Write;

use chrono::{DateTime, Local, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::pb::{self, field_type::Kind, log_event::Payload};

/// The `--output` format of read commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable tables and trees.
    Table,
    /// The proto message as JSON (one object per line for event streams).
    Json,
    /// The proto message as YAML (one document per event for streams).
    Yaml,
}

/// Writes one message in a machine format to stdout: pretty JSON, or a YAML
/// document. Table output is written by each command itself.
pub fn print_value(format: OutputFormat, value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = match format {
        OutputFormat::Yaml => write!(out, "{}", crate::yaml::to_string(value).unwrap_or_default()),
        _ => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        ),
    };
    let _ = out.flush();
}

/// Writes one message of a stream: a JSON line, or a `---`-separated YAML
/// document.
pub fn print_stream_value(format: OutputFormat, value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = match format {
        OutputFormat::Yaml => write!(
            out,
            "---\n{}",
            crate::yaml::to_string(value).unwrap_or_default()
        ),
        _ => writeln!(out, "{value}"),
    };
    let _ = out.flush();
}

/// Prints rows as left-aligned columns separated by two spaces; the last
/// column is not padded.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let mut out = std::io::stdout().lock();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                text.push_str(cell);
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        let _ = writeln!(out, "{}", text.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// Prints `Key:  value` lines with the values aligned.
pub fn print_fields(fields: &[(&str, String)]) {
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut out = std::io::stdout().lock();
    for (key, value) in fields {
        let _ = writeln!(out, "{:<width$}  {value}", format!("{key}:"));
    }
}

/// A timestamp as RFC 3339 UTC text, or `null` when unset.
pub fn timestamp_json(ts: Option<&prost_types::Timestamp>) -> Value {
    match ts.and_then(to_datetime) {
        Some(t) => Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        None => Value::Null,
    }
}

/// A timestamp in local time for tables, `-` when unset.
pub fn timestamp_text(ts: Option<&prost_types::Timestamp>) -> String {
    match ts.and_then(to_datetime) {
        Some(t) => t
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => "-".to_string(),
    }
}

fn to_datetime(ts: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).ok()?)
}

/// Seconds between two timestamps, when both are set.
pub fn seconds_between(
    from: Option<&prost_types::Timestamp>,
    to: Option<&prost_types::Timestamp>,
) -> Option<f64> {
    let (from, to) = (from?, to?);
    Some((to.seconds - from.seconds) as f64 + f64::from(to.nanos - from.nanos) / 1e9)
}

/// A proto duration as JSON text (`"1.5s"`), or `null` when unset.
pub fn duration_json(d: Option<&prost_types::Duration>) -> Value {
    match d {
        Some(d) => Value::String(format!("{}s", duration_secs(d))),
        None => Value::Null,
    }
}

/// A proto duration in seconds.
pub fn duration_secs(d: &prost_types::Duration) -> f64 {
    d.seconds as f64 + f64::from(d.nanos) / 1e9
}

/// Seconds as short human text: `850ms`, `12.3s`, `4m05s`, `2h03m`.
pub fn human_secs(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.0}ms", secs * 1000.0)
    } else if secs < 60.0 && secs.fract() == 0.0 {
        format!("{secs:.0}s")
    } else if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        let s = secs as u64;
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        let s = secs as u64;
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// `k=v, k2=v2` in key order, `-` when empty.
pub fn pairs_text(map: &std::collections::HashMap<String, String>) -> String {
    if map.is_empty() {
        return "-".to_string();
    }
    let mut pairs: Vec<_> = map.iter().collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn string_map(map: &std::collections::HashMap<String, String>) -> Value {
    let mut pairs: Vec<_> = map.iter().collect();
    pairs.sort();
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// `Workflow` as JSON.
pub fn workflow_json(w: &pb::Workflow) -> Value {
    json!({
        "id": w.id,
        "name": w.name,
        "description": w.description,
        "schema_version": w.schema_version,
        "fields": w.fields.iter().map(field_json).collect::<Vec<_>>(),
        "input_json_schema": w.input_json_schema,
        "program_path": w.program_path,
        "discover_time": timestamp_json(w.discover_time.as_ref()),
    })
}

/// `Field` as JSON.
pub fn field_json(f: &pb::Field) -> Value {
    json!({
        "name": f.name,
        "label": f.label,
        "description": f.description,
        "cli_arg": f.cli_arg,
        "required": f.required,
        "default_value": f.default_value,
        "required_for_phases": f.required_for_phases,
        "type": f.r#type.as_ref().map(field_type_json).unwrap_or(Value::Null),
    })
}

fn field_type_json(t: &pb::FieldType) -> Value {
    match &t.kind {
        None => json!({}),
        Some(Kind::Text(_)) => json!({"text": {}}),
        Some(Kind::Number(n)) => json!({"number": {"min": n.min, "max": n.max}}),
        Some(Kind::FilePath(f)) => json!({"file_path": {"pattern": f.pattern}}),
        Some(Kind::Select(s)) => json!({"select": {"options": s.options}}),
        Some(Kind::PhaseSelector(p)) => {
            json!({"phase_selector": {"total_phases": p.total_phases}})
        }
        Some(Kind::StateFile(s)) => {
            json!({"state_file": {"pattern": s.pattern, "phase": s.phase}})
        }
    }
}

/// A field's type as short text for tables, e.g. `number [1..5]`.
pub fn field_type_text(t: Option<&pb::FieldType>) -> String {
    match t.and_then(|t| t.kind.as_ref()) {
        None => "?".to_string(),
        Some(Kind::Text(_)) => "text".to_string(),
        Some(Kind::Number(n)) => match (n.min, n.max) {
            (None, None) => "number".to_string(),
            (min, max) => format!(
                "number [{}..{}]",
                min.map(|v| v.to_string()).unwrap_or_default(),
                max.map(|v| v.to_string()).unwrap_or_default()
            ),
        },
        Some(Kind::FilePath(f)) => match &f.pattern {
            Some(p) => format!("file {p}"),
            None => "file".to_string(),
        },
        Some(Kind::Select(s)) => format!("select {}", s.options.join("|")),
        Some(Kind::PhaseSelector(p)) => format!("phases 0..{}", p.total_phases - 1),
        Some(Kind::StateFile(s)) => format!("state file {}", s.pattern),
    }
}

/// `DiscoveryError` as JSON.
pub fn discovery_error_json(e: &pb::DiscoveryError) -> Value {
    json!({
        "program_path": e.program_path,
        "message": e.message,
        "discover_time": timestamp_json(e.discover_time.as_ref()),
    })
}

/// `Execution` as JSON.
pub fn execution_json(e: &pb::Execution) -> Value {
    json!({
        "id": e.id,
        "workflow_id": e.workflow_id,
        "workflow_name": e.workflow_name,
        "state": e.state().as_str_name(),
        "create_time": timestamp_json(e.create_time.as_ref()),
        "start_time": timestamp_json(e.start_time.as_ref()),
        "end_time": timestamp_json(e.end_time.as_ref()),
        "exit_code": e.exit_code,
        "signal": e.signal,
        "error": e.error,
        "inputs": string_map(&e.inputs),
        "argv": e.argv,
        "labels": string_map(&e.labels),
        "request_id": e.request_id,
        "timeout": duration_json(e.timeout.as_ref()),
        "phases": e.phases.iter().map(phase_json).collect::<Vec<_>>(),
        "artifacts": e.artifacts.iter().map(artifact_json).collect::<Vec<_>>(),
        "log_counts": e.log_counts.as_ref().map(|c| json!({
            "total": c.total,
            "stdout_lines": c.stdout_lines,
            "stderr_lines": c.stderr_lines,
            "events": c.events,
            "malformed_events": c.malformed_events,
        })).unwrap_or(Value::Null),
        "pid": e.pid,
        "batch_id": e.batch_id,
    })
}

fn phase_json(p: &pb::Phase) -> Value {
    json!({
        "index": p.index,
        "name": p.name,
        "total_phases": p.total_phases,
        "status": p.status().as_str_name(),
        "error": p.error,
        "tasks": p.tasks.iter().map(task_json).collect::<Vec<_>>(),
    })
}

fn task_json(t: &pb::Task) -> Value {
    json!({
        "task_id": t.task_id,
        "description": t.description,
        "total_tasks": t.total_tasks,
        "status": t.status().as_str_name(),
        "messages": t.messages,
        "result": t.result,
        "error": t.error,
        "percent": t.percent,
        "agents": t.agents.iter().map(|a| json!({
            "name": a.name,
            "description": a.description,
            "status": a.status().as_str_name(),
            "messages": a.messages,
            "result": a.result,
            "error": a.error,
        })).collect::<Vec<_>>(),
    })
}

fn artifact_json(a: &pb::Artifact) -> Value {
    json!({
        "phase": a.phase,
        "path": a.path,
        "description": a.description,
        "create_time": timestamp_json(a.create_time.as_ref()),
    })
}

/// `GetStatusResponse` as JSON.
pub fn status_json(s: &pb::GetStatusResponse) -> Value {
    let mut totals: Vec<_> = s.totals_by_state.iter().collect();
    totals.sort();
    json!({
        "version": s.version,
        "start_time": timestamp_json(s.start_time.as_ref()),
        "uptime_seconds": s.uptime_seconds,
        "max_workers": s.max_workers,
        "running": s.running,
        "queued": s.queued,
        "max_queue": s.max_queue,
        "succeeded_today": s.succeeded_today,
        "failed_today": s.failed_today,
        "total_executions": s.total_executions,
        "totals_by_state": totals.into_iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect::<Map<String, Value>>(),
        "workflow_directories": s.workflow_directories.iter().map(|d| json!({
            "path": d.path,
            "workflows": d.workflows,
            "discovery_errors": d.discovery_errors,
            "exists": d.exists,
        })).collect::<Vec<_>>(),
        "workflows_discovered": s.workflows_discovered,
        "discovery_errors": s.discovery_errors,
        "database_path": s.database_path,
        "drop_folders": s.drop_folders.iter().map(|d| json!({
            "path": d.path,
            "mode": d.mode().as_str_name(),
            "files_waiting": d.files_waiting,
            "files_processing": d.files_processing,
            "processed_today": d.processed_today,
            "failed_today": d.failed_today,
            "watching": d.watching,
        })).collect::<Vec<_>>(),
        "output_dir": s.output_dir,
        "history_retention": duration_json(s.history_retention.as_ref()),
    })
}

/// `LogEvent` as JSON: `sequence`, `time` and one payload field named as in
/// the proto's `oneof payload`.
pub fn event_json(e: &pb::LogEvent) -> Value {
    let (name, payload) = match &e.payload {
        None => ("", Value::Null),
        Some(p) => payload_json(p),
    };
    let mut object = Map::new();
    object.insert("sequence".into(), json!(e.sequence));
    object.insert("time".into(), timestamp_json(e.time.as_ref()));
    if !name.is_empty() {
        object.insert(name.into(), payload);
    }
    Value::Object(object)
}

/// The oneof field name and JSON value of a log event payload.
pub fn payload_json(p: &Payload) -> (&'static str, Value) {
    match p {
        Payload::Output(o) => (
            "output",
            json!({"stream": o.stream().as_str_name(), "text": o.text,
                   "malformed_event": o.malformed_event, "truncated": o.truncated}),
        ),
        Payload::PhaseStarted(x) => (
            "phase_started",
            json!({"phase": x.phase, "name": x.name, "total_phases": x.total_phases}),
        ),
        Payload::PhaseCompleted(x) => {
            ("phase_completed", json!({"phase": x.phase, "name": x.name}))
        }
        Payload::PhaseFailed(x) => (
            "phase_failed",
            json!({"phase": x.phase, "name": x.name, "error": x.error}),
        ),
        Payload::TaskStarted(x) => (
            "task_started",
            json!({"phase": x.phase, "task_id": x.task_id, "description": x.description,
                   "total_tasks": x.total_tasks}),
        ),
        Payload::TaskProgress(x) => (
            "task_progress",
            json!({"task_id": x.task_id, "message": x.message}),
        ),
        Payload::TaskCompleted(x) => (
            "task_completed",
            json!({"task_id": x.task_id, "result": x.result}),
        ),
        Payload::TaskFailed(x) => (
            "task_failed",
            json!({"task_id": x.task_id, "error": x.error}),
        ),
        Payload::AgentStarted(x) => (
            "agent_started",
            json!({"task_id": x.task_id, "agent_name": x.agent_name,
                   "description": x.description}),
        ),
        Payload::AgentMessage(x) => (
            "agent_message",
            json!({"task_id": x.task_id, "agent_name": x.agent_name, "message": x.message}),
        ),
        Payload::AgentCompleted(x) => (
            "agent_completed",
            json!({"task_id": x.task_id, "agent_name": x.agent_name, "result": x.result}),
        ),
        Payload::AgentFailed(x) => (
            "agent_failed",
            json!({"task_id": x.task_id, "agent_name": x.agent_name, "error": x.error}),
        ),
        Payload::StateFileCreated(x) => (
            "state_file_created",
            json!({"phase": x.phase, "file_path": x.file_path, "description": x.description}),
        ),
        Payload::RawOutput(x) => ("raw_output", json!({"stream": x.stream, "line": x.line})),
        Payload::Queued(x) => ("queued", json!({"queue_position": x.queue_position})),
        Payload::Started(x) => ("started", json!({"pid": x.pid, "argv": x.argv})),
        Payload::Exited(x) => (
            "exited",
            json!({"exit_code": x.exit_code, "signal": x.signal}),
        ),
        Payload::CancelRequested(x) => (
            "cancel_requested",
            json!({"grace_period": duration_json(x.grace_period.as_ref()),
                   "force": x.force, "reason": x.reason}),
        ),
        Payload::Killed(x) => ("killed", json!({"signal": x.signal})),
        Payload::TimedOut(x) => (
            "timed_out",
            json!({"timeout": duration_json(x.timeout.as_ref())}),
        ),
        Payload::Interrupted(x) => ("interrupted", json!({"reason": x.reason})),
        Payload::Finished(x) => (
            "finished",
            json!({"state": x.state().as_str_name(), "error": x.error}),
        ),
    }
}
