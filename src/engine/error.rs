//! Errors of the execution engine. The API maps each variant to one gRPC
//! code in `api::status`.

use super::{MostHeld, QueuedLimit};
use crate::events::ExecutionState;
use crate::inputs::FieldViolation;
use crate::program_limits::LimitProblem;
use crate::store::StoreError;

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No discovered workflow has this id.
    #[error("workflow {0:?} not found")]
    WorkflowNotFound(String),
    /// No execution has this id.
    #[error("execution {0:?} not found")]
    ExecutionNotFound(String),
    /// The execution id is not a UUID.
    #[error("execution_id {0:?} is not a valid UUID")]
    InvalidExecutionId(String),
    /// One or more inputs are invalid.
    #[error("{} invalid input(s): {}", .0.len(), summarize(.0))]
    InvalidInputs(Vec<FieldViolation>),
    /// One or more resource limits asked for are zero or above the
    /// daemon's or the namespace's maximum.
    #[error("{} invalid limit(s): {}", .0.len(), summarize_limits(.0))]
    InvalidLimits(Vec<LimitProblem>),
    /// The queue is full.
    #[error("the execution queue is full ({limit} waiting); retry later")]
    QueueFull {
        /// The configured limit.
        limit: usize,
    },
    /// The namespace has as many executions waiting as it may.
    #[error(
        "namespace {namespace} has {} executions waiting, its most ({}); retry later",
        .limit.limit(),
        queued_setting(namespace, limit)
    )]
    NamespaceQueueFull {
        /// The namespace.
        namespace: String,
        /// Its `max_queued`, or the default one.
        limit: QueuedLimit,
    },
    /// More executions asked to be queued together (a manifest's VMs)
    /// than can ever hold places at once: retrying cannot help.
    #[error(
        "{count} executions started together can never all have a place at once: {}; \
         submit fewer at a time or raise those settings",
        most_places(.limit)
    )]
    TooManyAtOnce {
        /// How many asked for places.
        count: usize,
        /// What bounds them.
        limit: AtOnceLimit,
    },
    /// No namespace of this name is configured.
    #[error("namespace {0:?} is not configured in this daemon")]
    UnknownNamespace(String),
    /// The daemon is shutting down and takes no new work.
    #[error("the daemon is shutting down")]
    ShuttingDown,
    /// The history cannot be written now (a full disk), so a new execution
    /// could not be stored.
    #[error("the history cannot be written ({0}); no new executions are accepted until it can; retry later")]
    HistoryUnwritable(String),
    /// The execution has already ended.
    #[error("execution {id} has already finished ({})", .state.as_str())]
    AlreadyFinished {
        /// The execution.
        id: String,
        /// Its final state.
        state: ExecutionState,
    },
    /// The daemon is shutting down and leaves the execution queued.
    #[error(
        "the daemon is shutting down with execution {0} still queued; it runs at the next start"
    )]
    LeftQueued(String),
    /// History retention deleted the execution while its log was being
    /// streamed: what is left of it cannot be sent without a gap.
    #[error("execution {0} was deleted by history retention while its log was being streamed")]
    LogDeleted(String),
    /// The execution ended but the history could not record how.
    #[error("execution {0} ended, but its end could not be recorded (see the daemon's log)")]
    EndNotRecorded(String),
    /// The history failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blocking history read panicked or was cancelled.
    #[error("history read failed: {0}")]
    ReadTask(#[from] tokio::task::JoinError),
}

/// What bounds how many executions can have places at once
/// ([`EngineError::TooManyAtOnce`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtOnceLimit {
    /// The daemon's queue and workers.
    Daemon {
        /// `max_queue`.
        max_queue: usize,
        /// `max_concurrent_jobs`.
        workers: usize,
    },
    /// The namespace's waiting and running limits.
    Namespace {
        /// The namespace.
        namespace: String,
        /// Its limits.
        most: MostHeld,
    },
}

fn most_places(limit: &AtOnceLimit) -> String {
    match limit {
        AtOnceLimit::Daemon { max_queue, workers } => format!(
            "the daemon holds at most {} (config max_queue {max_queue} waiting + \
             max_concurrent_jobs {workers} running)",
            max_queue + workers
        ),
        AtOnceLimit::Namespace { namespace, most } => {
            let queued = match most.queued {
                QueuedLimit::Configured(limit) => {
                    format!("config namespaces.{namespace}.max_queued {limit}")
                }
                QueuedLimit::DefaultShare {
                    limit,
                    max_queue,
                    namespaces,
                } => format!(
                    "its default max_queued {limit}, max_queue {max_queue} / {namespaces} \
                     namespaces"
                ),
            };
            let running = match most.max_running {
                Some(max) if max <= most.workers => {
                    format!("config namespaces.{namespace}.max_running {max}")
                }
                _ => format!("config max_concurrent_jobs {}", most.workers),
            };
            format!(
                "namespace {namespace} holds at most {} ({queued} waiting + {running} running)",
                most.total()
            )
        }
    }
}

fn summarize(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Where a namespace's limit on waiting executions comes from, for its
/// refusal: its setting, or the default and how to set it.
fn queued_setting(namespace: &str, limit: &QueuedLimit) -> String {
    match limit {
        QueuedLimit::Configured(_) => format!("config namespaces.{namespace}.max_queued"),
        QueuedLimit::DefaultShare {
            max_queue,
            namespaces,
            ..
        } => format!(
            "the default for a namespace with max_running and no max_queued: its share of \
             max_queue, {max_queue} / {namespaces} namespaces; set config \
             namespaces.{namespace}.max_queued to change it"
        ),
    }
}

fn summarize_limits(problems: &[LimitProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}
