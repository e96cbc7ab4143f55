//! The history: executions, their inputs, labels, log events and artifacts
//! (and the ledger, schedules, webhooks, tokens, audit) in one SQLite file
//! (WAL mode), or in a PostgreSQL database with `--database` (one SQL
//! interface over both: [`db`]; docs/postgres.md).
//!
//! All writes go through one writer thread ([`writer`]) that commits in
//! groups, so a program printing hundreds of thousands of lines a second is
//! not held to the disk's commit rate, and every event is durable within one
//! group commit. Subscribers are told of an event only after it is committed
//! ([`hub`]), which is what makes replay-then-follow gap-free. Reads use a
//! small pool of read-only connections ([`reader`]).

pub(crate) mod audit;
mod codec;
mod connect;
pub(crate) mod daemon_registry;
pub(crate) mod db;
pub(crate) mod drop_files;
pub(crate) mod hub;
pub(crate) mod import;
pub(crate) mod log_pages;
mod namespace_counts;
pub(crate) mod reader;
pub(crate) mod retention;
mod retries;
pub(crate) mod run_stats;
pub(crate) mod schedules;
mod schema;
#[cfg(test)]
pub(crate) mod testing;
pub(crate) mod tokens;
pub(crate) mod webhooks;
pub(crate) mod writer;
pub(crate) mod writer_claim;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use uuid::Uuid;

use crate::events::{ExecutionState, LogCounts};
use crate::program_limits::{ProgramLimits, ProgramUsage};
use crate::tree::ExecutionTree;

pub(crate) use audit::AuditRecord;
pub(crate) use db::Database;
pub(crate) use drop_files::{DropFileRecord, DropFileState, DropFileWrite};
pub(crate) use reader::{ExecutionFilter, ListCursor, StoreReader};
pub(crate) use retention::PruneStep;
pub(crate) use run_stats::{BatchCounts, SuccessfulRun};
pub(crate) use schedules::{RunOutcome, ScheduleRecord, ScheduleRunRecord, ScheduleWrite};
pub(crate) use tokens::{TokenRecord, TokenWrite};
pub(crate) use webhooks::{
    DeliveryRecord, DeliveryState, Notification, WebhookRecord, WebhookWrite, HANDED_OVER_MS,
};
pub(crate) use writer::{StoreWriter, WriteOp, WriteSlot};

/// The history as a daemon uses it: the single writer (and its thread),
/// the pool of readers, and the hub that delivers committed events live.
pub(crate) struct History {
    /// Delivers each event once it is committed.
    pub(crate) hub: Arc<hub::LogHub>,
    /// The one writer.
    pub(crate) writer: StoreWriter,
    /// The writer's thread; it ends once every writer handle is dropped
    /// and the queue is drained.
    pub(crate) writer_thread: std::thread::JoinHandle<()>,
    /// Read-only connections.
    pub(crate) reader: Arc<StoreReader>,
}

impl History {
    /// Opens (creating and migrating) the database, starts its writer and
    /// opens its readers.
    pub(crate) fn open(database: &Database) -> Result<History, StoreError> {
        let hub = Arc::new(hub::LogHub::default());
        let (writer, writer_thread) = StoreWriter::start(database, hub.clone())?;
        let reader = Arc::new(StoreReader::open(database)?);
        Ok(History {
            hub,
            writer,
            writer_thread,
            reader,
        })
    }
}

/// Errors of the history.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("history database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The PostgreSQL server could not be reached or refused the login.
    #[error("cannot connect to the history at {database}: {}", with_causes(source))]
    Connect {
        /// The URL, without its password.
        database: String,
        /// Why.
        source: tokio_postgres::Error,
    },
    /// PostgreSQL failed.
    #[error("history database error: {}", with_causes(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// The data directory could not be prepared.
    #[error("cannot prepare the history database at {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database was written by a newer daemon.
    #[error("history database schema version {found} is newer than this daemon understands ({supported})")]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// An execution with this request id already exists.
    #[error("an execution with request_id {0:?} already exists")]
    DuplicateRequestId(String),
    /// A schedule with this id already exists.
    #[error("a schedule with id {0:?} already exists")]
    ScheduleExists(String),
    /// No schedule has this id.
    #[error("no schedule with id {0:?}")]
    ScheduleNotFound(String),
    /// No webhook has this id.
    #[error("no webhook with id {0:?}")]
    WebhookNotFound(String),
    /// No API token has this id.
    #[error("no API token with id {0:?}")]
    TokenNotFound(String),
    /// Another daemon writes this PostgreSQL history: this build runs one
    /// daemon per database (it recovers, retries and schedules as if the
    /// history were its own).
    #[error(
        "another workflowd is using the history at {0}; run one daemon per database \
         (or give this one its own database)"
    )]
    InUseByAnotherDaemon(String),
    /// A standby took the history over while this daemon's connection to
    /// it was lost: the work is the standby's now.
    #[error(
        "another workflowd took over the history at {0} while this daemon's connection \
         to it was lost"
    )]
    TakenOver(String),
    /// A statement failed inside a PostgreSQL transaction and the work
    /// went on without it: the transaction was rolled back, not kept.
    #[error("a history statement failed inside a transaction; nothing of it was kept")]
    StatementFailedInTransaction,
    /// A history is imported only into a database that holds none.
    #[error(
        "the PostgreSQL database already holds a history (executions, schedules, webhooks, \
         tokens, drop-folder files or audit events); import into an empty one"
    )]
    ImportTargetNotEmpty,
    /// A history is imported into PostgreSQL only.
    #[error(
        "--import-history copies a SQLite history into PostgreSQL: give --database postgres://..."
    )]
    ImportNeedsPostgres,
    /// The writer thread has stopped (the daemon is shutting down).
    #[error("the history writer has stopped")]
    WriterStopped,
    /// A stored row could not be decoded.
    #[error("corrupt history row: {0}")]
    Corrupt(String),
}

/// A PostgreSQL error with what caused it: the client's own message is
/// only its kind ("db error"), the server's message is its source.
fn with_causes(error: &tokio_postgres::Error) -> String {
    let mut message = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(source) = cause {
        message.push_str(": ");
        message.push_str(&source.to_string());
        cause = source.source();
    }
    message
}

/// What is stored when an execution is accepted.
#[derive(Debug, Clone, Default)]
pub(crate) struct NewExecution {
    /// Its id.
    pub(crate) id: Uuid,
    /// Workflow id.
    pub(crate) workflow_id: String,
    /// Workflow name at the time.
    pub(crate) workflow_name: String,
    /// Accept time.
    pub(crate) create_ms: i64,
    /// Resolved inputs.
    pub(crate) inputs: BTreeMap<String, String>,
    /// argv, program first.
    pub(crate) argv: Vec<String>,
    /// Labels.
    pub(crate) labels: BTreeMap<String, String>,
    /// Idempotency key.
    pub(crate) request_id: Option<String>,
    /// Wall-clock limit.
    pub(crate) timeout_ms: Option<u64>,
    /// Resource limits of its program.
    pub(crate) limits: ProgramLimits,
    /// Batch of a manifest run, if any.
    pub(crate) batch_id: Option<String>,
    /// The schedule that started it, if one did.
    pub(crate) scheduled_by: Option<ScheduledBy>,
    /// Its retry policy and which attempt it is, if it has one.
    pub(crate) retry: Option<RetryAttempt>,
    /// The namespace it was started in.
    pub(crate) namespace: String,
}

/// An execution's place among the attempts of a retry policy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RetryAttempt {
    /// The policy.
    pub(crate) policy: crate::retry_policy::RetryPolicy,
    /// 1 for the first attempt.
    pub(crate) attempt: u32,
    /// The first attempt, for the later ones.
    pub(crate) first_attempt: Option<Uuid>,
    /// The attempt this one follows (its row), linked to this one in the
    /// transaction that stores this one.
    pub(crate) previous_rowid: Option<i64>,
    /// The attempt started after this one, once it is.
    pub(crate) next_attempt: Option<Uuid>,
    /// No attempt will follow (the last, a non-retryable exit, a Cancel).
    pub(crate) settled: bool,
}

/// The schedule that started an execution, and the time it fell due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScheduledBy {
    /// The schedule id.
    pub(crate) schedule_id: String,
    /// When it fell due (or was triggered), ms since the epoch.
    pub(crate) scheduled_ms: i64,
}

/// How an execution ended.
#[derive(Debug, Clone)]
pub(crate) struct FinalOutcome {
    /// Terminal state.
    pub(crate) state: ExecutionState,
    /// End time.
    pub(crate) end_ms: i64,
    /// Exit code, when it exited.
    pub(crate) exit_code: Option<i32>,
    /// Signal, when one ended it.
    pub(crate) signal: Option<i32>,
    /// Error text.
    pub(crate) error: String,
    /// What the program used, when it ran and was reaped.
    pub(crate) usage: Option<ProgramUsage>,
    /// The tree at the end.
    pub(crate) tree: ExecutionTree,
    /// Log counts at the end.
    pub(crate) counts: LogCounts,
}

/// A state file reported by an execution.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ArtifactRecord {
    /// Phase that produced it.
    pub(crate) phase: i32,
    /// Path.
    pub(crate) path: String,
    /// Description.
    pub(crate) description: String,
    /// When it was recorded.
    pub(crate) time_ms: i64,
}

/// An execution as stored.
#[derive(Debug, Clone)]
pub(crate) struct ExecutionRecord {
    /// Internal key used by log rows.
    pub rowid: i64,
    /// Public id.
    pub id: Uuid,
    /// Workflow id.
    pub workflow_id: String,
    /// Workflow name.
    pub workflow_name: String,
    /// State.
    pub state: ExecutionState,
    /// Accept time.
    pub create_ms: i64,
    /// Start time.
    pub start_ms: Option<i64>,
    /// End time.
    pub end_ms: Option<i64>,
    /// Exit code.
    pub exit_code: Option<i32>,
    /// Signal.
    pub signal: Option<i32>,
    /// Error text.
    pub error: String,
    /// Inputs.
    pub inputs: BTreeMap<String, String>,
    /// argv.
    pub argv: Vec<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Idempotency key.
    pub request_id: Option<String>,
    /// Wall-clock limit.
    pub timeout_ms: Option<u64>,
    /// Resource limits of its program.
    pub limits: ProgramLimits,
    /// What its program used (None until it ended, or when it never ran).
    pub usage: Option<ProgramUsage>,
    /// Process id while running (and after a crash, for reaping).
    pub pid: Option<i32>,
    /// Start time of that process, to recognise it after pid reuse.
    pub pid_start_ticks: Option<u64>,
    /// Tree saved at the end (None while active).
    pub tree: Option<ExecutionTree>,
    /// Counts saved at the end (None while active).
    pub counts: Option<LogCounts>,
    /// Artifacts (loaded only for single-execution reads).
    pub artifacts: Vec<ArtifactRecord>,
    /// Batch of a manifest run, if any.
    pub batch_id: Option<String>,
    /// The schedule that started it, if one did.
    pub scheduled_by: Option<ScheduledBy>,
    /// Its retry policy and which attempt it is, if it has one.
    pub retry: Option<RetryAttempt>,
    /// The namespace it was started in.
    pub namespace: String,
}

impl ExecutionRecord {
    /// The execution `new` as the history holds it once accepted: QUEUED
    /// under `rowid`, with the log counts of its first event.
    pub(crate) fn accepted(rowid: i64, new: NewExecution, counts: LogCounts) -> Self {
        ExecutionRecord {
            rowid,
            id: new.id,
            workflow_id: new.workflow_id,
            workflow_name: new.workflow_name,
            state: ExecutionState::Queued,
            create_ms: new.create_ms,
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
            limits: new.limits,
            usage: None,
            pid: None,
            pid_start_ticks: None,
            tree: None,
            counts: Some(counts),
            artifacts: Vec::new(),
            batch_id: new.batch_id,
            scheduled_by: new.scheduled_by,
            retry: new.retry,
            namespace: new.namespace,
        }
    }
}
