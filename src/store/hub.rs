//! Live fan-out of committed log events to subscribers.
//!
//! The writer publishes an event here only after it is committed, so a
//! subscriber that subscribes first and then reads the history can never
//! miss an event between the two. A subscriber that falls behind loses its
//! place in the broadcast buffer (never slowing the writer or the others)
//! and catches up from the history.
//!
//! Each channel also keeps the most recent committed events of its
//! execution. Most subscribers arrive while an execution is young (a client
//! runs something and follows it), and serving their replay from memory
//! spares a history query per subscriber; only one that asks for older
//! events than are held reads the history.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::broadcast;

use crate::events::LogEvent;

/// Batches buffered per execution for live subscribers. Events travel in
/// the batches the writer committed them in (up to a pump batch each), so a
/// flood costs one channel message per batch, not per line.
const LIVE_BUFFER: usize = 256;

/// Recent events held per execution for replay; whole batches are dropped
/// from the front once more than this are held.
const RECENT_EVENTS: usize = 512;

/// Committed events of one execution, in sequence order.
pub(crate) type EventBatch = Arc<[Arc<LogEvent>]>;

/// What a new subscriber gets.
pub(crate) struct Subscription {
    /// The committed events from the requested sequence on, when they are
    /// all held in memory; None when older ones must be read from the
    /// history first.
    pub(crate) recent: Option<Vec<Arc<LogEvent>>>,
    /// Every batch committed after `recent`.
    pub(crate) live: broadcast::Receiver<EventBatch>,
}

struct Channel {
    tx: broadcast::Sender<EventBatch>,
    recent: VecDeque<EventBatch>,
    recent_events: usize,
    /// Every committed event from this sequence on is in `recent`.
    held_from: u64,
}

/// Live channels of the executions that have not finished.
#[derive(Default)]
pub(crate) struct LogHub {
    channels: Mutex<HashMap<i64, Channel>>,
}

impl LogHub {
    /// Opens the live channel of an execution before anything more of it is
    /// published. `committed` are its latest events already in the history
    /// (the queued event of a new execution), held for replay; the next
    /// event published carries `next_sequence`.
    pub(crate) fn open(&self, execution: i64, committed: Vec<Arc<LogEvent>>, next_sequence: u64) {
        let held_from = committed.first().map_or(next_sequence, |e| e.sequence);
        let recent_events = committed.len();
        let recent = if committed.is_empty() {
            VecDeque::new()
        } else {
            VecDeque::from([EventBatch::from(committed)])
        };
        self.lock().entry(execution).or_insert_with(|| Channel {
            tx: broadcast::channel(LIVE_BUFFER).0,
            recent,
            recent_events,
            held_from,
        });
    }

    /// A receiver of the execution's future committed events, or None when
    /// the execution has no live channel (finished: its history is complete).
    #[cfg(test)]
    pub(crate) fn subscribe(&self, execution: i64) -> Option<broadcast::Receiver<EventBatch>> {
        self.lock()
            .get(&execution)
            .map(|channel| channel.tx.subscribe())
    }

    /// A subscription to the execution's future committed events, with the
    /// held events from sequence `from` on when memory has all of them;
    /// None when the execution has no live channel (finished: its history
    /// is complete).
    pub(crate) fn subscribe_from(&self, execution: i64, from: u64) -> Option<Subscription> {
        let channels = self.lock();
        let channel = channels.get(&execution)?;
        let recent = (from >= channel.held_from).then(|| {
            channel
                .recent
                .iter()
                .flat_map(|batch| batch.iter())
                .filter(|e| e.sequence >= from)
                .cloned()
                .collect()
        });
        Some(Subscription {
            recent,
            live: channel.tx.subscribe(),
        })
    }

    /// Closes the live channel of an execution that will get no more events
    /// from this daemon (a queued execution left for the next start);
    /// subscribers then finish from the history.
    pub(crate) fn close(&self, execution: i64) {
        self.lock().remove(&execution);
    }

    /// Delivers committed events; the terminal event closes the channel.
    pub(super) fn publish(&self, execution: i64, events: Vec<Arc<LogEvent>>) {
        if events.is_empty() {
            return;
        }
        let mut channels = self.lock();
        let Some(channel) = channels.get_mut(&execution) else {
            return;
        };
        let terminal = events.last().is_some_and(|e| e.is_terminal());
        if terminal {
            if let Some(channel) = channels.remove(&execution) {
                let _ = channel.tx.send(events.into());
            }
            return;
        }
        let batch = EventBatch::from(events);
        channel.recent_events += batch.len();
        channel.recent.push_back(batch.clone());
        while channel.recent_events > RECENT_EVENTS && channel.recent.len() > 1 {
            let dropped = channel.recent.pop_front().expect("more than one batch");
            channel.recent_events -= dropped.len();
            channel.held_from = channel.recent[0][0].sequence;
        }
        let _ = channel.tx.send(batch);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<i64, Channel>> {
        self.channels.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{ExecutionState, Lifecycle, LogPayload, OutputStream};

    fn line(sequence: u64) -> Arc<LogEvent> {
        Arc::new(LogEvent {
            sequence,
            time_ms: 0,
            payload: LogPayload::Output {
                stream: OutputStream::Stdout,
                text: format!("line {sequence}"),
                malformed_event: false,
                truncated: false,
            },
        })
    }

    fn batch(from: u64, count: u64) -> Vec<Arc<LogEvent>> {
        (from..from + count).map(line).collect()
    }

    fn sequences(events: &[Arc<LogEvent>]) -> Vec<u64> {
        events.iter().map(|e| e.sequence).collect()
    }

    #[test]
    fn held_events_replay_from_memory_and_later_ones_arrive_live() {
        let hub = LogHub::default();
        hub.open(7, vec![line(1)], 2);
        hub.publish(7, batch(2, 3));

        let mut subscription = hub.subscribe_from(7, 2).expect("open channel");
        assert_eq!(sequences(&subscription.recent.unwrap()), [2, 3, 4]);
        let from_start = hub.subscribe_from(7, 1).unwrap().recent.unwrap();
        assert_eq!(sequences(&from_start), [1, 2, 3, 4]);

        hub.publish(7, batch(5, 1));
        let live = subscription.live.try_recv().expect("published after");
        assert_eq!(sequences(&live), [5]);
    }

    #[test]
    fn events_older_than_those_held_must_come_from_the_history() {
        let hub = LogHub::default();
        // A recovered execution: its earlier events are only in the history.
        hub.open(1, Vec::new(), 40);
        assert!(hub.subscribe_from(1, 39).unwrap().recent.is_none());
        assert_eq!(hub.subscribe_from(1, 40).unwrap().recent, Some(Vec::new()));

        // A flood: whole batches beyond RECENT_EVENTS are let go, oldest first.
        let hub = LogHub::default();
        hub.open(2, vec![line(1)], 2);
        let per_batch = 100;
        let batches = RECENT_EVENTS as u64 / per_batch + 3;
        for b in 0..batches {
            hub.publish(2, batch(2 + b * per_batch, per_batch));
        }
        let last = 1 + batches * per_batch;
        let held_from = last + 1 - (RECENT_EVENTS as u64 / per_batch) * per_batch;
        assert!(hub
            .subscribe_from(2, held_from - 1)
            .unwrap()
            .recent
            .is_none());
        let held = hub.subscribe_from(2, held_from).unwrap().recent.unwrap();
        assert_eq!(sequences(&held), (held_from..=last).collect::<Vec<_>>());
    }

    #[test]
    fn the_terminal_event_reaches_subscribers_and_closes_the_channel() {
        let hub = LogHub::default();
        hub.open(3, vec![line(1)], 2);
        let mut subscription = hub.subscribe_from(3, 1).unwrap();
        let finished = Arc::new(LogEvent {
            sequence: 2,
            time_ms: 0,
            payload: LogPayload::Lifecycle(Lifecycle::Finished {
                state: ExecutionState::Succeeded,
                error: String::new(),
            }),
        });
        hub.publish(3, vec![finished]);
        assert_eq!(sequences(&subscription.live.try_recv().unwrap()), [2]);
        assert!(hub.subscribe_from(3, 1).is_none(), "finished: history only");
        assert!(hub.subscribe(3).is_none());
    }
}
