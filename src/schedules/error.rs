//! Errors of the schedules. The API maps each variant to one gRPC code in
//! `api::status`.

use crate::store::StoreError;

/// One bad field of a schedule, named as in CreateScheduleRequest
/// (`schedule.spec.cron[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field's path.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

impl Violation {
    /// A violation of `field`.
    pub(crate) fn new(field: &str, description: &str) -> Self {
        Violation {
            field: field.to_string(),
            description: description.to_string(),
        }
    }
}

/// Why a schedule operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The schedule asked for is invalid; nothing was stored.
    #[error("invalid schedule: {}", summarize(.0))]
    Invalid(Vec<Violation>),
    /// No schedule has this id.
    #[error("schedule {0:?} not found")]
    NotFound(String),
    /// The id is taken.
    #[error("a schedule with id {0:?} already exists")]
    Exists(String),
    /// The daemon is shutting down.
    #[error("the daemon is shutting down")]
    ShuttingDown,
    /// The history failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ScheduleError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::ScheduleExists(id) => ScheduleError::Exists(id),
            StoreError::ScheduleNotFound(id) => ScheduleError::NotFound(id),
            StoreError::WriterStopped => ScheduleError::ShuttingDown,
            other => ScheduleError::Store(other),
        }
    }
}

fn summarize(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}
