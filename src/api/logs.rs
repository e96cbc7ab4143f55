//! StreamLogs: history first, then live, without gap or duplicate.
//!
//! The subscriber subscribes to the live channel *before* reading the
//! history. Events reach the live channel only after they are committed, so
//! everything is either already in the history or still to come on the
//! channel; sequence numbers drop the overlap. When the hub still holds
//! every committed event from the requested sequence on (a young
//! execution), the replay comes from memory and the history is not read.
//! When the subscriber falls behind (the channel overflowed) it goes back
//! to the history.
//!
//! Sequence numbers have no gaps, so a history page that does not start
//! where the stream is, or a log that ends without `finished` after the
//! execution left the history, means history retention deleted it mid-way:
//! the stream ends with NOT_FOUND rather than skip what was deleted.

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tonic::Status;
use uuid::Uuid;

use super::convert;
use crate::engine::{Engine, EngineError};
use crate::events::LogEvent;
use crate::pb;
use crate::store::log_pages::LogPage;

/// Messages buffered towards the gRPC stream.
const OUTBOUND_BUFFER: usize = 256;

/// Starts streaming the log of execution `id` (history key `rowid`) into
/// the returned channel.
pub(crate) fn stream(
    engine: Arc<Engine>,
    id: String,
    uuid: Uuid,
    rowid: i64,
    from_sequence: u64,
    follow: bool,
) -> mpsc::Receiver<Result<pb::StreamLogsResponse, Status>> {
    let (tx, rx) = mpsc::channel(OUTBOUND_BUFFER);
    tokio::spawn(async move {
        let log = Log { id, uuid, rowid };
        if let Err(error) = pump(&engine, &log, from_sequence.max(1), follow, &tx).await {
            let _ = tx.send(Err(error.into())).await;
        }
    });
    rx
}

/// The execution whose log is streamed.
struct Log {
    id: String,
    uuid: Uuid,
    rowid: i64,
}

impl Log {
    /// Reads the rest of the history's page of events that holds sequence
    /// `next` (shared with other readers of the log at the same place);
    /// fails when it skips ahead of `next` (the front of the log was
    /// deleted).
    async fn page(&self, engine: &Engine, next: u64) -> Result<LogPage, EngineError> {
        let reader = engine.reader().clone();
        let (uuid, rowid) = (self.uuid, self.rowid);
        let page =
            tokio::task::spawn_blocking(move || reader.log_page(uuid, rowid, next)).await??;
        match page.events().first() {
            Some(first) if first.sequence != next => Err(EngineError::LogDeleted(self.id.clone())),
            _ => Ok(page),
        }
    }

    /// Called when the log ran out before its `finished` event: fine while
    /// the execution is in the history (it has not ended, or the daemon is
    /// stopping), an error once retention has deleted it.
    async fn ended_early(&self, engine: &Engine) -> Result<(), EngineError> {
        let reader = engine.reader().clone();
        let rowid = self.rowid;
        if tokio::task::spawn_blocking(move || reader.has_execution(rowid)).await?? {
            Ok(())
        } else {
            Err(EngineError::LogDeleted(self.id.clone()))
        }
    }
}

/// Sends one event; Err means the client went away.
async fn send(
    tx: &mpsc::Sender<Result<pb::StreamLogsResponse, Status>>,
    event: &LogEvent,
) -> Result<(), ()> {
    tx.send(Ok(pb::StreamLogsResponse {
        event: Some(convert::log_event(event)),
    }))
    .await
    .map_err(|_| ())
}

/// Sends events in order, moving `next` past each; true when the stream
/// is over (the client went away, or the terminal event was sent).
async fn send_all<'a>(
    tx: &mpsc::Sender<Result<pb::StreamLogsResponse, Status>>,
    events: impl Iterator<Item = &'a LogEvent>,
    next: &mut u64,
) -> bool {
    for event in events {
        if send(tx, event).await.is_err() {
            return true;
        }
        *next = event.sequence + 1;
        if event.is_terminal() {
            return true;
        }
    }
    false
}

async fn pump(
    engine: &Arc<Engine>,
    log: &Log,
    mut next: u64,
    follow: bool,
    tx: &mpsc::Sender<Result<pb::StreamLogsResponse, Status>>,
) -> Result<(), EngineError> {
    let mut live = None;
    // Whether `next` is the first event not yet committed, so the history
    // has nothing more to give.
    let mut caught_up = false;
    if follow {
        if let Some(subscription) = engine.hub().subscribe_from(log.rowid, next) {
            if let Some(recent) = subscription.recent {
                if send_all(tx, recent.iter().map(|e| e.as_ref()), &mut next).await {
                    return Ok(());
                }
                caught_up = true;
            }
            live = Some(subscription.live);
        }
    }
    loop {
        if !caught_up {
            // Catch up from the history.
            loop {
                let page = log.page(engine, next).await?;
                if send_all(tx, page.events().iter(), &mut next).await {
                    return Ok(());
                }
                if !page.complete {
                    break;
                }
            }
        }
        caught_up = false;
        // Then follow live until the end, or until we fall behind.
        let Some(receiver) = live.as_mut() else {
            return log.ended_early(engine).await;
        };
        'live: loop {
            match receiver.recv().await {
                Ok(batch) => {
                    for event in batch.iter() {
                        if event.sequence < next {
                            continue;
                        }
                        if event.sequence > next {
                            // Ahead of us: we missed something; read it from the history.
                            break 'live;
                        }
                        if send(tx, event).await.is_err() {
                            return Ok(());
                        }
                        next += 1;
                        if event.is_terminal() {
                            return Ok(());
                        }
                    }
                }
                Err(RecvError::Lagged(_)) => break,
                Err(RecvError::Closed) => {
                    // No more live events: whatever is left is in the history.
                    live = None;
                    break;
                }
            }
        }
    }
}
