//! The arguments of the fixed tools, as MCP clients send them; their JSON
//! Schemas are the tools' `inputSchema`s.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::pb;

/// Arguments of execute_workflow.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExecuteParams {
    /// Id of the workflow to run (see list_workflows).
    pub(crate) workflow_id: String,
    /// Input values by name; must satisfy the workflow's input_schema from
    /// list_workflows. Inputs with defaults may be left out.
    #[serde(default)]
    pub(crate) inputs: Option<serde_json::Map<String, Value>>,
    /// Free-form labels to find the execution by later (list_executions).
    #[serde(default)]
    pub(crate) labels: Option<BTreeMap<String, String>>,
    /// Your id for this request: repeating a call with the same request_id
    /// returns the first call's execution instead of starting another.
    #[serde(default)]
    pub(crate) request_id: Option<String>,
    /// Wall-clock limit for the run in seconds; when reached the execution
    /// is cancelled and ends TIMED_OUT.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub(crate) timeout_seconds: Option<u32>,
    /// Seconds (at most 300) to wait for the run to finish, with progress
    /// notifications, before returning. Omit or 0 to return at once with
    /// the execution id. Ending the wait never cancels the run.
    #[serde(default)]
    #[schemars(range(min = 0, max = 300))]
    pub(crate) wait_seconds: Option<u32>,
}

/// Arguments naming one execution.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExecutionParams {
    /// Execution id, as execute_workflow or list_executions returned it.
    pub(crate) execution_id: String,
}

/// Arguments of get_workflow_logs.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogsParams {
    /// Execution id.
    pub(crate) execution_id: String,
    /// Sequence number to read from: 1 (the default) for the start, or the
    /// next_cursor of the previous page.
    #[serde(default)]
    pub(crate) cursor: Option<u64>,
    /// Return only the last this many lines from the cursor on (at most
    /// 10000).
    #[serde(default)]
    #[schemars(range(min = 1, max = 10000))]
    pub(crate) tail_lines: Option<u32>,
    /// Byte budget of the returned text (default 32768, at most 1048576).
    #[serde(default)]
    #[schemars(range(min = 1, max = 1048576))]
    pub(crate) max_bytes: Option<u32>,
}

/// Arguments of cancel_workflow.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelParams {
    /// Execution id.
    pub(crate) execution_id: String,
    /// Kill at once (SIGKILL) instead of asking the program to stop.
    #[serde(default)]
    pub(crate) force: Option<bool>,
    /// Seconds between SIGTERM and SIGKILL (the daemon's default when
    /// omitted).
    #[serde(default)]
    pub(crate) grace_period_seconds: Option<u32>,
}

/// An execution state, for filtering.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum StateFilter {
    /// Waiting for a worker.
    Queued,
    /// Running.
    Running,
    /// Exited 0.
    Succeeded,
    /// Exited non-zero, killed, or could not start.
    Failed,
    /// Cancelled by a client.
    Cancelled,
    /// Cancelled by its timeout.
    TimedOut,
    /// The daemon stopped while it ran.
    Interrupted,
}

impl From<StateFilter> for pb::ExecutionState {
    fn from(state: StateFilter) -> pb::ExecutionState {
        match state {
            StateFilter::Queued => pb::ExecutionState::Queued,
            StateFilter::Running => pb::ExecutionState::Running,
            StateFilter::Succeeded => pb::ExecutionState::Succeeded,
            StateFilter::Failed => pb::ExecutionState::Failed,
            StateFilter::Cancelled => pb::ExecutionState::Cancelled,
            StateFilter::TimedOut => pb::ExecutionState::TimedOut,
            StateFilter::Interrupted => pb::ExecutionState::Interrupted,
        }
    }
}

/// Arguments of list_executions.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListExecutionsParams {
    /// Only executions of this workflow.
    #[serde(default)]
    pub(crate) workflow_id: Option<String>,
    /// Only executions in one of these states.
    #[serde(default)]
    pub(crate) states: Option<Vec<StateFilter>>,
    /// Only executions carrying all of these labels.
    #[serde(default)]
    pub(crate) labels: Option<BTreeMap<String, String>>,
    /// Executions per page (default 20, at most 100).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub(crate) page_size: Option<u32>,
    /// next_page_token of the previous page (keep the same filters).
    #[serde(default)]
    pub(crate) page_token: Option<String>,
    /// Only the executions of this batch (the batch_id submit_manifest
    /// returned).
    #[serde(default)]
    pub(crate) batch_id: Option<String>,
    /// Only the executions this schedule started.
    #[serde(default)]
    pub(crate) schedule_id: Option<String>,
}

/// How manifest text is encoded.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ManifestFormatParam {
    /// From file_name, else from the content.
    #[default]
    Detect,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

impl From<ManifestFormatParam> for pb::ManifestFormat {
    fn from(format: ManifestFormatParam) -> pb::ManifestFormat {
        match format {
            ManifestFormatParam::Detect => pb::ManifestFormat::Detect,
            ManifestFormatParam::Json => pb::ManifestFormat::Json,
            ManifestFormatParam::Yaml => pb::ManifestFormat::Yaml,
        }
    }
}

/// Arguments of validate_manifest.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ValidateManifestParams {
    /// The manifest as text: `{version: "1.0", pipeline: {load: {source_type,
    /// source_path}, inspect, fix, convert: {output_format}, validate}}` for
    /// one VM, `{version: "1.0", batch: true, vms: [{name, pipeline}, ...]}`
    /// for several, or an Artifact Manifest v1 (`manifest_version`, `disks`).
    pub(crate) content: String,
    /// json, yaml or detect (the default).
    #[serde(default)]
    pub(crate) format: Option<ManifestFormatParam>,
    /// The manifest's file name, if any (format detection, and the name of
    /// a single VM whose manifest does not name it).
    #[serde(default)]
    pub(crate) file_name: Option<String>,
}

/// Arguments of submit_manifest.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmitManifestParams {
    /// The manifest as text (see validate_manifest). Source paths must be
    /// absolute paths on the daemon's machine.
    pub(crate) content: String,
    /// json, yaml or detect (the default).
    #[serde(default)]
    pub(crate) format: Option<ManifestFormatParam>,
    /// The manifest's file name, if any.
    #[serde(default)]
    pub(crate) file_name: Option<String>,
    /// Your id for this request: repeating a call with the same request_id
    /// returns the first call's executions instead of starting more.
    #[serde(default)]
    pub(crate) request_id: Option<String>,
    /// Labels for every execution.
    #[serde(default)]
    pub(crate) labels: Option<BTreeMap<String, String>>,
}
