//! What the tools other than the status tools return: workflow listings,
//! manifest checks and submissions, started and cancelled executions.

use schemars::JsonSchema;
use serde::Serialize;

use super::execution::{rfc3339, EstimateInfo, ExecutionStatus, ExecutionSummary};
use crate::pb;

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
    /// The batch as a whole, when the call filtered by batch_id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) batch: Option<BatchInfo>,
}

/// A batch at a glance.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct BatchInfo {
    /// The batch id.
    pub(crate) batch_id: String,
    /// Executions in the batch.
    pub(crate) total: u32,
    /// Waiting for a worker.
    pub(crate) queued: u32,
    /// Running.
    pub(crate) running: u32,
    /// Succeeded.
    pub(crate) succeeded: u32,
    /// Ended otherwise (failed, cancelled, timed out, interrupted).
    pub(crate) failed: u32,
    /// When the last execution finished (RFC 3339); absent while any is active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) end_time: Option<String>,
    /// Progress and remaining time of the whole batch, while it is active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) estimate: Option<EstimateInfo>,
}

impl From<&pb::BatchSummary> for BatchInfo {
    fn from(b: &pb::BatchSummary) -> BatchInfo {
        BatchInfo {
            batch_id: b.batch_id.clone(),
            total: b.total,
            queued: b.queued,
            running: b.running,
            succeeded: b.succeeded,
            failed: b.failed,
            end_time: rfc3339(b.end_time.as_ref()),
            estimate: b.estimate.as_ref().map(EstimateInfo::from),
        }
    }
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
