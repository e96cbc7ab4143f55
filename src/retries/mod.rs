//! Retries (docs/retries.md): an execution with a retry policy that fails,
//! times out or is interrupted by a crash is tried again as a new
//! execution, linked to it, after the policy's wait.
//!
//! Which ended attempts still wait for a retry is in the history itself
//! (an attempt with a policy, no next attempt and not settled; schema
//! version 7), so nothing is kept here that a crash could lose: at start
//! the waiting ones are read back, and while running each end the engine
//! announces is looked at. The next attempt's creation links it to the
//! previous one in the same transaction, and its request id names the
//! first attempt and the number, so no attempt is started twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::clock::now_ms;
use crate::engine::{Engine, EngineError};
use crate::store::{ExecutionRecord, StoreReader, StoreWriter};

/// How long a retry that found the queue full waits before trying again.
const QUEUE_FULL_WAIT: Duration = Duration::from_secs(1);

/// A retry waiting to start.
enum Waiting {
    /// Sleeping until its time; Cancel may still call it off.
    Sleeping(tokio::task::AbortHandle),
    /// Being started: too late to call off.
    Starting,
    /// Called off by a Cancel that came before the end was looked at
    /// (right after it): the look removes it and starts nothing.
    CalledOff,
}

/// The daemon's retries.
pub(crate) struct Retries {
    engine: Arc<Engine>,
    writer: StoreWriter,
    reader: Arc<StoreReader>,
    /// Retries waiting, by the id of the attempt they follow.
    waiting: Mutex<HashMap<Uuid, Waiting>>,
    stop: CancellationToken,
}

impl Retries {
    /// The retries of `engine`'s executions. Nothing runs until
    /// [`Retries::start`].
    pub(crate) fn new(
        engine: Arc<Engine>,
        writer: StoreWriter,
        reader: Arc<StoreReader>,
    ) -> Arc<Self> {
        Arc::new(Retries {
            engine,
            writer,
            reader,
            waiting: Mutex::new(HashMap::new()),
            stop: CancellationToken::new(),
        })
    }

    /// Takes up the retries waiting in the history (those of executions a
    /// crash interrupted among them), then follows the engine's ends. Call
    /// after the engine's recovery.
    pub(crate) async fn start(self: &Arc<Self>) -> Result<(), EngineError> {
        // Subscribed before the history is read: an end between the two is
        // seen twice at worst, and looking at one twice is harmless.
        let ends = self.engine.subscribe_ends();
        self.take_up_waiting().await?;
        tokio::spawn(self.clone().follow(ends));
        Ok(())
    }

    /// Stops starting retries (the daemon is shutting down); the waiting
    /// ones are taken up again at the next start.
    pub(crate) fn stop(&self) {
        self.stop.cancel();
    }

    async fn take_up_waiting(self: &Arc<Self>) -> Result<(), EngineError> {
        let reader = self.reader.clone();
        let ids = tokio::task::spawn_blocking(move || reader.retries_waiting()).await??;
        for id in ids {
            self.look_at(id).await;
        }
        Ok(())
    }

    async fn follow(
        self: Arc<Self>,
        mut ends: tokio::sync::broadcast::Receiver<crate::engine::EndedExecution>,
    ) {
        loop {
            let ended = tokio::select! {
                ended = ends.recv() => ended,
                _ = self.stop.cancelled() => return,
            };
            match ended {
                Ok(ended) if ended.retries => self.look_at(ended.id).await,
                Ok(_) => {}
                // Fell behind: the history has every end it missed.
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "retries fell behind the ends; reading the history");
                    if let Err(e) = self.take_up_waiting().await {
                        tracing::error!(error = %e, "cannot read the retries waiting");
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// Decides what follows the ended attempt `id`: a retry after its wait,
    /// or nothing (then it is settled in the history).
    async fn look_at(self: &Arc<Self>, id: Uuid) {
        if self.already_decided(id) {
            return;
        }
        let record = match self.engine.execution(&id.to_string()).await {
            Ok(record) => record,
            Err(e) => {
                tracing::warn!(execution = %id, error = %e, "cannot read an ended attempt");
                return;
            }
        };
        let Some(retry) = &record.retry else { return };
        let Some(end_ms) = record.end_ms else { return };
        if retry.next_attempt.is_some() || retry.settled {
            return;
        }
        if !retry
            .policy
            .retries(retry.attempt, record.state, record.exit_code)
        {
            self.settle(&record).await;
            return;
        }
        let due_ms = end_ms + retry.policy.delay_after(retry.attempt).as_millis() as i64;
        let mut waiting = self.waiting.lock();
        if Self::decided(&mut waiting, id) {
            return;
        }
        let task = tokio::spawn(self.clone().start_when_due(record, due_ms));
        waiting.insert(id, Waiting::Sleeping(task.abort_handle()));
    }

    /// Whether what follows attempt `id` is decided already: a retry waits
    /// or starts, or a Cancel called it off (then the mark is done with).
    fn already_decided(&self, id: Uuid) -> bool {
        Self::decided(&mut self.waiting.lock(), id)
    }

    fn decided(waiting: &mut HashMap<Uuid, Waiting>, id: Uuid) -> bool {
        match waiting.get(&id) {
            Some(Waiting::CalledOff) => {
                waiting.remove(&id);
                true
            }
            Some(_) => true,
            None => false,
        }
    }

    async fn start_when_due(self: Arc<Self>, previous: ExecutionRecord, due_ms: i64) {
        let wait = Duration::from_millis((due_ms - now_ms()).max(0) as u64);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = self.stop.cancelled() => return,
        }
        loop {
            // While a start is under way Cancel no longer calls the retry
            // off; between tries (a full queue) it still does.
            let handle = match self.waiting.lock().get_mut(&previous.id) {
                Some(state) => match std::mem::replace(state, Waiting::Starting) {
                    Waiting::Sleeping(handle) => handle,
                    Waiting::Starting | Waiting::CalledOff => return,
                },
                None => return,
            };
            let started = self.engine.retry(&previous).await;
            if let Err(
                EngineError::QueueFull { .. }
                | EngineError::NamespaceQueueFull { .. }
                | EngineError::HistoryUnwritable(_),
            ) = &started
            {
                if let Some(state) = self.waiting.lock().get_mut(&previous.id) {
                    *state = Waiting::Sleeping(handle);
                }
            }
            match started {
                Ok((next, _)) => {
                    tracing::info!(
                        previous = %previous.id,
                        next = %next.id,
                        attempt = next.retry.as_ref().map_or(0, |r| r.attempt),
                        "started the next attempt"
                    );
                    break;
                }
                Err(
                    EngineError::QueueFull { .. }
                    | EngineError::NamespaceQueueFull { .. }
                    | EngineError::HistoryUnwritable(_),
                ) => {
                    tokio::select! {
                        _ = tokio::time::sleep(QUEUE_FULL_WAIT) => {}
                        _ = self.stop.cancelled() => return,
                    }
                }
                // Taken up again at the next start.
                Err(EngineError::ShuttingDown) => return,
                // Not worth waiting for (the execution is gone): no attempt
                // follows, and the history says so.
                Err(e) => {
                    tracing::error!(execution = %previous.id, error = %e, "cannot start the next attempt; no attempt follows");
                    self.settle(&previous).await;
                    break;
                }
            }
        }
        self.waiting.lock().remove(&previous.id);
    }

    /// Calls off the retry waiting after the attempt `id`, if one is and
    /// it has not begun to start; returns the attempt then.
    pub(crate) async fn call_off(&self, id: &str) -> Result<Option<ExecutionRecord>, EngineError> {
        let Ok(uuid) = Uuid::parse_str(id) else {
            return Ok(None);
        };
        let record = self.engine.execution(id).await?;
        {
            let mut waiting = self.waiting.lock();
            match waiting.get(&uuid) {
                Some(Waiting::Sleeping(task)) => {
                    task.abort();
                    // Kept (as starting: nothing calls it off twice) until
                    // settled: a look at the attempt meanwhile (after a
                    // lag) must not take its retry up again.
                    waiting.insert(uuid, Waiting::Starting);
                }
                // Its end not looked at yet (the Cancel came right after
                // it): called off before it is, if a retry would follow.
                None if would_retry(&record) => {
                    waiting.insert(uuid, Waiting::CalledOff);
                }
                _ => return Ok(None),
            }
        }
        self.settle(&record).await;
        {
            // A called-off mark stays for the look at the end to remove.
            let mut waiting = self.waiting.lock();
            if let Some(Waiting::Starting) = waiting.get(&uuid) {
                waiting.remove(&uuid);
            }
        }
        Ok(Some(self.engine.execution(id).await?))
    }

    async fn settle(&self, record: &ExecutionRecord) {
        if let Err(e) = self.writer.settle_retries(record.rowid).await {
            tracing::warn!(execution = %record.id, error = %e, "cannot record that no attempt follows");
        }
    }
}

/// Whether a retry follows the ended attempt `record` unless called off.
fn would_retry(record: &ExecutionRecord) -> bool {
    record.end_ms.is_some()
        && record.retry.as_ref().is_some_and(|retry| {
            retry.next_attempt.is_none()
                && !retry.settled
                && retry
                    .policy
                    .retries(retry.attempt, record.state, record.exit_code)
        })
}
