//! The history: executions, their inputs, labels, log events and artifacts
//! in one SQLite file (WAL mode).
//!
//! All writes go through one writer thread ([`writer`]) that commits in
//! groups, so a program printing hundreds of thousands of lines a second is
//! not held to the disk's commit rate, and every event is durable within one
//! group commit. Subscribers are told of an event only after it is committed
//! ([`hub`]), which is what makes replay-then-follow gap-free. Reads use a
//! small pool of read-only connections ([`reader`]).

mod codec;
pub mod drop_files;
pub mod hub;
pub mod reader;
pub mod retention;
mod schema;
pub mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use uuid::Uuid;

use crate::events::{ExecutionState, LogCounts};
use crate::tree::ExecutionTree;

pub use drop_files::{DropFileCounts, DropFileRecord, DropFileState, DropFileWrite};
pub use reader::{ExecutionFilter, ListCursor, StoreReader};
pub use retention::PruneStep;
pub use writer::{StoreWriter, WriteOp, WriteSlot};

/// The history as a daemon uses it: the single writer (and its thread),
/// the pool of readers, and the hub that delivers committed events live.
pub struct History {
    /// Delivers each event once it is committed.
    pub hub: Arc<hub::LogHub>,
    /// The one writer.
    pub writer: StoreWriter,
    /// The writer's thread; it ends once every writer handle is dropped
    /// and the queue is drained.
    pub writer_thread: std::thread::JoinHandle<()>,
    /// Read-only connections.
    pub reader: Arc<StoreReader>,
}

impl History {
    /// Opens (creating and migrating) the database at `path`, starts its
    /// writer and opens its readers.
    pub fn open(path: &Path) -> Result<History, StoreError> {
        let hub = Arc::new(hub::LogHub::default());
        let (writer, writer_thread) = StoreWriter::start(path, hub.clone())?;
        let reader = Arc::new(StoreReader::open(path)?);
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
    /// The writer thread has stopped (the daemon is shutting down).
    #[error("the history writer has stopped")]
    WriterStopped,
    /// A stored row could not be decoded.
    #[error("corrupt history row: {0}")]
    Corrupt(String),
}

/// What is stored when an execution is accepted.
#[derive(Debug, Clone, Default)]
pub struct NewExecution {
    /// Its id.
    pub id: Uuid,
    /// Workflow id.
    pub workflow_id: String,
    /// Workflow name at the time.
    pub workflow_name: String,
    /// Accept time.
    pub create_ms: i64,
    /// Resolved inputs.
    pub inputs: BTreeMap<String, String>,
    /// argv, program first.
    pub argv: Vec<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Idempotency key.
    pub request_id: Option<String>,
    /// Wall-clock limit.
    pub timeout_ms: Option<u64>,
    /// Batch of a manifest run, if any.
    pub batch_id: Option<String>,
}

/// How an execution ended.
#[derive(Debug, Clone)]
pub struct FinalOutcome {
    /// Terminal state.
    pub state: ExecutionState,
    /// End time.
    pub end_ms: i64,
    /// Exit code, when it exited.
    pub exit_code: Option<i32>,
    /// Signal, when one ended it.
    pub signal: Option<i32>,
    /// Error text.
    pub error: String,
    /// The tree at the end.
    pub tree: ExecutionTree,
    /// Log counts at the end.
    pub counts: LogCounts,
}

/// A state file reported by an execution.
#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactRecord {
    /// Phase that produced it.
    pub phase: i32,
    /// Path.
    pub path: String,
    /// Description.
    pub description: String,
    /// When it was recorded.
    pub time_ms: i64,
}

/// An execution as stored.
#[derive(Debug, Clone)]
pub struct ExecutionRecord {
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
}
