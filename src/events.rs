//! The log of an execution: what a workflow program printed and what the
//! daemon did with it, as domain types shared by the engine, the store and the
//! API conversions.
//!
//! Structured events follow the `workflow-manager-sdk` wire format exactly
//! (`__WF_EVENT__:<json>` on stderr, tagged by `type`), so programs written
//! against the SDK run unchanged.

use serde::{Deserialize, Serialize};

/// Prefix of a structured event line on a program's stderr.
pub const EVENT_PREFIX: &str = "__WF_EVENT__:";

/// One structured event, as the SDK's `WorkflowEvent` serializes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(missing_docs)] // The variants and fields are the SDK's wire format, documented in the proto.
pub enum WorkflowEvent {
    PhaseStarted {
        phase: i32,
        name: String,
        total_phases: i32,
    },
    PhaseCompleted {
        phase: i32,
        name: String,
    },
    PhaseFailed {
        phase: i32,
        name: String,
        error: String,
    },
    TaskStarted {
        phase: i32,
        task_id: String,
        description: String,
        #[serde(default)]
        total_tasks: Option<i32>,
    },
    TaskProgress {
        task_id: String,
        message: String,
    },
    TaskCompleted {
        task_id: String,
        #[serde(default)]
        result: Option<String>,
    },
    TaskFailed {
        task_id: String,
        error: String,
    },
    AgentStarted {
        task_id: String,
        agent_name: String,
        description: String,
    },
    AgentMessage {
        task_id: String,
        agent_name: String,
        message: String,
    },
    AgentCompleted {
        task_id: String,
        agent_name: String,
        #[serde(default)]
        result: Option<String>,
    },
    AgentFailed {
        task_id: String,
        agent_name: String,
        error: String,
    },
    StateFileCreated {
        phase: i32,
        file_path: String,
        description: String,
    },
    RawOutput {
        stream: String,
        line: String,
    },
}

/// Which pipe a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// The states an execution goes through. Terminal states never change again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)] // Documented on the proto enum.
pub enum ExecutionState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
    Interrupted,
}

impl ExecutionState {
    /// Every state, in proto order.
    pub const ALL: [ExecutionState; 7] = [
        Self::Queued,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
        Self::TimedOut,
        Self::Interrupted,
    ];

    /// The name stored in the history and shown in status maps.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "QUEUED",
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Cancelled => "CANCELLED",
            Self::TimedOut => "TIMED_OUT",
            Self::Interrupted => "INTERRUPTED",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }

    /// Whether the execution has ended for good.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

/// Why a running execution is being stopped; decides its final state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// A client called Cancel.
    Client,
    /// The execution's timeout was reached.
    Timeout,
    /// The daemon is shutting down.
    Shutdown,
    /// The program went over one of its resource limits
    /// ([`crate::program_limits`]).
    Limit,
}

impl StopReason {
    /// The final state of an execution stopped for this reason.
    pub fn final_state(self) -> ExecutionState {
        match self {
            Self::Client => ExecutionState::Cancelled,
            Self::Timeout => ExecutionState::TimedOut,
            Self::Shutdown => ExecutionState::Interrupted,
            Self::Limit => ExecutionState::Failed,
        }
    }

    /// Short name used in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Timeout => "timeout",
            Self::Shutdown => "shutdown",
            Self::Limit => "limit",
        }
    }
}

/// What the daemon itself records about an execution's life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(missing_docs)] // Documented on the proto messages of the same names.
pub enum Lifecycle {
    Queued {
        queue_position: u32,
    },
    Started {
        pid: i32,
        argv: Vec<String>,
    },
    Exited {
        exit_code: Option<i32>,
        signal: Option<i32>,
    },
    CancelRequested {
        grace_ms: u64,
        force: bool,
        reason: StopReason,
    },
    Killed {
        signal: i32,
    },
    TimedOut {
        timeout_ms: u64,
    },
    Interrupted {
        reason: String,
    },
    Finished {
        state: ExecutionState,
        error: String,
    },
}

/// What a log entry says.
#[derive(Debug, Clone, PartialEq)]
pub enum LogPayload {
    /// A line of program output that is not a structured event.
    Output {
        /// The pipe.
        stream: OutputStream,
        /// The text, invalid UTF-8 replaced.
        text: String,
        /// It had the event prefix but did not parse.
        malformed_event: bool,
        /// It was cut at the line length limit.
        truncated: bool,
    },
    /// A structured event from the program.
    Event(WorkflowEvent),
    /// Something the daemon did.
    Lifecycle(Lifecycle),
}

/// One entry of an execution's log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    /// Gap-free per-execution sequence number, from 1.
    pub sequence: u64,
    /// Milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// What happened.
    pub payload: LogPayload,
}

impl LogEvent {
    /// Whether this is the last event an execution will ever have.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.payload,
            LogPayload::Lifecycle(Lifecycle::Finished { .. })
        )
    }
}

/// Classifies one line read from a program: a structured event when it is a
/// stderr line with the event prefix and valid JSON, raw output otherwise
/// (flagged when the prefix was there but the JSON was not valid).
pub fn classify_line(stream: OutputStream, text: String, truncated: bool) -> LogPayload {
    if stream == OutputStream::Stderr {
        if let Some(json) = text.strip_prefix(EVENT_PREFIX) {
            if !truncated {
                if let Ok(event) = serde_json::from_str::<WorkflowEvent>(json) {
                    return LogPayload::Event(event);
                }
            }
            return LogPayload::Output {
                stream,
                text,
                malformed_event: true,
                truncated,
            };
        }
    }
    LogPayload::Output {
        stream,
        text,
        malformed_event: false,
        truncated,
    }
}

/// Running totals of an execution's log, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogCounts {
    /// Every event.
    pub total: u64,
    /// Raw stdout lines.
    pub stdout_lines: u64,
    /// Raw stderr lines, malformed events included.
    pub stderr_lines: u64,
    /// Structured events.
    pub events: u64,
    /// Event lines that did not parse.
    pub malformed_events: u64,
}

impl LogCounts {
    /// Counts one more event.
    pub fn record(&mut self, payload: &LogPayload) {
        self.total += 1;
        match payload {
            LogPayload::Output {
                stream,
                malformed_event,
                ..
            } => {
                match stream {
                    OutputStream::Stdout => self.stdout_lines += 1,
                    OutputStream::Stderr => self.stderr_lines += 1,
                }
                if *malformed_event {
                    self.malformed_events += 1;
                }
            }
            LogPayload::Event(_) => self.events += 1,
            LogPayload::Lifecycle(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_event_lines_parse_into_typed_events() {
        let line = r#"__WF_EVENT__:{"type":"task_started","phase":0,"task_id":"t1","description":"Parsing input","total_tasks":null}"#;
        let payload = classify_line(OutputStream::Stderr, line.to_string(), false);
        assert_eq!(
            payload,
            LogPayload::Event(WorkflowEvent::TaskStarted {
                phase: 0,
                task_id: "t1".into(),
                description: "Parsing input".into(),
                total_tasks: None,
            })
        );
    }

    #[test]
    fn malformed_event_lines_are_kept_and_flagged() {
        let payload = classify_line(OutputStream::Stderr, "__WF_EVENT__:{oops".into(), false);
        assert!(matches!(
            payload,
            LogPayload::Output {
                malformed_event: true,
                ..
            }
        ));
    }

    #[test]
    fn the_prefix_on_stdout_is_plain_output() {
        let payload = classify_line(
            OutputStream::Stdout,
            r#"__WF_EVENT__:{"type":"task_progress","task_id":"a","message":"m"}"#.into(),
            false,
        );
        assert!(matches!(
            payload,
            LogPayload::Output {
                malformed_event: false,
                ..
            }
        ));
    }
}
