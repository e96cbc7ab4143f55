//! How log events are laid out in the `log_events` table: a small kind code,
//! flag bits and one text column. Structured and lifecycle events are kept
//! as their JSON (the SDK's format for structured ones), which keeps the
//! table readable with the sqlite3 shell.

use std::borrow::Cow;

use crate::events::{LogEvent, LogPayload, OutputStream};

use super::StoreError;

const KIND_STDOUT: i64 = 1;
const KIND_STDERR: i64 = 2;
const KIND_EVENT: i64 = 3;
const KIND_LIFECYCLE: i64 = 4;

const FLAG_MALFORMED: i64 = 1;
const FLAG_TRUNCATED: i64 = 2;

/// The (kind, flags, text) columns of an event.
pub(super) fn encode(payload: &LogPayload) -> (i64, i64, Cow<'_, str>) {
    match payload {
        LogPayload::Output {
            stream,
            text,
            malformed_event,
            truncated,
        } => {
            let kind = match stream {
                OutputStream::Stdout => KIND_STDOUT,
                OutputStream::Stderr => KIND_STDERR,
            };
            let mut flags = 0;
            if *malformed_event {
                flags |= FLAG_MALFORMED;
            }
            if *truncated {
                flags |= FLAG_TRUNCATED;
            }
            (kind, flags, Cow::Borrowed(text.as_str()))
        }
        LogPayload::Event(event) => (
            KIND_EVENT,
            0,
            Cow::Owned(serde_json::to_string(event).expect("events serialize")),
        ),
        LogPayload::Lifecycle(lifecycle) => (
            KIND_LIFECYCLE,
            0,
            Cow::Owned(serde_json::to_string(lifecycle).expect("lifecycle events serialize")),
        ),
    }
}

/// Rebuilds an event from its row.
pub(super) fn decode(
    sequence: u64,
    time_ms: i64,
    kind: i64,
    flags: i64,
    text: String,
) -> Result<LogEvent, StoreError> {
    let payload = match kind {
        KIND_STDOUT | KIND_STDERR => LogPayload::Output {
            stream: if kind == KIND_STDOUT {
                OutputStream::Stdout
            } else {
                OutputStream::Stderr
            },
            text,
            malformed_event: flags & FLAG_MALFORMED != 0,
            truncated: flags & FLAG_TRUNCATED != 0,
        },
        KIND_EVENT => LogPayload::Event(
            serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("event #{sequence}: {e}")))?,
        ),
        KIND_LIFECYCLE => LogPayload::Lifecycle(
            serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("lifecycle event #{sequence}: {e}")))?,
        ),
        other => {
            return Err(StoreError::Corrupt(format!(
                "event #{sequence}: kind {other}"
            )))
        }
    };
    Ok(LogEvent {
        sequence,
        time_ms,
        payload,
    })
}
