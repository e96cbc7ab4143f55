//! The execution engine: accepts executions, queues them FIFO behind a
//! bounded worker pool ([`scheduler`], [`workers`]), runs each as a child
//! process ([`runner`]), cancels them, answers what is running, and
//! recovers after a crash ([`recovery`]).
//!
//! Each active execution ([`active`]) has one log sequencer
//! ([`execution_log`]) that hands out its gap-free sequence numbers, so
//! the order of sequence numbers is the order of writes and of live
//! delivery.

mod accept;
mod active;
mod cancel;
mod commit_cache;
mod drain;
mod error;
mod estimates;
mod execution_log;
mod host_boot;
mod leftovers;
mod line_splitter;
#[cfg(test)]
mod metrics_tests;
mod namespace_quotas;
mod queue;
mod recovery;
mod retention;
mod run_dirs;
mod run_history;
mod runner;
mod scheduler;
mod shutdown;
mod status;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
mod workers;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, MutexGuard};
use serde_json::Value;
use tokio::sync::Notify;
use uuid::Uuid;

pub(crate) use accept::{CheckedStart, ReservedStart};
pub(crate) use error::{AtOnceLimit, EngineError};
pub(crate) use estimates::BatchSummary;
pub(crate) use namespace_quotas::{MostHeld, QueuedLimit};

use active::{Activation, ActiveExecution, Phase, CANCELLED_WHILE_QUEUED};
use scheduler::Scheduler;

use crate::discovery::Catalog;
use crate::events::ExecutionState;
use crate::inputs::{self, ResolvedInputs};
use crate::metrics::{LiveGauge, Metrics};
use crate::program_env::ProgramEnv;
use crate::store::hub::LogHub;
use crate::store::reader::StateCounts;
use crate::store::{
    BatchCounts, ExecutionFilter, ExecutionRecord, ListCursor, ScheduledBy, StoreError,
    StoreReader, StoreWriter, WriteSlot,
};
use crate::workflow::DiscoveredWorkflow;
use commit_cache::CommitCache;

/// Ends announced and not yet received that a receiver may fall behind by.
const ENDED_BACKLOG: usize = 4096;

/// Settings of the engine.
#[derive(Debug, Clone)]
pub(crate) struct EngineConfig {
    /// Executions running at once.
    pub(crate) max_concurrent_jobs: usize,
    /// Executions waiting beyond the running ones.
    pub(crate) max_queue: usize,
    /// Where each execution gets its working directory (empty ones are
    /// recycled through `.spare/`, see `run_dirs.rs`).
    pub(crate) runs_dir: PathBuf,
    /// Grace between SIGTERM and SIGKILL when a cancel does not say.
    pub(crate) default_grace_period: Duration,
    /// Grace given to running executions when the daemon shuts down.
    pub(crate) shutdown_grace_period: Duration,
    /// The environment programs start with (plus their own variables).
    pub(crate) program_env: Arc<ProgramEnv>,
    /// Where manifest runs write their outputs (config `output_dir`): the
    /// partial outputs a killed program left here are removed
    /// (`engine/leftovers.rs`).
    pub(crate) output_dir: PathBuf,
    /// Where executions, the queue and the workers are counted (and the
    /// history writer and discovery, which the engine reports for).
    pub(crate) metrics: Metrics,
    /// The retry policy of each workflow's executions when Execute (or a
    /// schedule) gives none (config `retry_policies`); see
    /// [`Engine::retry_default`].
    pub(crate) retry_defaults: BTreeMap<String, crate::retry_policy::RetryPolicy>,
    /// Resource limits of the programs: defaults, per workflow, and the
    /// most a call may ask for (config `program_limits`).
    pub(crate) program_limits: crate::program_limits::LimitSettings,
    /// Kills the programs' process groups if the daemon dies
    /// ([`crate::guardian`]); None: config `kill_programs_with_daemon`
    /// is false, or it could not be started.
    pub(crate) guardian: Option<Arc<crate::guardian::Guardian>>,
    /// The daemon's control groups, when it may create them: each run
    /// with limits gets one ([`crate::cgroups`]).
    pub(crate) cgroups: Option<Arc<crate::cgroups::Cgroups>>,
    /// `workflow-exec`, which sets up a program's start and execs it, so
    /// the spawn stays posix_spawn ([`crate::exec_shim`]); None: std's
    /// `pre_exec` does it.
    pub(crate) exec_shim: Option<PathBuf>,
    /// The namespaces: which workflows each has, its quotas and maximums.
    pub(crate) namespaces: Arc<crate::namespaces::Namespaces>,
    /// Where the bundled workflows are (they belong to every namespace).
    pub(crate) bundled_workflows_dir: PathBuf,
    /// Where the host's boot id is kept between starts (`host_boot.rs`).
    pub(crate) boot_id_file: PathBuf,
    /// How long a worker thread waits for work before it ends, and how
    /// many idle ones wait on without end (`workers.rs`).
    pub(crate) idle_workers: IdleWorkers,
    /// Whether each execution's RUNNING is committed before its program
    /// is spawned: with a history other daemons may take over
    /// (PostgreSQL), which cannot see this host's run directories. With
    /// SQLite a run directory made before the spawn tells the next start
    /// the same while the program runs, for free (`recovery.rs`; the gap
    /// left is in docs/architecture.md).
    pub(crate) running_committed_before_spawn: bool,
}

/// How idle worker threads end: a burst of executions starts a thread
/// each, and each one's stack and read buffer stay resident while it
/// waits, so those beyond `kept` end after `timeout` without work.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdleWorkers {
    pub(crate) timeout: Duration,
    pub(crate) kept: usize,
}

impl Default for IdleWorkers {
    /// Beyond two, idle workers end after ten seconds without work (as
    /// tokio's blocking threads do): a daemon that ran 1,000 programs at
    /// once gives their threads' memory back (bench/load.rs), while one
    /// or two at a time keep finding a thread waiting.
    fn default() -> Self {
        IdleWorkers {
            timeout: Duration::from_secs(10),
            kept: 2,
        }
    }
}

/// What a client asks to run.
#[derive(Debug, Clone, Default)]
pub(crate) struct ExecuteRequest {
    /// Workflow id.
    pub(crate) workflow_id: String,
    /// Input values by field name.
    pub(crate) inputs: BTreeMap<String, Value>,
    /// Idempotency key.
    pub(crate) request_id: Option<String>,
    /// Wall-clock limit.
    pub(crate) timeout: Option<Duration>,
    /// Labels.
    pub(crate) labels: BTreeMap<String, String>,
    /// Batch of a manifest run, if any.
    pub(crate) batch_id: Option<String>,
    /// The schedule starting it, if one is.
    pub(crate) scheduled_by: Option<ScheduledBy>,
    /// How it is tried again if it fails.
    pub(crate) retry: Option<crate::retry_policy::RetryPolicy>,
    /// Resource limits the caller asks for; the config's fill the rest.
    pub(crate) limits: crate::program_limits::ProgramLimits,
    /// The namespace to run it in; empty: `default`.
    pub(crate) namespace: String,
}

/// An execution whose end was just committed.
#[derive(Debug, Clone)]
pub(crate) struct EndedExecution {
    /// Its id.
    pub(crate) id: Uuid,
    /// It has a retry policy.
    pub(crate) retries: bool,
    /// It as the history has it, when the runner committed the end (None
    /// on the other ways out: read the history).
    pub(crate) record: Option<Arc<ExecutionRecord>>,
}

/// What a client asks to stop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CancelRequest {
    /// Grace between SIGTERM and SIGKILL; None = the configured default.
    pub(crate) grace_period: Option<Duration>,
    /// SIGKILL at once.
    pub(crate) force: bool,
}

/// Daemon-wide counts for GetStatus.
#[derive(Debug, Clone)]
pub(crate) struct EngineStatus {
    /// Worker pool size.
    pub(crate) max_workers: usize,
    /// Queue limit.
    pub(crate) max_queue: usize,
    /// Running now.
    pub(crate) running: usize,
    /// Waiting now.
    pub(crate) queued: usize,
    /// Succeeded since local midnight.
    pub(crate) succeeded_today: u64,
    /// Failed, timed out or interrupted since local midnight.
    pub(crate) failed_today: u64,
    /// Executions by state, all time.
    pub(crate) totals_by_state: BTreeMap<String, u64>,
    /// Set while the history cannot be written and writes wait.
    pub(crate) history_write_failure: Option<crate::store::writer::WriteFailure>,
}

/// The engine. Cheap to share: wrap it in an `Arc`.
pub(crate) struct Engine {
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
    /// Latest successful runs by workflow, for the estimates.
    run_history: run_history::RunHistory,
    /// GetStatus's counts by state (all, and ended since the midnight that
    /// is the key), as of the writer's latest commit.
    state_counts: CommitCache<i64, StateCounts>,
    /// The same for the latest set of namespaces a caller seeing only
    /// some asked about, with the midnight it was read for.
    namespace_state_counts: CommitCache<(i64, Vec<String>), StateCounts>,
    /// GetStatus's active batches' counts, as of the latest commit.
    active_batch_counts: CommitCache<(), Vec<BatchCounts>>,
    /// Announces each end once it is committed (retries, webhooks).
    ended: tokio::sync::broadcast::Sender<EndedExecution>,
}

impl Engine {
    /// An engine over an open history. Call [`Engine::recover`] before use.
    /// Call within the tokio runtime, which the engine keeps using.
    pub(crate) fn new(
        config: EngineConfig,
        catalog: Arc<Catalog>,
        writer: StoreWriter,
        reader: Arc<StoreReader>,
        hub: Arc<LogHub>,
    ) -> Arc<Self> {
        writer.report_to(&config.metrics);
        catalog.report_to(&config.metrics);
        let namespace_quotas =
            namespace_quotas::NamespaceQuotas::new(&config.namespaces, config.max_queue);
        let engine = Arc::new(Engine {
            run_dirs: run_dirs::RunDirs::new(config.runs_dir.clone()),
            config,
            catalog,
            writer,
            reader,
            hub,
            scheduler: Mutex::new(Scheduler::with_quotas(namespace_quotas)),
            work_ready: Condvar::new(),
            runtime: tokio::runtime::Handle::current(),
            active: Mutex::new(HashMap::new()),
            runners_changed: Notify::new(),
            run_history: run_history::RunHistory::default(),
            state_counts: CommitCache::default(),
            namespace_state_counts: CommitCache::default(),
            active_batch_counts: CommitCache::default(),
            ended: tokio::sync::broadcast::channel(ENDED_BACKLOG).0,
        });
        engine.report_to(&engine.config.metrics);
        engine
    }

    /// Has `metrics` read the queue and the workers at each scrape (a
    /// brief lock of the scheduler), holding the engine weakly.
    fn report_to(self: &Arc<Self>, metrics: &Metrics) {
        let read = |count: fn(&Scheduler, &EngineConfig) -> usize| {
            let engine = Arc::downgrade(self);
            move || {
                engine.upgrade().map_or(0.0, |engine| {
                    count(&engine.scheduler(), &engine.config) as f64
                })
            }
        };
        metrics.observe(LiveGauge::Queued, read(|s, _| s.queue.len()));
        metrics.observe(LiveGauge::Running, read(|s, _| s.running));
        // Each running execution has a thread (or is about to), and so has
        // each idle worker, except those already woken for one of them.
        metrics.observe(
            LiveGauge::Workers,
            read(|s, _| (s.running + s.idle_workers).saturating_sub(s.wakeups)),
        );
        metrics.observe(LiveGauge::WorkersMax, read(|_, c| c.max_concurrent_jobs));
    }

    /// The workflow catalog.
    pub(crate) fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The history reader.
    pub(crate) fn reader(&self) -> &Arc<StoreReader> {
        &self.reader
    }

    /// The live log hub.
    pub(crate) fn hub(&self) -> &Arc<LogHub> {
        &self.hub
    }

    fn scheduler(&self) -> MutexGuard<'_, Scheduler> {
        self.scheduler.lock()
    }

    fn active_map(&self) -> MutexGuard<'_, HashMap<Uuid, Arc<ActiveExecution>>> {
        self.active.lock()
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

    /// The namespace of the batch `batch_id`, if it has executions.
    pub(crate) async fn batch_namespace(
        &self,
        batch_id: &str,
    ) -> Result<Option<String>, EngineError> {
        let batch_id = batch_id.to_string();
        self.read(move |r| r.batch_namespace(&batch_id)).await
    }

    /// The daemon's namespaces.
    pub(crate) fn namespaces(&self) -> &crate::namespaces::Namespaces {
        &self.config.namespaces
    }

    /// The namespaces of the workflow (or discovery failure) at
    /// `program_path`.
    pub(crate) fn namespaces_of(&self, program_path: &std::path::Path) -> Vec<String> {
        self.config
            .namespaces
            .of_workflow(program_path, &self.config.bundled_workflows_dir)
    }

    /// The namespaces of the workflow directory `dir`.
    pub(crate) fn namespaces_of_directory(&self, dir: &std::path::Path) -> Vec<String> {
        self.config
            .namespaces
            .of_directory(dir, &self.config.bundled_workflows_dir)
    }

    /// The workflow `id`, when one of its namespaces is seen by `seen`.
    pub(crate) async fn workflow_seen(
        &self,
        id: &str,
        seen: &crate::namespaces::Visibility,
    ) -> Result<Arc<DiscoveredWorkflow>, EngineError> {
        let workflow = self.workflow(id).await?;
        let namespaces = self.namespaces_of(&workflow.program_path);
        if seen.sees_any(namespaces.iter().map(String::as_str)) {
            Ok(workflow)
        } else {
            Err(EngineError::WorkflowNotFound(id.to_string()))
        }
    }

    /// Validates inputs of a workflow `seen` sees, without running
    /// anything.
    pub(crate) async fn validate(
        &self,
        workflow_id: &str,
        inputs: &BTreeMap<String, Value>,
        seen: &crate::namespaces::Visibility,
    ) -> Result<ResolvedInputs, EngineError> {
        let workflow = self.workflow_seen(workflow_id, seen).await?;
        inputs::resolve(&workflow, inputs).map_err(EngineError::InvalidInputs)
    }

    /// The execution started with `request_id`, as [`Engine::execution`]
    /// gives it, if any.
    pub(crate) async fn execution_by_request_id(
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
    /// its latest stored events for replay.
    fn activate(&self, mut activation: Activation) -> Arc<ActiveExecution> {
        let committed = std::mem::take(&mut activation.committed);
        self.hub
            .open(activation.rowid, committed, activation.next_sequence);
        let metrics = self.config.metrics.execution(&activation.workflow_id);
        let active = Arc::new(ActiveExecution::new(
            activation,
            self.writer.clone(),
            metrics,
        ));
        self.active_map().insert(active.id, active.clone());
        active
    }

    /// Blocks a worker thread until the history's queue has room, and
    /// reserves it.
    fn reserve_blocking(&self, writer: &StoreWriter) -> Result<WriteSlot, StoreError> {
        match writer.try_reserve()? {
            Some(slot) => Ok(slot),
            None => self.runtime.block_on(writer.reserve()),
        }
    }

    /// Drops an execution from the active set once its end is committed,
    /// and announces the end.
    fn forget(&self, execution: &ActiveExecution) {
        self.active_map().remove(&execution.id);
        execution.gone.send_replace(true);
        self.runners_changed.notify_waiters();
        // No receiver is not an error: nothing is listening.
        let _ = self.ended.send(EndedExecution {
            id: execution.id,
            retries: execution.retries,
            record: execution.ended.get().cloned(),
        });
    }

    /// Ends announced from now on. A receiver that falls more than
    /// [`ENDED_BACKLOG`] behind is told it lagged and must look in the
    /// history for what it missed.
    pub(crate) fn subscribe_ends(&self) -> tokio::sync::broadcast::Receiver<EndedExecution> {
        self.ended.subscribe()
    }

    /// The keys of an execution's log (for streaming it), cheaply: its id
    /// and its row in the history, from the active set, else from the
    /// history.
    pub(crate) async fn log_key(&self, id: &str) -> Result<(Uuid, i64), EngineError> {
        let uuid = parse_id(id)?;
        if let Some(active) = self.active_map().get(&uuid) {
            return Ok((uuid, active.rowid));
        }
        self.read(move |r| r.execution_rowid(uuid))
            .await?
            .map(|rowid| (uuid, rowid))
            .ok_or_else(|| EngineError::ExecutionNotFound(id.to_string()))
    }

    /// One execution, with live state when it is active.
    pub(crate) async fn execution(&self, id: &str) -> Result<ExecutionRecord, EngineError> {
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
    pub(crate) async fn wait_for_end(&self, id: &str) -> Result<ExecutionRecord, EngineError> {
        let uuid = parse_id(id)?;
        loop {
            let active = self.active_map().get(&uuid).cloned();
            if let Some(active) = active {
                let mut gone = active.gone.subscribe();
                // The sender lives as long as the execution; its drop ends the wait too.
                let _ = gone.wait_for(|gone| *gone).await;
                if let Some(ended) = active.ended.get() {
                    return Ok(ExecutionRecord::clone(ended));
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
    pub(crate) async fn list_executions(
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
}

impl Engine {
    /// Stops the history writer after everything queued so far; call last.
    pub(crate) async fn close_history(&self) -> Result<(), crate::store::StoreError> {
        self.writer.close().await
    }
}

fn parse_id(id: &str) -> Result<Uuid, EngineError> {
    Uuid::parse_str(id).map_err(|_| EngineError::InvalidExecutionId(id.to_string()))
}
