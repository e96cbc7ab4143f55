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
    /// The namespace to run it in; the workflow must belong to it. Omit
    /// for your token's only namespace, else `default`.
    #[serde(default)]
    pub(crate) namespace: Option<String>,
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
    /// Only executions of this namespace (you see only your token's
    /// namespaces in any case).
    #[serde(default)]
    pub(crate) namespace: Option<String>,
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
    /// The namespace to run its executions in. Omit for your token's only
    /// namespace, else `default`.
    #[serde(default)]
    pub(crate) namespace: Option<String>,
}

/// What a schedule does when it falls due: execute a workflow.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScheduleExecuteParams {
    /// Id of the workflow to run (see list_workflows).
    pub(crate) workflow_id: String,
    /// Input values by name, as execute_workflow takes them; checked now
    /// and again at each run.
    #[serde(default)]
    pub(crate) inputs: Option<serde_json::Map<String, Value>>,
    /// Wall-clock limit of each run in seconds.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub(crate) timeout_seconds: Option<u32>,
}

/// What a schedule does when it falls due: submit a hyper2kvm manifest.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScheduleManifestParams {
    /// The manifest as text (see validate_manifest), stored with the
    /// schedule. Give this or template_path.
    #[serde(default)]
    pub(crate) content: Option<String>,
    /// Absolute path of a manifest file on the daemon's machine, inside its
    /// source roots, read again at each run (edits apply to the next run).
    /// Give this or content.
    #[serde(default)]
    pub(crate) template_path: Option<String>,
    /// json, yaml or detect (the default).
    #[serde(default)]
    pub(crate) format: Option<ManifestFormatParam>,
    /// Output directory of each run's VMs, inside the daemon's output
    /// directory (a relative one is below it). Default: the daemon's.
    #[serde(default)]
    pub(crate) output_dir: Option<String>,
}

/// What happens when a schedule falls due while its previous run is still
/// queued or running.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum OverlapPolicyParam {
    /// Record this time SKIPPED; start nothing (the default).
    Skip,
    /// Start when the previous run ends; at most one waits.
    BufferOne,
    /// Start anyway, alongside.
    AllowAll,
    /// Cancel the previous run, then start.
    CancelPrevious,
}

impl From<OverlapPolicyParam> for pb::ScheduleOverlapPolicy {
    fn from(policy: OverlapPolicyParam) -> pb::ScheduleOverlapPolicy {
        match policy {
            OverlapPolicyParam::Skip => pb::ScheduleOverlapPolicy::Skip,
            OverlapPolicyParam::BufferOne => pb::ScheduleOverlapPolicy::BufferOne,
            OverlapPolicyParam::AllowAll => pb::ScheduleOverlapPolicy::AllowAll,
            OverlapPolicyParam::CancelPrevious => pb::ScheduleOverlapPolicy::CancelPrevious,
        }
    }
}

/// What happens to the times a schedule fell due while the daemon was down.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum CatchUpPolicyParam {
    /// Start the latest missed time within the catch-up window; record the
    /// others MISSED (the default).
    StartOne,
    /// Record every missed time MISSED.
    Skip,
}

impl From<CatchUpPolicyParam> for pb::ScheduleCatchUpPolicy {
    fn from(policy: CatchUpPolicyParam) -> pb::ScheduleCatchUpPolicy {
        match policy {
            CatchUpPolicyParam::StartOne => pb::ScheduleCatchUpPolicy::StartOne,
            CatchUpPolicyParam::Skip => pb::ScheduleCatchUpPolicy::Skip,
        }
    }
}

/// Arguments of create_schedule.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateScheduleParams {
    /// The schedule's id: 1 to 63 characters of a-z, 0-9, `.`, `_` and
    /// `-`, starting with a letter or digit.
    pub(crate) schedule_id: String,
    /// Cron expressions (at least one): 5 fields (minute hour day-of-month
    /// month day-of-week), 6 with a leading seconds field, or `@daily`-style
    /// aliases. It falls due whenever one matches.
    pub(crate) cron: Vec<String>,
    /// IANA time zone the expressions are read in, e.g. `Europe/Paris`
    /// (default UTC).
    #[serde(default)]
    pub(crate) time_zone: Option<String>,
    /// Each run starts up to this many seconds after its time.
    #[serde(default)]
    pub(crate) jitter_seconds: Option<u32>,
    /// Not due before this time (RFC 3339, e.g. `2026-05-01T02:00:00Z`).
    #[serde(default)]
    pub(crate) start_time: Option<String>,
    /// Not due after this time (RFC 3339).
    #[serde(default)]
    pub(crate) end_time: Option<String>,
    /// Execute a workflow at each time. Give this or manifest.
    #[serde(default)]
    pub(crate) execute: Option<ScheduleExecuteParams>,
    /// Submit a manifest at each time. Give this or execute.
    #[serde(default)]
    pub(crate) manifest: Option<ScheduleManifestParams>,
    /// Labels of each execution it starts (the daemon adds `schedule`).
    #[serde(default)]
    pub(crate) labels: Option<BTreeMap<String, String>>,
    /// When it falls due while its previous run still goes (default SKIP).
    #[serde(default)]
    pub(crate) overlap_policy: Option<OverlapPolicyParam>,
    /// The times it fell due while the daemon was down (default START_ONE).
    #[serde(default)]
    pub(crate) catch_up_policy: Option<CatchUpPolicyParam>,
    /// With START_ONE: how many seconds old a missed time may be and still
    /// start (default 3600).
    #[serde(default)]
    pub(crate) catch_up_window_seconds: Option<u32>,
    /// Create it paused: nothing runs until pause_schedule unpauses it.
    #[serde(default)]
    pub(crate) paused: Option<bool>,
    /// Why it is paused (or not), for the people reading it.
    #[serde(default)]
    pub(crate) note: Option<String>,
    /// Free text for people.
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// The namespace its executions run in; the workflow must belong to
    /// it. Omit for `default`.
    #[serde(default)]
    pub(crate) namespace: Option<String>,
}

/// Arguments naming one schedule.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScheduleParams {
    /// Schedule id, as create_schedule or list_schedules returned it.
    pub(crate) schedule_id: String,
}

/// Arguments of list_schedules.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListSchedulesParams {
    /// Schedules per page (default 100, at most 1000).
    #[serde(default)]
    #[schemars(range(min = 1, max = 1000))]
    pub(crate) page_size: Option<u32>,
    /// next_page_token of the previous page.
    #[serde(default)]
    pub(crate) page_token: Option<String>,
}

/// Arguments of trigger_schedule.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TriggerScheduleParams {
    /// Schedule id.
    pub(crate) schedule_id: String,
    /// Your id for this request: repeating a call with the same request_id
    /// returns the first call's run instead of acting again.
    #[serde(default)]
    pub(crate) request_id: Option<String>,
}

/// Arguments of get_schedule.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetScheduleParams {
    /// Schedule id.
    pub(crate) schedule_id: String,
    /// How many next fire times to return (default 5, at most 100).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub(crate) next_fire_times: Option<u32>,
    /// How many recent runs to return, newest first (default 10, at most
    /// 1000).
    #[serde(default)]
    #[schemars(range(min = 1, max = 1000))]
    pub(crate) recent_runs: Option<u32>,
}

/// Arguments of pause_schedule.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PauseScheduleParams {
    /// Schedule id.
    pub(crate) schedule_id: String,
    /// True pauses it (nothing runs, nothing is recorded), false unpauses
    /// it (the times it fell due while paused are not caught up).
    pub(crate) paused: bool,
    /// Why, for the people reading the schedule.
    #[serde(default)]
    pub(crate) note: Option<String>,
}
