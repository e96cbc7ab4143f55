//! The daemon's HTTP side on its gRPC port: its URLs, a reqwest client,
//! the proto3 JSON form of a gRPC answer (to compare both protocols) and a
//! reader of Server-Sent Events.

use std::sync::OnceLock;

use super::*;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};
use serde_json::Value;

impl Daemon {
    /// The URL of `path` (from `/`) on the daemon's TCP port.
    pub fn url(&self, path: &str) -> String {
        assert!(
            self.addr.starts_with("127.0.0.1:"),
            "the daemon serves TCP, not {}",
            self.addr
        );
        format!("http://{}{path}", self.addr)
    }

    /// GETs `path` and returns the status and the body as JSON (Null when
    /// the body is empty).
    pub async fn http_get(&self, path: &str) -> (reqwest::StatusCode, Value) {
        json_answer(http_client().get(self.url(path)).send().await).await
    }

    /// POSTs `body` as JSON to `path` and returns the status and the body.
    pub async fn http_post(&self, path: &str, body: &Value) -> (reqwest::StatusCode, Value) {
        json_answer(http_client().post(self.url(path)).json(body).send().await).await
    }
}

/// The status and JSON body of a sent request.
pub async fn json_answer(sent: reqwest::Result<reqwest::Response>) -> (reqwest::StatusCode, Value) {
    let response = sent.expect("the daemon answers HTTP");
    let status = response.status();
    let text = response.text().await.expect("read the body");
    if text.is_empty() {
        return (status, Value::Null);
    }
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("a JSON body, got {status} {text:?}: {e}"));
    (status, json)
}

/// An HTTP/1.1 client with the tests' deadline; a new connection pool
/// each call, so a dropped response is a dropped connection.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .http1_only()
        .timeout(DEADLINE)
        .build()
        .expect("build the HTTP client")
}

impl Daemon {
    /// Every StreamLogs message of an execution over gRPC (to its end), as
    /// the JSON the HTTP routes should write.
    pub async fn grpc_log_json(&self, execution_id: &str) -> Vec<Value> {
        self.run_to_end(execution_id)
            .await
            .into_iter()
            .map(|event| {
                proto_json(
                    &pb::StreamLogsResponse { event: Some(event) },
                    "workflow.v1.StreamLogsResponse",
                )
            })
            .collect()
    }
}

/// A message of the API in the proto3 JSON mapping, as the daemon's HTTP
/// routes should write it (`full_name` e.g. `workflow.v1.GetStatusResponse`).
pub fn proto_json<M: Message>(message: &M, full_name: &str) -> Value {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    let pool = POOL.get_or_init(|| {
        DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).expect("the descriptor set decodes")
    });
    let descriptor = pool
        .get_message_by_name(full_name)
        .unwrap_or_else(|| panic!("{full_name} is in the descriptor set"));
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .expect("decode as a dynamic message");
    serde_json::to_value(&dynamic).expect("a message serializes")
}

/// One Server-Sent Event.
#[derive(Debug, Clone, Default)]
pub struct SseEvent {
    /// Its `id:` field.
    pub id: Option<String>,
    /// Its `event:` field.
    pub event: Option<String>,
    /// Its `data:` lines, joined with newlines.
    pub data: String,
}

/// Reads the events of a `text/event-stream` response as they arrive.
pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    /// Reads `response`, which must be an event stream.
    pub fn new(response: reqwest::Response) -> Self {
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(
            content_type.starts_with("text/event-stream"),
            "an event stream, got {content_type:?}"
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (comments and keep-alives skipped); None when the
    /// stream ended.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent::default();
                let mut data = Vec::new();
                for line in block.lines() {
                    let (name, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match name {
                        "id" => event.id = Some(value.to_string()),
                        "event" => event.event = Some(value.to_string()),
                        "data" => data.push(value),
                        _ => {}
                    }
                }
                if data.is_empty() && event.id.is_none() {
                    continue;
                }
                event.data = data.join("\n");
                return Some(event);
            }
            let chunk = tokio::time::timeout(DEADLINE, self.response.chunk())
                .await
                .expect("the event stream goes on within the deadline")
                .expect("read the event stream");
            match chunk {
                Some(bytes) => self
                    .buffer
                    .push_str(std::str::from_utf8(&bytes).expect("UTF-8 events")),
                None => {
                    assert!(
                        self.buffer.trim().is_empty(),
                        "the stream ended inside an event: {:?}",
                        self.buffer
                    );
                    return None;
                }
            }
        }
    }
}
