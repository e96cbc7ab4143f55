//! The worker threads that run programs, at most one per running
//! execution (`max_concurrent_jobs` in all), started as work first needs
//! them.
//!
//! A worker that finishes an execution takes the next queued one itself,
//! under the scheduler's lock, so a busy daemon hands nothing between
//! threads to start a program; only work arriving while a worker is idle
//! wakes one ([`Engine::find_workers`]). Idle workers wait on the
//! engine's `work_ready` condition and end at shutdown.

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
            loop {
                engine.work_ready.wait(&mut scheduler);
                if scheduler.wakeups > 0 {
                    scheduler.wakeups -= 1;
                    next = scheduler.ready.pop_front();
                    break;
                }
                if scheduler.shutting_down {
                    break;
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
        if !scheduler.shutting_down && scheduler.running < engine.config.max_concurrent_jobs {
            next = scheduler.next_to_start();
        }
        // After the release, so a shutdown woken by the forget sees the
        // running count without this execution.
        end.forget_once_committed(&engine);
    }
}
