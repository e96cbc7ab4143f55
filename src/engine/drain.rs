//! Draining (DrainDaemon): the daemon starts nothing more from its queue,
//! lets what runs finish, and then stops; what is queued stays QUEUED in
//! the history for the next daemon (a standby takes it over at once).

use super::Engine;

impl Engine {
    /// Starts nothing more from the queue; what runs goes on. Returns
    /// whether this call drained it (false: it was drained already).
    pub(crate) fn drain(&self) -> bool {
        let drained_now = {
            let mut scheduler = self.scheduler();
            !std::mem::replace(&mut scheduler.draining, true)
        };
        if drained_now {
            tracing::warn!("draining: nothing more starts here; stopping once what runs has ended");
            // A drained() waiting with nothing running looks again.
            self.runners_changed.notify_waiters();
        }
        drained_now
    }

    /// Executions running now (their places in the worker pool taken).
    pub(crate) fn running_now(&self) -> usize {
        self.scheduler().running
    }

    /// Resolves once the engine is drained and nothing runs any more.
    pub(crate) async fn drained(&self) {
        loop {
            // Made before the look, so a change in between wakes it.
            let changed = self.runners_changed.notified();
            {
                let scheduler = self.scheduler();
                if scheduler.draining && scheduler.running == 0 {
                    return;
                }
            }
            changed.await;
        }
    }
}
