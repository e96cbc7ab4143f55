//! What the screens ask of the daemon ([`Request`]) and what comes back
//! ([`Update`]): the only two ways the UI and the daemon connection
//! ([`super::link`]) talk, so neither waits on the other.

use std::collections::HashMap;

use crate::pb;

/// A tab of the job monitor, and the states its executions are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum JobTab {
    /// Running.
    Active,
    /// Queued.
    Pending,
    /// Succeeded.
    Completed,
    /// Failed, timed out, interrupted or cancelled.
    Failed,
}

impl JobTab {
    /// The tabs in the order shown.
    pub(crate) const ALL: [JobTab; 4] = [
        JobTab::Active,
        JobTab::Pending,
        JobTab::Completed,
        JobTab::Failed,
    ];

    /// The tab's title.
    pub(crate) fn title(self) -> &'static str {
        match self {
            JobTab::Active => "Active",
            JobTab::Pending => "Pending",
            JobTab::Completed => "Completed",
            JobTab::Failed => "Failed",
        }
    }

    /// The execution states the tab lists.
    pub(crate) fn states(self) -> Vec<i32> {
        use pb::ExecutionState as S;
        let states: &[S] = match self {
            JobTab::Active => &[S::Running],
            JobTab::Pending => &[S::Queued],
            JobTab::Completed => &[S::Succeeded],
            JobTab::Failed => &[S::Failed, S::TimedOut, S::Interrupted, S::Cancelled],
        };
        states.iter().map(|s| *s as i32).collect()
    }
}

/// Which execution tab a stream or answer belongs to: a number that is
/// never reused in one session, so a late answer for a closed tab is
/// dropped rather than shown in another.
pub(crate) type TabId = u64;

/// What the UI asks the daemon connection to do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Request {
    /// Poll the status and these job lists (the dashboard's active jobs and
    /// the job monitor's tab shown) from now on, starting at once.
    Watch(Vec<JobTab>),
    /// Poll again now.
    Refresh,
    /// List the discovered workflows.
    LoadWorkflows,
    /// Follow an execution in a tab: GetExecution, then StreamLogs from
    /// `from_sequence`, resumed after a lost connection, then WaitExecution.
    Follow {
        /// The tab.
        tab: TabId,
        /// The execution.
        execution_id: String,
    },
    /// Stop following (the tab was closed).
    Unfollow(TabId),
    /// ValidateInputs, then Execute when valid; the answer is
    /// [`Update::Violations`] or [`Update::Started`].
    Run {
        /// The workflow.
        workflow_id: String,
        /// The inputs as typed.
        inputs: HashMap<String, prost_types::Value>,
    },
    /// Cancel an execution (`force`: SIGKILL at once).
    Cancel {
        /// The execution.
        execution_id: String,
        /// Skip the grace period.
        force: bool,
    },
    /// ValidateManifest; the answer is [`Update::ManifestChecked`] with the
    /// same generation.
    CheckManifest {
        /// Which version of the draft this is.
        generation: u64,
        /// The manifest.
        content: String,
    },
    /// SubmitManifest; the answer is [`Update::ManifestSubmitted`].
    SubmitManifest {
        /// The manifest.
        content: String,
    },
}

/// What the daemon connection reports.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Update {
    /// A call succeeded after the daemon could not be reached.
    Connected,
    /// The daemon cannot be reached; why.
    Disconnected(String),
    /// The daemon's status.
    Status(Box<pb::GetStatusResponse>),
    /// The executions of a job monitor tab (at most a page of them) and
    /// whether there are more.
    Jobs {
        /// The tab.
        tab: JobTab,
        /// Newest first.
        executions: Vec<pb::Execution>,
        /// More than shown.
        more: bool,
    },
    /// The discovered workflows.
    Workflows(Box<pb::ListWorkflowsResponse>),
    /// An execution shown in a tab, as GetExecution or WaitExecution
    /// answered.
    Execution {
        /// The tab.
        tab: TabId,
        /// The execution.
        execution: Box<pb::Execution>,
    },
    /// Log events of an execution in a tab, in sequence order, none twice.
    Events {
        /// The tab.
        tab: TabId,
        /// The events.
        events: Vec<pb::LogEvent>,
    },
    /// The form's inputs were refused: `(field, description)` with the
    /// field as the daemon names it (`inputs.<name>`), or a message.
    Violations {
        /// The workflow.
        workflow_id: String,
        /// Field violations.
        violations: Vec<(String, String)>,
        /// The refusal's message.
        message: String,
    },
    /// Execute started (or found) an execution.
    Started(Box<pb::Execution>),
    /// ValidateManifest's answer for a draft generation.
    ManifestChecked {
        /// The generation asked about.
        generation: u64,
        /// The answer, or why there is none.
        result: Result<Box<pb::ValidateManifestResponse>, String>,
    },
    /// SubmitManifest's answer.
    ManifestSubmitted(Result<Box<pb::SubmitManifestResponse>, String>),
    /// A request failed; the message for the status line.
    Failed(String),
    /// A note for the status line (e.g. "cancel requested").
    Note(String),
}

/// What a screen's handling of a key asks of the whole app.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    /// Send a request to the daemon connection.
    Send(Request),
    /// Open (or show) the tab of this execution.
    OpenExecution(String),
    /// A note for the status line.
    Note(String),
    /// A problem for the status line.
    Problem(String),
    /// Leave the screen shown for the one before it (a form left with
    /// Esc).
    Leave,
}
