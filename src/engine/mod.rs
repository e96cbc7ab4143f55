//! The execution engine: accepts executions, queues them FIFO behind a
//! bounded worker pool, runs each as a child process ([`runner`]), cancels
//! them, answers what is running, and recovers after a crash.
//!
//! Each active execution has one [`ExecutionLog`] that hands out its
//! gap-free sequence numbers, folds events into its tree and queues them for
//! the history writer, so the order of sequence numbers is the order of
//! writes and of live delivery.

mod error;
mod leftovers;
mod line_splitter;
mod recovery;
mod retention;
mod run_dirs;
mod runner;
mod workers;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{oneshot, watch, Notify};
use uuid::Uuid;

pub use error::EngineError;
pub use retention::Pruned;

use crate::clock::{local_midnight_ms, now_ms};
use crate::discovery::Catalog;
use crate::events::{
    ExecutionState, Lifecycle, LogCounts, LogEvent, LogPayload, StopReason, WorkflowEvent,
};
use crate::inputs::{self, ResolvedInputs};
use crate::program_env::ProgramEnv;
use crate::store::hub::LogHub;
use crate::store::{
    ArtifactRecord, ExecutionFilter, ExecutionRecord, FinalOutcome, ListCursor, NewExecution,
    StoreError, StoreReader, StoreWriter, WriteOp, WriteSlot,
};
use crate::tree::ExecutionTree;
use crate::workflow::DiscoveredWorkflow;

/// Settings of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Executions running at once.
    pub max_concurrent_jobs: usize,
    /// Executions waiting beyond the running ones.
    pub max_queue: usize,
    /// Where each execution gets its working directory (empty ones are
    /// recycled through `.spare/`, see `run_dirs.rs`).
    pub runs_dir: PathBuf,
    /// Grace between SIGTERM and SIGKILL when a cancel does not say.
    pub default_grace_period: Duration,
    /// Grace given to running executions when the daemon shuts down.
    pub shutdown_grace_period: Duration,
    /// The environment programs start with (plus their own variables).
    pub program_env: Arc<ProgramEnv>,
    /// Where manifest runs write their outputs (config `output_dir`): the
    /// partial outputs a killed program left here are removed
    /// (`engine/leftovers.rs`).
    pub output_dir: PathBuf,
}

/// What a client asks to run.
#[derive(Debug, Clone, Default)]
pub struct ExecuteRequest {
    /// Workflow id.
    pub workflow_id: String,
    /// Input values by field name.
    pub inputs: BTreeMap<String, Value>,
    /// Idempotency key.
    pub request_id: Option<String>,
    /// Wall-clock limit.
    pub timeout: Option<Duration>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Batch of a manifest run, if any.
    pub batch_id: Option<String>,
}

/// What a client asks to stop.
#[derive(Debug, Clone, Copy)]
pub struct CancelRequest {
    /// Grace between SIGTERM and SIGKILL; None = the configured default.
    pub grace_period: Option<Duration>,
    /// SIGKILL at once.
    pub force: bool,
}

/// A request to stop a running execution.
#[derive(Debug, Clone, Copy, PartialEq)]
struct StopRequest {
    reason: StopReason,
    grace: Duration,
    force: bool,
}

/// Where an active execution is in its life.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
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
const CANCELLED_WHILE_QUEUED: &str = "cancelled while queued";

#[derive(Debug)]
struct Control {
    phase: Phase,
    stop: Option<StopRequest>,
    /// The wake-up of the worker thread running it, once one does: a stop
    /// request writes to it ([`ActiveExecution::request_stop`]).
    runner_wake: Option<Arc<crate::process::Wakeup>>,
}

/// The sequencer of one execution's log. It is only ever locked briefly,
/// never across a wait for the history writer: writers reserve room in the
/// writer's queue first (the runner's `record_output`), so readers of the
/// live tree and a cancel are not held up by a history that cannot be
/// written (a full disk).
struct ExecutionLog {
    rowid: i64,
    next_sequence: u64,
    tree: ExecutionTree,
    counts: LogCounts,
    /// Events numbered while the writer's queue was full
    /// ([`ExecutionLog::record_without_waiting`]); they go, in order, ahead
    /// of the next write of this execution.
    held: Vec<Arc<LogEvent>>,
    /// Start time, pid and process start time, once started.
    started: Option<(i64, i32, Option<u64>)>,
    /// Artifacts recorded in this daemon's life (as the writer stores them).
    artifacts: Vec<ArtifactRecord>,
}

impl ExecutionLog {
    /// Numbers events, folds them into the tree and queues them for the
    /// history in `slot`: one queue entry for the batch. This is what keeps
    /// a program printing hundreds of thousands of lines a second cheap to
    /// follow.
    fn append(&mut self, slot: WriteSlot, payloads: Vec<LogPayload>) {
        let mut events = std::mem::take(&mut self.held);
        events.extend(
            payloads
                .into_iter()
                .map(|payload| Arc::new(self.number(payload))),
        );
        slot.send(WriteOp::Append {
            execution: self.rowid,
            events,
        });
    }

    /// Numbers an event of the daemon's own (a cancel, a kill, a timeout)
    /// and queues it if the writer's queue has room; otherwise holds it for
    /// the next write, so that stopping a program never waits for the
    /// history.
    fn record_without_waiting(
        &mut self,
        writer: &StoreWriter,
        payload: LogPayload,
    ) -> Result<(), StoreError> {
        let event = Arc::new(self.number(payload));
        self.held.push(event);
        if let Some(slot) = writer.try_reserve()? {
            self.append(slot, Vec::new());
        }
        Ok(())
    }

    fn number(&mut self, payload: LogPayload) -> LogEvent {
        let time_ms = now_ms();
        if let LogPayload::Event(event) = &payload {
            self.tree.apply(event);
            if let WorkflowEvent::StateFileCreated {
                phase,
                file_path,
                description,
            } = event
            {
                self.artifacts.push(ArtifactRecord {
                    phase: *phase,
                    path: file_path.clone(),
                    description: description.clone(),
                    time_ms,
                });
            }
        }
        self.counts.record(&payload);
        let event = LogEvent {
            sequence: self.next_sequence,
            time_ms,
            payload,
        };
        self.next_sequence += 1;
        event
    }

    /// Numbers the `started` event and queues it with the RUNNING state,
    /// in one write.
    fn start(
        &mut self,
        slot: WriteSlot,
        pid: i32,
        start_ms: i64,
        pid_start_ticks: Option<u64>,
        argv: Vec<String>,
    ) {
        // Events are held only by a running execution's runner, after this.
        debug_assert!(self.held.is_empty(), "events held before the start");
        let started = self.number(LogPayload::Lifecycle(Lifecycle::Started { pid, argv }));
        self.started = Some((start_ms, pid, pid_start_ticks));
        slot.send(WriteOp::MarkStarted {
            execution: self.rowid,
            start_ms,
            pid,
            pid_start_ticks,
            started: Arc::new(started),
        });
    }

    /// Queues the final state with any held events, the `last` events and
    /// the terminal `finished` event, in one write; the receiver is
    /// signalled once it is committed. With the execution as it was
    /// `accepted`, also returns it in its final state, as the history will
    /// have it.
    fn queue_finish(
        &mut self,
        slot: WriteSlot,
        last: Vec<LogPayload>,
        ending: Ending,
        accepted: Option<&ExecutionRecord>,
    ) -> (oneshot::Receiver<()>, Option<ExecutionRecord>) {
        let end = self.number_end(last, ending);
        let ended = accepted.map(|accepted| self.ended(accepted, &end.outcome));
        let (write, committed) = end.into_write(self.rowid);
        slot.send(write);
        (committed, ended)
    }

    /// Numbers the end: any held events, the `last` events and the
    /// terminal `finished` event, stamped now, to be queued as one write.
    fn number_end(&mut self, last: Vec<LogPayload>, ending: Ending) -> NumberedEnd {
        let mut events = std::mem::take(&mut self.held);
        events.extend(
            last.into_iter()
                .map(|payload| Arc::new(self.number(payload))),
        );
        let finished = self.number(LogPayload::Lifecycle(Lifecycle::Finished {
            state: ending.state,
            error: ending.error.clone(),
        }));
        let outcome = FinalOutcome {
            state: ending.state,
            end_ms: finished.time_ms,
            exit_code: ending.exit_code,
            signal: ending.signal,
            error: ending.error,
            tree: self.tree.clone(),
            counts: self.counts,
        };
        events.push(Arc::new(finished));
        NumberedEnd { outcome, events }
    }

    /// The execution `accepted` as it will be stored once `outcome` is.
    fn ended(&self, accepted: &ExecutionRecord, outcome: &FinalOutcome) -> ExecutionRecord {
        let (start_ms, pid, pid_start_ticks) = match self.started {
            Some((start_ms, pid, ticks)) => (Some(start_ms), Some(pid), ticks),
            None => (None, None, None),
        };
        ExecutionRecord {
            state: outcome.state,
            start_ms,
            end_ms: Some(outcome.end_ms),
            exit_code: outcome.exit_code,
            signal: outcome.signal,
            error: outcome.error.clone(),
            pid,
            pid_start_ticks,
            tree: Some(outcome.tree.clone()),
            counts: Some(outcome.counts),
            artifacts: self.artifacts.clone(),
            ..accepted.clone()
        }
    }
}

/// How an execution ended.
#[derive(Debug)]
struct Ending {
    state: ExecutionState,
    exit_code: Option<i32>,
    signal: Option<i32>,
    error: String,
}

impl Ending {
    /// An ending with no process exit to report.
    fn without_exit(state: ExecutionState, error: String) -> Ending {
        Ending {
            state,
            exit_code: None,
            signal: None,
            error,
        }
    }
}

/// An execution's end, numbered but not yet queued for the history.
struct NumberedEnd {
    outcome: FinalOutcome,
    events: Vec<Arc<LogEvent>>,
}

impl NumberedEnd {
    /// The write that stores it, and a receiver signalled once that is
    /// committed.
    fn into_write(self, execution: i64) -> (WriteOp, oneshot::Receiver<()>) {
        let (committed, on_commit) = oneshot::channel();
        let write = WriteOp::MarkFinished {
            execution,
            outcome: Box::new(self.outcome),
            events: self.events,
            committed,
        };
        (write, on_commit)
    }
}

/// An execution that has not finished.
pub struct ActiveExecution {
    id: Uuid,
    rowid: i64,
    argv: Vec<String>,
    timeout: Option<Duration>,
    control: Mutex<Control>,
    writer: StoreWriter,
    log: Mutex<ExecutionLog>,
    /// The execution as Execute accepted it (None when it was re-queued or
    /// interrupted at start-up), the base of `ended`.
    accepted: Option<ExecutionRecord>,
    /// The execution in its final state, as the history has it, once the
    /// runner has committed its end: [`Engine::wait_for_end`] answers from
    /// it without reading the history. Unset on every other way out (a
    /// queued cancel, shutdown, start-up recovery, a failed commit), where
    /// the history is read instead.
    ended: OnceLock<ExecutionRecord>,
    /// Turns true when the execution leaves the active set: its end is
    /// committed, or the daemon is shutting down with it still queued.
    /// Wakes [`Engine::wait_for_end`].
    gone: watch::Sender<bool>,
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
    fn control(&self) -> std::sync::MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn log(&self) -> std::sync::MutexGuard<'_, ExecutionLog> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Numbers an event of the daemon's own without waiting for the history
    /// (see [`ExecutionLog::record_without_waiting`]).
    fn record_without_waiting(&self, payload: LogPayload) -> Result<(), EngineError> {
        self.log()
            .record_without_waiting(&self.writer, payload)
            .map_err(EngineError::from)
    }

    /// Numbers the end now and stores it (see [`ActiveExecution::store_end`]);
    /// for an execution no runner writes to (recovery, a queued cancel).
    async fn finish(&self, last: Vec<LogPayload>, ending: Ending) -> Result<(), EngineError> {
        let end = self.log().number_end(last, ending);
        Ok(self.store_end(end).await?)
    }

    /// Queues a numbered end, waiting for room, and waits until it is
    /// committed. Numbering before the wait is safe only where nothing else
    /// numbers this execution's events meanwhile: no runner.
    async fn store_end(&self, end: NumberedEnd) -> Result<(), StoreError> {
        let (write, committed) = end.into_write(self.rowid);
        self.writer.reserve().await?.send(write);
        committed.await.map_err(|_| StoreError::WriterStopped)
    }

    /// Asks the runner to stop. Returns false when a stop was already
    /// requested (a later `force` still escalates it).
    fn request_stop(&self, request: StopRequest) -> bool {
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

#[derive(Default)]
struct Scheduler {
    queue: VecDeque<Arc<ActiveExecution>>,
    /// Taken off the queue and counted in `running`, for a worker thread
    /// to pick up ([`workers`]).
    ready: VecDeque<Arc<ActiveExecution>>,
    /// Worker threads waiting for work, and how many of them have been
    /// signalled but have not woken yet.
    idle_workers: usize,
    wakeups: usize,
    running: usize,
    /// Accepted executions being written, counted against the queue limit.
    reserved: usize,
    shutting_down: bool,
}

/// Daemon-wide counts for GetStatus.
#[derive(Debug, Clone)]
pub struct EngineStatus {
    /// Worker pool size.
    pub max_workers: usize,
    /// Queue limit.
    pub max_queue: usize,
    /// Running now.
    pub running: usize,
    /// Waiting now.
    pub queued: usize,
    /// Succeeded since local midnight.
    pub succeeded_today: u64,
    /// Failed, timed out or interrupted since local midnight.
    pub failed_today: u64,
    /// Executions by state, all time.
    pub totals_by_state: BTreeMap<String, u64>,
    /// Set while the history cannot be written and writes wait.
    pub history_write_failure: Option<crate::store::writer::WriteFailure>,
}

/// The engine. Cheap to share: wrap it in an `Arc`.
pub struct Engine {
    config: EngineConfig,
    catalog: Arc<Catalog>,
    writer: StoreWriter,
    reader: Arc<StoreReader>,
    hub: Arc<LogHub>,
    scheduler: Mutex<Scheduler>,
    /// Signalled (with `scheduler`) when work is ready for an idle worker
    /// thread or the engine shuts down.
    work_ready: Condvar,
    /// The async runtime, for worker threads: they wait on it for room in
    /// the history's queue and hand it the wait for their ends' commits.
    runtime: tokio::runtime::Handle,
    active: Mutex<HashMap<Uuid, Arc<ActiveExecution>>>,
    /// Wakes shutdown when a runner ends or its program is gone.
    runners_changed: Notify,
    /// The executions' working directories.
    run_dirs: run_dirs::RunDirs,
}

impl Engine {
    /// An engine over an open history. Call [`Engine::recover`] before use.
    /// Call within the tokio runtime, which the engine keeps using.
    pub fn new(
        config: EngineConfig,
        catalog: Arc<Catalog>,
        writer: StoreWriter,
        reader: Arc<StoreReader>,
        hub: Arc<LogHub>,
    ) -> Arc<Self> {
        Arc::new(Engine {
            run_dirs: run_dirs::RunDirs::new(config.runs_dir.clone()),
            config,
            catalog,
            writer,
            reader,
            hub,
            scheduler: Mutex::new(Scheduler::default()),
            work_ready: Condvar::new(),
            runtime: tokio::runtime::Handle::current(),
            active: Mutex::new(HashMap::new()),
            runners_changed: Notify::new(),
        })
    }

    /// The workflow catalog.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The history reader.
    pub fn reader(&self) -> &Arc<StoreReader> {
        &self.reader
    }

    /// The live log hub.
    pub fn hub(&self) -> &Arc<LogHub> {
        &self.hub
    }

    fn scheduler(&self) -> std::sync::MutexGuard<'_, Scheduler> {
        self.scheduler.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn active_map(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<ActiveExecution>>> {
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&StoreReader) -> Result<T, crate::store::StoreError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let reader = self.reader.clone();
        Ok(tokio::task::spawn_blocking(move || f(&reader)).await??)
    }

    /// The workflow `id`; while programs are still being probed it waits
    /// for them (each bounded by the discovery timeout) rather than answer
    /// NOT_FOUND for a workflow that is about to appear.
    async fn workflow(&self, id: &str) -> Result<Arc<DiscoveredWorkflow>, EngineError> {
        self.catalog
            .wait_for(id)
            .await
            .ok_or_else(|| EngineError::WorkflowNotFound(id.to_string()))
    }

    /// Validates inputs without running anything.
    pub async fn validate(
        &self,
        workflow_id: &str,
        inputs: &BTreeMap<String, Value>,
    ) -> Result<ResolvedInputs, EngineError> {
        let workflow = self.workflow(workflow_id).await?;
        inputs::resolve(&workflow, inputs).map_err(EngineError::InvalidInputs)
    }

    /// Accepts an execution. Returns it and whether this call started it
    /// (false when `request_id` matched an earlier one).
    pub async fn execute(
        self: &Arc<Self>,
        request: ExecuteRequest,
    ) -> Result<(ExecutionRecord, bool), EngineError> {
        if self.scheduler().shutting_down {
            return Err(EngineError::ShuttingDown);
        }
        // Its record could not be stored until the history can be written
        // again (writes wait meanwhile): refuse it now instead of holding
        // the call for as long as the disk stays full.
        if let Some(failure) = self.writer.write_failure() {
            return Err(EngineError::HistoryUnwritable(failure.error));
        }
        let workflow = self.workflow(&request.workflow_id).await?;

        // A retry finds its execution here. Two first calls racing each
        // other both get past this; the history's unique index on request
        // ids lets one insert and turns the other away below. No lock is
        // held across the insert: one would let only one execution with a
        // request id be accepted per commit of the history.
        if let Some(request_id) = &request.request_id {
            if let Some(existing) = self.execution_by_request_id(request_id).await? {
                return Ok((existing, false));
            }
        }
        let resolved =
            inputs::resolve(&workflow, &request.inputs).map_err(EngineError::InvalidInputs)?;

        let queue_position = {
            let mut scheduler = self.scheduler();
            let waiting = scheduler.queue.len() + scheduler.reserved;
            let free_workers = self
                .config
                .max_concurrent_jobs
                .saturating_sub(scheduler.running);
            if waiting >= self.config.max_queue + free_workers {
                return Err(EngineError::QueueFull {
                    limit: self.config.max_queue,
                });
            }
            scheduler.reserved += 1;
            waiting as u32
        };

        let id = Uuid::now_v7();
        let create_ms = now_ms();
        let new = NewExecution {
            id,
            workflow_id: workflow.metadata.id.clone(),
            workflow_name: workflow.metadata.name.clone(),
            create_ms,
            inputs: resolved.values,
            argv: resolved.argv,
            labels: request.labels,
            request_id: request.request_id,
            timeout_ms: request.timeout.map(|t| t.as_millis() as u64),
            batch_id: request.batch_id,
        };
        let queued = LogEvent {
            sequence: 1,
            time_ms: create_ms,
            payload: LogPayload::Lifecycle(Lifecycle::Queued { queue_position }),
        };
        let created = self
            .writer
            .create_execution(new.clone(), queued.clone())
            .await;
        let rowid = match created {
            Ok(rowid) => rowid,
            Err(e) => {
                self.scheduler().reserved -= 1;
                if let StoreError::DuplicateRequestId(request_id) = &e {
                    // The racing call's insert is committed by now (in this
                    // group or an earlier one).
                    if let Some(existing) = self.execution_by_request_id(request_id).await? {
                        return Ok((existing, false));
                    }
                }
                return Err(e.into());
            }
        };
        let mut counts = LogCounts::default();
        counts.record(&queued.payload);
        let mut record = ExecutionRecord {
            rowid,
            id,
            workflow_id: new.workflow_id,
            workflow_name: new.workflow_name,
            state: ExecutionState::Queued,
            create_ms,
            start_ms: None,
            end_ms: None,
            exit_code: None,
            signal: None,
            error: String::new(),
            inputs: new.inputs,
            argv: new.argv,
            labels: new.labels,
            request_id: new.request_id,
            timeout_ms: new.timeout_ms,
            pid: None,
            pid_start_ticks: None,
            tree: None,
            counts: Some(counts),
            artifacts: Vec::new(),
            batch_id: new.batch_id,
        };
        let active = self.activate(
            id,
            rowid,
            &record.argv,
            request.timeout,
            vec![Arc::new(queued)],
            2,
            ExecutionTree::default(),
            counts,
            Some(record.clone()),
        );
        let started_now = {
            let mut scheduler = self.scheduler();
            scheduler.reserved -= 1;
            scheduler.queue.push_back(active);
            self.dispatch(&mut scheduler)
        };
        if started_now.contains(&id) {
            record.state = ExecutionState::Running;
        }
        Ok((record, true))
    }

    /// The execution started with `request_id`, as [`Engine::execution`]
    /// gives it, if any.
    pub async fn execution_by_request_id(
        &self,
        request_id: &str,
    ) -> Result<Option<ExecutionRecord>, EngineError> {
        let key = request_id.to_string();
        match self.read(move |r| r.execution_by_request_id(&key)).await? {
            Some(existing) => Ok(Some(self.with_live_state(existing).await)),
            None => Ok(None),
        }
    }

    /// Registers an active execution and opens its live channel, holding
    /// `committed` (its latest stored events) for replay.
    #[allow(clippy::too_many_arguments)]
    fn activate(
        &self,
        id: Uuid,
        rowid: i64,
        argv: &[String],
        timeout: Option<Duration>,
        committed: Vec<Arc<LogEvent>>,
        next_sequence: u64,
        tree: ExecutionTree,
        counts: LogCounts,
        accepted: Option<ExecutionRecord>,
    ) -> Arc<ActiveExecution> {
        self.hub.open(rowid, committed, next_sequence);
        let active = Arc::new(ActiveExecution {
            id,
            rowid,
            argv: argv.to_vec(),
            timeout,
            control: Mutex::new(Control {
                phase: Phase::Queued,
                stop: None,
                runner_wake: None,
            }),
            writer: self.writer.clone(),
            log: Mutex::new(ExecutionLog {
                rowid,
                next_sequence,
                tree,
                counts,
                held: Vec::new(),
                started: None,
                artifacts: Vec::new(),
            }),
            accepted,
            ended: OnceLock::new(),
            gone: watch::Sender::new(false),
            program_live: AtomicBool::new(false),
        });
        self.active_map().insert(id, active.clone());
        active
    }

    /// Starts queued executions while workers are free: each is made
    /// ready for an idle worker thread, or a new one. Returns the ids
    /// started.
    fn dispatch(self: &Arc<Self>, scheduler: &mut Scheduler) -> Vec<Uuid> {
        let mut started = Vec::new();
        while !scheduler.shutting_down && scheduler.running < self.config.max_concurrent_jobs {
            let Some(next) = scheduler.queue.pop_front() else {
                break;
            };
            scheduler.running += 1;
            started.push(next.id);
            scheduler.ready.push_back(next);
        }
        self.find_workers(scheduler, started.len());
        started
    }

    /// Blocks a worker thread until the history's queue has room, and
    /// reserves it.
    fn reserve_blocking(&self, writer: &StoreWriter) -> Result<WriteSlot, StoreError> {
        match writer.try_reserve()? {
            Some(slot) => Ok(slot),
            None => self.runtime.block_on(writer.reserve()),
        }
    }

    /// Drops an execution from the active set once its end is committed.
    fn forget(&self, execution: &ActiveExecution) {
        self.active_map().remove(&execution.id);
        execution.gone.send_replace(true);
        self.runners_changed.notify_waiters();
    }

    /// The key of an execution's log (for streaming it), cheaply: from the
    /// active set, else from the history.
    pub async fn log_key(&self, id: &str) -> Result<i64, EngineError> {
        let uuid = parse_id(id)?;
        if let Some(active) = self.active_map().get(&uuid) {
            return Ok(active.rowid);
        }
        self.read(move |r| r.execution_rowid(uuid))
            .await?
            .ok_or_else(|| EngineError::ExecutionNotFound(id.to_string()))
    }

    /// One execution, with live state when it is active.
    pub async fn execution(&self, id: &str) -> Result<ExecutionRecord, EngineError> {
        let uuid = parse_id(id)?;
        let record = self
            .read(move |r| r.execution(uuid))
            .await?
            .ok_or_else(|| EngineError::ExecutionNotFound(id.to_string()))?;
        Ok(self.with_live_state(record).await)
    }

    /// Waits until the execution has ended, then returns it as
    /// [`Engine::execution`] would; at once when it has already ended.
    /// Fails with `LeftQueued` when the daemon stops first and leaves it
    /// queued for the next start.
    pub async fn wait_for_end(&self, id: &str) -> Result<ExecutionRecord, EngineError> {
        let uuid = parse_id(id)?;
        loop {
            let active = self.active_map().get(&uuid).cloned();
            if let Some(active) = active {
                let mut gone = active.gone.subscribe();
                // The sender lives as long as the execution; its drop ends the wait too.
                let _ = gone.wait_for(|gone| *gone).await;
                if let Some(ended) = active.ended.get() {
                    return Ok(ended.clone());
                }
            }
            // Out of the active set, so its end is committed (forget comes
            // after the commit), unless shutdown left it queued.
            let record = self.execution(id).await?;
            match record.state {
                state if state.is_terminal() => return Ok(record),
                ExecutionState::Queued if self.scheduler().shutting_down => {
                    return Err(EngineError::LeftQueued(id.to_string()))
                }
                // Created but not yet active when we looked (its id came
                // from a listing, not from Execute): wait for it now.
                _ if self.active_map().contains_key(&uuid) => {}
                // The runner could not commit the end (it logged why).
                _ => return Err(EngineError::EndNotRecorded(id.to_string())),
            }
        }
    }

    /// Overlays what only the engine knows (state, pid, tree, counts) on a
    /// stored record of an active execution.
    async fn with_live_state(&self, mut record: ExecutionRecord) -> ExecutionRecord {
        if record.state.is_terminal() {
            return record;
        }
        let Some(active) = self.active_map().get(&record.id).cloned() else {
            return record;
        };
        match active.control().phase {
            Phase::Queued => record.state = ExecutionState::Queued,
            Phase::Running { pid, start_ms } => {
                record.state = ExecutionState::Running;
                record.pid = Some(pid);
                record.start_ms = Some(start_ms);
            }
            Phase::CancelledWhileQueued { end_ms } => {
                record.state = ExecutionState::Cancelled;
                record.end_ms = Some(end_ms);
                record.error = CANCELLED_WHILE_QUEUED.into();
            }
        }
        let log = active.log();
        record.tree = Some(log.tree.clone());
        record.counts = Some(log.counts);
        record
    }

    /// A page of executions.
    pub async fn list_executions(
        &self,
        filter: ExecutionFilter,
        cursor: Option<ListCursor>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>, EngineError> {
        let records = self
            .read(move |r| r.list_executions(&filter, cursor, limit))
            .await?;
        let mut live = Vec::with_capacity(records.len());
        for record in records {
            live.push(self.with_live_state(record).await);
        }
        Ok(live)
    }

    /// Cancels an execution. Returns it and whether a cancel was already in
    /// progress.
    pub async fn cancel(
        self: &Arc<Self>,
        id: &str,
        request: CancelRequest,
    ) -> Result<(ExecutionRecord, bool), EngineError> {
        let uuid = parse_id(id)?;
        let active = self.active_map().get(&uuid).cloned();
        let Some(active) = active else {
            let record = self.execution(id).await?;
            return Err(EngineError::AlreadyFinished {
                id: id.to_string(),
                state: record.state,
            });
        };
        let grace = request
            .grace_period
            .unwrap_or(self.config.default_grace_period);
        let stop = StopRequest {
            reason: StopReason::Client,
            grace,
            force: request.force,
        };

        let dequeued = {
            let mut scheduler = self.scheduler();
            let position = scheduler.queue.iter().position(|e| e.id == uuid);
            position.and_then(|p| scheduler.queue.remove(p))
        };
        let already_requested = match dequeued {
            Some(queued) => {
                self.cancel_queued(queued, stop).await;
                false
            }
            None => !active.request_stop(stop),
        };
        let record = self.execution(id).await?;
        Ok((record, already_requested))
    }

    /// Ends an execution that a cancel took off the queue: its end is
    /// numbered now and committed in the background. Returns once it is
    /// committed, or at once while the history cannot be written (a full
    /// disk): like a cancel of a running execution, which never waits for
    /// the history, it answers, and readers see the execution CANCELLED
    /// meanwhile. Off the queue, it can no longer start either way.
    async fn cancel_queued(self: &Arc<Self>, queued: Arc<ActiveExecution>, stop: StopRequest) {
        let end = queued.log().number_end(
            vec![LogPayload::Lifecycle(Lifecycle::CancelRequested {
                grace_ms: stop.grace.as_millis() as u64,
                force: stop.force,
                reason: stop.reason,
            })],
            Ending::without_exit(ExecutionState::Cancelled, CANCELLED_WHILE_QUEUED.into()),
        );
        {
            let mut control = queued.control();
            control.phase = Phase::CancelledWhileQueued {
                end_ms: end.outcome.end_ms,
            };
            // A repeated cancel says it was already requested.
            control.stop = Some(stop);
        }
        let mut gone = queued.gone.subscribe();
        let engine = self.clone();
        tokio::spawn(async move {
            if let Err(e) = queued.store_end(end).await {
                tracing::error!(execution = %queued.id, error = %e, "could not record the cancel of a queued execution");
            }
            engine.forget(&queued);
        });
        tokio::select! {
            _ = gone.wait_for(|gone| *gone) => {}
            () = self.writer.failing() => {}
        }
    }

    /// Daemon-wide counts.
    pub async fn status(&self) -> Result<EngineStatus, EngineError> {
        let midnight = local_midnight_ms();
        let counts = self.read(move |r| r.state_counts(midnight)).await?;
        let today = counts.ended_since;
        let (running, queued) = {
            let scheduler = self.scheduler();
            (scheduler.running, scheduler.queue.len())
        };
        let today_in = |states: &[ExecutionState]| -> u64 {
            states
                .iter()
                .map(|s| today.get(s.as_str()).copied().unwrap_or(0))
                .sum()
        };
        Ok(EngineStatus {
            max_workers: self.config.max_concurrent_jobs,
            max_queue: self.config.max_queue,
            running,
            queued,
            succeeded_today: today_in(&[ExecutionState::Succeeded]),
            failed_today: today_in(&[
                ExecutionState::Failed,
                ExecutionState::TimedOut,
                ExecutionState::Interrupted,
            ]),
            totals_by_state: counts.totals,
            history_write_failure: self.writer.write_failure(),
        })
    }

    /// Stops taking work, stops running executions through the graceful
    /// path (they end INTERRUPTED), leaves queued ones QUEUED in the history
    /// for the next start, and flushes the history.
    pub async fn shutdown(&self) {
        let queued: Vec<Arc<ActiveExecution>> = {
            let mut scheduler = self.scheduler();
            scheduler.shutting_down = true;
            scheduler.queue.drain(..).collect()
        };
        // Idle worker threads end; busy ones end after their execution.
        self.work_ready.notify_all();
        for execution in &queued {
            self.active_map().remove(&execution.id);
            self.hub.close(execution.rowid);
            execution.gone.send_replace(true);
        }
        let stop = StopRequest {
            reason: StopReason::Shutdown,
            grace: self.config.shutdown_grace_period,
            force: false,
        };
        let running: Vec<Arc<ActiveExecution>> = self.active_map().values().cloned().collect();
        for execution in &running {
            execution.request_stop(stop);
        }
        // Each runner needs at most the grace period plus its own clean-up.
        // While the history cannot be written (a full disk), a runner whose
        // program is gone may wait for room for its end for ever; once no
        // program is live there is nothing left to stop, so the wait ends
        // there (what the history did not get is given up below).
        let deadline = tokio::time::Instant::now()
            + self.config.shutdown_grace_period
            + Duration::from_secs(10);
        loop {
            let changed = self.runners_changed.notified();
            let running = self.scheduler().running;
            if running == 0 {
                break;
            }
            let failing = self.writer.write_failure().is_some();
            if failing && !self.any_program_live() {
                tracing::warn!(
                    running,
                    "the history cannot be written: not waiting for the ends of executions whose programs are gone"
                );
                break;
            }
            tokio::select! {
                changed = tokio::time::timeout_at(deadline, changed) => {
                    if changed.is_err() {
                        tracing::error!(running, "executions still running at the end of shutdown");
                        break;
                    }
                }
                () = self.writer.failing(), if !failing => {}
            }
        }
        // A history that cannot be written (a full disk) would hold the
        // final flush, and the shutdown, for ever: after another grace
        // period the writer gives up what it could not write.
        let flushed =
            tokio::time::timeout(self.config.shutdown_grace_period, self.writer.barrier()).await;
        let flushed = match flushed {
            Ok(flushed) => flushed,
            Err(_) => {
                tracing::error!(
                    "the history could not be written during shutdown; what is not written yet is lost"
                );
                self.writer.stop_retrying();
                self.writer.barrier().await
            }
        };
        if let Err(e) = flushed {
            tracing::error!(error = %e, "final history flush failed");
        }
    }
}

impl Engine {
    /// Whether the program of any active execution may be running.
    fn any_program_live(&self) -> bool {
        self.active_map()
            .values()
            .any(|execution| execution.program_live.load(Ordering::SeqCst))
    }

    /// Stops the history writer after everything queued so far; call last.
    pub async fn close_history(&self) -> Result<(), crate::store::StoreError> {
        self.writer.close().await
    }
}

fn parse_id(id: &str) -> Result<Uuid, EngineError> {
    Uuid::parse_str(id).map_err(|_| EngineError::InvalidExecutionId(id.to_string()))
}
