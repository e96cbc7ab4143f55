//! A server-streaming RPC over HTTP: Server-Sent Events by default (each
//! event's `id:` its sequence number, so a browser's `EventSource` resumes
//! with `Last-Event-ID` without a gap or a duplicate), or newline-delimited
//! JSON for `Accept: application/x-ndjson` (curl, scripts).
//!
//! Backpressure is the RPC's own: messages are read from the in-process
//! stream only while the socket is a few chunks behind (at most
//! [`CHUNKS_AHEAD`] batches of messages and as many chunks of JSON wait
//! between the tasks below), and StreamLogs lets a slow reader catch up
//! from the history, so no reader slows a program. Every message already waiting goes out in one
//! chunk (up to [`CHUNK_BYTES`]): a log read from the history is a write
//! per chunk, not per event. Each message is written as JSON straight from
//! its bytes ([`crate::proto_json::encoded_to_json`]).
//!
//! Two tasks of their own do the work, not the body's poll: one drives the
//! RPC (history reads, encoding) and hands its messages over in batches,
//! the other writes them as JSON chunks. Polled in the body, all of it
//! would share one core with the connection's socket writes (HTTP/1.1
//! polls a body on its connection's task), so a log read whole would go
//! at the speed of one core doing both the RPC's work and the JSON's.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream;
use futures_util::FutureExt;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use prost_reflect::{Kind, MessageDescriptor};
use tokio::sync::mpsc;

use super::error::HttpError;
use super::grpc_call::Replies;
use crate::proto_json::{encoded_to_json, wire::varint_at};

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

/// How long the first message is awaited before the headers go out.
const FIRST_MESSAGE_WAIT: Duration = Duration::from_secs(1);

/// How long an SSE stream may be silent before a comment line keeps the
/// connection open through proxies.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The most a chunk gathers from messages already waiting.
pub(crate) const CHUNK_BYTES: usize = 64 * 1024;

/// Chunks made ahead of the socket, and batches of messages read ahead of
/// the JSON: enough that the next is ready when it is taken, few enough
/// that a slow reader holds little.
const CHUNKS_AHEAD: usize = 2;

/// One result of the RPC: a message, its end (None) or its error.
type Reply = Option<Result<Bytes, tonic::Status>>;

/// The answer to a streaming route. The first message is awaited (for up
/// to [`FIRST_MESSAGE_WAIT`]) before the headers go out, so a resumed
/// stream with nothing left answers `204 No Content`, which tells an
/// `EventSource` to stop reconnecting. A quiet stream (a queued execution,
/// a silent program) gets its headers after that wait, then keep-alive
/// comments, so no proxy times out waiting. An RPC that fails at once
/// (NOT_FOUND) never gets here: its trailers-only answer is an error of
/// the call itself.
pub(crate) async fn respond(
    output: MessageDescriptor,
    mut replies: Replies,
    format: StreamFormat,
) -> Result<Response, HttpError> {
    let first = match tokio::time::timeout(FIRST_MESSAGE_WAIT, replies.next()).await {
        Ok(None) => return Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(Some(Err(status))) => return Err(HttpError::Rpc(status)),
        Ok(Some(Ok(bytes))) => Some(bytes),
        // Not lost: the stream below reads it.
        Err(_quiet) => None,
    };
    let writer = Writer {
        cursor: cursor_path(&output),
        output,
        format,
    };
    let (batches, batches_out) = mpsc::channel(CHUNKS_AHEAD);
    let (chunks, chunks_out) = mpsc::channel(CHUNKS_AHEAD);
    tokio::spawn(read_replies(replies, batches));
    let making = tokio::spawn(make_chunks(writer, batches_out, first, chunks));
    let body = stream::unfold(Some((chunks_out, making)), |state| async move {
        let (mut chunks_out, making) = state?;
        match chunks_out.recv().await {
            Some(chunk) => Some((Ok(chunk), Some((chunks_out, making)))),
            // Every chunk taken, or the task died: a panic there breaks the
            // response off instead of ending it as if the log were whole.
            None => match making.await {
                Ok(()) => None,
                Err(failed) => Some((
                    Err(std::io::Error::other(format!(
                        "the stream's writer failed: {failed}"
                    ))),
                    None,
                )),
            },
        }
    });
    let content_type = match format {
        StreamFormat::ServerSentEvents => "text/event-stream",
        StreamFormat::Ndjson => NDJSON,
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response())
}

/// Reads the RPC's results into `batches`, each batch every result
/// already waiting (up to [`CHUNK_BYTES`] of messages), until its end or
/// error is sent, or until the chunks' task is gone (the client went
/// away): then the replies are dropped, which ends the RPC.
async fn read_replies(mut replies: Replies, batches: mpsc::Sender<Vec<Reply>>) {
    loop {
        // A quiet stream notices a client gone at once, not at its next
        // message.
        let next = tokio::select! {
            next = replies.next() => next,
            () = batches.closed() => return,
        };
        let mut batch = Vec::new();
        let mut bytes = 0;
        let mut next = Some(next);
        while let Some(reply) = next.take() {
            let ended = !matches!(reply, Some(Ok(_)));
            if let Some(Ok(message)) = &reply {
                bytes += message.len();
            }
            batch.push(reply);
            if ended {
                let _ = batches.send(batch).await;
                return;
            }
            if bytes < CHUNK_BYTES {
                next = replies.next().now_or_never();
            }
        }
        if batches.send(batch).await.is_err() {
            return;
        }
    }
}

/// Writes the batches as chunks into `chunks` until the stream ends or the
/// client goes away (the body, and with it the receiver, dropped).
async fn make_chunks(
    writer: Writer,
    mut replies: mpsc::Receiver<Vec<Reply>>,
    mut first: Option<Bytes>,
    chunks: mpsc::Sender<Bytes>,
) {
    loop {
        let mut chunk = Vec::with_capacity(CHUNK_BYTES);
        let mut ended = first
            .take()
            .is_some_and(|first| writer.message(&first, &mut chunk));
        if !ended {
            // A quiet stream notices a client gone at once, not at its
            // next message or keep-alive.
            ended = tokio::select! {
                ended = writer.gather(&mut replies, &mut chunk) => ended,
                () = chunks.closed() => return,
            };
        }
        if !chunk.is_empty() && chunks.send(Bytes::from(chunk)).await.is_err() {
            return;
        }
        if ended {
            return;
        }
    }
}

/// The field numbers of a reply's resume cursor, `event.sequence` (None
/// for a stream without one).
fn cursor_path(output: &MessageDescriptor) -> Option<[u32; 2]> {
    let event = output.get_field_by_name("event")?;
    let Kind::Message(event_message) = event.kind() else {
        return None;
    };
    let sequence = event_message.get_field_by_name("sequence")?;
    Some([event.number(), sequence.number()])
}

/// Writes the messages of one stream in its format.
struct Writer {
    output: MessageDescriptor,
    cursor: Option<[u32; 2]>,
    format: StreamFormat,
}

impl Writer {
    /// Appends to `chunk` every message already waiting (up to
    /// [`CHUNK_BYTES`]); when none is, waits for the next one, or for the
    /// keep-alive time of an SSE stream. True once the stream has ended
    /// (its end or error written).
    async fn gather(&self, replies: &mut mpsc::Receiver<Vec<Reply>>, chunk: &mut Vec<u8>) -> bool {
        loop {
            while chunk.len() < CHUNK_BYTES {
                match replies.try_recv() {
                    Ok(batch) => {
                        if self.take_batch(Some(batch), chunk) {
                            return true;
                        }
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        return self.take_batch(None, chunk)
                    }
                }
            }
            if !chunk.is_empty() {
                return false;
            }
            let next = match self.format {
                StreamFormat::ServerSentEvents => {
                    match tokio::time::timeout(KEEP_ALIVE, replies.recv()).await {
                        Ok(next) => next,
                        Err(_silent) => {
                            chunk.extend_from_slice(b": keep-alive\n\n");
                            return false;
                        }
                    }
                }
                StreamFormat::Ndjson => replies.recv().await,
            };
            if self.take_batch(next, chunk) {
                return true;
            }
        }
    }

    /// Writes one batch of the RPC's results; true when it ended the
    /// stream. No batch means the reading task is gone without sending
    /// the end, which only a panic there does.
    fn take_batch(&self, batch: Option<Vec<Reply>>, chunk: &mut Vec<u8>) -> bool {
        let Some(batch) = batch else {
            let lost = tonic::Status::internal("the stream's reader stopped");
            self.error(&HttpError::Rpc(lost), chunk);
            return true;
        };
        batch.into_iter().any(|next| self.take(next, chunk))
    }

    /// Writes one result of the RPC; true when it ended the stream.
    fn take(&self, next: Reply, chunk: &mut Vec<u8>) -> bool {
        match next {
            None => true,
            Some(Ok(bytes)) => self.message(&bytes, chunk),
            Some(Err(status)) => {
                self.error(&HttpError::Rpc(status), chunk);
                true
            }
        }
    }

    /// One message: an SSE event (its `id:` the sequence) or an NDJSON
    /// line; or, when it cannot be written as JSON, the error that ends the
    /// stream (then true).
    fn message(&self, bytes: &[u8], chunk: &mut Vec<u8>) -> bool {
        let start = chunk.len();
        if self.format == StreamFormat::ServerSentEvents {
            if let Some(sequence) = self.cursor.and_then(|path| varint_at(bytes, &path)) {
                chunk.extend_from_slice(b"id: ");
                chunk.extend_from_slice(itoa::Buffer::new().format(sequence).as_bytes());
                chunk.push(b'\n');
            }
            chunk.extend_from_slice(b"data: ");
        }
        match encoded_to_json(&self.output, bytes, chunk) {
            Ok(()) => {
                chunk.extend_from_slice(match self.format {
                    StreamFormat::ServerSentEvents => b"\n\n",
                    StreamFormat::Ndjson => b"\n",
                });
                false
            }
            Err(why) => {
                chunk.truncate(start);
                self.error(&HttpError::unwritable(why), chunk);
                true
            }
        }
    }

    /// An error that ends the stream: an SSE `error` event or an NDJSON
    /// `{"error": ...}` line, the `google.rpc.Status` JSON either way.
    fn error(&self, error: &HttpError, chunk: &mut Vec<u8>) {
        let status = error.to_status_json();
        match self.format {
            StreamFormat::ServerSentEvents => {
                chunk.extend_from_slice(b"event: error\ndata: ");
                chunk.extend_from_slice(status.to_string().as_bytes());
                chunk.extend_from_slice(b"\n\n");
            }
            StreamFormat::Ndjson => {
                let line = serde_json::json!({"error": status}).to_string();
                chunk.extend_from_slice(line.as_bytes());
                chunk.push(b'\n');
            }
        }
    }
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

    /// A message that cannot be written as JSON ends the stream with its
    /// error, as the RPC's own errors do: nothing follows it.
    #[test]
    fn an_unwritable_message_ends_the_stream_with_an_error() {
        let output = crate::proto_json::pool()
            .get_message_by_name("workflow.v1.StreamLogsResponse")
            .expect("the reply's descriptor");
        for format in [StreamFormat::ServerSentEvents, StreamFormat::Ndjson] {
            let writer = Writer {
                cursor: cursor_path(&output),
                output: output.clone(),
                format,
            };
            let mut chunk = Vec::new();
            // Field 1, length-delimited, longer than what follows.
            let broken = Bytes::from_static(&[0x0a, 0x7f, 0x01]);
            assert!(writer.take(Some(Ok(broken)), &mut chunk), "{format:?}");
            let text = String::from_utf8(chunk).expect("UTF-8");
            assert!(text.contains("error"), "{format:?}: {text}");
            assert!(!text.contains("data: {\"event\""), "{format:?}: {text}");
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
