//! Assertions on logs, timestamps and error details, and the short names
//! that make their failure messages readable.

use std::time::SystemTime;

use super::*;
use prost_types::Timestamp;
use tonic::Status;

/// Asserts that the events are numbered `first`, `first + 1`, ... without gaps.
pub fn assert_contiguous(events: &[LogEvent], first: u64) {
    let sequences: Vec<u64> = events.iter().map(|e| e.sequence).collect();
    let expected: Vec<u64> = (first..first + events.len() as u64).collect();
    if sequences != expected {
        let bad = sequences
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "sequences are not contiguous from {first}: first mismatch at index {bad}: got {:?}, expected {:?}",
            &sequences[bad..(bad + 5).min(sequences.len())],
            &expected[bad..(bad + 5).min(expected.len())]
        );
    }
}

/// A short name for an event's payload, for readable assertion messages.
pub fn kind(event: &LogEvent) -> &'static str {
    match &event.payload {
        None => "none",
        Some(Payload::Output(_)) => "output",
        Some(Payload::PhaseStarted(_)) => "phase_started",
        Some(Payload::PhaseCompleted(_)) => "phase_completed",
        Some(Payload::PhaseFailed(_)) => "phase_failed",
        Some(Payload::TaskStarted(_)) => "task_started",
        Some(Payload::TaskProgress(_)) => "task_progress",
        Some(Payload::TaskCompleted(_)) => "task_completed",
        Some(Payload::TaskFailed(_)) => "task_failed",
        Some(Payload::AgentStarted(_)) => "agent_started",
        Some(Payload::AgentMessage(_)) => "agent_message",
        Some(Payload::AgentCompleted(_)) => "agent_completed",
        Some(Payload::AgentFailed(_)) => "agent_failed",
        Some(Payload::StateFileCreated(_)) => "state_file_created",
        Some(Payload::RawOutput(_)) => "raw_output",
        Some(Payload::Queued(_)) => "queued",
        Some(Payload::Started(_)) => "started",
        Some(Payload::Exited(_)) => "exited",
        Some(Payload::CancelRequested(_)) => "cancel_requested",
        Some(Payload::Killed(_)) => "killed",
        Some(Payload::TimedOut(_)) => "timed_out",
        Some(Payload::Interrupted(_)) => "interrupted",
        Some(Payload::Finished(_)) => "finished",
    }
}

/// The payload names of events, in order.
pub fn kinds(events: &[LogEvent]) -> Vec<&'static str> {
    events.iter().map(kind).collect()
}

/// The payload names of the lifecycle events (no output, no program events).
pub fn lifecycle(events: &[LogEvent]) -> Vec<&'static str> {
    events
        .iter()
        .map(kind)
        .filter(|k| {
            matches!(
                *k,
                "queued"
                    | "started"
                    | "exited"
                    | "cancel_requested"
                    | "killed"
                    | "timed_out"
                    | "interrupted"
                    | "finished"
            )
        })
        .collect()
}

/// The `finished` event at the end of a log.
pub fn finished(events: &[LogEvent]) -> pb::Finished {
    match events.last().and_then(|e| e.payload.as_ref()) {
        Some(Payload::Finished(f)) => f.clone(),
        _ => panic!("log does not end with `finished`: {:?}", kinds(events)),
    }
}

/// The texts of the output lines of one stream, in order.
pub fn output_texts(events: &[LogEvent], stream: pb::OutputStream) -> Vec<String> {
    of!(events, Output)
        .into_iter()
        .filter(|o| o.stream() == stream)
        .map(|o| o.text.clone())
        .collect()
}

/// A Timestamp as nanoseconds since the epoch, for comparisons.
pub fn nanos(ts: &Timestamp) -> i128 {
    ts.seconds as i128 * 1_000_000_000 + ts.nanos as i128
}

/// Now as nanoseconds since the epoch.
pub fn now_nanos() -> i128 {
    nanos(&Timestamp::from(SystemTime::now()))
}

/// The BadRequest field violations of a status as (field, description).
pub fn violations(status: &Status) -> Vec<(String, String)> {
    use tonic_types::StatusExt;
    let details = status.get_error_details();
    let bad = details
        .bad_request()
        .unwrap_or_else(|| panic!("no google.rpc.BadRequest in {status:?}"));
    bad.field_violations
        .iter()
        .map(|v| (v.field.clone(), v.description.clone()))
        .collect()
}

/// The wait a RESOURCE_EXHAUSTED refusal's google.rpc.RetryInfo asks
/// for; panics when it has none.
pub fn retry_delay(status: &Status) -> std::time::Duration {
    use tonic_types::StatusExt;
    status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .unwrap_or_else(|| panic!("no google.rpc.RetryInfo with a delay in {status:?}"))
}
