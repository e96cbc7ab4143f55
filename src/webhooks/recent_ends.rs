//! The ended executions the engine announced lately, as it committed them,
//! so the fan-out builds their payloads without reading them back from the
//! history (bench/webhooks.rs: that read was a good share of a webhook's
//! cost per execution). An end is announced just after its commit, and so
//! just after its notification can be seen: one not here yet, or already
//! dropped, is read from the history as before.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::broadcast::error::TryRecvError;
use tokio::sync::broadcast::Receiver;

use crate::engine::EndedExecution;
use crate::store::ExecutionRecord;

/// Ended executions by id, kept for two fan-out passes.
#[derive(Default)]
pub(super) struct RecentEnds {
    current: HashMap<String, Arc<ExecutionRecord>>,
    previous: HashMap<String, Arc<ExecutionRecord>>,
}

impl RecentEnds {
    /// Takes in what `ends` announced since the last pass; what the pass
    /// before that took in and no notification asked for is dropped (its
    /// notification was fanned out before its end was announced, or it
    /// was announced before any webhook existed).
    pub(super) fn take_in(&mut self, ends: &mut Receiver<EndedExecution>) {
        self.previous = std::mem::take(&mut self.current);
        loop {
            match ends.try_recv() {
                Ok(ended) => self.keep(ended),
                // Missed ones are read from the history.
                Err(TryRecvError::Lagged(_)) => continue,
                Err(TryRecvError::Empty | TryRecvError::Closed) => return,
            }
        }
    }

    /// Keeps `ended` for the next pass.
    pub(super) fn keep(&mut self, ended: EndedExecution) {
        if let Some(record) = ended.record {
            self.current.insert(ended.id.to_string(), record);
        }
    }

    /// The ended execution `id`, if announced lately; taken out, since
    /// each end has one notification.
    pub(super) fn take(&mut self, id: &str) -> Option<Arc<ExecutionRecord>> {
        self.current.remove(id).or_else(|| self.previous.remove(id))
    }
}
