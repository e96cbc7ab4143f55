//! Conversions between domain types and the generated protobuf types. Kept
//! in one place so handlers stay thin.

use std::collections::BTreeMap;

use serde_json::Value as JsonValue;

use crate::engine::BatchSummary;
use crate::estimate::{Basis, Estimate};
use crate::events::{ExecutionState, Lifecycle, LogEvent, LogPayload, OutputStream, WorkflowEvent};
use crate::pb;
use crate::pb::log_event::Payload;
use crate::store::ExecutionRecord;
use crate::tree::{ExecutionTree, NodeStatus};
use crate::workflow::{DiscoveredWorkflow, DiscoveryFailure, FieldSpec, FieldType};

pub(crate) use super::wire_time::{duration, pb_duration, pb_duration_ms, timestamp, timestamp_ms};

/// Request inputs as JSON values by name.
pub(crate) fn json_inputs(
    inputs: &std::collections::HashMap<String, prost_types::Value>,
) -> BTreeMap<String, JsonValue> {
    inputs
        .iter()
        .map(|(k, v)| (k.clone(), crate::proto_value::to_json(v)))
        .collect()
}

/// A discovered workflow.
/// A workflow as the API shows it, with the namespaces it belongs to.
pub(crate) fn workflow(w: &DiscoveredWorkflow, namespaces: Vec<String>) -> pb::Workflow {
    pb::Workflow {
        id: w.metadata.id.clone(),
        name: w.metadata.name.clone(),
        description: w.metadata.description.clone(),
        schema_version: w.metadata.schema_version.clone(),
        fields: w.metadata.fields.iter().map(field).collect(),
        input_json_schema: w.input_json_schema.clone(),
        program_path: w.program_path.to_string_lossy().into_owned(),
        discover_time: Some(timestamp(w.discovered_at_ms)),
        namespaces,
    }
}

fn field(f: &FieldSpec) -> pb::Field {
    use pb::field_type::{FilePath, Kind, Number, PhaseSelector, Select, StateFile, Text};
    let kind = match &f.field_type {
        FieldType::Text => Kind::Text(Text {}),
        FieldType::Number { min, max } => Kind::Number(Number {
            min: *min,
            max: *max,
        }),
        FieldType::FilePath { pattern } => Kind::FilePath(FilePath {
            pattern: pattern.clone(),
        }),
        FieldType::Select { options } => Kind::Select(Select {
            options: options.clone(),
        }),
        FieldType::PhaseSelector { total_phases } => Kind::PhaseSelector(PhaseSelector {
            total_phases: *total_phases,
        }),
        FieldType::StateFile { pattern, phase } => Kind::StateFile(StateFile {
            pattern: pattern.clone(),
            phase: *phase,
        }),
    };
    pb::Field {
        name: f.name.clone(),
        label: f.label.clone(),
        description: f.description.clone(),
        cli_arg: f.cli_arg.clone(),
        required: f.required,
        default_value: f.default.clone(),
        required_for_phases: f.required_for_phases.clone().unwrap_or_default(),
        r#type: Some(pb::FieldType { kind: Some(kind) }),
    }
}

/// A discovery failure.
pub(crate) fn discovery_error(f: &DiscoveryFailure) -> pb::DiscoveryError {
    pb::DiscoveryError {
        program_path: f.program_path.to_string_lossy().into_owned(),
        message: f.message.clone(),
        discover_time: Some(timestamp(f.discovered_at_ms)),
    }
}

/// The format a request names; None for numbers outside the enum.
pub(crate) fn format_hint(value: i32) -> Option<crate::manifest::FormatHint> {
    use crate::manifest::FormatHint;
    Some(match pb::ManifestFormat::try_from(value).ok()? {
        pb::ManifestFormat::Unspecified | pb::ManifestFormat::Detect => FormatHint::Detect,
        pb::ManifestFormat::Json => FormatHint::Json,
        pb::ManifestFormat::Yaml => FormatHint::Yaml,
    })
}

/// A manifest encoding hint as the proto says it.
pub(crate) fn pb_format_hint(hint: crate::manifest::FormatHint) -> pb::ManifestFormat {
    use crate::manifest::FormatHint;
    match hint {
        FormatHint::Detect => pb::ManifestFormat::Detect,
        FormatHint::Json => pb::ManifestFormat::Json,
        FormatHint::Yaml => pb::ManifestFormat::Yaml,
    }
}

/// A manifest encoding.
pub(crate) fn manifest_format(format: Option<crate::manifest::Format>) -> pb::ManifestFormat {
    match format {
        None => pb::ManifestFormat::Unspecified,
        Some(crate::manifest::Format::Json) => pb::ManifestFormat::Json,
        Some(crate::manifest::Format::Yaml) => pb::ManifestFormat::Yaml,
    }
}

/// A manifest kind.
pub(crate) fn manifest_kind(kind: Option<crate::manifest::Kind>) -> pb::ManifestKind {
    match kind {
        None => pb::ManifestKind::Unspecified,
        Some(crate::manifest::Kind::Single) => pb::ManifestKind::Single,
        Some(crate::manifest::Kind::Batch) => pb::ManifestKind::Batch,
        Some(crate::manifest::Kind::ArtifactV1) => pb::ManifestKind::ArtifactV1,
    }
}

/// A validation as the ValidateManifest response.
pub(crate) fn validation(v: &crate::manifest::Validation) -> pb::ValidateManifestResponse {
    pb::ValidateManifestResponse {
        valid: v.is_valid(),
        problems: v
            .problems
            .iter()
            .map(|p| pb::ManifestProblem {
                path: p.path.clone(),
                message: p.message.clone(),
            })
            .collect(),
        format: manifest_format(v.format) as i32,
        kind: manifest_kind(v.kind) as i32,
        vms: v
            .vms
            .iter()
            .map(|vm| pb::ManifestVm {
                name: vm.name.clone(),
                pipeline_json: vm.document.to_string(),
            })
            .collect(),
    }
}

/// An execution state.
pub(crate) fn state(s: ExecutionState) -> pb::ExecutionState {
    match s {
        ExecutionState::Queued => pb::ExecutionState::Queued,
        ExecutionState::Running => pb::ExecutionState::Running,
        ExecutionState::Succeeded => pb::ExecutionState::Succeeded,
        ExecutionState::Failed => pb::ExecutionState::Failed,
        ExecutionState::Cancelled => pb::ExecutionState::Cancelled,
        ExecutionState::TimedOut => pb::ExecutionState::TimedOut,
        ExecutionState::Interrupted => pb::ExecutionState::Interrupted,
    }
}

/// A protobuf state as a domain state; None for UNSPECIFIED or unknown numbers.
pub(crate) fn domain_state(value: i32) -> Option<ExecutionState> {
    match pb::ExecutionState::try_from(value).ok()? {
        pb::ExecutionState::Unspecified => None,
        pb::ExecutionState::Queued => Some(ExecutionState::Queued),
        pb::ExecutionState::Running => Some(ExecutionState::Running),
        pb::ExecutionState::Succeeded => Some(ExecutionState::Succeeded),
        pb::ExecutionState::Failed => Some(ExecutionState::Failed),
        pb::ExecutionState::Cancelled => Some(ExecutionState::Cancelled),
        pb::ExecutionState::TimedOut => Some(ExecutionState::TimedOut),
        pb::ExecutionState::Interrupted => Some(ExecutionState::Interrupted),
    }
}

/// An execution with its estimate; `with_details` adds the tree and
/// artifacts.
pub(crate) fn execution(
    r: &ExecutionRecord,
    with_details: bool,
    estimate: Option<&Estimate>,
) -> pb::Execution {
    let counts = r.counts.unwrap_or_default();
    // A finished execution runs no phase, even one its program left open.
    let current_phase = match (r.state.is_terminal(), &r.tree) {
        (false, Some(tree)) => crate::estimate::current_phase(tree).map(|p| p.name.clone()),
        _ => None,
    };
    let mut execution = pb::Execution {
        id: r.id.to_string(),
        workflow_id: r.workflow_id.clone(),
        workflow_name: r.workflow_name.clone(),
        state: state(r.state) as i32,
        create_time: Some(timestamp(r.create_ms)),
        start_time: r.start_ms.map(timestamp),
        end_time: r.end_ms.map(timestamp),
        exit_code: r.exit_code,
        signal: r.signal,
        error: r.error.clone(),
        inputs: r.inputs.clone().into_iter().collect(),
        argv: r.argv.clone(),
        labels: r.labels.clone().into_iter().collect(),
        request_id: r.request_id.as_deref().map_or_else(String::new, |stored| {
            crate::namespaces::shown_request_id(&r.namespace, stored).to_string()
        }),
        schedule_id: r
            .scheduled_by
            .as_ref()
            .map(|s| s.schedule_id.clone())
            .unwrap_or_default(),
        scheduled_time: r.scheduled_by.as_ref().map(|s| timestamp(s.scheduled_ms)),
        current_phase: current_phase.unwrap_or_default(),
        estimate: estimate.map(self::estimate),
        timeout: r.timeout_ms.map(pb_duration_ms),
        phases: if with_details {
            r.tree.as_ref().map(tree).unwrap_or_default()
        } else {
            Vec::new()
        },
        artifacts: if with_details {
            r.artifacts
                .iter()
                .map(|a| pb::Artifact {
                    phase: a.phase,
                    path: a.path.clone(),
                    description: a.description.clone(),
                    create_time: Some(timestamp(a.time_ms)),
                })
                .collect()
        } else {
            Vec::new()
        },
        log_counts: Some(pb::LogCounts {
            total: counts.total,
            stdout_lines: counts.stdout_lines,
            stderr_lines: counts.stderr_lines,
            events: counts.events,
            malformed_events: counts.malformed_events,
        }),
        pid: if r.state == ExecutionState::Running {
            r.pid.unwrap_or(0)
        } else {
            0
        },
        batch_id: r.batch_id.clone().unwrap_or_default(),
        namespace: r.namespace.clone(),
        ..pb::Execution::default()
    };
    super::retry_convert::fill_attempts(&mut execution, r);
    super::limits_convert::fill(&mut execution, r);
    execution
}

/// An estimate.
pub(crate) fn estimate(e: &Estimate) -> pb::Estimate {
    pb::Estimate {
        progress: e.progress,
        remaining: e.remaining_ms.map(|ms| pb_duration_ms(ms.max(0) as u64)),
        completion_time: e.completion_ms.map(timestamp),
        basis: match e.basis {
            None => pb::EstimateBasis::Unspecified,
            Some(Basis::Progress) => pb::EstimateBasis::Progress,
            Some(Basis::History) => pb::EstimateBasis::History,
            Some(Basis::ProgressAndHistory) => pb::EstimateBasis::ProgressAndHistory,
        } as i32,
        history_runs: e.history_runs,
    }
}

/// A batch at a glance.
pub(crate) fn batch(b: &BatchSummary) -> pb::BatchSummary {
    let c = &b.counts;
    pb::BatchSummary {
        batch_id: c.batch_id.clone(),
        total: c.total(),
        queued: c.queued,
        running: c.running,
        succeeded: c.succeeded,
        failed: c.failed,
        create_time: Some(timestamp(c.create_ms)),
        end_time: b.end_ms().map(timestamp),
        estimate: b.estimate.as_ref().map(estimate),
    }
}

fn node_status(s: NodeStatus) -> i32 {
    (match s {
        NodeStatus::Running => pb::NodeStatus::Running,
        NodeStatus::Completed => pb::NodeStatus::Completed,
        NodeStatus::Failed => pb::NodeStatus::Failed,
    }) as i32
}

fn tree(t: &ExecutionTree) -> Vec<pb::Phase> {
    t.phases
        .iter()
        .map(|p| pb::Phase {
            index: p.index,
            name: p.name.clone(),
            total_phases: p.total_phases,
            status: node_status(p.status),
            error: p.error.clone(),
            tasks: p
                .tasks
                .iter()
                .map(|t| pb::Task {
                    task_id: t.task_id.clone(),
                    description: t.description.clone(),
                    total_tasks: t.total_tasks,
                    status: node_status(t.status),
                    messages: t.messages.iter().cloned().collect(),
                    result: t.result.clone(),
                    error: t.error.clone(),
                    percent: t.percent,
                    agents: t
                        .agents
                        .iter()
                        .map(|a| pb::Agent {
                            name: a.name.clone(),
                            description: a.description.clone(),
                            status: node_status(a.status),
                            messages: a.messages.iter().cloned().collect(),
                            result: a.result.clone(),
                            error: a.error.clone(),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

/// A log event.
pub(crate) fn log_event(e: &LogEvent) -> pb::LogEvent {
    pb::LogEvent {
        sequence: e.sequence,
        time: Some(timestamp(e.time_ms)),
        payload: Some(payload(&e.payload)),
    }
}

fn payload(p: &LogPayload) -> Payload {
    match p {
        LogPayload::Output {
            stream,
            text,
            malformed_event,
            truncated,
        } => Payload::Output(pb::OutputLine {
            stream: match stream {
                OutputStream::Stdout => pb::OutputStream::Stdout,
                OutputStream::Stderr => pb::OutputStream::Stderr,
            } as i32,
            text: text.clone(),
            malformed_event: *malformed_event,
            truncated: *truncated,
        }),
        LogPayload::Event(event) => workflow_event(event),
        LogPayload::Lifecycle(lifecycle) => lifecycle_event(lifecycle),
    }
}

pub(super) fn workflow_event(e: &WorkflowEvent) -> Payload {
    match e.clone() {
        WorkflowEvent::PhaseStarted {
            phase,
            name,
            total_phases,
        } => Payload::PhaseStarted(pb::PhaseStarted {
            phase,
            name,
            total_phases,
        }),
        WorkflowEvent::PhaseCompleted { phase, name } => {
            Payload::PhaseCompleted(pb::PhaseCompleted { phase, name })
        }
        WorkflowEvent::PhaseFailed { phase, name, error } => {
            Payload::PhaseFailed(pb::PhaseFailed { phase, name, error })
        }
        WorkflowEvent::TaskStarted {
            phase,
            task_id,
            description,
            total_tasks,
        } => Payload::TaskStarted(pb::TaskStarted {
            phase,
            task_id,
            description,
            total_tasks,
        }),
        WorkflowEvent::TaskProgress { task_id, message } => {
            Payload::TaskProgress(pb::TaskProgress { task_id, message })
        }
        WorkflowEvent::TaskCompleted { task_id, result } => {
            Payload::TaskCompleted(pb::TaskCompleted { task_id, result })
        }
        WorkflowEvent::TaskFailed { task_id, error } => {
            Payload::TaskFailed(pb::TaskFailed { task_id, error })
        }
        WorkflowEvent::AgentStarted {
            task_id,
            agent_name,
            description,
        } => Payload::AgentStarted(pb::AgentStarted {
            task_id,
            agent_name,
            description,
        }),
        WorkflowEvent::AgentMessage {
            task_id,
            agent_name,
            message,
        } => Payload::AgentMessage(pb::AgentMessage {
            task_id,
            agent_name,
            message,
        }),
        WorkflowEvent::AgentCompleted {
            task_id,
            agent_name,
            result,
        } => Payload::AgentCompleted(pb::AgentCompleted {
            task_id,
            agent_name,
            result,
        }),
        WorkflowEvent::AgentFailed {
            task_id,
            agent_name,
            error,
        } => Payload::AgentFailed(pb::AgentFailed {
            task_id,
            agent_name,
            error,
        }),
        WorkflowEvent::StateFileCreated {
            phase,
            file_path,
            description,
        } => Payload::StateFileCreated(pb::StateFileCreated {
            phase,
            file_path,
            description,
        }),
        WorkflowEvent::RawOutput { stream, line } => {
            Payload::RawOutput(pb::RawOutput { stream, line })
        }
    }
}

fn lifecycle_event(l: &Lifecycle) -> Payload {
    match l.clone() {
        Lifecycle::Queued { queue_position } => Payload::Queued(pb::Queued { queue_position }),
        Lifecycle::Started { pid, argv } => Payload::Started(pb::Started { pid, argv }),
        Lifecycle::Exited { exit_code, signal } => {
            Payload::Exited(pb::Exited { exit_code, signal })
        }
        Lifecycle::CancelRequested {
            grace_ms,
            force,
            reason,
        } => Payload::CancelRequested(pb::CancelRequested {
            grace_period: Some(pb_duration_ms(grace_ms)),
            force,
            reason: reason.as_str().to_string(),
        }),
        Lifecycle::Killed { signal } => Payload::Killed(pb::Killed { signal }),
        Lifecycle::TimedOut { timeout_ms } => Payload::TimedOut(pb::TimedOut {
            timeout: Some(pb_duration_ms(timeout_ms)),
        }),
        Lifecycle::Interrupted { reason } => Payload::Interrupted(pb::Interrupted { reason }),
        Lifecycle::Finished { state: s, error } => Payload::Finished(pb::Finished {
            state: state(s) as i32,
            error,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_before_and_after_the_epoch() {
        for ms in [0, 1, 999, 1_700_000_000_123, -1, -1001] {
            assert_eq!(timestamp_ms(&timestamp(ms)), ms);
        }
    }
}
