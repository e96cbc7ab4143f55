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

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tonic::Status;

use super::convert;
use crate::engine::Engine;
use crate::events::LogEvent;
use crate::pb;

/// Events read from the history per query.
const HISTORY_PAGE: usize = 2000;
/// Messages buffered towards the gRPC stream.
const OUTBOUND_BUFFER: usize = 256;

/// Starts streaming the log of execution `rowid` into the returned channel.
pub(crate) fn stream(
    engine: Arc<Engine>,
    rowid: i64,
    from_sequence: u64,
    follow: bool,
) -> mpsc::Receiver<Result<pb::StreamLogsResponse, Status>> {
    let (tx, rx) = mpsc::channel(OUTBOUND_BUFFER);
    tokio::spawn(async move {
        if let Err(status) = pump(&engine, rowid, from_sequence.max(1), follow, &tx).await {
            let _ = tx.send(Err(status)).await;
        }
    });
    rx
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
    rowid: i64,
    mut next: u64,
    follow: bool,
    tx: &mpsc::Sender<Result<pb::StreamLogsResponse, Status>>,
) -> Result<(), Status> {
    let mut live = None;
    // Whether `next` is the first event not yet committed, so the history
    // has nothing more to give.
    let mut caught_up = false;
    if follow {
        if let Some(subscription) = engine.hub().subscribe_from(rowid, next) {
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
                let reader = engine.reader().clone();
                let page =
                    tokio::task::spawn_blocking(move || reader.events(rowid, next, HISTORY_PAGE))
                        .await
                        .map_err(|e| Status::internal(e.to_string()))?
                        .map_err(|e| Status::internal(e.to_string()))?;
                let full = page.len() == HISTORY_PAGE;
                if send_all(tx, page.iter(), &mut next).await {
                    return Ok(());
                }
                if !full {
                    break;
                }
            }
        }
        caught_up = false;
        // Then follow live until the end, or until we fall behind.
        let Some(receiver) = live.as_mut() else {
            return Ok(());
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
