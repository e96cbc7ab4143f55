//! A webhook receiver on loopback (axum): answers each request as its
//! script says (a status, a redirect, or hanging), records every request, and checks
//! Standard Webhooks signatures.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use sha2::Sha256;
use tokio::sync::Notify;

use super::*;

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// With this status.
    Status(u16),
    /// 307 Temporary Redirect to this URL.
    Redirect(String),
    /// Never.
    Hang,
}

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`.
    pub signature: String,
    /// The body.
    pub body: serde_json::Value,
    raw: Bytes,
}

impl Received {
    /// Whether its signature is the one `secret` makes.
    pub fn signed_with(&self, secret: &str) -> bool {
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
            .expect("base64");
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.", self.id, self.timestamp).as_bytes());
        mac.update(&self.raw);
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        self.signature.split(' ').any(|s| s == expected)
    }
}

struct Shared {
    script: Mutex<VecDeque<Answer>>,
    /// When the script is done.
    then: Answer,
    received: Mutex<Vec<Received>>,
    arrived: Notify,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    /// Its address.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// A receiver on a free port that answers `script` in order, then
    /// `then` to every further request.
    pub async fn start(script: &[Answer], then: Answer) -> Receiver {
        Self::start_on("127.0.0.1:0".parse().unwrap(), script, then).await
    }

    /// The same on `addr`.
    pub async fn start_on(addr: SocketAddr, script: &[Answer], then: Answer) -> Receiver {
        let shared = Arc::new(Shared {
            script: Mutex::new(script.iter().cloned().collect()),
            then,
            received: Mutex::new(Vec::new()),
            arrived: Notify::new(),
        });
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { addr, shared, task }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().clone()
    }

    /// Waits until `count` requests have arrived; returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        tokio::time::timeout(DEADLINE, async {
            loop {
                let arrived = self.shared.arrived.notified();
                if self.shared.received.lock().len() >= count {
                    return self.received();
                }
                arrived.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{count} webhook requests: got {:#?}", self.received()))
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let received = Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        raw: body,
    };
    shared.received.lock().push(received);
    shared.arrived.notify_waiters();
    let answer = shared.script.lock().pop_front();
    match answer.unwrap_or_else(|| shared.then.clone()) {
        Answer::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Answer::Redirect(to) => {
            (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]).into_response()
        }
        Answer::Hang => std::future::pending().await,
    }
}
