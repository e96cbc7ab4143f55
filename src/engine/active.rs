//! The state of one active execution (queued or running): where it is in
//! its life, the stop asked of it, its log's sequencer, and how waiters
//! learn that it has left the active set.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::watch;
use uuid::Uuid;

use super::execution_log::{Ending, ExecutionLog, NumberedEnd};
use super::{Engine, EngineError};
use crate::events::{LogCounts, LogEvent, LogPayload, StopReason};
use crate::metrics::ExecutionMetrics;
use crate::program_limits::ProgramLimits;
use crate::store::{ExecutionRecord, StoreError, StoreWriter};
use crate::tree::ExecutionTree;

/// A request to stop a running execution: who asked (a client, the
/// timeout, shutdown: it decides the end state), the grace between
/// SIGTERM and SIGKILL, and whether to SIGKILL at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct StopRequest {
    pub(super) reason: StopReason,
    pub(super) grace: Duration,
    pub(super) force: bool,
}

/// Where an active execution is in its life.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Phase {
    Queued,
    Running {
        pid: i32,
        start_ms: i64,
    },
    /// Taken off the queue by a cancel at `end_ms`; never to start, its
    /// end waits to be committed ([`Engine::cancel_queued`]).
    CancelledWhileQueued {
        end_ms: i64,
    },
}

/// The error text of an execution cancelled before it started.
pub(super) const CANCELLED_WHILE_QUEUED: &str = "cancelled while queued";

/// What the runner, a cancel and the readers of live state share.
#[derive(Debug)]
pub(super) struct Control {
    pub(super) phase: Phase,
    pub(super) stop: Option<StopRequest>,
    /// The wake-up of the worker thread running it, once one does: a stop
    /// request writes to it ([`ActiveExecution::request_stop`]).
    pub(super) runner_wake: Option<Arc<crate::process::Wakeup>>,
}

/// What an execution becomes active with: from Execute (a new one), or
/// from the history at start-up (one to re-queue or to mark interrupted).
pub(super) struct Activation {
    pub(super) id: Uuid,
    pub(super) rowid: i64,
    /// The workflow it runs, for its metrics' labels and its estimate.
    pub(super) workflow_id: String,
    /// Its batch, if any: a batch's estimate reads its active members.
    pub(super) batch_id: Option<String>,
    pub(super) argv: Vec<String>,
    pub(super) timeout: Option<Duration>,
    /// The resource limits its program runs under.
    pub(super) limits: ProgramLimits,
    /// Its namespace, for the namespace's quotas.
    pub(super) namespace: Arc<str>,
    /// Its latest stored events, held for replay by live followers.
    pub(super) committed: Vec<Arc<LogEvent>>,
    /// The sequence number of its next event.
    pub(super) next_sequence: u64,
    /// The tree and counts of its events so far.
    pub(super) tree: ExecutionTree,
    pub(super) counts: LogCounts,
    /// The execution as Execute accepted it; None from the history.
    pub(super) accepted: Option<ExecutionRecord>,
    /// It has a retry policy: its end is announced as one to look at.
    pub(super) retries: bool,
}

/// An execution that has not finished.
pub(super) struct ActiveExecution {
    pub(super) id: Uuid,
    pub(super) rowid: i64,
    /// The workflow it runs: its estimate rests on that workflow's runs.
    pub(super) workflow_id: String,
    /// Its batch, if any.
    pub(super) batch_id: Option<String>,
    pub(super) argv: Vec<String>,
    pub(super) timeout: Option<Duration>,
    /// The resource limits its program runs under.
    pub(super) limits: ProgramLimits,
    /// Its namespace, for the namespace's quotas.
    pub(super) namespace: Arc<str>,
    /// It has a retry policy.
    pub(super) retries: bool,
    control: Mutex<Control>,
    pub(super) writer: StoreWriter,
    log: Mutex<ExecutionLog>,
    /// The execution as Execute accepted it (None when it was re-queued or
    /// interrupted at start-up), the base of `ended`.
    pub(super) accepted: Option<ExecutionRecord>,
    /// The execution in its final state, as the history has it, once the
    /// runner has committed its end: [`Engine::wait_for_end`] answers from
    /// it without reading the history. Unset on every other way out (a
    /// queued cancel, shutdown, start-up recovery, a failed commit), where
    /// the history is read instead.
    pub(super) ended: OnceLock<Arc<ExecutionRecord>>,
    /// Turns true when the execution leaves the active set: its end is
    /// committed, or the daemon is shutting down with it still queued.
    /// Wakes [`Engine::wait_for_end`].
    pub(super) gone: watch::Sender<bool>,
    /// True while the program may be running: from just before the
    /// runner's last look for a stop ahead of the spawn until the program
    /// has exited and its process group is killed ([`ProgramLive`]). Lets a
    /// shutdown stop waiting for runners held up only by a history that
    /// cannot be written.
    program_live: AtomicBool,
}

/// Marks an execution's program live for as long as it is held; the drop,
/// on every way out of the runner, marks it gone and wakes shutdown.
pub(super) struct ProgramLive<'a> {
    engine: &'a Engine,
    execution: &'a ActiveExecution,
}

impl<'a> ProgramLive<'a> {
    /// Call before the last look for a stop ahead of the spawn: a shutdown
    /// that sets its stop after that look then sees the program live.
    pub(super) fn begin(engine: &'a Engine, execution: &'a ActiveExecution) -> Self {
        execution.program_live.store(true, Ordering::SeqCst);
        ProgramLive { engine, execution }
    }
}

impl Drop for ProgramLive<'_> {
    fn drop(&mut self) {
        self.execution.program_live.store(false, Ordering::SeqCst);
        self.engine.runners_changed.notify_waiters();
    }
}

impl ActiveExecution {
    /// An execution that is not started yet, its log set up by `activation`.
    pub(super) fn new(
        activation: Activation,
        writer: StoreWriter,
        metrics: ExecutionMetrics,
    ) -> Self {
        ActiveExecution {
            id: activation.id,
            rowid: activation.rowid,
            workflow_id: activation.workflow_id,
            batch_id: activation.batch_id,
            argv: activation.argv,
            timeout: activation.timeout,
            limits: activation.limits,
            namespace: activation.namespace,
            retries: activation.retries,
            control: Mutex::new(Control {
                phase: Phase::Queued,
                stop: None,
                runner_wake: None,
            }),
            writer,
            log: Mutex::new(ExecutionLog::new(
                activation.rowid,
                activation.next_sequence,
                activation.tree,
                activation.counts,
                metrics,
            )),
            accepted: activation.accepted,
            ended: OnceLock::new(),
            gone: watch::Sender::new(false),
            program_live: AtomicBool::new(false),
        }
    }

    pub(super) fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock()
    }

    pub(super) fn log(&self) -> MutexGuard<'_, ExecutionLog> {
        self.log.lock()
    }

    /// Whether its program may be running (see `program_live`).
    pub(super) fn program_live(&self) -> bool {
        self.program_live.load(Ordering::SeqCst)
    }

    /// Numbers an event of the daemon's own without waiting for the history
    /// (see [`ExecutionLog::record_without_waiting`]).
    pub(super) fn record_without_waiting(&self, payload: LogPayload) -> Result<(), EngineError> {
        self.log()
            .record_without_waiting(&self.writer, payload)
            .map_err(EngineError::from)
    }

    /// Numbers the end now and stores it (see [`ActiveExecution::store_end`]);
    /// for an execution no runner writes to (recovery, a queued cancel).
    pub(super) async fn finish(
        &self,
        last: Vec<LogPayload>,
        ending: Ending,
    ) -> Result<(), EngineError> {
        let end = self.log().number_end(last, ending);
        Ok(self.store_end(end).await?)
    }

    /// Queues a numbered end, waiting for room, and waits until it is
    /// committed. Numbering before the wait is safe only where nothing else
    /// numbers this execution's events meanwhile: no runner.
    pub(super) async fn store_end(&self, end: NumberedEnd) -> Result<(), StoreError> {
        let (write, committed) = end.into_write(self.rowid);
        self.writer.reserve().await?.send(write);
        committed.await.map_err(|_| StoreError::WriterStopped)
    }

    /// Asks the runner to stop. Returns false when a stop was already
    /// requested (a later `force` still escalates it).
    pub(super) fn request_stop(&self, request: StopRequest) -> bool {
        let mut control = self.control();
        let first = match &mut control.stop {
            None => {
                control.stop = Some(request);
                true
            }
            Some(existing) => {
                existing.force |= request.force;
                false
            }
        };
        let wake = control.runner_wake.clone();
        drop(control);
        if let Some(wake) = wake {
            wake.signal();
        }
        first
    }
}
