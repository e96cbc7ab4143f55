//! The worker threads that run programs, at most one per running
//! execution (`max_concurrent_jobs` in all), started as work first needs
//! them.
//!
//! A worker that finishes an execution takes the next queued one itself,
//! under the scheduler's lock, so a busy daemon hands nothing between
//! threads to start a program; only work arriving while a worker is idle
//! wakes one ([`Engine::find_workers`]). Idle workers wait on the
//! engine's `work_ready` condition and end at shutdown, or after
//! [`IdleWorkers::timeout`](super::IdleWorkers) without work when more
//! than [`IdleWorkers::kept`](super::IdleWorkers) wait: a burst of
//! executions leaves no thread (and its 64 KB read buffer and stack)
//! resident for good.

use std::sync::Arc;

use super::runner::{self, WorkerKit};
use super::scheduler::Scheduler;
use super::Engine;
use uuid::Uuid;

impl Engine {
    /// Starts queued executions while workers are free: each is made
    /// ready for an idle worker thread, or a new one. Returns the ids
    /// started.
    pub(super) fn dispatch(self: &Arc<Self>, scheduler: &mut Scheduler) -> Vec<Uuid> {
        let started = scheduler.make_ready(self.config.max_concurrent_jobs);
        self.find_workers(scheduler, started.len());
        started
    }

    /// Gets `count` executions just made ready picked up: by idle workers
    /// not yet signalled, then by new threads. When no thread can be
    /// started (out of threads or descriptors), the executions left over
    /// go back to the front of the queue, still QUEUED, for the next
    /// dispatch: nothing is lost.
    fn find_workers(self: &Arc<Self>, scheduler: &mut Scheduler, count: usize) {
        for found in 0..count {
            if scheduler.idle_workers > scheduler.wakeups {
                scheduler.wakeups += 1;
                self.work_ready.notify_one();
                continue;
            }
            let engine = self.clone();
            let started = WorkerKit::new().and_then(|kit| {
                std::thread::Builder::new()
                    .name("workflow-worker".into())
                    .spawn(move || work(engine, kit))
            });
            if let Err(e) = started {
                tracing::error!(error = %e, "cannot start a worker thread; executions wait in the queue");
                for _ in found..count {
                    if let Some(execution) = scheduler.ready.pop_back() {
                        scheduler.stopped_running(&execution);
                        scheduler.requeue_front(execution);
                    }
                }
                // A drain waiting for the running count to fall sees it.
                self.runners_changed.notify_waiters();
                return;
            }
        }
    }
}

/// A worker thread: runs executions one after another until the engine
/// shuts down. It is started for one ready execution, and woken for one
/// by a wakeup: `ready` holds exactly one execution per pending wakeup or
/// new thread, so a worker never takes another's, and the threads never
/// outnumber the running executions plus the idle workers.
fn work(engine: Arc<Engine>, mut kit: WorkerKit) {
    let mut scheduler = engine.scheduler();
    let mut next = scheduler.ready.pop_front();
    loop {
        let Some(execution) = next.take() else {
            if scheduler.shutting_down {
                return;
            }
            scheduler.idle_workers += 1;
            let idle = engine.config.idle_workers;
            loop {
                let waited = engine.work_ready.wait_for(&mut scheduler, idle.timeout);
                // A pending wakeup counts on an idle worker: take it
                // rather than end, whether woken or timed out.
                if scheduler.wakeups > 0 {
                    scheduler.wakeups -= 1;
                    next = scheduler.ready.pop_front();
                    break;
                }
                if scheduler.shutting_down {
                    break;
                }
                if waited.timed_out() && scheduler.idle_workers > idle.kept {
                    scheduler.idle_workers -= 1;
                    let last_of_burst = scheduler.idle_workers == idle.kept;
                    drop(scheduler);
                    drop(kit);
                    if last_of_burst {
                        give_back_freed_memory();
                    }
                    return;
                }
            }
            scheduler.idle_workers -= 1;
            continue;
        };
        drop(scheduler);
        let end = runner::run(&engine, execution.clone(), &mut kit);
        scheduler = engine.scheduler();
        // The program is gone and its end is queued: the worker is free
        // and takes the next queued execution itself, without waiting for
        // the commit and without waking anyone.
        scheduler.stopped_running(&execution);
        drop(execution);
        if scheduler.may_start_more(engine.config.max_concurrent_jobs) {
            next = scheduler.next_to_start();
        } else if scheduler.draining {
            // A drain stops the daemon once nothing runs, without waiting
            // for this end's commit (which the shutdown waits for anyway).
            engine.runners_changed.notify_waiters();
        }
        // After the release, so a shutdown woken by the forget sees the
        // running count without this execution.
        end.forget_once_committed(&engine);
    }
}

/// Returns the allocator's free pages to the system once a burst's
/// threads have ended: what they allocated and freed (each one's read
/// buffer, its executions' state) sits in glibc's per-thread arenas,
/// resident, until trimmed (bench/load.rs: the RSS after 1,000 programs
/// ran at once).
fn give_back_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks the allocator's own arenas under
    // their locks; it takes no pointer of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}
