//! The Phase -> Task -> Agent tree of an execution, folded from its
//! structured events.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::events::WorkflowEvent;

/// Status of a node of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum NodeStatus {
    /// Started, not finished.
    Running,
    /// Finished successfully.
    Completed,
    /// Finished with an error.
    Failed,
}

/// A phase and its tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // Mirrors the proto message `Phase`.
pub(crate) struct PhaseNode {
    pub index: i32,
    pub name: String,
    pub total_phases: i32,
    pub status: NodeStatus,
    pub error: String,
    pub tasks: Vec<TaskNode>,
}

/// A task and its agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // Mirrors the proto message `Task`.
pub(crate) struct TaskNode {
    pub task_id: String,
    pub description: String,
    pub total_tasks: Option<i32>,
    pub status: NodeStatus,
    pub messages: VecDeque<String>,
    pub result: String,
    pub error: String,
    /// Last percentage seen in a progress message, -1 when none.
    pub percent: i32,
    pub agents: Vec<AgentNode>,
}

/// An agent working on a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // Mirrors the proto message `Agent`.
pub(crate) struct AgentNode {
    pub name: String,
    pub description: String,
    pub status: NodeStatus,
    pub messages: VecDeque<String>,
    pub result: String,
    pub error: String,
}

/// How many messages a task or agent keeps in the tree. The full log keeps
/// all of them; the tree is a summary and must stay small for chatty programs.
const MAX_MESSAGES_PER_NODE: usize = 100;

/// The tree of one execution.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ExecutionTree {
    /// Phases in the order they started.
    pub phases: Vec<PhaseNode>,
    /// The error of the last phase, task or agent failure, to explain a failed run.
    pub last_error: Option<String>,
}

impl ExecutionTree {
    /// Applies one event. Events naming a phase or task that was never
    /// started create it, so a sloppy program still gets a readable tree.
    pub(crate) fn apply(&mut self, event: &WorkflowEvent) {
        match event {
            WorkflowEvent::PhaseStarted {
                phase,
                name,
                total_phases,
            } => {
                let node = self.phase_mut(*phase, name);
                node.name.clone_from(name);
                node.total_phases = *total_phases;
                node.status = NodeStatus::Running;
            }
            WorkflowEvent::PhaseCompleted { phase, name } => {
                self.phase_mut(*phase, name).status = NodeStatus::Completed;
            }
            WorkflowEvent::PhaseFailed { phase, name, error } => {
                let node = self.phase_mut(*phase, name);
                node.status = NodeStatus::Failed;
                node.error.clone_from(error);
                self.last_error = Some(format!("phase {name} failed: {error}"));
            }
            WorkflowEvent::TaskStarted {
                phase,
                task_id,
                description,
                total_tasks,
            } => {
                let phase = self.phase_mut(*phase, "");
                let task = match phase.tasks.iter_mut().position(|t| &t.task_id == task_id) {
                    Some(i) => &mut phase.tasks[i],
                    None => {
                        phase.tasks.push(TaskNode::new(task_id));
                        phase.tasks.last_mut().expect("just pushed")
                    }
                };
                task.description.clone_from(description);
                task.total_tasks = *total_tasks;
                task.status = NodeStatus::Running;
            }
            WorkflowEvent::TaskProgress { task_id, message } => {
                let task = self.task_mut(task_id);
                if let Some(percent) = percent_in(message) {
                    task.percent = percent;
                }
                push_bounded(&mut task.messages, message);
            }
            WorkflowEvent::TaskCompleted { task_id, result } => {
                let task = self.task_mut(task_id);
                task.status = NodeStatus::Completed;
                task.result = result.clone().unwrap_or_default();
            }
            WorkflowEvent::TaskFailed { task_id, error } => {
                let task = self.task_mut(task_id);
                task.status = NodeStatus::Failed;
                task.error.clone_from(error);
                self.last_error = Some(format!("task {task_id} failed: {error}"));
            }
            WorkflowEvent::AgentStarted {
                task_id,
                agent_name,
                description,
            } => {
                let agent = self.agent_mut(task_id, agent_name);
                agent.description.clone_from(description);
                agent.status = NodeStatus::Running;
            }
            WorkflowEvent::AgentMessage {
                task_id,
                agent_name,
                message,
            } => push_bounded(&mut self.agent_mut(task_id, agent_name).messages, message),
            WorkflowEvent::AgentCompleted {
                task_id,
                agent_name,
                result,
            } => {
                let agent = self.agent_mut(task_id, agent_name);
                agent.status = NodeStatus::Completed;
                agent.result = result.clone().unwrap_or_default();
            }
            WorkflowEvent::AgentFailed {
                task_id,
                agent_name,
                error,
            } => {
                let agent = self.agent_mut(task_id, agent_name);
                agent.status = NodeStatus::Failed;
                agent.error.clone_from(error);
                self.last_error = Some(format!("agent {agent_name} failed: {error}"));
            }
            // Artifacts and raw output are not part of the tree.
            WorkflowEvent::StateFileCreated { .. } | WorkflowEvent::RawOutput { .. } => {}
        }
    }

    fn phase_mut(&mut self, index: i32, name: &str) -> &mut PhaseNode {
        match self.phases.iter().position(|p| p.index == index) {
            Some(i) => &mut self.phases[i],
            None => {
                self.phases.push(PhaseNode {
                    index,
                    name: name.to_string(),
                    total_phases: 0,
                    status: NodeStatus::Running,
                    error: String::new(),
                    tasks: Vec::new(),
                });
                self.phases.last_mut().expect("just pushed")
            }
        }
    }

    /// The task with this id, searched newest phase first; tasks announced
    /// only by later events land in the newest phase (or a phase -1).
    fn task_mut(&mut self, task_id: &str) -> &mut TaskNode {
        let found = self.phases.iter().enumerate().rev().find_map(|(p, phase)| {
            phase
                .tasks
                .iter()
                .position(|t| t.task_id == task_id)
                .map(|t| (p, t))
        });
        match found {
            Some((p, t)) => &mut self.phases[p].tasks[t],
            None => {
                let phase_index = self.phases.last().map_or(-1, |p| p.index);
                let phase = self.phase_mut(phase_index, "");
                phase.tasks.push(TaskNode::new(task_id));
                phase.tasks.last_mut().expect("just pushed")
            }
        }
    }

    fn agent_mut(&mut self, task_id: &str, agent_name: &str) -> &mut AgentNode {
        let task = self.task_mut(task_id);
        match task.agents.iter().position(|a| a.name == agent_name) {
            Some(i) => &mut task.agents[i],
            None => {
                task.agents.push(AgentNode {
                    name: agent_name.to_string(),
                    description: String::new(),
                    status: NodeStatus::Running,
                    messages: VecDeque::new(),
                    result: String::new(),
                    error: String::new(),
                });
                task.agents.last_mut().expect("just pushed")
            }
        }
    }
}

impl TaskNode {
    fn new(task_id: &str) -> Self {
        TaskNode {
            task_id: task_id.to_string(),
            description: String::new(),
            total_tasks: None,
            status: NodeStatus::Running,
            messages: VecDeque::new(),
            result: String::new(),
            error: String::new(),
            percent: -1,
            agents: Vec::new(),
        }
    }
}

/// Keeps the newest messages only, so a task reporting progress a million
/// times does not make the tree a million entries long.
fn push_bounded(messages: &mut VecDeque<String>, message: &str) {
    if messages.len() == MAX_MESSAGES_PER_NODE {
        messages.pop_front();
    }
    messages.push_back(message.to_string());
}

/// The last "NN%" (or "NN.N%") in a progress message, clamped to 0..=100:
/// how both the daemon (Task.percent) and wfctl's progress bars read progress.
pub(crate) fn percent_in(message: &str) -> Option<i32> {
    let bytes = message.as_bytes();
    let mut found = None;
    for (i, &b) in bytes.iter().enumerate() {
        if b != b'%' {
            continue;
        }
        let mut start = i;
        while start > 0 && (bytes[start - 1].is_ascii_digit() || bytes[start - 1] == b'.') {
            start -= 1;
        }
        if let Ok(value) = message[start..i].parse::<f64>() {
            found = Some(value.clamp(0.0, 100.0) as i32);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_fold_into_phase_task_agent_tree() {
        let mut tree = ExecutionTree::default();
        let events = [
            r#"{"type":"phase_started","phase":0,"name":"plan","total_phases":2}"#,
            r#"{"type":"task_started","phase":0,"task_id":"t1","description":"d","total_tasks":1}"#,
            r#"{"type":"agent_started","task_id":"t1","agent_name":"a","description":"x"}"#,
            r#"{"type":"agent_message","task_id":"t1","agent_name":"a","message":"hi"}"#,
            r#"{"type":"agent_completed","task_id":"t1","agent_name":"a","result":"r"}"#,
            r#"{"type":"task_progress","task_id":"t1","message":"copy 42.5% done"}"#,
            r#"{"type":"task_failed","task_id":"t1","error":"boom"}"#,
            r#"{"type":"phase_completed","phase":0,"name":"plan"}"#,
        ];
        for json in events {
            tree.apply(&serde_json::from_str(json).unwrap());
        }
        let phase = &tree.phases[0];
        assert_eq!(phase.status, NodeStatus::Completed);
        let task = &phase.tasks[0];
        assert_eq!(task.status, NodeStatus::Failed);
        assert_eq!(task.percent, 42);
        assert_eq!(task.agents[0].messages, vec!["hi"]);
        assert_eq!(task.agents[0].status, NodeStatus::Completed);
        assert_eq!(tree.last_error.as_deref(), Some("task t1 failed: boom"));
    }

    #[test]
    fn percent_takes_the_last_figure() {
        assert_eq!(percent_in("1% then 250%"), Some(100));
        assert_eq!(percent_in("no figure"), None);
        assert_eq!(percent_in("(7.0/100%)"), Some(100));
        assert_eq!(percent_in("12.5% done"), Some(12));
        assert_eq!(percent_in("no number %"), None);
    }
}
