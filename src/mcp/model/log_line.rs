//! The one-line rendering of log events, shared by get_workflow_logs and
//! the progress notifications of a waited run.

use schemars::JsonSchema;
use serde::Serialize;

use super::execution::{rfc3339, state_name};
use crate::pb;
use crate::pb::log_event::Payload;

/// One line of an execution's log.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct LogLine {
    /// Sequence number (1 is the first event; no gaps).
    pub(crate) sequence: u64,
    /// When the daemon read or produced it (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) time: Option<String>,
    /// stdout, stderr, event (a structured workflow event) or lifecycle
    /// (queued, started, exited, finished, ...).
    pub(crate) kind: String,
    /// The line, or a one-line description of the event.
    pub(crate) text: String,
}

/// Result of get_workflow_logs.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct LogsOutput {
    /// Execution id.
    pub(crate) execution_id: String,
    /// The lines, oldest first.
    pub(crate) lines: Vec<LogLine>,
    /// Pass as `cursor` to read on from here.
    pub(crate) next_cursor: u64,
    /// True when `max_bytes` cut the page short: call again with
    /// `next_cursor` for the rest.
    pub(crate) has_more: bool,
    /// True when the log read so far ends with the execution's final event;
    /// otherwise more lines may still come.
    pub(crate) execution_finished: bool,
}

/// A log event as a log line: its kind and a one-line text.
pub(crate) fn log_line(event: &pb::LogEvent) -> LogLine {
    let (kind, text) = describe(event.payload.as_ref());
    LogLine {
        sequence: event.sequence,
        time: rfc3339(event.time.as_ref()),
        kind: kind.to_string(),
        text,
    }
}

/// Whether the event is the execution's final one.
pub(crate) fn is_finished_event(event: &pb::LogEvent) -> bool {
    matches!(event.payload, Some(Payload::Finished(_)))
}

/// Whether the event is a plain output line (as opposed to a structured or
/// lifecycle event).
pub(crate) fn is_output(event: &pb::LogEvent) -> bool {
    matches!(
        event.payload,
        Some(Payload::Output(_) | Payload::RawOutput(_))
    )
}

fn with_detail(text: String, detail: Option<&str>) -> String {
    match detail {
        Some(d) if !d.is_empty() => format!("{text}: {d}"),
        _ => text,
    }
}

/// (kind, text) of one payload.
fn describe(payload: Option<&Payload>) -> (&'static str, String) {
    let Some(payload) = payload else {
        return ("lifecycle", "(empty event)".to_string());
    };
    match payload {
        Payload::Output(line) => {
            let kind = if line.stream == pb::OutputStream::Stderr as i32 {
                "stderr"
            } else {
                "stdout"
            };
            (kind, line.text.clone())
        }
        Payload::RawOutput(raw) => {
            let kind = if raw.stream == "stderr" {
                "stderr"
            } else {
                "stdout"
            };
            (kind, raw.line.clone())
        }
        Payload::PhaseStarted(p) => (
            "event",
            format!(
                "phase {} {:?} started ({} of {})",
                p.phase,
                p.name,
                p.phase + 1,
                p.total_phases
            ),
        ),
        Payload::PhaseCompleted(p) => {
            ("event", format!("phase {} {:?} completed", p.phase, p.name))
        }
        Payload::PhaseFailed(p) => (
            "event",
            format!("phase {} {:?} failed: {}", p.phase, p.name, p.error),
        ),
        Payload::TaskStarted(t) => (
            "event",
            with_detail(
                format!("task {} started in phase {}", t.task_id, t.phase),
                Some(&t.description),
            ),
        ),
        Payload::TaskProgress(t) => ("event", format!("task {}: {}", t.task_id, t.message)),
        Payload::TaskCompleted(t) => (
            "event",
            with_detail(format!("task {} completed", t.task_id), t.result.as_deref()),
        ),
        Payload::TaskFailed(t) => ("event", format!("task {} failed: {}", t.task_id, t.error)),
        Payload::AgentStarted(a) => (
            "event",
            with_detail(
                format!("agent {} started on task {}", a.agent_name, a.task_id),
                Some(&a.description),
            ),
        ),
        Payload::AgentMessage(a) => (
            "event",
            format!("agent {} ({}): {}", a.agent_name, a.task_id, a.message),
        ),
        Payload::AgentCompleted(a) => (
            "event",
            with_detail(
                format!("agent {} completed task {}", a.agent_name, a.task_id),
                a.result.as_deref(),
            ),
        ),
        Payload::AgentFailed(a) => (
            "event",
            format!(
                "agent {} failed on task {}: {}",
                a.agent_name, a.task_id, a.error
            ),
        ),
        Payload::StateFileCreated(s) => (
            "event",
            with_detail(
                format!("state file {} written by phase {}", s.file_path, s.phase),
                Some(&s.description),
            ),
        ),
        Payload::Queued(q) => (
            "lifecycle",
            format!("queued at position {}", q.queue_position),
        ),
        Payload::Started(s) => ("lifecycle", format!("started with pid {}", s.pid)),
        Payload::Exited(e) => (
            "lifecycle",
            match (e.exit_code, e.signal) {
                (Some(code), _) => format!("exited with code {code}"),
                (None, Some(signal)) => format!("killed by signal {signal}"),
                (None, None) => "exited".to_string(),
            },
        ),
        Payload::CancelRequested(c) => (
            "lifecycle",
            format!(
                "cancel requested by {}{}",
                if c.reason.is_empty() {
                    "client"
                } else {
                    &c.reason
                },
                if c.force { " (force)" } else { "" }
            ),
        ),
        Payload::Killed(k) => ("lifecycle", format!("sent signal {}", k.signal)),
        Payload::TimedOut(t) => (
            "lifecycle",
            format!(
                "timed out after {} s",
                t.timeout.as_ref().map_or(0, |d| d.seconds)
            ),
        ),
        Payload::Interrupted(i) => ("lifecycle", format!("interrupted: {}", i.reason)),
        Payload::Finished(f) => (
            "lifecycle",
            with_detail(format!("finished: {}", state_name(f.state)), Some(&f.error)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_render_as_one_line() {
        let event = pb::LogEvent {
            sequence: 7,
            time: Some(prost_types::Timestamp {
                seconds: 0,
                nanos: 0,
            }),
            payload: Some(Payload::PhaseStarted(pb::PhaseStarted {
                phase: 1,
                name: "research".into(),
                total_phases: 3,
            })),
        };
        let line = log_line(&event);
        assert_eq!(line.kind, "event");
        assert_eq!(line.text, "phase 1 \"research\" started (2 of 3)");
        assert_eq!(line.time.as_deref(), Some("1970-01-01T00:00:00.000Z"));
    }
}
