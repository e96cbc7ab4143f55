//! Starting a workflow, shared by execute_workflow and the `run_<id>`
//! tools, with the optional bounded wait; and reading one execution's
//! status, which a waited start returns too.

use std::collections::BTreeMap;
use std::time::Instant;

use rmcp::service::RequestContext;
use rmcp::RoleServer;
use serde_json::Value;

use super::error::{FieldStyle, Subject, ToolError};
use super::model::{self, ExecuteOutput, ExecutionStatus, WaitOutcome};
use super::server::WorkflowMcp;
use super::wait;
use crate::pb;

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
    /// Empty: the token's only namespace, else `default`.
    pub(crate) namespace: String,
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
                limits: None,
                timeout: request.timeout_seconds.map(|s| prost_types::Duration {
                    seconds: i64::from(s),
                    nanos: 0,
                }),
                labels: request.labels.into_iter().collect(),
                retry_policy: None,
                namespace: request.namespace,
            })
            .await
            .map_err(|s| self.tool_error(&s, Subject::Workflow(&workflow_id), style))?
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
            Some(status) => (status.summary.state.clone(), status.summary.finished),
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
    pub(crate) async fn execution(&self, execution_id: &str) -> Result<ExecutionStatus, ToolError> {
        let response = self
            .daemon()
            .client()
            .get_execution(pb::GetExecutionRequest {
                execution_id: execution_id.to_string(),
            })
            .await
            .map_err(|s| {
                self.tool_error(
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
}
