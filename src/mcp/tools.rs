//! The fixed tools: thin adapters from MCP arguments to one gRPC call (or
//! two, for a waited run) and back to structured results. Daemon errors
//! become [`ToolError`]s, which reach the client as `isError` results.

use std::collections::BTreeMap;
use std::time::Instant;

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router, RoleServer};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::dynamic;
use super::error::{FieldStyle, Subject, ToolError};
use super::model::{
    self, CancelOutput, DiscoveryProblem, ExecuteOutput, ExecutionStatus, ExecutionSummary,
    ListExecutionsOutput, ListWorkflowsOutput, LogLine, LogsOutput, ManifestProblemInfo,
    ManifestVmInfo, SubmitManifestOutput, SubmittedVmInfo, ValidateManifestOutput, WaitOutcome,
    WorkflowInfo,
};
use super::provenance;
use super::server::WorkflowMcp;
use super::wait;
use crate::pb;

/// Default and largest page of list_executions.
const DEFAULT_EXECUTIONS_PAGE: u32 = 20;
const MAX_EXECUTIONS_PAGE: u32 = 100;

/// Default and largest byte budget of one get_workflow_logs page.
const DEFAULT_LOG_BYTES: u32 = 32 * 1024;
const MAX_LOG_BYTES: u32 = 1024 * 1024;

/// Largest tail_lines.
const MAX_TAIL_LINES: u32 = 10_000;

/// Arguments of execute_workflow.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExecuteParams {
    /// Id of the workflow to run (see list_workflows).
    workflow_id: String,
    /// Input values by name; must satisfy the workflow's input_schema from
    /// list_workflows. Inputs with defaults may be left out.
    #[serde(default)]
    inputs: Option<serde_json::Map<String, Value>>,
    /// Free-form labels to find the execution by later (list_executions).
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    /// Your id for this request: repeating a call with the same request_id
    /// returns the first call's execution instead of starting another.
    #[serde(default)]
    request_id: Option<String>,
    /// Wall-clock limit for the run in seconds; when reached the execution
    /// is cancelled and ends TIMED_OUT.
    #[serde(default)]
    #[schemars(range(min = 1))]
    timeout_seconds: Option<u32>,
    /// Seconds (at most 300) to wait for the run to finish, with progress
    /// notifications, before returning. Omit or 0 to return at once with
    /// the execution id. Ending the wait never cancels the run.
    #[serde(default)]
    #[schemars(range(min = 0, max = 300))]
    wait_seconds: Option<u32>,
}

/// Arguments naming one execution.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExecutionParams {
    /// Execution id, as execute_workflow or list_executions returned it.
    execution_id: String,
}

/// Arguments of get_workflow_logs.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogsParams {
    /// Execution id.
    execution_id: String,
    /// Sequence number to read from: 1 (the default) for the start, or the
    /// next_cursor of the previous page.
    #[serde(default)]
    cursor: Option<u64>,
    /// Return only the last this many lines from the cursor on (at most
    /// 10000).
    #[serde(default)]
    #[schemars(range(min = 1, max = 10000))]
    tail_lines: Option<u32>,
    /// Byte budget of the returned text (default 32768, at most 1048576).
    #[serde(default)]
    #[schemars(range(min = 1, max = 1048576))]
    max_bytes: Option<u32>,
}

/// Arguments of cancel_workflow.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelParams {
    /// Execution id.
    execution_id: String,
    /// Kill at once (SIGKILL) instead of asking the program to stop.
    #[serde(default)]
    force: Option<bool>,
    /// Seconds between SIGTERM and SIGKILL (the daemon's default when
    /// omitted).
    #[serde(default)]
    grace_period_seconds: Option<u32>,
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
    workflow_id: Option<String>,
    /// Only executions in one of these states.
    #[serde(default)]
    states: Option<Vec<StateFilter>>,
    /// Only executions carrying all of these labels.
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    /// Executions per page (default 20, at most 100).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    page_size: Option<u32>,
    /// next_page_token of the previous page (keep the same filters).
    #[serde(default)]
    page_token: Option<String>,
    /// Only the executions of this batch (the batch_id submit_manifest
    /// returned).
    #[serde(default)]
    batch_id: Option<String>,
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
    content: String,
    /// json, yaml or detect (the default).
    #[serde(default)]
    format: Option<ManifestFormatParam>,
    /// The manifest's file name, if any (format detection, and the name of
    /// a single VM whose manifest does not name it).
    #[serde(default)]
    file_name: Option<String>,
}

/// Arguments of submit_manifest.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmitManifestParams {
    /// The manifest as text (see validate_manifest). Source paths must be
    /// absolute paths on the daemon's machine.
    content: String,
    /// json, yaml or detect (the default).
    #[serde(default)]
    format: Option<ManifestFormatParam>,
    /// The manifest's file name, if any.
    #[serde(default)]
    file_name: Option<String>,
    /// Your id for this request: repeating a call with the same request_id
    /// returns the first call's executions instead of starting more.
    #[serde(default)]
    request_id: Option<String>,
    /// Labels for every execution.
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// What a start of a workflow needs, from execute_workflow or a
/// `run_<id>` tool.
#[derive(Debug, Default)]
pub(crate) struct StartRequest {
    pub(crate) workflow_id: String,
    pub(crate) inputs: serde_json::Map<String, Value>,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) request_id: String,
    pub(crate) timeout_seconds: Option<u32>,
    pub(crate) wait_seconds: Option<u32>,
}

#[tool_router(vis = "pub(crate)")]
impl WorkflowMcp {
    /// Lists the workflows the daemon can run, each with the JSON Schema of
    /// its inputs.
    #[tool(
        description = "List the workflows the daemon can run. Each comes with the JSON Schema of \
                       its inputs (pass matching `inputs` to execute_workflow) and the name of its \
                       run_<workflow_id> tool. Also lists programs that failed discovery.",
        annotations(
            title = "List workflows",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn list_workflows(&self) -> Result<Json<ListWorkflowsOutput>, ToolError> {
        let (workflows, errors) = self
            .daemon()
            .all_workflows()
            .await
            .map_err(|s| self.error(&s, Subject::Workflow(""), FieldStyle::AsRequested))?;
        self.catalog().update(&workflows);
        let workflows = workflows
            .iter()
            .map(|w| WorkflowInfo {
                id: w.id.clone(),
                name: w.name.clone(),
                description: provenance::program_description(&w.description),
                schema_version: w.schema_version.clone(),
                input_schema: dynamic::input_schema(w).unwrap_or_default(),
                tool_name: self.catalog().tool_name_of(&w.id),
            })
            .collect();
        let discovery_errors = errors
            .into_iter()
            .map(|e| DiscoveryProblem {
                program_path: e.program_path,
                message: e.message,
            })
            .collect();
        Ok(Json(ListWorkflowsOutput {
            workflows,
            discovery_errors,
        }))
    }

    /// Starts a workflow; optionally waits for it with progress.
    #[tool(
        description = "Start a workflow. Returns the execution id at once; with wait_seconds \
                       (at most 300) it waits for the run to finish first, sending progress \
                       notifications when the request has a progress token. A wait that ends \
                       (time-out or cancelled request) leaves the run going: follow it with \
                       get_workflow_status and get_workflow_logs, stop it with cancel_workflow.",
        annotations(
            title = "Execute workflow",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn execute_workflow(
        &self,
        Parameters(params): Parameters<ExecuteParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ExecuteOutput>, ToolError> {
        let request = StartRequest {
            workflow_id: params.workflow_id,
            inputs: params.inputs.unwrap_or_default(),
            labels: params.labels.unwrap_or_default(),
            request_id: params.request_id.unwrap_or_default(),
            timeout_seconds: params.timeout_seconds,
            wait_seconds: params.wait_seconds,
        };
        self.start(request, FieldStyle::AsRequested, &context)
            .await
            .map(Json)
    }

    /// The state and progress of one execution.
    #[tool(
        description = "Get the state of an execution: QUEUED, RUNNING or a final state, its \
                       phase/task/agent progress, exit code and error.",
        annotations(
            title = "Get workflow status",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_workflow_status(
        &self,
        Parameters(params): Parameters<ExecutionParams>,
    ) -> Result<Json<ExecutionStatus>, ToolError> {
        self.execution(&params.execution_id).await.map(Json)
    }

    /// One page of an execution's log.
    #[tool(
        description = "Read an execution's log: program output and workflow events, one line \
                       each, from `cursor` on (or only the last `tail_lines`), within `max_bytes`. \
                       Call again with next_cursor to page through or to poll for new lines.",
        annotations(
            title = "Get workflow logs",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_workflow_logs(
        &self,
        Parameters(params): Parameters<LogsParams>,
    ) -> Result<Json<LogsOutput>, ToolError> {
        let id = params.execution_id.clone();
        let error =
            |s: tonic::Status| self.error(&s, Subject::Execution(&id), FieldStyle::AsRequested);
        let cursor = params.cursor.unwrap_or(1).max(1);
        let max_bytes = params
            .max_bytes
            .unwrap_or(DEFAULT_LOG_BYTES)
            .clamp(1, MAX_LOG_BYTES) as usize;
        let mut stream = self
            .daemon()
            .client()
            .stream_logs(pb::StreamLogsRequest {
                execution_id: params.execution_id.clone(),
                from_sequence: cursor,
                follow: false,
            })
            .await
            .map_err(error)?
            .into_inner();
        let mut page = LogPage::new(
            cursor,
            max_bytes,
            params
                .tail_lines
                .map(|n| n.clamp(1, MAX_TAIL_LINES) as usize),
        );
        while let Some(response) = stream.message().await.map_err(error)? {
            let Some(event) = response.event else {
                continue;
            };
            if !page.push(&event) {
                break;
            }
        }
        Ok(Json(page.finish(params.execution_id)))
    }

    /// Cancels an execution.
    #[tool(
        description = "Cancel an execution: a queued one at once, a running one gracefully \
                       (SIGTERM, then SIGKILL after the grace period) or at once with force. \
                       Safe to repeat while it stops.",
        annotations(
            title = "Cancel workflow",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn cancel_workflow(
        &self,
        Parameters(params): Parameters<CancelParams>,
    ) -> Result<Json<CancelOutput>, ToolError> {
        let id = params.execution_id;
        let response = self
            .daemon()
            .client()
            .cancel(pb::CancelRequest {
                execution_id: id.clone(),
                grace_period: params.grace_period_seconds.map(|s| prost_types::Duration {
                    seconds: i64::from(s),
                    nanos: 0,
                }),
                force: params.force.unwrap_or(false),
                request_id: String::new(),
            })
            .await
            .map_err(
                |s| match self.error(&s, Subject::Execution(&id), FieldStyle::AsRequested) {
                    ToolError::Refused(message) => {
                        ToolError::Refused(format!("cannot cancel execution {id}: {message}"))
                    }
                    other => other,
                },
            )?
            .into_inner();
        let state = response.execution.as_ref().map_or(0, |e| e.state);
        Ok(Json(CancelOutput {
            execution_id: id,
            state: model::state_name(state),
            finished: model::is_final(state),
            already_requested: response.already_requested,
        }))
    }

    /// Lists executions, newest first.
    #[tool(
        description = "List executions, newest first, filtered by workflow, state and labels, \
                       one page at a time.",
        annotations(
            title = "List executions",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn list_executions(
        &self,
        Parameters(params): Parameters<ListExecutionsParams>,
    ) -> Result<Json<ListExecutionsOutput>, ToolError> {
        let page_size = params
            .page_size
            .unwrap_or(DEFAULT_EXECUTIONS_PAGE)
            .clamp(1, MAX_EXECUTIONS_PAGE);
        let workflow_id = params.workflow_id.unwrap_or_default();
        let response = self
            .daemon()
            .client()
            .list_executions(pb::ListExecutionsRequest {
                page_size: page_size as i32,
                page_token: params.page_token.unwrap_or_default(),
                workflow_id: workflow_id.clone(),
                states: params
                    .states
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| pb::ExecutionState::from(s) as i32)
                    .collect(),
                create_time_after: None,
                create_time_before: None,
                labels: params.labels.unwrap_or_default().into_iter().collect(),
                batch_id: params.batch_id.unwrap_or_default(),
            })
            .await
            .map_err(|s| self.error(&s, Subject::Workflow(&workflow_id), FieldStyle::AsRequested))?
            .into_inner();
        Ok(Json(ListExecutionsOutput {
            executions: response
                .executions
                .iter()
                .map(ExecutionSummary::from)
                .collect(),
            next_page_token: (!response.next_page_token.is_empty())
                .then_some(response.next_page_token),
        }))
    }

    /// Checks a hyper2kvm manifest without running it.
    #[tool(
        description = "Check a hyper2kvm VM migration manifest (JSON or YAML; one VM, a batch, or \
                       an Artifact Manifest v1) without running it. Returns valid and every \
                       problem with its path (e.g. vms[2].pipeline.convert.output_format), and \
                       when valid the per-VM pipelines with defaults applied.",
        annotations(
            title = "Validate manifest",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn validate_manifest(
        &self,
        Parameters(params): Parameters<ValidateManifestParams>,
    ) -> Result<Json<ValidateManifestOutput>, ToolError> {
        let response = self
            .daemon()
            .client()
            .validate_manifest(pb::ValidateManifestRequest {
                content: params.content.into_bytes(),
                format: pb::ManifestFormat::from(params.format.unwrap_or_default()) as i32,
                file_name: params.file_name.unwrap_or_default(),
            })
            .await
            .map_err(|s| self.error(&s, Subject::Workflow(""), FieldStyle::AsRequested))?
            .into_inner();
        Ok(Json(ValidateManifestOutput {
            valid: response.valid,
            format: match response.format() {
                pb::ManifestFormat::Json => "json",
                pb::ManifestFormat::Yaml => "yaml",
                _ => "",
            }
            .to_string(),
            kind: model::manifest_kind_name(response.kind()),
            problems: response
                .problems
                .into_iter()
                .map(|p| ManifestProblemInfo {
                    path: p.path,
                    message: p.message,
                })
                .collect(),
            vms: response
                .vms
                .into_iter()
                .map(|vm| ManifestVmInfo {
                    name: vm.name,
                    pipeline: serde_json::from_str::<Value>(&vm.pipeline_json)
                        .ok()
                        .and_then(|d| d.get("pipeline").and_then(Value::as_object).cloned())
                        .unwrap_or_default(),
                })
                .collect(),
        }))
    }

    /// Runs a hyper2kvm manifest: one execution per VM.
    #[tool(
        description = "Run a hyper2kvm VM migration manifest: each VM's pipeline (load, inspect, \
                       fix, convert, validate) becomes one execution of the vm_pipeline workflow. \
                       Returns the execution ids (and a batch_id for several VMs) at once; follow \
                       them with get_workflow_status and get_workflow_logs. An invalid manifest \
                       fails with every problem and its path.",
        annotations(
            title = "Submit manifest",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn submit_manifest(
        &self,
        Parameters(params): Parameters<SubmitManifestParams>,
    ) -> Result<Json<SubmitManifestOutput>, ToolError> {
        let response = self
            .daemon()
            .client()
            .submit_manifest(pb::SubmitManifestRequest {
                content: params.content.into_bytes(),
                format: pb::ManifestFormat::from(params.format.unwrap_or_default()) as i32,
                file_name: params.file_name.unwrap_or_default(),
                request_id: params.request_id.unwrap_or_default(),
                labels: params.labels.unwrap_or_default().into_iter().collect(),
            })
            .await
            .map_err(|s| {
                self.error(
                    &s,
                    Subject::Workflow("vm_pipeline"),
                    FieldStyle::AsRequested,
                )
            })?
            .into_inner();
        let vms: Vec<SubmittedVmInfo> = response
            .vms
            .iter()
            .map(|vm| SubmittedVmInfo {
                name: vm.name.clone(),
                execution_id: vm
                    .execution
                    .as_ref()
                    .map(|e| e.id.clone())
                    .unwrap_or_default(),
                state: model::state_name(vm.execution.as_ref().map_or(0, |e| e.state)),
            })
            .collect();
        let hint = if response.batch_id.is_empty() {
            "Follow the execution with get_workflow_status and get_workflow_logs.".to_string()
        } else {
            format!(
                "Follow the executions with get_workflow_status, or list them with \
                 list_executions and batch_id {}.",
                response.batch_id
            )
        };
        Ok(Json(SubmitManifestOutput {
            batch_id: (!response.batch_id.is_empty()).then_some(response.batch_id.clone()),
            started: response.started,
            kind: model::manifest_kind_name(response.kind()),
            vms,
            hint,
        }))
    }
}

impl WorkflowMcp {
    /// Starts a workflow and, when asked, waits for it. Shared by
    /// execute_workflow and the `run_<id>` tools.
    pub(crate) async fn start(
        &self,
        request: StartRequest,
        style: FieldStyle,
        context: &RequestContext<RoleServer>,
    ) -> Result<ExecuteOutput, ToolError> {
        let workflow_id = request.workflow_id.clone();
        let response = self
            .daemon()
            .client()
            .execute(pb::ExecuteRequest {
                workflow_id: request.workflow_id,
                inputs: request
                    .inputs
                    .iter()
                    .map(|(k, v)| (k.clone(), crate::proto_value::from_json(v)))
                    .collect(),
                request_id: request.request_id,
                timeout: request.timeout_seconds.map(|s| prost_types::Duration {
                    seconds: i64::from(s),
                    nanos: 0,
                }),
                labels: request.labels.into_iter().collect(),
            })
            .await
            .map_err(|s| self.error(&s, Subject::Workflow(&workflow_id), style))?
            .into_inner();
        let execution = response.execution.unwrap_or_default();
        let id = execution.id.clone();
        let wait = wait::bounded(request.wait_seconds);
        let waited_since = Instant::now();
        // Once the execution exists, errors while waiting must not hide its
        // id: they end the wait instead of failing the call.
        let outcome = if wait.is_zero() {
            WaitOutcome::NotRequested
        } else {
            match wait::follow(self.daemon(), &id, wait, context).await {
                Ok(WaitOutcome::ClientCancelled) => {
                    tracing::info!(execution = %id, "client cancelled the wait; the execution goes on");
                    WaitOutcome::ClientCancelled
                }
                Ok(outcome) => outcome,
                Err(error) => {
                    tracing::warn!(execution = %id, %error, "lost the execution's log while waiting");
                    WaitOutcome::StreamEnded
                }
            }
        };
        let waited_seconds = if wait.is_zero() {
            0.0
        } else {
            waited_since.elapsed().as_secs_f64()
        };
        let status = if outcome == WaitOutcome::NotRequested {
            None
        } else {
            match self.execution(&id).await {
                Ok(status) => Some(status),
                Err(error) => {
                    tracing::warn!(execution = %id, %error, "cannot read the execution after waiting");
                    None
                }
            }
        };
        let (state, finished) = match &status {
            Some(status) => (status.state.clone(), status.finished),
            None => (
                model::state_name(execution.state),
                model::is_final(execution.state),
            ),
        };
        let hint = if finished {
            format!("The execution finished {state}. Read its output with get_workflow_logs.")
        } else {
            format!(
                "The execution is {state}. Poll get_workflow_status with execution_id {id}, read \
                 output with get_workflow_logs, or stop it with cancel_workflow."
            )
        };
        Ok(ExecuteOutput {
            execution_id: id,
            workflow_id,
            started: response.started,
            state,
            finished,
            wait: outcome,
            waited_seconds,
            status,
            hint,
        })
    }

    /// One execution's status.
    async fn execution(&self, execution_id: &str) -> Result<ExecutionStatus, ToolError> {
        let response = self
            .daemon()
            .client()
            .get_execution(pb::GetExecutionRequest {
                execution_id: execution_id.to_string(),
            })
            .await
            .map_err(|s| {
                self.error(
                    &s,
                    Subject::Execution(execution_id),
                    FieldStyle::AsRequested,
                )
            })?
            .into_inner();
        Ok(ExecutionStatus::from(
            &response.execution.unwrap_or_default(),
        ))
    }

    fn error(&self, status: &tonic::Status, subject: Subject<'_>, style: FieldStyle) -> ToolError {
        ToolError::from_status(status, self.daemon().addr(), subject, style)
    }
}

/// Builds one page of log lines: forward from the cursor within a byte
/// budget, or the last N lines.
struct LogPage {
    lines: std::collections::VecDeque<LogLine>,
    bytes: usize,
    max_bytes: usize,
    tail: Option<usize>,
    next_cursor: u64,
    has_more: bool,
    finished: bool,
}

impl LogPage {
    fn new(cursor: u64, max_bytes: usize, tail: Option<usize>) -> LogPage {
        LogPage {
            lines: Default::default(),
            bytes: 0,
            max_bytes,
            tail,
            next_cursor: cursor,
            has_more: false,
            finished: false,
        }
    }

    /// Adds an event; false when the page is full (forward mode only).
    fn push(&mut self, event: &pb::LogEvent) -> bool {
        let mut line = model::log_line(event);
        let size = line.text.len();
        if self.tail.is_none() && self.bytes + size > self.max_bytes {
            if self.lines.is_empty() {
                // A line larger than the whole budget: send its start so
                // the reader still moves on.
                truncate_to(&mut line.text, self.max_bytes);
            } else {
                self.has_more = true;
                return false;
            }
        }
        self.finished |= model::is_finished_event(event);
        self.next_cursor = event.sequence + 1;
        self.bytes += line.text.len();
        self.lines.push_back(line);
        if let Some(tail) = self.tail {
            while self.lines.len() > tail || self.bytes > self.max_bytes {
                match self.lines.pop_front() {
                    Some(dropped) => self.bytes -= dropped.text.len(),
                    None => break,
                }
            }
        }
        true
    }

    fn finish(self, execution_id: String) -> LogsOutput {
        LogsOutput {
            execution_id,
            lines: self.lines.into(),
            next_cursor: self.next_cursor,
            has_more: self.has_more,
            execution_finished: self.finished,
        }
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary.
fn truncate_to(text: &mut String, max: usize) {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::log_event::Payload;

    fn output(sequence: u64, text: &str) -> pb::LogEvent {
        pb::LogEvent {
            sequence,
            time: None,
            payload: Some(Payload::Output(pb::OutputLine {
                stream: pb::OutputStream::Stdout as i32,
                text: text.into(),
                malformed_event: false,
                truncated: false,
            })),
        }
    }

    #[test]
    fn forward_pages_stop_at_the_byte_budget() {
        let mut page = LogPage::new(1, 10, None);
        assert!(page.push(&output(1, "12345")));
        assert!(page.push(&output(2, "12345")));
        assert!(!page.push(&output(3, "1")));
        let out = page.finish("e".into());
        assert_eq!(out.lines.len(), 2);
        assert_eq!(out.next_cursor, 3);
        assert!(out.has_more);
    }

    #[test]
    fn an_oversized_first_line_is_cut_not_skipped() {
        let mut page = LogPage::new(4, 3, None);
        assert!(page.push(&output(4, "héllo")));
        let out = page.finish("e".into());
        assert_eq!(out.lines[0].text, "hé");
        assert_eq!(out.next_cursor, 5);
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let mut page = LogPage::new(1, 1000, Some(2));
        for i in 1..=5 {
            assert!(page.push(&output(i, &i.to_string())));
        }
        let out = page.finish("e".into());
        let texts: Vec<_> = out.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["4", "5"]);
        assert_eq!(out.next_cursor, 6);
        assert!(!out.has_more);
    }
}
