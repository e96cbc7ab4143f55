//! A server-streaming RPC over HTTP: Server-Sent Events by default (each
//! event's `id:` its sequence number, so a browser's `EventSource` resumes
//! with `Last-Event-ID` without a gap or a duplicate), or newline-delimited
//! JSON for `Accept: application/x-ndjson` (curl, scripts).
//!
//! Backpressure is the RPC's own: a message is read from the in-process
//! stream only when the socket took the previous one, and StreamLogs lets a
//! slow reader catch up from the history, so no reader slows a program.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use prost_reflect::{DynamicMessage, MessageDescriptor, Value};

use super::error::HttpError;
use super::grpc_call::Replies;
use crate::proto_json::{decode, dynamic_to_json_text};

/// The request field a resumed stream starts from.
pub(crate) const RESUME_FIELD: &str = "from_sequence";

/// The media type of newline-delimited JSON.
const NDJSON: &str = "application/x-ndjson";

/// How a stream is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamFormat {
    /// `text/event-stream`.
    ServerSentEvents,
    /// `application/x-ndjson`.
    Ndjson,
}

impl StreamFormat {
    /// The format the client's `Accept` header asks for.
    pub(crate) fn from_accept(headers: &HeaderMap) -> Self {
        let accept = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        if accept.contains(NDJSON) {
            StreamFormat::Ndjson
        } else {
            StreamFormat::ServerSentEvents
        }
    }
}

/// The `from_sequence` a `Last-Event-ID` asks for: the event after it.
pub(crate) fn resume_from(last_event_id: &HeaderValue) -> Result<u64, HttpError> {
    let text = last_event_id.to_str().unwrap_or_default();
    text.trim()
        .parse::<u64>()
        .ok()
        .and_then(|last| last.checked_add(1))
        .ok_or_else(|| HttpError::BadLastEventId {
            value: String::from_utf8_lossy(last_event_id.as_bytes()).into_owned(),
        })
}

/// One message of the stream, in JSON, with its resume cursor.
struct Item {
    json: String,
    sequence: Option<u64>,
}

/// How long the first message is awaited before the headers go out.
const FIRST_MESSAGE_WAIT: Duration = Duration::from_secs(1);

/// The answer to a streaming route. The first message is awaited (for up
/// to [`FIRST_MESSAGE_WAIT`]) before the headers go out, so a resumed
/// stream with nothing left answers `204 No Content`, which tells an
/// `EventSource` to stop reconnecting. A quiet stream (a queued execution,
/// a silent program) gets its headers after that wait, then keep-alive
/// comments, so no proxy times out waiting for headers. An RPC that fails
/// at once (NOT_FOUND) never gets here: its trailers-only answer is an
/// error of the call itself.
pub(crate) async fn respond(
    output: MessageDescriptor,
    mut replies: Replies,
    format: StreamFormat,
) -> Result<Response, HttpError> {
    let first = match tokio::time::timeout(FIRST_MESSAGE_WAIT, replies.next()).await {
        Ok(None) => return Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(Some(Err(status))) => return Err(HttpError::Rpc(status)),
        Ok(Some(Ok(bytes))) => Some(item(&output, &bytes)),
        // Not cancelled: the message is read by the stream below.
        Err(_quiet) => None,
    };
    let rest = stream::unfold(Some(replies), move |replies| {
        let output = output.clone();
        async move {
            let mut replies = replies?;
            match replies.next().await {
                None => None,
                Some(Ok(bytes)) => Some((item(&output, &bytes), Some(replies))),
                Some(Err(status)) => Some((Err(HttpError::Rpc(status)), None)),
            }
        }
    });
    let items = stream::iter(first).chain(rest);
    Ok(match format {
        StreamFormat::ServerSentEvents => {
            Sse::new(items.map(|item| Ok::<_, Infallible>(sse_event(item))))
                .keep_alive(KeepAlive::default())
                .into_response()
        }
        StreamFormat::Ndjson => {
            let lines = items.map(|item| Ok::<_, Infallible>(ndjson_line(item)));
            (
                [(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON))],
                axum::body::Body::from_stream(lines),
            )
                .into_response()
        }
    })
}

/// An encoded reply as JSON, with its `event.sequence` when it has one.
fn item(output: &MessageDescriptor, bytes: &[u8]) -> Result<Item, HttpError> {
    let message = decode(output, bytes)
        .map_err(|e| HttpError::Rpc(tonic::Status::internal(format!("undecodable reply: {e}"))))?;
    Ok(Item {
        json: dynamic_to_json_text(&message).map_err(HttpError::unwritable)?,
        sequence: sequence_of(&message),
    })
}

/// The sequence number of a StreamLogs reply (`event.sequence`).
fn sequence_of(message: &DynamicMessage) -> Option<u64> {
    let event = message.get_field_by_name("event")?;
    let Value::Message(event) = event.as_ref() else {
        return None;
    };
    match event.get_field_by_name("sequence")?.as_ref() {
        Value::U64(sequence) => Some(*sequence),
        _ => None,
    }
}

fn sse_event(item: Result<Item, HttpError>) -> Event {
    match item {
        Ok(Item { json, sequence }) => {
            let event = Event::default().data(json);
            match sequence {
                Some(sequence) => event.id(sequence.to_string()),
                None => event,
            }
        }
        Err(error) => Event::default()
            .event("error")
            .data(error.to_status_json().to_string()),
    }
}

fn ndjson_line(item: Result<Item, HttpError>) -> Bytes {
    let mut line = match item {
        Ok(Item { json, .. }) => json,
        Err(error) => serde_json::json!({"error": error.to_status_json()}).to_string(),
    };
    line.push('\n');
    Bytes::from(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_event_id_resumes_after_the_event() {
        assert_eq!(resume_from(&HeaderValue::from_static("41")).unwrap(), 42);
        for bad in ["", "x", "-1", "18446744073709551615"] {
            assert!(
                matches!(
                    resume_from(&HeaderValue::from_static(bad)),
                    Err(HttpError::BadLastEventId { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ndjson_is_chosen_by_accept_and_sse_otherwise() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            StreamFormat::from_accept(&headers),
            StreamFormat::ServerSentEvents
        );
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/x-ndjson"),
        );
        assert_eq!(StreamFormat::from_accept(&headers), StreamFormat::Ndjson);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        );
        assert_eq!(
            StreamFormat::from_accept(&headers),
            StreamFormat::ServerSentEvents
        );
    }
}
