//! What can go wrong in `wfctl`, and the exit code each failure ends with.

use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::render::{print_note, short_state};
use crate::pb::ExecutionState;

/// Exit codes of `wfctl`; scripts rely on them, so they never change meaning.
pub(crate) mod exit {
    /// Success (for runs that were waited on: the execution SUCCEEDED).
    pub(crate) const OK: i32 = 0;
    /// The execution that was waited on or followed did not succeed.
    pub(crate) const WORKFLOW_FAILED: i32 = 1;
    /// Bad command line (unknown flag, bad value, unreadable file, or a
    /// command this daemon cannot serve yet).
    pub(crate) const USAGE: i32 = 2;
    /// The daemon could not be reached (or the connection was lost), it
    /// cannot take the request now (shutting down, history unwritable), or
    /// it did not answer in time (DEADLINE_EXCEEDED).
    pub(crate) const UNAVAILABLE: i32 = 3;
    /// The workflow or execution does not exist.
    pub(crate) const NOT_FOUND: i32 = 4;
    /// The daemon rejected an argument (e.g. an input), with field violations.
    pub(crate) const INVALID_ARGUMENT: i32 = 5;
    /// The daemon refused the request for another reason (queue full,
    /// execution already finished, internal error), did not start a
    /// triggered schedule run, or could not deliver a webhook's test event.
    pub(crate) const REFUSED: i32 = 6;
}

/// A failure of one `wfctl` command.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The command line (or a file it names) is wrong.
    #[error("{0}")]
    Usage(String),
    /// The command exists in hyperctl but has no counterpart here.
    #[error("{0}")]
    Unsupported(String),
    /// No connection to the daemon.
    #[error("cannot reach the workflow daemon at {addr}: {reason}")]
    Unavailable {
        /// The address that was tried.
        addr: String,
        /// Why it failed.
        reason: String,
    },
    /// The daemon answered UNAVAILABLE itself (shutting down, or its
    /// history cannot be written; its message says why), or the call's
    /// deadline passed before it answered (DEADLINE_EXCEEDED).
    #[error("the workflow daemon at {addr} cannot take this now: {reason}")]
    DaemonUnavailable {
        /// The daemon's address.
        addr: String,
        /// The daemon's message.
        reason: String,
    },
    /// NOT_FOUND from the daemon.
    #[error("{0}")]
    NotFound(String),
    /// INVALID_ARGUMENT from the daemon, with its field violations.
    #[error("{message}")]
    InvalidArgument {
        /// The status message.
        message: String,
        /// `(field, description)` pairs from google.rpc.BadRequest.
        violations: Vec<(String, String)>,
    },
    /// Any other error status from the daemon.
    #[error("{code}: {message}")]
    Refused {
        /// The gRPC code, e.g. `ResourceExhausted`.
        code: String,
        /// The status message.
        message: String,
    },
    /// A triggered schedule run that the daemon recorded as not started
    /// (SKIPPED by the overlap policy, or FAILED); the run was printed.
    #[error("the triggered run of schedule {schedule_id} did not start: {outcome}{}", detail(.error))]
    RunNotStarted {
        /// The schedule.
        schedule_id: String,
        /// The run's outcome, e.g. `SKIPPED`.
        outcome: String,
        /// The daemon's reason, if any.
        error: String,
    },
    /// A webhook's test event that the endpoint did not accept (no answer,
    /// or not 2xx); the delivery was printed.
    #[error("the test event to webhook {webhook_id} was not delivered{}", detail(.error))]
    NotDelivered {
        /// The webhook.
        webhook_id: String,
        /// The delivery's last error, if any.
        error: String,
    },
    /// An execution that was waited on ended in a state other than SUCCEEDED.
    #[error("execution {execution_id} ended {}{}", short_state(*.state), detail(.error))]
    WorkflowFailed {
        /// The execution.
        execution_id: String,
        /// Its final state.
        state: ExecutionState,
        /// Its error text, if any.
        error: String,
    },
}

fn detail(error: &str) -> String {
    if error.is_empty() {
        String::new()
    } else {
        format!(": {error}")
    }
}

impl CliError {
    /// The process exit code for this failure.
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) | CliError::Unsupported(_) => exit::USAGE,
            CliError::Unavailable { .. } | CliError::DaemonUnavailable { .. } => exit::UNAVAILABLE,
            CliError::NotFound(_) => exit::NOT_FOUND,
            CliError::InvalidArgument { .. } => exit::INVALID_ARGUMENT,
            CliError::Refused { .. }
            | CliError::RunNotStarted { .. }
            | CliError::NotDelivered { .. } => exit::REFUSED,
            CliError::WorkflowFailed { .. } => exit::WORKFLOW_FAILED,
        }
    }

    /// Maps a gRPC status from a call to the daemon at `addr`.
    pub(crate) fn from_status(status: Status, addr: &str) -> CliError {
        // tonic's own transport failures (no connection, or the connection
        // lost mid-call) carry their cause as the source, whatever their
        // code; a status the daemon sent has none.
        if let Some(cause) = std::error::Error::source(&status) {
            return CliError::Unavailable {
                addr: addr.to_string(),
                reason: innermost_cause(cause),
            };
        }
        let message = status.message().to_string();
        match status.code() {
            Code::NotFound => CliError::NotFound(message),
            Code::InvalidArgument => {
                let violations = status
                    .get_error_details()
                    .bad_request()
                    .map(|bad| {
                        bad.field_violations
                            .iter()
                            .map(|v| (v.field.clone(), v.description.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                CliError::InvalidArgument {
                    message,
                    violations,
                }
            }
            Code::Unavailable => CliError::DaemonUnavailable {
                addr: addr.to_string(),
                // A proxy in between may answer without a message.
                reason: if message.is_empty() {
                    "unavailable".to_string()
                } else {
                    message
                },
            },
            // No answer in time (a deadline set by a proxy or a later
            // client): like UNAVAILABLE worth retrying, not a refusal, so
            // exit 3 as hyperctl does.
            Code::DeadlineExceeded => CliError::DaemonUnavailable {
                addr: addr.to_string(),
                reason: if message.is_empty() {
                    "deadline exceeded".to_string()
                } else {
                    format!("deadline exceeded: {message}")
                },
            },
            code => CliError::Refused {
                code: format!("{code:?}"),
                message,
            },
        }
    }

    /// Prints the error to stderr the way `wfctl` reports failures: one
    /// `wfctl: ...` line, then one `field: description` line per violation.
    /// Text that came from the daemon (and through it from programs) is
    /// made terminal-safe.
    pub(crate) fn report(&self) {
        match self {
            // The status message repeats the violations on one line; print
            // them one per line instead.
            CliError::InvalidArgument { violations, .. } if !violations.is_empty() => {
                print_note(&format!(
                    "wfctl: invalid argument ({} field violation{}):",
                    violations.len(),
                    if violations.len() == 1 { "" } else { "s" }
                ));
                for (field, description) in violations {
                    print_note(&format!("{field}: {description}"));
                }
            }
            // wfctl's own messages, which may end with a usage text of
            // several lines.
            CliError::Usage(_) | CliError::Unsupported(_) => {
                for line in format!("wfctl: {self}").lines() {
                    print_note(line);
                }
            }
            _ => print_note(&format!("wfctl: {self}")),
        }
    }
}

/// The most specific message in an error's source chain ("Connection
/// refused (os error 111)" rather than "transport error").
pub(crate) fn innermost_cause(error: &dyn std::error::Error) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_says_whether_the_daemon_answered_or_the_connection_failed() {
        let answered = CliError::from_status(
            Status::unavailable("the daemon is shutting down"),
            "127.0.0.1:1",
        );
        assert_eq!(
            answered.to_string(),
            "the workflow daemon at 127.0.0.1:1 cannot take this now: the daemon is shutting down"
        );
        assert_eq!(answered.exit_code(), exit::UNAVAILABLE);
        assert_eq!(
            CliError::from_status(Status::unavailable(""), "127.0.0.1:1").to_string(),
            "the workflow daemon at 127.0.0.1:1 cannot take this now: unavailable"
        );

        // A connection lost mid-call comes from tonic, with its cause, and
        // whatever code tonic chose.
        let lost = CliError::from_status(
            Status::from_error(Box::new(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "broken pipe",
            ))),
            "127.0.0.1:1",
        );
        assert_eq!(
            lost.to_string(),
            "cannot reach the workflow daemon at 127.0.0.1:1: broken pipe"
        );
        assert_eq!(lost.exit_code(), exit::UNAVAILABLE);
    }

    /// The gRPC codes map to the one exit-code table of the client family
    /// (docs/wfctl.md), as hyperctl's exitCode does
    /// (clients/go/cmd/hyperctl/exitcodes.go, TestExitCodeOfEachStatus).
    #[test]
    fn status_codes_follow_the_exit_code_table() {
        for (code, exit_code) in [
            (Code::NotFound, exit::NOT_FOUND),
            (Code::InvalidArgument, exit::INVALID_ARGUMENT),
            (Code::Unavailable, exit::UNAVAILABLE),
            (Code::DeadlineExceeded, exit::UNAVAILABLE),
            (Code::ResourceExhausted, exit::REFUSED),
            (Code::FailedPrecondition, exit::REFUSED),
            (Code::Internal, exit::REFUSED),
            (Code::Unknown, exit::REFUSED),
            (Code::PermissionDenied, exit::REFUSED),
        ] {
            let error = CliError::from_status(Status::new(code, "why"), "127.0.0.1:1");
            assert_eq!(error.exit_code(), exit_code, "{code:?}: {error}");
        }
        assert_eq!(
            CliError::from_status(Status::deadline_exceeded(""), "127.0.0.1:1").to_string(),
            "the workflow daemon at 127.0.0.1:1 cannot take this now: deadline exceeded"
        );
    }
}
