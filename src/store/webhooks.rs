//! The webhooks, the outbox of events (`notifications`, written by
//! triggers, schema version 8) and the deliveries with their attempts.

use super::db::{args, Db, Row};

use super::{StoreError, StoreReader};

/// The `next_ms` of a pending delivery that the fan-out handed to its
/// sender in memory: no read of what is due returns it, so it is sent
/// once. At start, what the last run handed over and never attempted is
/// made due again ([`WebhookWrite::Reclaim`]).
pub(crate) const HANDED_OVER_MS: i64 = i64::MAX;

/// A webhook as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WebhookRecord {
    /// Its id.
    pub(crate) id: String,
    /// Where events go.
    pub(crate) url: String,
    /// The signing secret (`whsec_...`).
    pub(crate) secret: String,
    /// Event types wanted (`execution.failed`, ...); empty: all.
    pub(crate) events: Vec<String>,
    /// Workflows wanted; empty: all.
    pub(crate) workflow_ids: Vec<String>,
    /// Free text.
    pub(crate) description: String,
    /// Creation time.
    pub(crate) create_ms: i64,
    /// Why it cannot send (its stored secret or filters cannot be read);
    /// None for a sound one. Found when it is read, never written.
    pub(crate) problem: Option<String>,
}

/// An event waiting to be turned into deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notification {
    /// Its place in the outbox.
    pub(crate) seq: i64,
    /// Event type.
    pub(crate) kind: String,
    /// What it is about.
    pub(crate) subject: String,
    /// The workflow, for execution and batch events.
    pub(crate) workflow_id: Option<String>,
    /// When it happened.
    pub(crate) time_ms: i64,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeliveryState {
    /// Still being tried.
    Pending,
    /// Answered 2xx.
    Delivered,
    /// Given up.
    Failed,
}

impl DeliveryState {
    /// The name stored.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "PENDING",
            DeliveryState::Delivered => "DELIVERED",
            DeliveryState::Failed => "FAILED",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// One event for one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeliveryRecord {
    /// The message id (`webhook-id`).
    pub(crate) id: String,
    /// The webhook.
    pub(crate) webhook: String,
    /// Event type.
    pub(crate) kind: String,
    /// What it is about.
    pub(crate) subject: String,
    /// The JSON body.
    pub(crate) payload: String,
    /// Where it is.
    pub(crate) state: DeliveryState,
    /// Attempts made.
    pub(crate) attempts: u32,
    /// When it was queued.
    pub(crate) create_ms: i64,
    /// When the next attempt is due.
    pub(crate) next_ms: i64,
    /// The last attempt.
    pub(crate) last_ms: Option<i64>,
    /// Its HTTP status.
    pub(crate) last_status: Option<u16>,
    /// Its error.
    pub(crate) last_error: String,
}

/// A change to the webhooks, applied by the history writer.
#[derive(Debug, Clone)]
pub(crate) enum WebhookWrite {
    /// A new webhook.
    Create(Box<WebhookRecord>),
    /// A webhook deleted with its deliveries; [`StoreError::WebhookNotFound`]
    /// when there is none.
    Delete {
        /// The webhook.
        id: String,
    },
    /// Notifications up to `up_to` turned into these deliveries.
    FanOut {
        /// The deliveries made.
        deliveries: Vec<DeliveryRecord>,
        /// The last notification handled.
        up_to: i64,
    },
    /// The outcomes of attempts (or a new delivery, for a test).
    Attempted(Vec<DeliveryRecord>),
    /// At start: deliveries handed over in memory by the last run and
    /// never attempted are due again.
    Reclaim,
}

/// Applies one change inside the writer's transaction.
pub(super) fn apply(db: Db<'_>, write: &WebhookWrite) -> Result<(), StoreError> {
    match write {
        WebhookWrite::Create(w) => {
            db.execute(
                "INSERT INTO webhooks (id, url, secret, events, workflow_ids, description, create_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                args![
                    w.id,
                    w.url,
                    w.secret,
                    serde_json::to_string(&w.events).expect("names serialize"),
                    serde_json::to_string(&w.workflow_ids).expect("ids serialize"),
                    w.description,
                    w.create_ms
                ],
            )?;
        }
        WebhookWrite::Delete { id } => {
            db.execute(
                "DELETE FROM webhook_deliveries WHERE webhook = ?1",
                args![id],
            )?;
            if db.execute("DELETE FROM webhooks WHERE id = ?1", args![id])? == 0 {
                return Err(StoreError::WebhookNotFound(id.clone()));
            }
            // The last one gone: the events already queued have no one to
            // go to.
            db.execute(
                "DELETE FROM notifications WHERE NOT EXISTS (SELECT 1 FROM webhooks)",
                args![],
            )?;
        }
        WebhookWrite::FanOut { deliveries, up_to } => {
            for d in deliveries {
                insert_delivery(db, d)?;
            }
            db.execute("DELETE FROM notifications WHERE seq <= ?1", args![up_to])?;
        }
        WebhookWrite::Reclaim => {
            db.execute(
                "UPDATE webhook_deliveries SET next_ms = create_ms \
                 WHERE state = 'PENDING' AND next_ms = ?1",
                args![HANDED_OVER_MS],
            )?;
        }
        WebhookWrite::Attempted(attempted) => {
            for d in attempted {
                // Almost always a delivery already recorded: an update by
                // its key, without binding its body again.
                let updated = db.execute(
                    "UPDATE webhook_deliveries SET state = ?2, attempts = ?3, next_ms = ?4, \
                     last_ms = ?5, last_status = ?6, last_error = ?7 WHERE id = ?1",
                    args![
                        d.id,
                        d.state.as_str(),
                        d.attempts,
                        d.next_ms,
                        d.last_ms,
                        d.last_status,
                        d.last_error
                    ],
                )?;
                if updated > 0 {
                    continue;
                }
                // A test's delivery, new.
                insert_delivery(db, d)?;
            }
        }
    }
    Ok(())
}

const WEBHOOK_COLUMNS: &str = "id, url, secret, events, workflow_ids, description, create_ms";

/// Stores a new delivery, unless its webhook was deleted since it was
/// made (by a fan-out or a test). The values are cast: in a SELECT list
/// PostgreSQL would otherwise take them for text.
fn insert_delivery(db: Db<'_>, d: &DeliveryRecord) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO webhook_deliveries (id, webhook, kind, subject, payload, state, \
         attempts, create_ms, next_ms, last_ms, last_status, last_error) \
         SELECT CAST(?1 AS TEXT), CAST(?2 AS TEXT), CAST(?3 AS TEXT), CAST(?4 AS TEXT), \
         CAST(?5 AS TEXT), CAST(?6 AS TEXT), CAST(?7 AS BIGINT), CAST(?8 AS BIGINT), \
         CAST(?9 AS BIGINT), CAST(?10 AS BIGINT), CAST(?11 AS BIGINT), CAST(?12 AS TEXT) \
         WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?2)",
        args![
            d.id,
            d.webhook,
            d.kind,
            d.subject,
            d.payload,
            d.state.as_str(),
            d.attempts,
            d.create_ms,
            d.next_ms,
            d.last_ms,
            d.last_status,
            d.last_error
        ],
    )?;
    Ok(())
}

fn read_webhook(row: &Row<'_>) -> Result<WebhookRecord, StoreError> {
    let events: String = row.get(3)?;
    let workflow_ids: String = row.get(4)?;
    // A row whose filters cannot be read is still a webhook: it is listed
    // (and can be deleted) with the reason, and sends nothing.
    let (events, workflow_ids, problem) = match (
        serde_json::from_str(&events),
        serde_json::from_str(&workflow_ids),
    ) {
        (Ok(events), Ok(workflow_ids)) => (events, workflow_ids, None),
        _ => (
            Vec::new(),
            Vec::new(),
            Some(
                "the stored events or workflow ids cannot be read; delete the webhook and add \
                 it again"
                    .to_string(),
            ),
        ),
    };
    Ok(WebhookRecord {
        id: row.get(0)?,
        url: row.get(1)?,
        secret: row.get(2)?,
        events,
        workflow_ids,
        description: row.get(5)?,
        create_ms: row.get(6)?,
        problem,
    })
}

const DELIVERY_COLUMNS: &str = "id, webhook, kind, subject, payload, state, attempts, create_ms, \
     next_ms, last_ms, last_status, last_error";

fn read_delivery(row: &Row<'_>) -> Result<DeliveryRecord, StoreError> {
    let id: String = row.get(0)?;
    let state: String = row.get(5)?;
    let Some(state) = DeliveryState::parse(&state) else {
        return Err(StoreError::Corrupt(format!("delivery {id}: state")));
    };
    Ok(DeliveryRecord {
        webhook: row.get(1)?,
        kind: row.get(2)?,
        subject: row.get(3)?,
        payload: row.get(4)?,
        state,
        attempts: row.get(6)?,
        create_ms: row.get(7)?,
        next_ms: row.get(8)?,
        last_ms: row.get(9)?,
        last_status: row.get(10)?,
        last_error: row.get(11)?,
        id,
    })
}

impl StoreReader {
    /// Every webhook, oldest first.
    pub(crate) fn webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError> {
        self.with_db(|db| {
            let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY create_ms, id");
            db.query(&sql, args![], read_webhook)
        })
    }

    /// The oldest `limit` notifications.
    pub(crate) fn notifications(&self, limit: usize) -> Result<Vec<Notification>, StoreError> {
        self.with_db(|db| {
            db.query(
                "SELECT seq, kind, subject, workflow_id, time_ms FROM notifications ORDER BY seq LIMIT ?1",
                args![limit],
                |row| {
                    Ok(Notification {
                        seq: row.get(0)?,
                        kind: row.get(1)?,
                        subject: row.get(2)?,
                        workflow_id: row.get(3)?,
                        time_ms: row.get(4)?,
                    })
                },
            )
        })
    }

    /// A webhook's pending deliveries due by `now_ms`, oldest due first.
    pub(crate) fn deliveries_due(
        &self,
        webhook: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        self.with_db(|db| {
            let sql = format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
                 WHERE webhook = ?1 AND state = 'PENDING' AND next_ms <= ?2 ORDER BY next_ms LIMIT ?3"
            );
            db.query(&sql, args![webhook, now_ms, limit], read_delivery)
        })
    }

    /// When a webhook's next pending delivery is due in the history, if it
    /// has one (not counting those handed over in memory).
    pub(crate) fn next_delivery_due(&self, webhook: &str) -> Result<Option<i64>, StoreError> {
        self.with_db(|db| {
            db.query_one(
                "SELECT MIN(next_ms) FROM webhook_deliveries \
                 WHERE webhook = ?1 AND state = 'PENDING' AND next_ms < ?2",
                args![webhook, HANDED_OVER_MS],
                |row| row.get::<Option<i64>>(0),
            )
        })
    }

    /// A page of a webhook's deliveries, newest first, after the
    /// (create_ms, id) of the last one of the previous page.
    pub(crate) fn deliveries(
        &self,
        webhook: &str,
        after: Option<(i64, String)>,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let (after_ms, after_id) = after.unwrap_or((i64::MAX, String::new()));
        self.with_db(|db| {
            let sql = format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook = ?1 \
                 AND (create_ms < ?2 OR (create_ms = ?2 AND id < ?3)) \
                 ORDER BY create_ms DESC, id DESC LIMIT ?4"
            );
            db.query(
                &sql,
                args![webhook, after_ms, after_id, limit],
                read_delivery,
            )
        })
    }
}
