//! What the tools return (each an object, so its JSON Schema is the tool's
//! `outputSchema`), built from the gRPC messages: execution state
//! (`execution.rs`), log lines (`log_line.rs`), schedules (`schedule.rs`)
//! and the other results (`results.rs`).

mod execution;
mod log_line;
mod results;
mod schedule;

pub(crate) use execution::{is_final, state_name, ExecutionStatus, ExecutionSummary};
pub(crate) use log_line::{is_finished_event, is_output, log_line, LogLine, LogsOutput};
pub(crate) use results::*;
pub(crate) use schedule::{
    DeleteScheduleOutput, ListSchedulesOutput, ScheduleInfo, ScheduleRunInfo, TriggerScheduleOutput,
};
