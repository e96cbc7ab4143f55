//! One execution's handles into the per-workflow families, looked up once
//! when it becomes active, so that the runner's per-line recording is one
//! relaxed atomic add per batch and nothing looks up a label set per line.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;

use super::families::{EndLabels, Families, WorkflowLabels};
use crate::events::ExecutionState;

/// What one execution records.
#[derive(Debug, Clone)]
pub(crate) struct ExecutionMetrics {
    families: Arc<Families>,
    workflow: String,
    started: Counter,
    duration: Histogram,
    log_lines: Counter,
}

impl ExecutionMetrics {
    /// The handles of an execution of `workflow`.
    pub(super) fn new(families: Arc<Families>, workflow: &str) -> Self {
        let labels = WorkflowLabels {
            workflow: workflow.to_string(),
        };
        ExecutionMetrics {
            started: families.executions_started.get_or_create_owned(&labels),
            duration: families.execution_duration.get_or_create_owned(&labels),
            log_lines: families.log_lines.clone(),
            workflow: labels.workflow,
            families,
        }
    }

    /// Its program was started.
    pub(crate) fn started(&self) {
        self.started.inc();
    }

    /// `lines` lines of its output were read.
    pub(crate) fn lines(&self, lines: usize) {
        self.log_lines.inc_by(lines as u64);
    }

    /// It ended in `state`, after running for `ran` when it was started.
    /// The ended family is looked up here, once per execution: the state
    /// is not known before.
    pub(crate) fn ended(&self, state: ExecutionState, ran: Option<Duration>) {
        self.families
            .executions_ended
            .get_or_create(&EndLabels {
                workflow: self.workflow.clone(),
                state: state_label(state),
            })
            .inc();
        if let Some(ran) = ran {
            self.duration.observe(ran.as_secs_f64());
        }
    }
}

/// The `state` label: the state's name in lower case.
fn state_label(state: ExecutionState) -> &'static str {
    match state {
        ExecutionState::Queued => "queued",
        ExecutionState::Running => "running",
        ExecutionState::Succeeded => "succeeded",
        ExecutionState::Failed => "failed",
        ExecutionState::Cancelled => "cancelled",
        ExecutionState::TimedOut => "timed_out",
        ExecutionState::Interrupted => "interrupted",
    }
}
