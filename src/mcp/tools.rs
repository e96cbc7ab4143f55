//! The fixed tools: thin adapters from MCP arguments to one gRPC call (or
//! two, for a waited run) and back to structured results. Daemon errors
//! become [`ToolError`]s, which reach the client as `isError` results.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router, RoleServer};
use serde_json::Value;

use super::error::{FieldStyle, Subject, ToolError};
use super::log_page::LogPage;
use super::model::{
    self, BatchInfo, CancelOutput, DiscoveryProblem, ExecuteOutput, ExecutionStatus,
    ExecutionSummary, ListExecutionsOutput, ListWorkflowsOutput, LogsOutput, ManifestProblemInfo,
    ManifestVmInfo, SubmitManifestOutput, SubmittedVmInfo, ValidateManifestOutput, WorkflowInfo,
};
use super::params::{
    CancelParams, ExecuteParams, ExecutionParams, ListExecutionsParams, LogsParams,
    SubmitManifestParams, ValidateManifestParams,
};
use super::provenance;
use super::run_tools;
use super::server::WorkflowMcp;
use super::start::StartRequest;
use crate::pb;

/// Default and largest page of list_executions.
const DEFAULT_EXECUTIONS_PAGE: u32 = 20;
const MAX_EXECUTIONS_PAGE: u32 = 100;

/// Default and largest byte budget of one get_workflow_logs page.
const DEFAULT_LOG_BYTES: u32 = 32 * 1024;
const MAX_LOG_BYTES: u32 = 1024 * 1024;

/// Largest tail_lines.
const MAX_TAIL_LINES: u32 = 10_000;

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
            .map_err(|s| self.tool_error(&s, Subject::Workflow(""), FieldStyle::AsRequested))?;
        self.run_tools().update(&workflows);
        let workflows = workflows
            .iter()
            .map(|w| WorkflowInfo {
                id: w.id.clone(),
                name: w.name.clone(),
                description: provenance::program_description(&w.description),
                schema_version: w.schema_version.clone(),
                input_schema: run_tools::input_schema(w).unwrap_or_default(),
                tool_name: self.run_tools().tool_name_of(&w.id),
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
            namespace: params.namespace.unwrap_or_default(),
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
        let error = |s: tonic::Status| {
            self.tool_error(&s, Subject::Execution(&id), FieldStyle::AsRequested)
        };
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
            .map_err(|s| {
                match self.tool_error(&s, Subject::Execution(&id), FieldStyle::AsRequested) {
                    ToolError::Refused(message) => {
                        ToolError::Refused(format!("cannot cancel execution {id}: {message}"))
                    }
                    other => other,
                }
            })?
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
                schedule_id: params.schedule_id.unwrap_or_default(),
                // None: every namespace the token sees.
                namespace: params.namespace.unwrap_or_default(),
            })
            .await
            .map_err(|s| {
                self.tool_error(&s, Subject::Workflow(&workflow_id), FieldStyle::AsRequested)
            })?
            .into_inner();
        Ok(Json(ListExecutionsOutput {
            executions: response
                .executions
                .iter()
                .map(ExecutionSummary::from)
                .collect(),
            next_page_token: (!response.next_page_token.is_empty())
                .then_some(response.next_page_token),
            batch: response.batch.as_ref().map(BatchInfo::from),
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
            .map_err(|s| self.tool_error(&s, Subject::Workflow(""), FieldStyle::AsRequested))?
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
                namespace: params.namespace.unwrap_or_default(),
            })
            .await
            .map_err(|s| {
                self.tool_error(
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
