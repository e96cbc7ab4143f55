//! Live fan-out of committed log events to subscribers.
//!
//! The writer publishes an event here only after it is committed, so a
//! subscriber that subscribes first and then reads the history can never
//! miss an event between the two. A subscriber that falls behind loses its
//! place in the broadcast buffer (never slowing the writer or the others)
//! and catches up from the history.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::events::LogEvent;

/// Batches buffered per execution for live subscribers. Events travel in
/// the batches the writer committed them in (up to a pump batch each), so a
/// flood costs one channel message per batch, not per line.
const LIVE_BUFFER: usize = 256;

/// Committed events of one execution, in sequence order.
pub type EventBatch = Arc<[Arc<LogEvent>]>;

/// Live channels of the executions that have not finished.
#[derive(Default)]
pub struct LogHub {
    channels: Mutex<HashMap<i64, broadcast::Sender<EventBatch>>>,
}

impl LogHub {
    /// Opens the live channel of an execution; done before its first event.
    pub fn open(&self, execution: i64) {
        self.lock()
            .entry(execution)
            .or_insert_with(|| broadcast::channel(LIVE_BUFFER).0);
    }

    /// A receiver of the execution's future committed events, or None when
    /// the execution has no live channel (finished: its history is complete).
    pub fn subscribe(&self, execution: i64) -> Option<broadcast::Receiver<EventBatch>> {
        self.lock().get(&execution).map(|tx| tx.subscribe())
    }

    /// Closes the live channel of an execution that will get no more events
    /// from this daemon (a queued execution left for the next start);
    /// subscribers then finish from the history.
    pub fn close(&self, execution: i64) {
        self.lock().remove(&execution);
    }

    /// Delivers committed events; the terminal event closes the channel.
    pub(super) fn publish(&self, execution: i64, events: Vec<Arc<LogEvent>>) {
        let mut channels = self.lock();
        if let Some(tx) = channels.get(&execution) {
            let terminal = events.last().is_some_and(|e| e.is_terminal());
            let _ = tx.send(events.into());
            if terminal {
                channels.remove(&execution);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, broadcast::Sender<EventBatch>>> {
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }
}
