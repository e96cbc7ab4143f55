//! The state of an execution as the status and listing tools return it:
//! the phase/task/agent tree, its progress counts, and the conversion from
//! the gRPC `Execution`.

use std::collections::{BTreeMap, HashMap};

use schemars::JsonSchema;
use serde::Serialize;

use crate::pb;

/// How far an execution got, counted over its phase/task/agent tree.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub(crate) struct ProgressSummary {
    /// Phases the program announced (the largest `total_phases` seen), or
    /// the phases started when it announced none.
    pub(crate) phases_total: u32,
    /// Phases completed.
    pub(crate) phases_completed: u32,
    /// Phases failed.
    pub(crate) phases_failed: u32,
    /// Tasks started.
    pub(crate) tasks_total: u32,
    /// Tasks completed.
    pub(crate) tasks_completed: u32,
    /// Tasks failed.
    pub(crate) tasks_failed: u32,
    /// Agents started.
    pub(crate) agents_total: u32,
    /// Agents completed.
    pub(crate) agents_completed: u32,
    /// Agents failed.
    pub(crate) agents_failed: u32,
    /// Name of the phase running now, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) current_phase: Option<String>,
}

/// Where a task or an agent got to: the fields both report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct NodeReport {
    /// The latest message it reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_message: Option<String>,
    /// Result, once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) result: Option<String>,
    /// Error, once failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

impl NodeReport {
    fn new(messages: &[String], result: &str, error: &str) -> NodeReport {
        NodeReport {
            last_message: messages.last().cloned(),
            result: non_empty(result),
            error: non_empty(error),
        }
    }
}

/// An agent working on a task.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct AgentStatus {
    /// Agent name.
    pub(crate) name: String,
    /// What the agent does.
    pub(crate) description: String,
    /// RUNNING, COMPLETED or FAILED.
    pub(crate) status: String,
    /// Its latest message, result and error.
    #[serde(flatten)]
    pub(crate) report: NodeReport,
}

/// A task of a phase.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct TaskStatus {
    /// Task id.
    pub(crate) task_id: String,
    /// What the task does.
    pub(crate) description: String,
    /// RUNNING, COMPLETED or FAILED.
    pub(crate) status: String,
    /// Last percentage the task reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) percent: Option<i32>,
    /// Its latest progress message, result and error.
    #[serde(flatten)]
    pub(crate) report: NodeReport,
    /// Agents on the task, in start order.
    pub(crate) agents: Vec<AgentStatus>,
}

/// A phase of an execution.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct PhaseStatus {
    /// Phase index as the program reported it.
    pub(crate) index: i32,
    /// Phase name.
    pub(crate) name: String,
    /// RUNNING, COMPLETED or FAILED.
    pub(crate) status: String,
    /// Error, once failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// Tasks of the phase, in start order.
    pub(crate) tasks: Vec<TaskStatus>,
}

/// A file an execution produced.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ArtifactInfo {
    /// Phase that produced it.
    pub(crate) phase: i32,
    /// Path as the program reported it.
    pub(crate) path: String,
    /// What it is.
    pub(crate) description: String,
}

/// The state of one execution, as get_workflow_status returns it: its
/// listing entry and the details only a single execution's status has.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ExecutionStatus {
    /// What a listing says about the execution.
    #[serde(flatten)]
    pub(crate) summary: ExecutionSummary,
    /// Signal that ended the program, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) signal: Option<i32>,
    /// When the program started (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) start_time: Option<String>,
    /// The inputs it runs with, defaults applied.
    pub(crate) inputs: BTreeMap<String, String>,
    /// Counts over the phase/task/agent tree.
    pub(crate) progress: ProgressSummary,
    /// The phase/task/agent tree.
    pub(crate) phases: Vec<PhaseStatus>,
    /// Files the execution produced.
    pub(crate) artifacts: Vec<ArtifactInfo>,
    /// Number of log events stored; read them with get_workflow_logs.
    pub(crate) log_events: u64,
}

/// One execution in a listing.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ExecutionSummary {
    /// Execution id.
    pub(crate) execution_id: String,
    /// The workflow that runs.
    pub(crate) workflow_id: String,
    /// The workflow's name.
    pub(crate) workflow_name: String,
    /// QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, TIMED_OUT or
    /// INTERRUPTED.
    pub(crate) state: String,
    /// True once the state is final (no more logs or progress will come).
    pub(crate) finished: bool,
    /// When it was accepted (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) create_time: Option<String>,
    /// When it finished (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) end_time: Option<String>,
    /// Exit code, when the program exited normally.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) exit_code: Option<i32>,
    /// Why it failed, was cancelled or was interrupted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// Labels given at start.
    pub(crate) labels: BTreeMap<String, String>,
    /// The namespace it was started in.
    pub(crate) namespace: String,
    /// Name of the phase running now, while one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) current_phase: Option<String>,
    /// How far it is and how long it still needs, while it is active and
    /// there is something to base that on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) estimate: Option<EstimateInfo>,
}

/// The daemon's estimate of an active execution or batch
/// (docs/estimates.md).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct EstimateInfo {
    /// Fraction done, 0 to 1, from the program's progress events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) progress: Option<f64>,
    /// Estimated seconds still needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) remaining_seconds: Option<f64>,
    /// When it is expected to finish (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) completion_time: Option<String>,
    /// What the remaining time rests on: PROGRESS, HISTORY or
    /// PROGRESS_AND_HISTORY; absent when it is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) basis: Option<String>,
    /// Earlier successful runs of the workflow that went into it.
    pub(crate) history_runs: u32,
}

impl From<&pb::Estimate> for EstimateInfo {
    fn from(e: &pb::Estimate) -> EstimateInfo {
        let basis = e.basis().as_str_name();
        EstimateInfo {
            progress: e.progress,
            remaining_seconds: e
                .remaining
                .as_ref()
                .map(|d| d.seconds as f64 + f64::from(d.nanos) / 1e9),
            completion_time: rfc3339(e.completion_time.as_ref()),
            basis: (e.basis() != pb::EstimateBasis::Unspecified).then(|| {
                basis
                    .strip_prefix("ESTIMATE_BASIS_")
                    .unwrap_or(basis)
                    .to_string()
            }),
            history_runs: e.history_runs,
        }
    }
}

/// An execution state without the enum prefix: `RUNNING`.
pub(crate) fn state_name(state: i32) -> String {
    let name = pb::ExecutionState::try_from(state)
        .unwrap_or(pb::ExecutionState::Unspecified)
        .as_str_name();
    name.strip_prefix("EXECUTION_STATE_")
        .unwrap_or(name)
        .to_string()
}

/// Whether a state is final.
pub(crate) fn is_final(state: i32) -> bool {
    matches!(
        pb::ExecutionState::try_from(state),
        Ok(pb::ExecutionState::Succeeded
            | pb::ExecutionState::Failed
            | pb::ExecutionState::Cancelled
            | pb::ExecutionState::TimedOut
            | pb::ExecutionState::Interrupted)
    )
}

fn node_status(status: i32) -> String {
    let name = pb::NodeStatus::try_from(status)
        .unwrap_or(pb::NodeStatus::Unspecified)
        .as_str_name();
    name.strip_prefix("NODE_STATUS_")
        .unwrap_or(name)
        .to_string()
}

/// A timestamp as RFC 3339.
pub(crate) fn rfc3339(time: Option<&prost_types::Timestamp>) -> Option<String> {
    let time = time?;
    let nanos = u32::try_from(time.nanos).ok()?;
    chrono::DateTime::from_timestamp(time.seconds, nanos)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// `text`, or None when it is empty.
pub(super) fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

/// A map in key order, as results show maps.
pub(super) fn sorted(map: &HashMap<String, String>) -> BTreeMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

impl From<&pb::Execution> for ExecutionStatus {
    fn from(e: &pb::Execution) -> ExecutionStatus {
        ExecutionStatus {
            summary: ExecutionSummary::from(e),
            signal: e.signal,
            start_time: rfc3339(e.start_time.as_ref()),
            inputs: sorted(&e.inputs),
            progress: progress_summary(&e.phases),
            phases: e.phases.iter().map(phase_status).collect(),
            artifacts: e
                .artifacts
                .iter()
                .map(|a| ArtifactInfo {
                    phase: a.phase,
                    path: a.path.clone(),
                    description: a.description.clone(),
                })
                .collect(),
            log_events: e.log_counts.as_ref().map_or(0, |c| c.total),
        }
    }
}

impl From<&pb::Execution> for ExecutionSummary {
    fn from(e: &pb::Execution) -> ExecutionSummary {
        ExecutionSummary {
            execution_id: e.id.clone(),
            workflow_id: e.workflow_id.clone(),
            workflow_name: e.workflow_name.clone(),
            state: state_name(e.state),
            finished: is_final(e.state),
            create_time: rfc3339(e.create_time.as_ref()),
            end_time: rfc3339(e.end_time.as_ref()),
            exit_code: e.exit_code,
            error: non_empty(&e.error),
            labels: sorted(&e.labels),
            namespace: e.namespace.clone(),
            current_phase: non_empty(&e.current_phase),
            estimate: e.estimate.as_ref().map(EstimateInfo::from),
        }
    }
}

fn phase_status(p: &pb::Phase) -> PhaseStatus {
    PhaseStatus {
        index: p.index,
        name: p.name.clone(),
        status: node_status(p.status),
        error: non_empty(&p.error),
        tasks: p
            .tasks
            .iter()
            .map(|t| TaskStatus {
                task_id: t.task_id.clone(),
                description: t.description.clone(),
                status: node_status(t.status),
                percent: (t.percent >= 0).then_some(t.percent),
                report: NodeReport::new(&t.messages, &t.result, &t.error),
                agents: t
                    .agents
                    .iter()
                    .map(|a| AgentStatus {
                        name: a.name.clone(),
                        description: a.description.clone(),
                        status: node_status(a.status),
                        report: NodeReport::new(&a.messages, &a.result, &a.error),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Counts over the tree; `phases_total` prefers what the program announced.
fn progress_summary(phases: &[pb::Phase]) -> ProgressSummary {
    let completed = pb::NodeStatus::Completed as i32;
    let failed = pb::NodeStatus::Failed as i32;
    let running = pb::NodeStatus::Running as i32;
    let mut summary = ProgressSummary::default();
    let announced = phases
        .iter()
        .map(|p| u32::try_from(p.total_phases).unwrap_or(0))
        .max()
        .unwrap_or(0);
    summary.phases_total = announced.max(count(phases.len()));
    for phase in phases {
        summary.phases_completed += u32::from(phase.status == completed);
        summary.phases_failed += u32::from(phase.status == failed);
        if phase.status == running {
            summary.current_phase = Some(phase.name.clone());
        }
        for task in &phase.tasks {
            summary.tasks_total += 1;
            summary.tasks_completed += u32::from(task.status == completed);
            summary.tasks_failed += u32::from(task.status == failed);
            for agent in &task.agents {
                summary.agents_total += 1;
                summary.agents_completed += u32::from(agent.status == completed);
                summary.agents_failed += u32::from(agent.status == failed);
            }
        }
    }
    summary
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_drop_the_prefix() {
        assert_eq!(state_name(pb::ExecutionState::TimedOut as i32), "TIMED_OUT");
        assert!(is_final(pb::ExecutionState::Cancelled as i32));
        assert!(!is_final(pb::ExecutionState::Running as i32));
    }

    #[test]
    fn the_estimate_goes_out_in_seconds_with_a_short_basis() {
        let execution = pb::Execution {
            state: pb::ExecutionState::Running as i32,
            current_phase: "build".into(),
            estimate: Some(pb::Estimate {
                progress: Some(0.5),
                remaining: Some(prost_types::Duration {
                    seconds: 90,
                    nanos: 500_000_000,
                }),
                completion_time: Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: 0,
                }),
                basis: pb::EstimateBasis::ProgressAndHistory as i32,
                history_runs: 3,
            }),
            ..Default::default()
        };
        let summary = serde_json::to_value(ExecutionSummary::from(&execution)).unwrap();
        assert_eq!(summary["current_phase"], "build");
        assert_eq!(
            summary["estimate"],
            serde_json::json!({"progress": 0.5, "remaining_seconds": 90.5,
                "completion_time": "1970-01-01T00:00:00.000Z",
                "basis": "PROGRESS_AND_HISTORY", "history_runs": 3})
        );
        let finished = pb::Execution::default();
        let summary = serde_json::to_value(ExecutionSummary::from(&finished)).unwrap();
        assert!(summary.get("estimate").is_none() && summary.get("current_phase").is_none());
    }

    #[test]
    fn progress_counts_the_tree() {
        let phases = vec![pb::Phase {
            index: 0,
            name: "plan".into(),
            total_phases: 3,
            status: pb::NodeStatus::Running as i32,
            error: String::new(),
            tasks: vec![pb::Task {
                task_id: "t".into(),
                status: pb::NodeStatus::Completed as i32,
                percent: -1,
                ..Default::default()
            }],
        }];
        let summary = progress_summary(&phases);
        assert_eq!(summary.phases_total, 3);
        assert_eq!(summary.tasks_completed, 1);
        assert_eq!(summary.current_phase.as_deref(), Some("plan"));
    }
}
