//! Log events back into program events, for clients: `wfctl tui` folds a
//! streamed log into the same [`crate::tree::ExecutionTree`] the daemon
//! keeps. Compiled only with the `wfctl` feature, its one user.

use crate::events::WorkflowEvent;
use crate::pb::{self, log_event::Payload};

/// The program event a log event's payload carries, the inverse of
/// `convert::workflow_event`: clients fold a streamed log into the same
/// [`crate::tree::ExecutionTree`] the daemon keeps (`wfctl tui`). None for
/// output lines and lifecycle events.
pub(crate) fn workflow_event_of(payload: &Payload) -> Option<WorkflowEvent> {
    Some(match payload.clone() {
        Payload::PhaseStarted(pb::PhaseStarted {
            phase,
            name,
            total_phases,
        }) => WorkflowEvent::PhaseStarted {
            phase,
            name,
            total_phases,
        },
        Payload::PhaseCompleted(pb::PhaseCompleted { phase, name }) => {
            WorkflowEvent::PhaseCompleted { phase, name }
        }
        Payload::PhaseFailed(pb::PhaseFailed { phase, name, error }) => {
            WorkflowEvent::PhaseFailed { phase, name, error }
        }
        Payload::TaskStarted(pb::TaskStarted {
            phase,
            task_id,
            description,
            total_tasks,
        }) => WorkflowEvent::TaskStarted {
            phase,
            task_id,
            description,
            total_tasks,
        },
        Payload::TaskProgress(pb::TaskProgress { task_id, message }) => {
            WorkflowEvent::TaskProgress { task_id, message }
        }
        Payload::TaskCompleted(pb::TaskCompleted { task_id, result }) => {
            WorkflowEvent::TaskCompleted { task_id, result }
        }
        Payload::TaskFailed(pb::TaskFailed { task_id, error }) => {
            WorkflowEvent::TaskFailed { task_id, error }
        }
        Payload::AgentStarted(pb::AgentStarted {
            task_id,
            agent_name,
            description,
        }) => WorkflowEvent::AgentStarted {
            task_id,
            agent_name,
            description,
        },
        Payload::AgentMessage(pb::AgentMessage {
            task_id,
            agent_name,
            message,
        }) => WorkflowEvent::AgentMessage {
            task_id,
            agent_name,
            message,
        },
        Payload::AgentCompleted(pb::AgentCompleted {
            task_id,
            agent_name,
            result,
        }) => WorkflowEvent::AgentCompleted {
            task_id,
            agent_name,
            result,
        },
        Payload::AgentFailed(pb::AgentFailed {
            task_id,
            agent_name,
            error,
        }) => WorkflowEvent::AgentFailed {
            task_id,
            agent_name,
            error,
        },
        Payload::StateFileCreated(pb::StateFileCreated {
            phase,
            file_path,
            description,
        }) => WorkflowEvent::StateFileCreated {
            phase,
            file_path,
            description,
        },
        Payload::RawOutput(pb::RawOutput { stream, line }) => {
            WorkflowEvent::RawOutput { stream, line }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_program_event_comes_back_from_its_payload() {
        let events = [
            r#"{"type":"phase_started","phase":0,"name":"p","total_phases":2}"#,
            r#"{"type":"phase_completed","phase":0,"name":"p"}"#,
            r#"{"type":"phase_failed","phase":1,"name":"q","error":"e"}"#,
            r#"{"type":"task_started","phase":0,"task_id":"t","description":"d","total_tasks":3}"#,
            r#"{"type":"task_progress","task_id":"t","message":"40%"}"#,
            r#"{"type":"task_completed","task_id":"t","result":"r"}"#,
            r#"{"type":"task_failed","task_id":"t","error":"e"}"#,
            r#"{"type":"agent_started","task_id":"t","agent_name":"a","description":"d"}"#,
            r#"{"type":"agent_message","task_id":"t","agent_name":"a","message":"m"}"#,
            r#"{"type":"agent_completed","task_id":"t","agent_name":"a","result":null}"#,
            r#"{"type":"agent_failed","task_id":"t","agent_name":"a","error":"e"}"#,
            r#"{"type":"state_file_created","phase":2,"file_path":"/s.json","description":"d"}"#,
            r#"{"type":"raw_output","stream":"stdout","line":"l"}"#,
        ];
        for json in events {
            let event: WorkflowEvent = serde_json::from_str(json).expect(json);
            let payload = super::super::convert::workflow_event(&event);
            assert_eq!(workflow_event_of(&payload), Some(event), "{json}");
        }
        let output = Payload::Output(pb::OutputLine::default());
        assert_eq!(workflow_event_of(&output), None);
    }
}
