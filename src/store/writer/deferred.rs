//! Writes that nobody waits for and that may ride along with the next
//! commit instead of making their own: audit events. An Execute's audit
//! event is recorded once its answer is out, a moment after the commit
//! that created the execution; committed alone it would add one commit
//! (the writer's busiest cost) to every execution, about a fifth of the
//! commits of a short one. Held here, it joins the group of whatever the
//! writer commits next (the execution's start, usually), or, when
//! nothing else comes, a flush [`FLUSH_AFTER`] later.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, Notify};

use super::WriteOp;

/// The longest a deferred write waits for another commit to join before
/// the writer is asked to commit it on its own. A crash loses at most
/// this much of them, besides what the writer has not committed yet.
pub(super) const FLUSH_AFTER: Duration = Duration::from_millis(50);

/// The deferred writes and the flusher's wake-up.
#[derive(Default)]
pub(super) struct Deferred {
    ops: Mutex<Vec<WriteOp>>,
    /// Woken when the first write is held after none was.
    held: Notify,
    /// Whether the flusher task runs (started at the first write, inside
    /// the runtime that records them).
    flusher: AtomicBool,
    /// Set once the writer has made its last commit: nothing held after
    /// that can be written.
    closed: AtomicBool,
}

impl Deferred {
    /// Holds `op` for the writer's next group; `tx` is how the flusher
    /// wakes the writer when nothing else does.
    pub(super) fn hold(self: &Arc<Self>, op: WriteOp, tx: &mpsc::Sender<WriteOp>) {
        let first = {
            let mut ops = self.ops.lock();
            if self.closed.load(Ordering::Acquire) {
                tracing::error!(operation = %op, "the history is closed; an audit event is lost");
                return;
            }
            ops.push(op);
            ops.len() == 1
        };
        if !self.flusher.swap(true, Ordering::AcqRel) {
            tokio::spawn(flush(self.clone(), tx.downgrade()));
        }
        if first {
            self.held.notify_one();
        }
    }

    /// Moves the held writes into `group`, which the writer is about to
    /// commit.
    pub(super) fn join(&self, group: &mut Vec<WriteOp>) {
        let mut ops = self.ops.lock();
        if !ops.is_empty() {
            group.append(&mut ops);
        }
    }

    /// Called by the writer after its last commit: ends the flusher and
    /// logs what was held too late to be written.
    pub(super) fn close(&self) {
        let lost = {
            let mut ops = self.ops.lock();
            self.closed.store(true, Ordering::Release);
            std::mem::take(&mut *ops)
        };
        if !lost.is_empty() {
            tracing::error!(
                operations = lost.len(),
                "held after the history's last commit: audit events lost"
            );
        }
        self.held.notify_one();
    }

    fn is_empty(&self) -> bool {
        self.ops.lock().is_empty()
    }
}

/// Wakes the writer [`FLUSH_AFTER`] after a write was held, unless a
/// commit took it along meanwhile. Holds the writer's queue weakly, so it
/// keeps no channel open; ends with the writer.
async fn flush(deferred: Arc<Deferred>, tx: mpsc::WeakSender<WriteOp>) {
    loop {
        deferred.held.notified().await;
        if deferred.closed.load(Ordering::Acquire) {
            return;
        }
        tokio::time::sleep(FLUSH_AFTER).await;
        if deferred.is_empty() {
            continue;
        }
        let Some(tx) = tx.upgrade() else {
            return;
        };
        // A barrier nobody waits for: a group that writes only what is
        // held.
        let (reply, _) = oneshot::channel();
        if tx.send(WriteOp::Barrier { reply }).await.is_err() {
            return;
        }
    }
}
