//! What the tools return (each an object, so its JSON Schema is the tool's
//! `outputSchema`), built from the gRPC messages, and the one-line rendering
//! of log events shared by the log tool and progress notifications.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::pb;
use crate::pb::log_event::Payload;

/// A discovered workflow, as `list_workflows` returns it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct WorkflowInfo {
    /// Workflow id: pass it as `workflow_id` to execute_workflow.
    pub(crate) id: String,
    /// Human-readable name, as the workflow program reports it (not
    /// verified by the daemon).
    pub(crate) name: String,
    /// What the workflow does, in the program's own words, marked as such:
    /// `Description from the workflow program (not verified by the daemon):
    /// "..."` (empty when the program gives none).
    pub(crate) description: String,
    /// Version of the workflow's metadata schema.
    pub(crate) schema_version: String,
    /// JSON Schema (draft 2020-12) of the workflow's inputs: the `inputs`
    /// object of execute_workflow must satisfy it. Its titles and
    /// descriptions come from the program and are marked as such.
    pub(crate) input_schema: serde_json::Map<String, serde_json::Value>,
    /// Name of the tool that runs this workflow directly (its arguments are
    /// the inputs), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_name: Option<String>,
}

/// A program that failed discovery.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct DiscoveryProblem {
    /// Path of the program.
    pub(crate) program_path: String,
    /// Why it could not be discovered.
    pub(crate) message: String,
}

/// Result of list_workflows.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ListWorkflowsOutput {
    /// The workflows, ordered by id.
    pub(crate) workflows: Vec<WorkflowInfo>,
    /// Programs in the workflow directories that could not be discovered.
    pub(crate) discovery_errors: Vec<DiscoveryProblem>,
}

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

/// An agent working on a task.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct AgentStatus {
    /// Agent name.
    pub(crate) name: String,
    /// What the agent does.
    pub(crate) description: String,
    /// RUNNING, COMPLETED or FAILED.
    pub(crate) status: String,
    /// The agent's latest message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_message: Option<String>,
    /// Result, once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) result: Option<String>,
    /// Error, once failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
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
    /// The task's latest progress message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_message: Option<String>,
    /// Result, once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) result: Option<String>,
    /// Error, once failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
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

/// The state of one execution, as get_workflow_status returns it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ExecutionStatus {
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
    /// Exit code, when the program exited normally.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) exit_code: Option<i32>,
    /// Signal that ended the program, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) signal: Option<i32>,
    /// Why it failed, was cancelled or was interrupted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// When it was accepted (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) create_time: Option<String>,
    /// When the program started (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) start_time: Option<String>,
    /// When it finished (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) end_time: Option<String>,
    /// The inputs it runs with, defaults applied.
    pub(crate) inputs: BTreeMap<String, String>,
    /// Labels given at start.
    pub(crate) labels: BTreeMap<String, String>,
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
    /// The workflow.
    pub(crate) workflow_id: String,
    /// The workflow's name.
    pub(crate) workflow_name: String,
    /// Current state.
    pub(crate) state: String,
    /// True once the state is final.
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
}

/// One problem of a manifest.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ManifestProblemInfo {
    /// Where in the document, e.g. `vms[2].pipeline.convert.output_format`;
    /// empty for the document as a whole.
    pub(crate) path: String,
    /// What is wrong.
    pub(crate) message: String,
}

/// One VM's pipeline as it would run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ManifestVmInfo {
    /// VM name.
    pub(crate) name: String,
    /// The pipeline (load, inspect, fix, convert, validate) with defaults
    /// applied.
    pub(crate) pipeline: serde_json::Map<String, serde_json::Value>,
}

/// Result of validate_manifest.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ValidateManifestOutput {
    /// True when the manifest has no problems.
    pub(crate) valid: bool,
    /// Every problem found.
    pub(crate) problems: Vec<ManifestProblemInfo>,
    /// The encoding it was read as: json or yaml (empty when unreadable).
    pub(crate) format: String,
    /// single, batch or artifact_v1 (empty when unrecognised).
    pub(crate) kind: String,
    /// When valid: the pipelines that would run, one per VM.
    pub(crate) vms: Vec<ManifestVmInfo>,
}

/// One VM of a submitted manifest.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct SubmittedVmInfo {
    /// VM name.
    pub(crate) name: String,
    /// The execution running its pipeline.
    pub(crate) execution_id: String,
    /// Its state when the call returned.
    pub(crate) state: String,
}

/// Result of submit_manifest.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct SubmitManifestOutput {
    /// The batch id shared by the executions of a batch (pass it to
    /// list_executions as batch_id); absent for a single VM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) batch_id: Option<String>,
    /// False when the executions were found by request_id instead of
    /// started.
    pub(crate) started: bool,
    /// single, batch or artifact_v1.
    pub(crate) kind: String,
    /// One entry per VM, in the manifest's order.
    pub(crate) vms: Vec<SubmittedVmInfo>,
    /// What to do next.
    pub(crate) hint: String,
}

/// The short name of a manifest kind.
pub(crate) fn manifest_kind_name(kind: pb::ManifestKind) -> String {
    match kind {
        pb::ManifestKind::Unspecified => "",
        pb::ManifestKind::Single => "single",
        pb::ManifestKind::Batch => "batch",
        pb::ManifestKind::ArtifactV1 => "artifact_v1",
    }
    .to_string()
}

/// Result of list_executions.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ListExecutionsOutput {
    /// Executions, newest first.
    pub(crate) executions: Vec<ExecutionSummary>,
    /// Pass as `page_token` (with the same filters) for the next page;
    /// absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_page_token: Option<String>,
}

/// How a bounded wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WaitOutcome {
    /// No wait was asked for (`wait_seconds` absent or 0).
    NotRequested,
    /// The execution finished within the wait.
    Finished,
    /// `wait_seconds` passed first; the execution goes on.
    WaitExpired,
    /// The log stream ended before a final state was seen.
    StreamEnded,
    /// The client cancelled the request; the execution goes on.
    ClientCancelled,
}

/// Result of execute_workflow and of every `run_<workflow_id>` tool.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ExecuteOutput {
    /// Execution id: pass it to get_workflow_status, get_workflow_logs or
    /// cancel_workflow.
    pub(crate) execution_id: String,
    /// The workflow.
    pub(crate) workflow_id: String,
    /// False when an earlier call with the same request_id had already
    /// started this execution.
    pub(crate) started: bool,
    /// State when the call returned.
    pub(crate) state: String,
    /// True when the execution had finished by then.
    pub(crate) finished: bool,
    /// How the wait ended.
    pub(crate) wait: WaitOutcome,
    /// Seconds spent waiting.
    pub(crate) waited_seconds: f64,
    /// Full status, when the call waited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<ExecutionStatus>,
    /// What to do next.
    pub(crate) hint: String,
}

/// Result of cancel_workflow.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct CancelOutput {
    /// Execution id.
    pub(crate) execution_id: String,
    /// State right after the request (a running program may still be
    /// stopping: RUNNING until it exits).
    pub(crate) state: String,
    /// True once the state is final.
    pub(crate) finished: bool,
    /// True when a cancel was already in progress.
    pub(crate) already_requested: bool,
}

/// One line of an execution's log.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct LogLine {
    /// Sequence number (1 is the first event; no gaps).
    pub(crate) sequence: u64,
    /// When the daemon read or produced it (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) time: Option<String>,
    /// stdout, stderr, event (a structured workflow event) or lifecycle
    /// (queued, started, exited, finished, ...).
    pub(crate) kind: String,
    /// The line, or a one-line description of the event.
    pub(crate) text: String,
}

/// Result of get_workflow_logs.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct LogsOutput {
    /// Execution id.
    pub(crate) execution_id: String,
    /// The lines, oldest first.
    pub(crate) lines: Vec<LogLine>,
    /// Pass as `cursor` to read on from here.
    pub(crate) next_cursor: u64,
    /// True when `max_bytes` cut the page short: call again with
    /// `next_cursor` for the rest.
    pub(crate) has_more: bool,
    /// True when the log read so far ends with the execution's final event;
    /// otherwise more lines may still come.
    pub(crate) execution_finished: bool,
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

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

fn sorted(map: &std::collections::HashMap<String, String>) -> BTreeMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

impl From<&pb::Execution> for ExecutionStatus {
    fn from(e: &pb::Execution) -> ExecutionStatus {
        ExecutionStatus {
            execution_id: e.id.clone(),
            workflow_id: e.workflow_id.clone(),
            workflow_name: e.workflow_name.clone(),
            state: state_name(e.state),
            finished: is_final(e.state),
            exit_code: e.exit_code,
            signal: e.signal,
            error: non_empty(&e.error),
            create_time: rfc3339(e.create_time.as_ref()),
            start_time: rfc3339(e.start_time.as_ref()),
            end_time: rfc3339(e.end_time.as_ref()),
            inputs: sorted(&e.inputs),
            labels: sorted(&e.labels),
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
                last_message: t.messages.last().cloned(),
                result: non_empty(&t.result),
                error: non_empty(&t.error),
                agents: t
                    .agents
                    .iter()
                    .map(|a| AgentStatus {
                        name: a.name.clone(),
                        description: a.description.clone(),
                        status: node_status(a.status),
                        last_message: a.messages.last().cloned(),
                        result: non_empty(&a.result),
                        error: non_empty(&a.error),
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

/// A log event as a log line: its kind and a one-line text.
pub(crate) fn log_line(event: &pb::LogEvent) -> LogLine {
    let (kind, text) = describe(event.payload.as_ref());
    LogLine {
        sequence: event.sequence,
        time: rfc3339(event.time.as_ref()),
        kind: kind.to_string(),
        text,
    }
}

/// Whether the event is the execution's final one.
pub(crate) fn is_finished_event(event: &pb::LogEvent) -> bool {
    matches!(event.payload, Some(Payload::Finished(_)))
}

/// Whether the event is a plain output line (as opposed to a structured or
/// lifecycle event).
pub(crate) fn is_output(event: &pb::LogEvent) -> bool {
    matches!(
        event.payload,
        Some(Payload::Output(_) | Payload::RawOutput(_))
    )
}

fn with_detail(text: String, detail: Option<&str>) -> String {
    match detail {
        Some(d) if !d.is_empty() => format!("{text}: {d}"),
        _ => text,
    }
}

/// (kind, text) of one payload.
fn describe(payload: Option<&Payload>) -> (&'static str, String) {
    let Some(payload) = payload else {
        return ("lifecycle", "(empty event)".to_string());
    };
    match payload {
        Payload::Output(line) => {
            let kind = if line.stream == pb::OutputStream::Stderr as i32 {
                "stderr"
            } else {
                "stdout"
            };
            (kind, line.text.clone())
        }
        Payload::RawOutput(raw) => {
            let kind = if raw.stream == "stderr" {
                "stderr"
            } else {
                "stdout"
            };
            (kind, raw.line.clone())
        }
        Payload::PhaseStarted(p) => (
            "event",
            format!(
                "phase {} {:?} started ({} of {})",
                p.phase,
                p.name,
                p.phase + 1,
                p.total_phases
            ),
        ),
        Payload::PhaseCompleted(p) => {
            ("event", format!("phase {} {:?} completed", p.phase, p.name))
        }
        Payload::PhaseFailed(p) => (
            "event",
            format!("phase {} {:?} failed: {}", p.phase, p.name, p.error),
        ),
        Payload::TaskStarted(t) => (
            "event",
            with_detail(
                format!("task {} started in phase {}", t.task_id, t.phase),
                Some(&t.description),
            ),
        ),
        Payload::TaskProgress(t) => ("event", format!("task {}: {}", t.task_id, t.message)),
        Payload::TaskCompleted(t) => (
            "event",
            with_detail(format!("task {} completed", t.task_id), t.result.as_deref()),
        ),
        Payload::TaskFailed(t) => ("event", format!("task {} failed: {}", t.task_id, t.error)),
        Payload::AgentStarted(a) => (
            "event",
            with_detail(
                format!("agent {} started on task {}", a.agent_name, a.task_id),
                Some(&a.description),
            ),
        ),
        Payload::AgentMessage(a) => (
            "event",
            format!("agent {} ({}): {}", a.agent_name, a.task_id, a.message),
        ),
        Payload::AgentCompleted(a) => (
            "event",
            with_detail(
                format!("agent {} completed task {}", a.agent_name, a.task_id),
                a.result.as_deref(),
            ),
        ),
        Payload::AgentFailed(a) => (
            "event",
            format!(
                "agent {} failed on task {}: {}",
                a.agent_name, a.task_id, a.error
            ),
        ),
        Payload::StateFileCreated(s) => (
            "event",
            with_detail(
                format!("state file {} written by phase {}", s.file_path, s.phase),
                Some(&s.description),
            ),
        ),
        Payload::Queued(q) => (
            "lifecycle",
            format!("queued at position {}", q.queue_position),
        ),
        Payload::Started(s) => ("lifecycle", format!("started with pid {}", s.pid)),
        Payload::Exited(e) => (
            "lifecycle",
            match (e.exit_code, e.signal) {
                (Some(code), _) => format!("exited with code {code}"),
                (None, Some(signal)) => format!("killed by signal {signal}"),
                (None, None) => "exited".to_string(),
            },
        ),
        Payload::CancelRequested(c) => (
            "lifecycle",
            format!(
                "cancel requested by {}{}",
                if c.reason.is_empty() {
                    "client"
                } else {
                    &c.reason
                },
                if c.force { " (force)" } else { "" }
            ),
        ),
        Payload::Killed(k) => ("lifecycle", format!("sent signal {}", k.signal)),
        Payload::TimedOut(t) => (
            "lifecycle",
            format!(
                "timed out after {} s",
                t.timeout.as_ref().map_or(0, |d| d.seconds)
            ),
        ),
        Payload::Interrupted(i) => ("lifecycle", format!("interrupted: {}", i.reason)),
        Payload::Finished(f) => (
            "lifecycle",
            with_detail(format!("finished: {}", state_name(f.state)), Some(&f.error)),
        ),
    }
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
    fn events_render_as_one_line() {
        let event = pb::LogEvent {
            sequence: 7,
            time: Some(prost_types::Timestamp {
                seconds: 0,
                nanos: 0,
            }),
            payload: Some(Payload::PhaseStarted(pb::PhaseStarted {
                phase: 1,
                name: "research".into(),
                total_phases: 3,
            })),
        };
        let line = log_line(&event);
        assert_eq!(line.kind, "event");
        assert_eq!(line.text, "phase 1 \"research\" started (2 of 3)");
        assert_eq!(line.time.as_deref(), Some("1970-01-01T00:00:00.000Z"));
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
