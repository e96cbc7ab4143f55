//! Webhooks (docs/webhooks.md): subscriptions of URLs to events, POSTed as
//! JSON signed per the Standard Webhooks spec, at least once, from a
//! durable outbox in the history.
//!
//! - The outbox: triggers in the history write a notification in the
//!   transaction that ends an execution, finishes a batch, misses or fails
//!   a schedule's run, or fails a dropped file (store/webhooks.rs, schema
//!   version 8), so no event is lost to a crash.
//! - [`dispatch`]: the fan-out (one delivery per matching webhook) and one
//!   sender per webhook, with backoff, jitter and a give-up time.
//! - [`payload`]: the JSON body; [`signature`]: the signing;
//!   [`destination`]: the addresses webhooks may be sent to.

mod destination;
mod dispatch;
mod payload;
mod recent_ends;
pub(crate) mod signature;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub(crate) use destination::DestinationPolicy;
use destination::PolicyResolver;
use dispatch::Sender;

use crate::clock::now_ms;
use crate::engine::Engine;
use crate::store::{
    DeliveryRecord, DeliveryState, StoreError, StoreReader, StoreWriter, WebhookRecord,
    WebhookWrite,
};

/// The event types a webhook can ask for.
pub(crate) const EVENT_TYPES: &[&str] = &[
    "execution.succeeded",
    "execution.failed",
    "execution.cancelled",
    "execution.timed_out",
    "execution.interrupted",
    "batch.finished",
    "schedule.missed",
    "schedule.failed",
    "drop_file.failed",
];

/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a webhook operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The webhook asked for is invalid, as (field, description).
    #[error("invalid webhook: {}", .0.iter().map(|(f, d)| format!("{f}: {d}")).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<(String, String)>),
    /// No webhook has this id.
    #[error("webhook {0:?} not found")]
    NotFound(String),
    /// The history failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for WebhookError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::WebhookNotFound(id) => WebhookError::NotFound(id),
            other => WebhookError::Store(other),
        }
    }
}

/// What a client asks to subscribe.
#[derive(Debug, Clone, Default)]
pub(crate) struct NewWebhook {
    /// Where events go.
    pub(crate) url: String,
    /// The secret; None: one is made.
    pub(crate) secret: Option<String>,
    /// Event types; empty: all.
    pub(crate) events: Vec<String>,
    /// Workflows; empty: all.
    pub(crate) workflow_ids: Vec<String>,
    /// Free text.
    pub(crate) description: String,
}

/// The daemon's webhooks.
pub(crate) struct Webhooks {
    engine: Arc<Engine>,
    writer: StoreWriter,
    reader: Arc<StoreReader>,
    client: reqwest::Client,
    /// The addresses webhooks may be sent to.
    policy: Arc<DestinationPolicy>,
    /// Each webhook's sender, by webhook id.
    senders: Mutex<BTreeMap<String, Arc<Sender>>>,
    fan_out_wake: Notify,
    /// A delivery not made within this long of its event is given up.
    give_up_after: Duration,
    stop: CancellationToken,
}

impl Webhooks {
    /// The webhooks over an engine's history, sent only to addresses inside
    /// `allowed_networks` (empty: any but those never reached; see
    /// [`destination`]). Nothing is sent until [`Webhooks::start`].
    pub(crate) fn new(
        engine: Arc<Engine>,
        writer: StoreWriter,
        reader: Arc<StoreReader>,
        give_up_after: Duration,
        allowed_networks: Vec<ipnet::IpNet>,
    ) -> Arc<Self> {
        let policy = Arc::new(DestinationPolicy::new(allowed_networks));
        let client = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            // A redirect is an answer like any other (not 2xx): the daemon
            // POSTs only to the URL it was given, never to where a
            // Location header points (which the policy has not seen).
            .redirect(reqwest::redirect::Policy::none())
            // Host names resolve through the policy, and the connection
            // goes to the addresses it checked.
            .dns_resolver(Arc::new(PolicyResolver {
                policy: policy.clone(),
            }))
            // A proxy would resolve and reach the host itself, past the
            // policy: webhooks go direct, whatever HTTP(S)_PROXY says.
            .no_proxy()
            .user_agent(concat!("workflowd/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client's settings are valid");
        Arc::new(Webhooks {
            engine,
            writer,
            reader,
            client,
            policy,
            senders: Mutex::new(BTreeMap::new()),
            fan_out_wake: Notify::new(),
            give_up_after,
            stop: CancellationToken::new(),
        })
    }

    /// Loads the webhooks, starts their senders (the deliveries pending in
    /// the history go out again) and the fan-out.
    pub(crate) async fn start(self: &Arc<Self>) -> Result<(), WebhookError> {
        // What the last run handed to its senders in memory and never
        // attempted is due again, read from the history like any other.
        self.writer.webhook(WebhookWrite::Reclaim).await?;
        let webhooks = self.reader.off_runtime(|r| r.webhooks()).await?;
        for mut webhook in webhooks {
            // One that cannot send is still listed, with the reason, so it
            // can be seen and deleted; its events are recorded as failed.
            let key = signature::key(&webhook.secret).unwrap_or_else(|e| {
                webhook
                    .problem
                    .get_or_insert(format!(
                        "the stored secret cannot be read (it {e}); delete the webhook and add it again"
                    ));
                Vec::new()
            });
            if let Some(refused) = self.refused_literal(&webhook.url) {
                webhook
                    .problem
                    .get_or_insert(format!("its URL is refused: {refused}"));
            }
            if let Some(problem) = &webhook.problem {
                tracing::error!(webhook = %webhook.id, %problem, "a stored webhook cannot send; delete it and add it again");
            }
            self.spawn_sender(webhook, key);
        }
        tokio::spawn(self.clone().fan_out());
        Ok(())
    }

    /// Stops sending (the daemon is shutting down); what is pending goes
    /// out after the next start.
    pub(crate) fn stop(&self) {
        self.stop.cancel();
    }

    fn spawn_sender(self: &Arc<Self>, webhook: WebhookRecord, key: Vec<u8>) {
        let sender = Arc::new(Sender::new(webhook, key));
        self.senders
            .lock()
            .insert(sender.webhook.id.clone(), sender.clone());
        tokio::spawn(self.clone().send_loop(sender));
    }

    /// Subscribes a URL; returns the webhook and its secret.
    pub(crate) async fn create(
        self: &Arc<Self>,
        new: NewWebhook,
    ) -> Result<(WebhookRecord, String), WebhookError> {
        let mut problems = Vec::new();
        match reqwest::Url::parse(&new.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                if let Some(refused) = self.refused_literal(&new.url) {
                    problems.push(("webhook.url".to_string(), refused));
                }
            }
            Ok(_) => problems.push((
                "webhook.url".to_string(),
                "must be an http:// or https:// URL with a host".to_string(),
            )),
            Err(e) => problems.push(("webhook.url".to_string(), format!("is not a URL: {e}"))),
        }
        let secret = new.secret.unwrap_or_else(signature::new_secret);
        let key = signature::key(&secret).map_err(|e| ("webhook.secret".to_string(), e));
        if let Err(problem) = &key {
            problems.push(problem.clone());
        }
        for (i, event) in new.events.iter().enumerate() {
            if !EVENT_TYPES.contains(&event.as_str()) {
                problems.push((
                    format!("webhook.events[{i}]"),
                    format!(
                        "{event:?} is not an event; one of {}",
                        EVENT_TYPES.join(", ")
                    ),
                ));
            }
        }
        let key = match key {
            Ok(key) if problems.is_empty() => key,
            _ => return Err(WebhookError::Invalid(problems)),
        };
        let record = WebhookRecord {
            id: format!("wh_{}", Uuid::now_v7().simple()),
            url: new.url,
            secret: secret.clone(),
            events: new.events,
            workflow_ids: new.workflow_ids,
            description: new.description,
            create_ms: now_ms(),
            problem: None,
        };
        self.writer
            .webhook(WebhookWrite::Create(Box::new(record.clone())))
            .await?;
        self.spawn_sender(record.clone(), key);
        self.fan_out_wake.notify_one();
        Ok((record, secret))
    }

    /// Every webhook, oldest first, those that cannot send included (with
    /// their `problem`).
    pub(crate) fn list(&self) -> Vec<WebhookRecord> {
        let mut webhooks: Vec<_> = self
            .senders
            .lock()
            .values()
            .map(|s| s.webhook.clone())
            .collect();
        webhooks.sort_by(|a, b| (a.create_ms, &a.id).cmp(&(b.create_ms, &b.id)));
        webhooks
    }

    /// Deletes a webhook with its deliveries.
    pub(crate) async fn delete(&self, id: &str) -> Result<(), WebhookError> {
        self.writer
            .webhook(WebhookWrite::Delete { id: id.to_string() })
            .await?;
        if let Some(sender) = self.senders.lock().remove(id) {
            sender.wake.notify_one();
        }
        Ok(())
    }

    /// A page of a webhook's deliveries, newest first.
    pub(crate) async fn deliveries(
        &self,
        id: &str,
        after: Option<(i64, String)>,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, WebhookError> {
        self.find(id)?;
        let key = id.to_string();
        Ok(self
            .reader
            .off_runtime(move |r| r.deliveries(&key, after, limit))
            .await?)
    }

    /// Sends a `webhook.test` event once, now, and records it.
    pub(crate) async fn test(&self, id: &str) -> Result<DeliveryRecord, WebhookError> {
        let sender = self.find(id)?;
        let now = now_ms();
        let body = payload::envelope("webhook.test", now, serde_json::json!({"webhook_id": id}));
        let delivery = new_delivery(id, "webhook.test", id, body.to_string(), now);
        let mut attempted = self.attempt(&sender, delivery).await;
        // A test is tried once.
        if attempted.state == DeliveryState::Pending {
            attempted.state = DeliveryState::Failed;
        }
        self.writer
            .webhook(WebhookWrite::Attempted(vec![attempted.clone()]))
            .await?;
        Ok(attempted)
    }

    /// Why the policy refuses `url`'s host, when it is an address written
    /// out (a host name is checked at each delivery, once resolved).
    fn refused_literal(&self, url: &str) -> Option<String> {
        let url = reqwest::Url::parse(url).ok()?;
        // An IPv6 host is written in brackets; a name does not parse.
        let host = url
            .host_str()?
            .trim_start_matches('[')
            .trim_end_matches(']');
        let address: std::net::IpAddr = host.parse().ok()?;
        self.policy.check(address).err()
    }

    fn find(&self, id: &str) -> Result<Arc<Sender>, WebhookError> {
        self.senders
            .lock()
            .get(id)
            .cloned()
            .ok_or_else(|| WebhookError::NotFound(id.to_string()))
    }
}

/// A delivery of an event to a webhook, due at once, under a new message
/// id.
fn new_delivery(
    webhook: &str,
    kind: &str,
    subject: &str,
    payload: String,
    now: i64,
) -> DeliveryRecord {
    DeliveryRecord {
        id: format!("msg_{}", Uuid::now_v7().simple()),
        webhook: webhook.to_string(),
        kind: kind.to_string(),
        subject: subject.to_string(),
        payload,
        state: DeliveryState::Pending,
        attempts: 0,
        create_ms: now,
        next_ms: now,
        last_ms: None,
        last_status: None,
        last_error: String::new(),
    }
}
