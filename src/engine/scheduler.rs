//! The scheduler's state: the FIFO queue of accepted executions, the ones
//! made ready for a worker thread, the running count, and the places in
//! the queue held for executions being accepted. The queue limit is
//! checked here ([`QueueReservation::take`]), and each namespace's quotas
//! (`namespace_quotas.rs`); the worker threads that drain the queue are in
//! `workers.rs`.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use uuid::Uuid;

use super::active::ActiveExecution;
use super::namespace_quotas::{NamespaceQuotas, QueuedLimit};
use super::queue::ExecutionQueue;

/// What the engine's worker threads and Execute share, under one lock.
#[derive(Default)]
pub(super) struct Scheduler {
    pub(super) queue: ExecutionQueue,
    /// Taken off the queue and counted in `running`, for a worker thread
    /// to pick up (`workers.rs`).
    pub(super) ready: VecDeque<Arc<ActiveExecution>>,
    /// Worker threads waiting for work, and how many of them have been
    /// signalled but have not woken yet.
    pub(super) idle_workers: usize,
    pub(super) wakeups: usize,
    pub(super) running: usize,
    /// Places held by [`QueueReservation`]s: executions being accepted,
    /// counted against the queue limit while their records are written.
    reserved: usize,
    pub(super) shutting_down: bool,
    /// Drained (`drain.rs`): nothing more starts from the queue.
    pub(super) draining: bool,
    /// Each namespace's quotas and counts.
    pub(super) namespaces: NamespaceQuotas,
}

/// How many executions may run and wait.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Executions running at once.
    pub(super) workers: usize,
    /// Executions waiting beyond the running ones.
    pub(super) queue: usize,
}

impl Scheduler {
    /// An empty scheduler holding namespaces to `quotas`.
    pub(super) fn with_quotas(quotas: NamespaceQuotas) -> Self {
        Scheduler {
            namespaces: quotas,
            ..Scheduler::default()
        }
    }

    /// Moves queued executions to `ready` while fewer than `workers` run;
    /// returns the ids moved. Nothing starts once shutdown has begun, or
    /// once the daemon is drained.
    pub(super) fn make_ready(&mut self, workers: usize) -> Vec<Uuid> {
        let mut moved = Vec::new();
        while self.may_start_more(workers) {
            let Some(next) = self.next_to_start() else {
                break;
            };
            moved.push(next.id);
            self.ready.push_back(next);
        }
        moved
    }

    /// Whether a queued execution may start now, with `workers` places:
    /// not while shutting down or drained, nor with every place taken.
    pub(super) fn may_start_more(&self, workers: usize) -> bool {
        !self.shutting_down && !self.draining && self.running < workers
    }

    /// Takes the next queued execution that may start off the queue and
    /// counts it running: the front, or with a namespace at its
    /// `max_running`, the first of another namespace (FIFO within each).
    pub(super) fn next_to_start(&mut self) -> Option<Arc<ActiveExecution>> {
        let next = if self.namespaces.limits_running() {
            let quotas = &self.namespaces;
            self.queue
                .pop_first_where(|namespace| quotas.may_run(namespace))?
        } else {
            self.queue.pop_first_where(|_| true)?
        };
        self.running += 1;
        self.namespaces.started(&next.namespace);
        Some(next)
    }

    /// `execution` stopped running (its program ended, or it goes back to
    /// the queue).
    pub(super) fn stopped_running(&mut self, execution: &ActiveExecution) {
        self.running -= 1;
        self.namespaces.ended(&execution.namespace);
    }

    /// Puts executions on the queue that were accepted before (start-up
    /// recovery, a start that found no worker thread).
    pub(super) fn requeue_front(&mut self, execution: Arc<ActiveExecution>) {
        self.namespaces.requeued(&execution.namespace);
        self.queue.push_front(execution);
    }

    /// Takes queued execution `id` of `namespace` off the queue, if it is
    /// still there.
    pub(super) fn dequeue(&mut self, id: Uuid, namespace: &str) -> Option<Arc<ActiveExecution>> {
        let execution = self.queue.remove(id, namespace)?;
        self.namespaces.left(&execution.namespace);
        Some(execution)
    }
}

/// Why no place in the queue was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum QueueFull {
    /// The daemon's queue (`max_queue`) is full.
    Daemon,
    /// The namespace has as many waiting as this limit lets it.
    Namespace(QueuedLimit),
}

/// A place in the queue held for an execution being accepted, while its
/// record is written. Dropped unused (the write failed, the call was
/// abandoned), it gives the place back, so no way out can leak one. An
/// abandoned call's write may still commit: that QUEUED record runs at the
/// next start (recovery queues it again), not in this daemon's life.
pub(super) struct QueueReservation<'a> {
    scheduler: &'a Mutex<Scheduler>,
    namespace: Arc<str>,
    /// How many executions waited ahead of it when it was taken.
    position: u32,
    used: bool,
}

impl<'a> QueueReservation<'a> {
    /// Holds a place for an execution of `namespace`, or says why the
    /// queue is full: executions waiting (queued or being accepted) fill
    /// the free workers first, then up to `limits.queue` more; and the
    /// namespace's own fill the places it may still run in first, then up
    /// to its `max_queued` more.
    pub(super) fn take(
        scheduler: &'a Mutex<Scheduler>,
        limits: Limits,
        namespace: &Arc<str>,
    ) -> Result<Self, QueueFull> {
        let mut state = scheduler.lock();
        let waiting = state.queue.len() + state.reserved;
        let free_workers = limits.workers.saturating_sub(state.running);
        if waiting >= limits.queue + free_workers {
            return Err(QueueFull::Daemon);
        }
        state
            .namespaces
            .wait(namespace, free_workers)
            .map_err(QueueFull::Namespace)?;
        state.reserved += 1;
        Ok(QueueReservation {
            scheduler,
            namespace: namespace.clone(),
            position: waiting as u32,
            used: false,
        })
    }

    /// How many executions waited ahead of this one when the place was
    /// taken (its `queued` event says so).
    pub(super) fn position(&self) -> u32 {
        self.position
    }

    /// Puts `execution` in the place at the back of the queue; returns the
    /// scheduler still locked, so the caller can start it at once.
    pub(super) fn enqueue(mut self, execution: Arc<ActiveExecution>) -> MutexGuard<'a, Scheduler> {
        let mut state = self.scheduler.lock();
        state.reserved -= 1;
        state.queue.push_back(execution);
        self.used = true;
        state
    }
}

impl Drop for QueueReservation<'_> {
    fn drop(&mut self) {
        if !self.used {
            let mut state = self.scheduler.lock();
            state.reserved -= 1;
            state.namespaces.left(&self.namespace);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        workers: 1,
        queue: 1,
    };

    fn take(scheduler: &Mutex<Scheduler>) -> Result<QueueReservation<'_>, QueueFull> {
        QueueReservation::take(scheduler, LIMITS, &Arc::from("default"))
    }

    #[test]
    fn a_reservation_counts_against_the_limit_until_dropped() {
        let scheduler = Mutex::new(Scheduler::default());
        let first = take(&scheduler).expect("a free worker");
        let second = take(&scheduler).expect("a queue place");
        assert_eq!((first.position(), second.position()), (0, 1));
        assert!(take(&scheduler).is_err());
        drop(second);
        let third = take(&scheduler).expect("the place given back");
        assert_eq!(third.position(), 1);
        drop((first, third));
        assert_eq!(scheduler.lock().reserved, 0);
    }

    #[test]
    fn running_executions_take_the_free_workers_places() {
        let scheduler = Mutex::new(Scheduler {
            running: 1,
            ..Scheduler::default()
        });
        let queued = take(&scheduler).expect("a queue place");
        assert!(take(&scheduler).is_err());
        drop(queued);
        assert!(take(&scheduler).is_ok());
    }
}
