//! Delivery: the fan-out turns each notification of the outbox into one
//! delivery per matching webhook; one sender per webhook POSTs its due
//! deliveries (a few at a time) and records each attempt. A slow or dead
//! endpoint holds up only its own sender: the fan-out and the other
//! senders never wait for it, and nothing here is on an execution's path.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use parking_lot::Mutex;
use tokio::sync::Notify;
use uuid::Uuid;

use super::recent_ends::RecentEnds;
use super::{destination, new_delivery, payload, signature, Webhooks};
use crate::clock::now_ms;
use crate::store::{DeliveryRecord, DeliveryState, WebhookRecord, WebhookWrite, HANDED_OVER_MS};

/// Notifications fanned out per history write.
const FAN_OUT_BATCH: usize = 256;
/// How often the fan-out looks at the outbox without being woken (events
/// other than an execution's end: a schedule missed, a file failed).
const FAN_OUT_POLL: Duration = Duration::from_millis(200);
/// The least time between two fan-outs. A lone event goes out at once;
/// under load the events of this long go out together, so each costs a
/// share of one read, one history write and one sender's pass instead of
/// a whole one. A webhook is asynchronous, so 100 ms later is little loss,
/// while the history writer it shares is on every execution's path
/// (bench/webhooks.rs: daemon CPU per event +0.20 ms with no gathering,
/// +0.10 ms at 25 ms, +0.08 ms at 100 ms).
const FAN_OUT_GATHER: Duration = Duration::from_millis(100);
/// Deliveries a sender reads at once, and sends at once.
const SEND_BATCH: usize = 64;
/// New deliveries a sender holds in memory at most; beyond, the fan-out
/// leaves them to be read from the history (a slow endpoint's backlog
/// stays on disk).
const HANDOFF_MAX: usize = 4 * FAN_OUT_BATCH;
const IN_FLIGHT: usize = 16;
/// The first wait after a failed attempt, and the longest.
const FIRST_BACKOFF_MS: i64 = 1_000;
const MAX_BACKOFF_MS: i64 = 3_600_000;

/// One webhook's sender.
pub(super) struct Sender {
    /// The webhook; one with a `problem` fails its deliveries unsent.
    pub(super) webhook: WebhookRecord,
    /// Its URL, parsed once (None: a problem says why).
    pub(super) url: Option<reqwest::Url>,
    /// Its key, decoded once (empty when it cannot be).
    pub(super) key: Vec<u8>,
    /// New deliveries the fan-out has recorded and hands over in memory,
    /// so the sender does not read back what was just written. In the
    /// history they wait with `next_ms` = [`HANDED_OVER_MS`], which no
    /// read of what is due returns: each delivery is either here or due
    /// in the history, never both.
    pub(super) handed_over: Mutex<Vec<DeliveryRecord>>,
    /// Deliveries are due in the history that the sender does not know
    /// of (the fan-out left them there: it held too many in memory).
    pub(super) due_in_history: AtomicBool,
    /// New deliveries are due.
    pub(super) wake: Notify,
}

impl Sender {
    /// A sender for `webhook` with its decoded key.
    pub(super) fn new(webhook: WebhookRecord, key: Vec<u8>) -> Sender {
        Sender {
            url: reqwest::Url::parse(&webhook.url).ok(),
            webhook,
            key,
            handed_over: Mutex::new(Vec::new()),
            due_in_history: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }
}

impl Webhooks {
    /// The fan-out loop: runs until the daemon stops.
    pub(super) async fn fan_out(self: Arc<Self>) {
        let mut ends = self.engine.subscribe_ends();
        let recent = Arc::new(Mutex::new(RecentEnds::default()));
        let mut last_pass = tokio::time::Instant::now() - FAN_OUT_GATHER;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(last_pass + FAN_OUT_GATHER) => {}
                _ = self.stop.cancelled() => return,
            }
            last_pass = tokio::time::Instant::now();
            recent.lock().take_in(&mut ends);
            match self.fan_out_once(&recent).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "webhook fan-out failed; trying again"),
            }
            // With no webhook the triggers write nothing: nothing to look
            // at until one is created (an idle daemon stays idle).
            if self.senders.lock().is_empty() {
                tokio::select! {
                    _ = self.fan_out_wake.notified() => {}
                    _ = self.stop.cancelled() => return,
                }
                ends = ends.resubscribe();
                continue;
            }
            tokio::select! {
                ended = ends.recv() => {
                    if let Ok(ended) = ended {
                        recent.lock().keep(ended);
                    }
                }
                _ = self.fan_out_wake.notified() => {}
                _ = tokio::time::sleep(FAN_OUT_POLL) => {}
                _ = self.stop.cancelled() => return,
            }
        }
    }

    /// Fans out one batch of notifications, the executions' payloads from
    /// `recent` where it has them; true when there may be more.
    async fn fan_out_once(
        &self,
        recent: &Arc<Mutex<RecentEnds>>,
    ) -> Result<bool, crate::store::StoreError> {
        let senders: Vec<Arc<Sender>> = self.senders.lock().values().cloned().collect();
        if senders.is_empty() {
            return Ok(false);
        }
        let recent = recent.clone();
        // Room for new deliveries in each sender's memory; only this task
        // adds to it, so it can only grow until the hand-over below.
        let room: Vec<usize> = senders
            .iter()
            .map(|s| HANDOFF_MAX.saturating_sub(s.handed_over.lock().len()))
            .collect();
        // The batch and every body it needs in one read.
        let (count, up_to, mut deliveries, woken) = self
            .reader
            .off_runtime(move |reader| {
                let batch = reader.notifications(FAN_OUT_BATCH)?;
                let mut deliveries = Vec::new();
                // Per delivery, its sender and whether it is handed over.
                let mut woken: Vec<(Arc<Sender>, bool)> = Vec::new();
                let mut room = room;
                let now = now_ms();
                for n in &batch {
                    let wanted: Vec<usize> = (0..senders.len())
                        .filter(|&i| wants(&senders[i].webhook, &n.kind, n.workflow_id.as_deref()))
                        .collect();
                    if wanted.is_empty() {
                        continue;
                    }
                    let body = payload::body(reader, &mut recent.lock(), n).to_string();
                    for i in wanted {
                        let mut delivery = new_delivery(
                            &senders[i].webhook.id,
                            &n.kind,
                            &n.subject,
                            body.clone(),
                            now,
                        );
                        let hand_over = room[i] > 0;
                        if hand_over {
                            room[i] -= 1;
                            delivery.next_ms = HANDED_OVER_MS;
                        }
                        deliveries.push(delivery);
                        woken.push((senders[i].clone(), hand_over));
                    }
                }
                Ok((batch.len(), batch.last().map(|n| n.seq), deliveries, woken))
            })
            .await?;
        let Some(up_to) = up_to else {
            return Ok(false);
        };
        self.writer
            .webhook(WebhookWrite::FanOut {
                deliveries: deliveries.clone(),
                up_to,
            })
            .await?;
        for (mut delivery, (sender, hand_over)) in deliveries.drain(..).zip(woken) {
            if hand_over {
                delivery.next_ms = delivery.create_ms;
                sender.handed_over.lock().push(delivery);
            } else {
                sender.due_in_history.store(true, Ordering::Release);
            }
            sender.wake.notify_one();
        }
        Ok(count == FAN_OUT_BATCH)
    }

    /// A webhook's sender: sends what the fan-out hands over and what is
    /// due in the history, sleeps until the next is.
    pub(super) async fn send_loop(self: Arc<Self>, sender: Arc<Sender>) {
        let id = sender.webhook.id.clone();
        // When the history next has something due for this sender (what
        // the last run left, retries): at once, to begin with.
        let mut history_due_at = Some(0);
        loop {
            if !self.senders.lock().contains_key(&id) {
                return;
            }
            let mut due = std::mem::take(&mut *sender.handed_over.lock());
            if sender.due_in_history.swap(false, Ordering::AcqRel) {
                history_due_at = Some(0);
            }
            if due.is_empty() && history_due_at.is_some_and(|at| at <= now_ms()) {
                let reader = self.reader.clone();
                let key = id.clone();
                let read = tokio::task::spawn_blocking(move || {
                    let due = reader.deliveries_due(&key, now_ms(), SEND_BATCH)?;
                    let next = if due.is_empty() {
                        reader.next_delivery_due(&key)?
                    } else {
                        None
                    };
                    Ok::<_, crate::store::StoreError>((due, next))
                })
                .await;
                (due, history_due_at) = match read {
                    // Nothing due: sleep until the first that will be.
                    Ok(Ok((due, next))) if due.is_empty() => (due, next),
                    // Something: sent now, then a look for more.
                    Ok(Ok((due, _))) => (due, Some(0)),
                    _ => (Vec::new(), Some(now_ms() + FIRST_BACKOFF_MS)),
                };
            }
            if due.is_empty() {
                let wait = history_due_at.map_or(Duration::from_secs(3600), |next| {
                    Duration::from_millis((next - now_ms()).max(0) as u64)
                });
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = sender.wake.notified() => {}
                    _ = self.stop.cancelled() => return,
                }
                continue;
            }
            // Up to IN_FLIGHT at once, polled by this task (no task per
            // request). The batch's attempts are recorded in one write: the
            // history's writer is shared with the executions.
            let mut attempted = Vec::with_capacity(due.len());
            let mut waiting = due.into_iter();
            let mut in_flight = FuturesUnordered::new();
            let sent = async {
                loop {
                    while in_flight.len() < IN_FLIGHT {
                        let Some(delivery) = waiting.next() else {
                            break;
                        };
                        in_flight.push(self.attempt(&sender, delivery));
                    }
                    match in_flight.next().await {
                        Some(done) => attempted.push(done),
                        None => break,
                    }
                }
            };
            tokio::select! {
                _ = sent => {}
                _ = self.stop.cancelled() => return,
            }
            for d in &attempted {
                if d.state == DeliveryState::Pending {
                    history_due_at = Some(history_due_at.map_or(d.next_ms, |at| at.min(d.next_ms)));
                }
            }
            if let Err(e) = self
                .writer
                .webhook(WebhookWrite::Attempted(attempted))
                .await
            {
                tracing::warn!(error = %e, "cannot record webhook attempts");
            }
        }
    }

    /// POSTs `delivery` once and returns it with the attempt's outcome:
    /// delivered, due again after a backoff, or given up.
    pub(super) async fn attempt(
        &self,
        sender: &Sender,
        mut delivery: DeliveryRecord,
    ) -> DeliveryRecord {
        let now = now_ms();
        if let Some(problem) = &sender.webhook.problem {
            // Nothing to sign with (or no filters to trust): not sent, and
            // not tried again, since nothing short of a new webhook helps.
            delivery.state = DeliveryState::Failed;
            delivery.last_error = format!("not sent: {problem}");
            return delivery;
        }
        let timestamp = now / 1000;
        let signature = signature::sign(
            &sender.key,
            &delivery.id,
            timestamp,
            delivery.payload.as_bytes(),
        );
        let Some(url) = &sender.url else {
            delivery.state = DeliveryState::Failed;
            delivery.last_error = "not sent: its URL cannot be parsed".to_string();
            return delivery;
        };
        let answer = self
            .client
            .post(url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.payload.clone())
            .send()
            .await;
        delivery.attempts += 1;
        delivery.last_ms = Some(now);
        match answer {
            Ok(response) if response.status().is_success() => {
                delivery.state = DeliveryState::Delivered;
                delivery.last_status = Some(response.status().as_u16());
                delivery.last_error.clear();
                return delivery;
            }
            Ok(response) => {
                let status = response.status();
                delivery.last_status = Some(status.as_u16());
                delivery.last_error = format!("the endpoint answered {status}");
            }
            Err(e) => {
                delivery.last_status = None;
                if let Some(refused) = destination::refusal(&e) {
                    // Where the host points is the operator's policy to
                    // change, not something a retry waits out.
                    delivery.state = DeliveryState::Failed;
                    delivery.last_error =
                        format!("not sent, refused by the destination policy: {refused}");
                    return delivery;
                }
                delivery.last_error = describe(&e);
            }
        }
        let next = now + backoff(delivery.attempts);
        if next - delivery.create_ms > self.give_up_after.as_millis() as i64 {
            delivery.state = DeliveryState::Failed;
            delivery.last_error = format!(
                "{}; given up after {} attempts",
                delivery.last_error, delivery.attempts
            );
        } else {
            delivery.next_ms = next;
        }
        delivery
    }
}

/// Whether `webhook` wants an event of `kind` about `workflow_id`.
fn wants(webhook: &WebhookRecord, kind: &str, workflow_id: Option<&str>) -> bool {
    let kind_ok = webhook.events.is_empty() || webhook.events.iter().any(|e| e == kind);
    let workflow_ok = match workflow_id {
        Some(workflow) if !webhook.workflow_ids.is_empty() => {
            webhook.workflow_ids.iter().any(|w| w == workflow)
        }
        _ => true,
    };
    kind_ok && workflow_ok
}

/// The wait after the `attempts`th failed attempt: doubling from a second
/// up to an hour, with up to a fifth of it added at random so the
/// retries of many deliveries spread out.
fn backoff(attempts: u32) -> i64 {
    let base = FIRST_BACKOFF_MS
        .saturating_mul(1i64 << attempts.saturating_sub(1).min(30))
        .min(MAX_BACKOFF_MS);
    let jitter = (Uuid::new_v4().as_u128() % (base as u128 / 5 + 1)) as i64;
    base + jitter
}

/// An error of an attempt in a few words (reqwest's own chain is long).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "the endpoint did not answer in time".to_string()
    } else if error.is_connect() {
        format!("cannot connect: {error}")
    } else {
        error.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_a_bounded_jitter() {
        for (attempts, base) in [(1, 1_000), (2, 2_000), (3, 4_000), (40, 3_600_000)] {
            let wait = backoff(attempts);
            assert!(
                (base..=base + base / 5).contains(&wait),
                "{attempts}: {wait}"
            );
        }
    }

    #[test]
    fn filters_by_event_and_by_workflow_where_there_is_one() {
        let webhook = WebhookRecord {
            id: "w".into(),
            url: "http://x".into(),
            secret: String::new(),
            events: vec!["execution.failed".into(), "schedule.missed".into()],
            workflow_ids: vec!["nightly".into()],
            description: String::new(),
            create_ms: 0,
            problem: None,
        };
        assert!(wants(&webhook, "execution.failed", Some("nightly")));
        assert!(!wants(&webhook, "execution.failed", Some("other")));
        assert!(!wants(&webhook, "execution.succeeded", Some("nightly")));
        assert!(wants(&webhook, "schedule.missed", None));
    }
}
