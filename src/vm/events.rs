//! What the pipeline tells the daemon: `__WF_EVENT__:<json>` lines on
//! stderr (the SDK's wire format, serialized by
//! [`crate::events::WorkflowEvent`]) and human-readable lines on stdout.

use std::io::Write;

use crate::events::{WorkflowEvent, EVENT_PREFIX};

/// Number of phases the pipeline announces.
pub(crate) const TOTAL_PHASES: i32 = 5;

/// Writes events and output lines. Each line is written and flushed under
/// the stream's lock, so lines never interleave.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Emitter;

impl Emitter {
    /// Writes one structured event on stderr.
    pub(crate) fn emit(&self, event: &WorkflowEvent) {
        let json = serde_json::to_string(event).expect("workflow events always serialize");
        let mut stderr = std::io::stderr().lock();
        // A closed stderr (the daemon went away) must not crash the pipeline
        // half-way; the report file still tells what happened.
        let _ = writeln!(stderr, "{EVENT_PREFIX}{json}");
        let _ = stderr.flush();
    }

    /// Writes one human-readable line on stdout.
    pub(crate) fn say(&self, line: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    }

    /// `phase_started` for one of the pipeline's phases.
    pub(crate) fn phase_started(&self, phase: i32, name: &str) {
        self.emit(&WorkflowEvent::PhaseStarted {
            phase,
            name: name.to_string(),
            total_phases: TOTAL_PHASES,
        });
    }

    /// `phase_completed`.
    pub(crate) fn phase_completed(&self, phase: i32, name: &str) {
        self.emit(&WorkflowEvent::PhaseCompleted {
            phase,
            name: name.to_string(),
        });
    }

    /// `phase_failed`.
    pub(crate) fn phase_failed(&self, phase: i32, name: &str, error: &str) {
        self.emit(&WorkflowEvent::PhaseFailed {
            phase,
            name: name.to_string(),
            error: error.to_string(),
        });
    }

    /// `task_started`: the one task of a phase.
    pub(crate) fn task_started(&self, phase: i32, task_id: &str, description: &str) {
        self.emit(&WorkflowEvent::TaskStarted {
            phase,
            task_id: task_id.to_string(),
            description: description.to_string(),
            total_tasks: Some(1),
        });
    }

    /// `task_progress`, also echoed on stdout.
    pub(crate) fn progress(&self, task_id: &str, message: &str) {
        self.say(&format!("{task_id}: {message}"));
        self.emit(&WorkflowEvent::TaskProgress {
            task_id: task_id.to_string(),
            message: message.to_string(),
        });
    }

    /// `task_completed`.
    pub(crate) fn task_completed(&self, task_id: &str, result: &str) {
        self.emit(&WorkflowEvent::TaskCompleted {
            task_id: task_id.to_string(),
            result: Some(result.to_string()),
        });
    }

    /// `task_failed`.
    pub(crate) fn task_failed(&self, task_id: &str, error: &str) {
        self.emit(&WorkflowEvent::TaskFailed {
            task_id: task_id.to_string(),
            error: error.to_string(),
        });
    }

    /// `state_file_created`.
    pub(crate) fn state_file(&self, phase: i32, path: &std::path::Path, description: &str) {
        self.emit(&WorkflowEvent::StateFileCreated {
            phase,
            file_path: path.to_string_lossy().into_owned(),
            description: description.to_string(),
        });
    }
}
