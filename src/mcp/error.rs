//! Errors of the MCP bridge. [`McpError`] stops the server from starting;
//! [`ToolError`] is a failed tool call, sent back as a tool result with
//! `isError: true` and a message a model can act on, never as a protocol
//! error.

use rmcp::model::{CallToolResult, ContentBlock, IntoContents};
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// Why the MCP server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// `--addr` / `WORKFLOWD_ADDR` is not a usable URI.
    #[error("invalid daemon address {addr:?}: {message}")]
    InvalidAddress {
        /// The address as given.
        addr: String,
        /// What is wrong with it.
        message: String,
    },
    /// `--token` / `WORKFLOW_TOKEN` cannot be sent.
    #[error("invalid API token: {message}")]
    InvalidToken {
        /// What is wrong with it (naming where it came from).
        message: String,
    },
    /// `--tls-*` / `WORKFLOW_TLS_*` cannot be used.
    #[error("TLS settings: {message}")]
    InvalidTls {
        /// What is wrong (naming the flag or variable and the file).
        message: String,
    },
    /// The MCP session could not be set up on stdio.
    #[error("MCP session on stdio failed: {0}")]
    Session(String),
}

/// One invalid argument, as the daemon reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    /// The argument, e.g. `inputs.depth` (or `depth` for `run_<id>` tools).
    pub(crate) field: String,
    /// What is wrong with it.
    pub(crate) description: String,
}

/// What a NOT_FOUND from the daemon refers to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    /// A workflow id.
    Workflow(&'a str),
    /// An execution id.
    Execution(&'a str),
    /// A schedule id.
    Schedule(&'a str),
}

/// How a field violation's path is shown: `execute_workflow` takes the
/// inputs under `inputs`, a `run_<id>` tool takes them at the top level,
/// and create_schedule takes a schedule's fields flat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldStyle {
    /// Keep the daemon's path (`inputs.depth`).
    AsRequested,
    /// Drop the `inputs.` prefix (`depth`).
    TopLevel,
    /// The CreateScheduleRequest's path as create_schedule's argument:
    /// `schedule.spec.cron[0]` is `cron[0]`,
    /// `schedule.action.execute.inputs.depth` is `execute.inputs.depth`.
    Schedule,
}

/// How create_schedule's arguments sit in a CreateScheduleRequest: the
/// first daemon path prefix that matches is replaced by its argument's.
const SCHEDULE_ARGUMENTS: &[(&str, &str)] = &[
    ("schedule.id", "schedule_id"),
    ("schedule.spec.jitter", "jitter_seconds"),
    ("schedule.spec.", ""),
    ("schedule.catch_up_window", "catch_up_window_seconds"),
    ("schedule.action.execute.timeout", "execute.timeout_seconds"),
    ("schedule.action.", ""),
    ("schedule.", ""),
];

impl FieldStyle {
    /// The daemon's field path as the tool's caller named the argument.
    fn argument(self, field: String) -> String {
        match self {
            FieldStyle::AsRequested => field,
            FieldStyle::TopLevel => field
                .strip_prefix("inputs.")
                .map(str::to_string)
                .unwrap_or(field),
            FieldStyle::Schedule => SCHEDULE_ARGUMENTS
                .iter()
                .find_map(|(path, argument)| {
                    field
                        .strip_prefix(path)
                        .map(|rest| format!("{argument}{rest}"))
                })
                .unwrap_or(field),
        }
    }
}

/// A tool call that failed in a way the caller can fix or work around.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ToolError {
    /// The daemon could not be reached at all.
    #[error(
        "the workflow daemon is unreachable at {addr} ({message}). Start workflowd, or point \
         workflow-mcp at the right address with --addr or WORKFLOWD_ADDR."
    )]
    Unreachable {
        /// The address that was tried.
        addr: String,
        /// The transport's error.
        message: String,
    },
    /// No workflow has this id.
    #[error("unknown workflow {id:?}: call list_workflows for the ids this daemon offers")]
    UnknownWorkflow {
        /// The id asked for.
        id: String,
    },
    /// No execution has this id.
    #[error("unknown execution {id:?}: call list_executions to find execution ids")]
    UnknownExecution {
        /// The id asked for.
        id: String,
    },
    /// No schedule has this id.
    #[error("unknown schedule {id:?}: call list_schedules for the schedule ids")]
    UnknownSchedule {
        /// The id asked for.
        id: String,
    },
    /// One or more arguments are invalid; each violation names its field.
    #[error("invalid input: {}", render_violations(violations))]
    InvalidInput {
        /// Every violation, in the daemon's order.
        violations: Vec<Violation>,
    },
    /// The daemon refused the request as it stands (queue full, execution
    /// already finished, schedule id taken, shutting down, ...).
    #[error("{0}")]
    Refused(String),
    /// Anything else the daemon answered.
    #[error("the workflow daemon answered {code:?}: {message}")]
    Daemon {
        /// The gRPC status code.
        code: Code,
        /// The status message.
        message: String,
    },
}

fn render_violations(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ToolError {
    /// Interprets a failed gRPC call. `addr` is the daemon address (named
    /// when it is unreachable), `subject` what a NOT_FOUND refers to, and
    /// `style` how input field paths are shown.
    pub(crate) fn from_status(
        status: &Status,
        addr: &str,
        subject: Subject<'_>,
        style: FieldStyle,
    ) -> ToolError {
        match status.code() {
            Code::Unavailable if is_transport_failure(status) => ToolError::Unreachable {
                addr: addr.to_string(),
                message: transport_message(status),
            },
            Code::NotFound => match subject {
                Subject::Workflow(id) => ToolError::UnknownWorkflow { id: id.to_string() },
                Subject::Execution(id) => ToolError::UnknownExecution { id: id.to_string() },
                Subject::Schedule(id) => ToolError::UnknownSchedule { id: id.to_string() },
            },
            Code::InvalidArgument => {
                let violations: Vec<Violation> = status
                    .get_details_bad_request()
                    .map(|bad| {
                        bad.field_violations
                            .into_iter()
                            .map(|v| Violation {
                                field: style.argument(v.field),
                                description: v.description,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if violations.is_empty() {
                    ToolError::Refused(format!("invalid request: {}", status.message()))
                } else {
                    ToolError::InvalidInput { violations }
                }
            }
            Code::FailedPrecondition
            | Code::ResourceExhausted
            | Code::Unavailable
            | Code::AlreadyExists => ToolError::Refused(status.message().to_string()),
            code => ToolError::Daemon {
                code,
                message: status.message().to_string(),
            },
        }
    }

    /// The error as a tool result: `isError: true` and the message as text.
    pub(crate) fn into_result(self) -> CallToolResult {
        CallToolResult::error(self.into_contents())
    }
}

impl IntoContents for ToolError {
    fn into_contents(self) -> Vec<ContentBlock> {
        vec![ContentBlock::text(self.to_string())]
    }
}

/// True when an UNAVAILABLE status was made by the client's transport
/// (connection refused, connect time-out): it carries the transport error as
/// its source. One the daemon sent (it says UNAVAILABLE while it shuts down)
/// has none.
fn is_transport_failure(status: &Status) -> bool {
    std::error::Error::source(status).is_some()
}

/// The most specific message of a transport failure: tonic wraps the OS
/// error ("Connection refused") a few sources deep.
fn transport_message(status: &Status) -> String {
    use std::error::Error;
    let mut message = status.message().to_string();
    let mut source: Option<&(dyn Error + 'static)> = Error::source(status);
    while let Some(error) = source {
        message = error.to_string();
        source = error.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::ErrorDetails;

    #[test]
    fn invalid_argument_names_each_field() {
        let mut details = ErrorDetails::new();
        details.add_bad_request_violation("inputs.depth", "must be at most 5");
        details.add_bad_request_violation("inputs.topic", "is required");
        let status = Status::with_error_details(Code::InvalidArgument, "bad inputs", details);
        let error = ToolError::from_status(
            &status,
            "http://x",
            Subject::Workflow("w"),
            FieldStyle::AsRequested,
        );
        assert_eq!(
            error.to_string(),
            "invalid input: inputs.depth: must be at most 5; inputs.topic: is required"
        );
        let error = ToolError::from_status(
            &status,
            "http://x",
            Subject::Workflow("w"),
            FieldStyle::TopLevel,
        );
        assert_eq!(
            error.to_string(),
            "invalid input: depth: must be at most 5; topic: is required"
        );
    }

    #[test]
    fn schedule_violations_name_create_schedules_arguments() {
        let mut details = ErrorDetails::new();
        details.add_bad_request_violation("schedule.spec.cron[0]", "not a cron expression");
        details.add_bad_request_violation("schedule.action.execute.inputs.depth", "too deep");
        details.add_bad_request_violation("schedule.spec.jitter", "negative");
        details.add_bad_request_violation("schedule.id", "bad id");
        details.add_bad_request_violation("schedule.overlap_policy", "unknown");
        let status = Status::with_error_details(Code::InvalidArgument, "bad schedule", details);
        let error = ToolError::from_status(
            &status,
            "http://x",
            Subject::Schedule("s"),
            FieldStyle::Schedule,
        );
        assert_eq!(
            error.to_string(),
            "invalid input: cron[0]: not a cron expression; execute.inputs.depth: too deep; \
             jitter_seconds: negative; schedule_id: bad id; overlap_policy: unknown"
        );
        let taken = ToolError::from_status(
            &Status::already_exists("a schedule with id \"s\" already exists"),
            "http://x",
            Subject::Schedule("s"),
            FieldStyle::Schedule,
        );
        assert_eq!(taken.to_string(), "a schedule with id \"s\" already exists");
    }

    #[test]
    fn not_found_names_the_subject() {
        let status = Status::not_found("workflow \"nope\" not found");
        let error = ToolError::from_status(
            &status,
            "http://x",
            Subject::Workflow("nope"),
            FieldStyle::AsRequested,
        );
        assert!(error.to_string().contains("unknown workflow \"nope\""));
        assert!(error.to_string().contains("list_workflows"));
    }

    #[test]
    fn error_results_are_flagged() {
        let result = ToolError::Refused("queue full".into()).into_result();
        assert_eq!(result.is_error, Some(true));
        assert!(result.structured_content.is_none());
    }
}
