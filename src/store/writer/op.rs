//! The write operations the history writer takes, one kind per thing the
//! engine, the drop folders and retention store.

use std::sync::Arc;

use tokio::sync::oneshot;

use crate::events::LogEvent;
use crate::store::{
    AuditRecord, DropFileWrite, FinalOutcome, NewExecution, PruneStep, ScheduleWrite, StoreError,
    TokenWrite, WebhookWrite,
};

/// One write to the history.
#[derive(Debug)]
pub(crate) enum WriteOp {
    /// Stores a newly accepted execution with its first log event (queued),
    /// atomically; replies with its row id.
    CreateExecution {
        /// The execution.
        execution: Box<NewExecution>,
        /// Its first log event.
        first_event: LogEvent,
        /// Gets the row id, after commit.
        reply: oneshot::Sender<Result<i64, StoreError>>,
    },
    /// Appends log events in sequence order (and records an artifact for
    /// each state_file_created).
    Append {
        /// Row id of the execution.
        execution: i64,
        /// The events; published to live subscribers after commit.
        events: Vec<Arc<LogEvent>>,
    },
    /// Marks a queued execution RUNNING before its program is spawned,
    /// without a pid yet: a daemon that dies before the `started` commit
    /// leaves it to be INTERRUPTED at the next start, not run again.
    MarkStarting {
        /// Row id.
        execution: i64,
        /// Signalled after commit.
        committed: oneshot::Sender<()>,
    },
    /// Marks an execution RUNNING and appends its `started` event.
    MarkStarted {
        /// Row id.
        execution: i64,
        /// Start time.
        start_ms: i64,
        /// Process id (= process group id).
        pid: i32,
        /// Process start time, to recognise it after a crash.
        pid_start_ticks: Option<u64>,
        /// The `started` event; published after commit.
        started: Arc<LogEvent>,
    },
    /// Stores the final state and appends the last events, ending with the
    /// terminal `finished`, in one transaction: a subscriber woken by
    /// `finished` reads the final state.
    MarkFinished {
        /// Row id.
        execution: i64,
        /// How it ended.
        outcome: Box<FinalOutcome>,
        /// The last events; published after commit.
        events: Vec<Arc<LogEvent>>,
        /// Signalled after commit.
        committed: oneshot::Sender<()>,
    },
    /// Commits everything queued before it and stops the writer; replies
    /// once the history is closed.
    Close {
        /// Signalled after the final commit.
        reply: oneshot::Sender<()>,
    },
    /// Changes the drop-folder ledger; replies after commit.
    DropFile {
        /// The change.
        write: Box<DropFileWrite>,
        /// Gets the outcome, after commit.
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Changes the schedules or records a run; replies after commit.
    Schedule {
        /// The change.
        write: Box<ScheduleWrite>,
        /// Gets the outcome, after commit.
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Changes the webhooks or their deliveries; replies after commit.
    Webhook {
        /// The change.
        write: Box<WebhookWrite>,
        /// Gets the outcome, after commit.
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Appends to the audit log; replies after commit.
    Audit {
        /// The event.
        event: Box<AuditRecord>,
        /// Gets the outcome, after commit.
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Creates or revokes an API token; replies after commit.
    Token {
        /// The change.
        write: Box<TokenWrite>,
        /// Gets the outcome, after commit.
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Marks an ended attempt settled: no attempt follows it; replies
    /// after commit.
    SettleRetries {
        /// Row id of the attempt.
        execution: i64,
        /// Signalled after commit.
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Deletes one step of the history that ended before a cutoff
    /// (see retention.rs); replies after commit.
    Prune {
        /// Executions that ended before this time (and drop-folder files
        /// finished before it) are deleted.
        ended_before_ms: i64,
        /// Gets what was deleted, after commit.
        reply: oneshot::Sender<Result<PruneStep, StoreError>>,
    },
    /// Replies once everything queued before it is committed.
    Barrier {
        /// Signalled after commit.
        reply: oneshot::Sender<()>,
    },
}

impl WriteOp {
    /// Log events it writes (at least 1, so every operation counts).
    pub(super) fn event_count(&self) -> usize {
        match self {
            WriteOp::Append { events, .. } | WriteOp::MarkFinished { events, .. } => {
                events.len().max(1)
            }
            _ => 1,
        }
    }

    /// The execution it writes to, when it is an existing one.
    pub(super) fn execution(&self) -> Option<i64> {
        match self {
            WriteOp::Append { execution, .. }
            | WriteOp::MarkStarting { execution, .. }
            | WriteOp::MarkStarted { execution, .. }
            | WriteOp::MarkFinished { execution, .. } => Some(*execution),
            _ => None,
        }
    }
}

/// What an operation writes, in a few words, for logs: an operation can
/// hold a thousand log events, too many to print.
impl std::fmt::Display for WriteOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sequences = |events: &[Arc<LogEvent>]| match (events.first(), events.last()) {
            (Some(first), Some(last)) => format!("{}-{}", first.sequence, last.sequence),
            _ => "none".to_string(),
        };
        match self {
            WriteOp::CreateExecution { execution, .. } => {
                write!(f, "the new execution {}", execution.id)
            }
            WriteOp::Append { execution, events } => write!(
                f,
                "{} log events of execution #{execution} (sequences {})",
                events.len(),
                sequences(events)
            ),
            WriteOp::MarkStarting { execution, .. } => {
                write!(f, "the starting of execution #{execution}")
            }
            WriteOp::MarkStarted { execution, .. } => {
                write!(f, "the start of execution #{execution}")
            }
            WriteOp::MarkFinished {
                execution, events, ..
            } => write!(
                f,
                "the end of execution #{execution} (sequences {})",
                sequences(events)
            ),
            WriteOp::Close { .. } => write!(f, "closing the history"),
            WriteOp::DropFile { .. } => write!(f, "a change of the drop-folder ledger"),
            WriteOp::Schedule { .. } => write!(f, "a change of the schedules"),
            WriteOp::Webhook { .. } => write!(f, "a change of the webhooks"),
            WriteOp::Token { .. } => write!(f, "a change of the API tokens"),
            WriteOp::Audit { .. } => write!(f, "an audit event"),
            WriteOp::SettleRetries { execution, .. } => {
                write!(f, "the end of the retries of execution row {execution}")
            }
            WriteOp::Prune {
                ended_before_ms, ..
            } => write!(f, "a retention step (ended before {ended_before_ms} ms)"),
            WriteOp::Barrier { .. } => write!(f, "a barrier"),
        }
    }
}
