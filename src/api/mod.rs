//! The gRPC edge: `workflow.v1.WorkflowService` handlers. Each handler turns
//! the request into a domain call and the result into a response; errors
//! become gRPC statuses in one place ([`status`]).

mod assemble;
mod audit;
#[cfg(feature = "wfctl")]
mod client_events;
mod convert;
mod daemon_status;
mod daemons;
mod execute;
mod limits_convert;
mod logs;
mod manifests;
mod namespaces;
mod paging;
mod retry_convert;
mod schedule_convert;
mod schedules;
mod status;
mod stream_tokens;
#[cfg(test)]
mod tests;
mod tokens;
mod webhooks;
mod wire_time;
mod workflows;

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;

use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::engine::{CancelRequest, Engine, EngineError};
use crate::manifest::ManifestRunner;
use crate::pb;
use crate::pb::workflow_service_server::WorkflowService;
use crate::store::{ExecutionFilter, ExecutionRecord, ListCursor};
use crate::watcher::DropFolders;

#[cfg(feature = "wfctl")]
pub(crate) use client_events::workflow_event_of;
pub(crate) use daemon_status::DaemonInfo;
pub(crate) use status::invalid_argument;

/// The service implementation.
#[derive(Clone)]
pub(crate) struct WorkflowApi {
    engine: Arc<Engine>,
    info: Arc<DaemonInfo>,
    manifests: Option<Arc<ManifestRunner>>,
    drop_folders: Option<Arc<DropFolders>>,
    schedules: Option<Arc<crate::schedules::Schedules>>,
    retries: Option<Arc<crate::retries::Retries>>,
    webhooks: Option<Arc<crate::webhooks::Webhooks>>,
    tokens: Option<Arc<crate::auth::Tokens>>,
    audit_reader: Option<Arc<crate::store::StoreReader>>,
    /// Each namespace's rate of starting work.
    namespace_rates: Arc<crate::auth::NamespaceRates>,
    /// Makes the tokens of SSE log URLs (the port checks them).
    stream_tokens: Arc<crate::auth::StreamTokens>,
    /// This daemon among those on the history (GetStatus, DrainDaemon).
    registry: Arc<crate::registry::Registry>,
}

impl WorkflowApi {
    /// Executions as responses show them, with their estimates as of now.
    /// The estimates are an extra: when the history cannot be read for
    /// them the executions go out without (an accepted Execute must not
    /// turn into an error).
    async fn shown(&self, records: &[ExecutionRecord], with_details: bool) -> Vec<pb::Execution> {
        let estimates = self.engine.estimates(records).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "no estimates: the history could not be read");
            vec![None; records.len()]
        });
        records
            .iter()
            .zip(&estimates)
            .map(|(r, e)| convert::execution(r, with_details, e.as_ref()))
            .collect()
    }

    /// A batch's summary, as GetExecution and ListExecutions show it;
    /// None when no execution has that batch id. An extra like the
    /// estimates: when the history cannot be read for it the response goes
    /// out without.
    async fn batch_shown(&self, batch_id: &str) -> Option<pb::BatchSummary> {
        match self.engine.batch(batch_id).await {
            Ok(batch) => batch.as_ref().map(convert::batch),
            Err(e) => {
                tracing::warn!(batch = batch_id, error = %e, "no batch summary: the history could not be read");
                None
            }
        }
    }

    /// One execution with its details, as [`WorkflowApi::shown`].
    async fn shown_one(&self, record: &ExecutionRecord) -> pb::Execution {
        let mut shown = self.shown(std::slice::from_ref(record), true).await;
        shown.pop().expect("one execution in, one out")
    }
}

fn required<'a>(value: &'a str, field: &str) -> Result<&'a str, Status> {
    if value.is_empty() {
        Err(invalid_argument(
            format!("{field} is required"),
            &[(field, "is required")],
        ))
    } else {
        Ok(value)
    }
}

fn optional(value: String) -> Option<String> {
    Some(value).filter(|v| !v.is_empty())
}

type LogStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::StreamLogsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl WorkflowService for WorkflowApi {
    // ListWorkflows: workflows.rs.
    async fn list_workflows(
        &self,
        request: Request<pb::ListWorkflowsRequest>,
    ) -> Result<Response<pb::ListWorkflowsResponse>, Status> {
        self.list_workflows_call(request).await
    }

    async fn get_workflow(
        &self,
        request: Request<pb::GetWorkflowRequest>,
    ) -> Result<Response<pb::GetWorkflowResponse>, Status> {
        let seen = namespaces::seen(&request);
        let id = request.into_inner().workflow_id;
        let workflow = self
            .engine
            .workflow_seen(required(&id, "workflow_id")?, &seen)
            .await?;
        Ok(Response::new(pb::GetWorkflowResponse {
            workflow: Some(convert::workflow(
                &workflow,
                self.namespaces_shown(&seen, &workflow.program_path),
            )),
        }))
    }

    async fn validate_inputs(
        &self,
        request: Request<pb::ValidateInputsRequest>,
    ) -> Result<Response<pb::ValidateInputsResponse>, Status> {
        let seen = namespaces::seen(&request);
        let request = request.into_inner();
        let resolved = self
            .engine
            .validate(
                required(&request.workflow_id, "workflow_id")?,
                &convert::json_inputs(&request.inputs),
                &seen,
            )
            .await?;
        Ok(Response::new(pb::ValidateInputsResponse {
            resolved_inputs: resolved.values.into_iter().collect(),
            argv: resolved.argv,
        }))
    }

    // Execute: execute.rs.
    async fn execute(
        &self,
        request: Request<pb::ExecuteRequest>,
    ) -> Result<Response<pb::ExecuteResponse>, Status> {
        self.execute_call(request).await
    }

    async fn get_execution(
        &self,
        request: Request<pb::GetExecutionRequest>,
    ) -> Result<Response<pb::GetExecutionResponse>, Status> {
        let seen = namespaces::seen(&request);
        let id = request.into_inner().execution_id;
        let execution = self
            .engine
            .execution(required(&id, "execution_id")?)
            .await?;
        let execution = Self::visible(&seen, &id, execution)?;
        let batch = match &execution.batch_id {
            Some(batch_id) => self.batch_shown(batch_id).await,
            None => None,
        };
        Ok(Response::new(pb::GetExecutionResponse {
            execution: Some(self.shown_one(&execution).await),
            batch,
        }))
    }

    async fn wait_execution(
        &self,
        request: Request<pb::WaitExecutionRequest>,
    ) -> Result<Response<pb::WaitExecutionResponse>, Status> {
        let seen = namespaces::seen(&request);
        let id = request.into_inner().execution_id;
        self.check_visible(&seen, required(&id, "execution_id")?)
            .await?;
        let execution = self.engine.wait_for_end(&id).await?;
        // Finished: no estimate.
        Ok(Response::new(pb::WaitExecutionResponse {
            execution: Some(convert::execution(&execution, true, None)),
        }))
    }

    async fn list_executions(
        &self,
        request: Request<pb::ListExecutionsRequest>,
    ) -> Result<Response<pb::ListExecutionsResponse>, Status> {
        let seen = namespaces::seen(&request);
        let request = request.into_inner();
        let size = paging::page_size(request.page_size, 50, 1000)?;
        let mut states = Vec::new();
        for (i, value) in request.states.iter().enumerate() {
            let state = convert::domain_state(*value).ok_or_else(|| {
                invalid_argument(
                    format!("states[{i}] = {value} is not an execution state"),
                    &[(
                        &format!("states[{i}]"),
                        "must be a state other than UNSPECIFIED",
                    )],
                )
            })?;
            states.push(state);
        }
        let filter = ExecutionFilter {
            workflow_id: optional(request.workflow_id),
            states,
            created_after_ms: request
                .create_time_after
                .as_ref()
                .map(convert::timestamp_ms),
            created_before_ms: request
                .create_time_before
                .as_ref()
                .map(convert::timestamp_ms),
            labels: request.labels.into_iter().collect::<BTreeMap<_, _>>(),
            batch_id: optional(request.batch_id),
            schedule_id: optional(request.schedule_id),
            namespaces: namespaces::list_filter(&seen, &request.namespace),
        };
        let filters = paging::fingerprint(&filter);
        let batch_id = filter.batch_id.clone();
        let cursor = paging::decode::<(i64, i64)>(&request.page_token, filters)?
            .map(|(create_ms, rowid)| ListCursor { create_ms, rowid });
        let mut records = self
            .engine
            .list_executions(filter, cursor, size + 1)
            .await?;
        let next_page_token = if records.len() > size {
            records.truncate(size);
            let last = &records[size - 1];
            paging::encode((last.create_ms, last.rowid), filters)
        } else {
            String::new()
        };
        let batch = match &batch_id {
            Some(batch_id) if self.sees_batch(&seen, batch_id).await => {
                self.batch_shown(batch_id).await
            }
            _ => None,
        };
        Ok(Response::new(pb::ListExecutionsResponse {
            executions: self.shown(&records, false).await,
            next_page_token,
            batch,
        }))
    }

    type StreamLogsStream = LogStream;

    async fn stream_logs(
        &self,
        request: Request<pb::StreamLogsRequest>,
    ) -> Result<Response<Self::StreamLogsStream>, Status> {
        let seen = namespaces::seen(&request);
        let request = request.into_inner();
        // The history numbers events as SQLite integers: a sequence past
        // them names no event (and would wrap if passed on).
        if request.from_sequence > i64::MAX as u64 {
            return Err(invalid_argument(
                format!(
                    "from_sequence {} is past the last sequence number a log can have ({})",
                    request.from_sequence,
                    i64::MAX
                ),
                &[("from_sequence", "must be at most 9223372036854775807")],
            ));
        }
        self.check_visible(&seen, required(&request.execution_id, "execution_id")?)
            .await?;
        let (uuid, rowid) = self.engine.log_key(&request.execution_id).await?;
        let rx = logs::stream(
            self.engine.clone(),
            request.execution_id,
            uuid,
            rowid,
            request.from_sequence,
            request.follow,
        );
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn cancel(
        &self,
        request: Request<pb::CancelRequest>,
    ) -> Result<Response<pb::CancelResponse>, Status> {
        let seen = namespaces::seen(&request);
        let request = request.into_inner();
        let grace_period = match &request.grace_period {
            None => None,
            Some(g) => Some(convert::duration(g).ok_or_else(|| {
                invalid_argument(
                    "grace_period must not be negative or past the Duration range".into(),
                    &[("grace_period", "must be between 0 and 315576000000s")],
                )
            })?),
        };
        let id = required(&request.execution_id, "execution_id")?;
        self.check_visible(&seen, id).await?;
        let cancel = CancelRequest {
            grace_period,
            force: request.force,
        };
        let mut response = pb::CancelResponse::default();
        let execution = match self.engine.cancel(id, cancel).await {
            // A failed attempt whose retry waits: Cancel calls the retry off.
            Err(finished @ EngineError::AlreadyFinished { .. }) => match &self.retries {
                Some(retries) => match retries.call_off(id).await? {
                    Some(execution) => {
                        response.retry_called_off = true;
                        execution
                    }
                    None => return Err(finished.into()),
                },
                None => return Err(finished.into()),
            },
            other => {
                let (execution, already_requested) = other?;
                response.already_requested = already_requested;
                execution
            }
        };
        response.execution = Some(self.shown_one(&execution).await);
        Ok(Response::new(response))
    }

    // CreateStreamToken: stream_tokens.rs.
    async fn create_stream_token(
        &self,
        request: Request<pb::CreateStreamTokenRequest>,
    ) -> Result<Response<pb::CreateStreamTokenResponse>, Status> {
        self.create_stream_token_call(request).await
    }

    // GetStatus: daemon_status.rs.
    async fn get_status(
        &self,
        request: Request<pb::GetStatusRequest>,
    ) -> Result<Response<pb::GetStatusResponse>, Status> {
        let seen = namespaces::seen(&request);
        self.get_status_call(&seen, &request.into_inner().namespace)
            .await
    }

    async fn drain_daemon(
        &self,
        request: Request<pb::DrainDaemonRequest>,
    ) -> Result<Response<pb::DrainDaemonResponse>, Status> {
        self.drain_daemon_call(request.into_inner().daemon_id).await
    }

    // The manifest RPCs: manifests.rs.
    async fn validate_manifest(
        &self,
        request: Request<pb::ValidateManifestRequest>,
    ) -> Result<Response<pb::ValidateManifestResponse>, Status> {
        self.validate_manifest_call(request.into_inner()).await
    }

    async fn submit_manifest(
        &self,
        request: Request<pb::SubmitManifestRequest>,
    ) -> Result<Response<pb::SubmitManifestResponse>, Status> {
        let namespace = self.start_namespace(&request, &request.get_ref().namespace)?;
        self.submit_manifest_call(request.into_inner(), namespace)
            .await
    }

    // The schedule RPCs: schedules.rs.
    async fn create_schedule(
        &self,
        request: Request<pb::CreateScheduleRequest>,
    ) -> Result<Response<pb::CreateScheduleResponse>, Status> {
        let seen = namespaces::seen(&request);
        self.create_schedule_call(request.into_inner(), &seen).await
    }

    async fn get_schedule(
        &self,
        request: Request<pb::GetScheduleRequest>,
    ) -> Result<Response<pb::GetScheduleResponse>, Status> {
        let seen = namespaces::seen(&request);
        self.get_schedule_call(request.into_inner(), &seen).await
    }

    async fn list_schedules(
        &self,
        request: Request<pb::ListSchedulesRequest>,
    ) -> Result<Response<pb::ListSchedulesResponse>, Status> {
        let seen = namespaces::seen(&request);
        self.list_schedules_call(request.into_inner(), &seen)
    }

    async fn update_schedule(
        &self,
        request: Request<pb::UpdateScheduleRequest>,
    ) -> Result<Response<pb::UpdateScheduleResponse>, Status> {
        let seen = namespaces::seen(&request);
        self.update_schedule_call(request.into_inner(), &seen).await
    }

    async fn delete_schedule(
        &self,
        request: Request<pb::DeleteScheduleRequest>,
    ) -> Result<Response<pb::DeleteScheduleResponse>, Status> {
        let seen = namespaces::seen(&request);
        self.delete_schedule_call(request.into_inner(), &seen).await
    }

    async fn pause_schedule(
        &self,
        request: Request<pb::PauseScheduleRequest>,
    ) -> Result<Response<pb::PauseScheduleResponse>, Status> {
        let seen = namespaces::seen(&request);
        self.pause_schedule_call(request.into_inner(), &seen).await
    }

    async fn trigger_schedule(
        &self,
        request: Request<pb::TriggerScheduleRequest>,
    ) -> Result<Response<pb::TriggerScheduleResponse>, Status> {
        let seen = namespaces::seen(&request);
        self.trigger_schedule_call(request.into_inner(), &seen)
            .await
    }

    // The webhook RPCs: webhooks.rs.
    async fn create_webhook(
        &self,
        request: Request<pb::CreateWebhookRequest>,
    ) -> Result<Response<pb::CreateWebhookResponse>, Status> {
        self.create_webhook_call(request.into_inner()).await
    }

    async fn list_webhooks(
        &self,
        _: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        self.list_webhooks_call()
    }

    async fn delete_webhook(
        &self,
        request: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<pb::DeleteWebhookResponse>, Status> {
        self.delete_webhook_call(request.into_inner()).await
    }

    async fn list_webhook_deliveries(
        &self,
        request: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> Result<Response<pb::ListWebhookDeliveriesResponse>, Status> {
        self.list_webhook_deliveries_call(request.into_inner())
            .await
    }

    async fn test_webhook(
        &self,
        request: Request<pb::TestWebhookRequest>,
    ) -> Result<Response<pb::TestWebhookResponse>, Status> {
        self.test_webhook_call(request.into_inner()).await
    }

    async fn create_token(
        &self,
        request: Request<pb::CreateTokenRequest>,
    ) -> Result<Response<pb::CreateTokenResponse>, Status> {
        let seen = namespaces::seen(&request);
        self.create_token_call(request.into_inner(), &seen).await
    }

    async fn list_tokens(
        &self,
        _request: Request<pb::ListTokensRequest>,
    ) -> Result<Response<pb::ListTokensResponse>, Status> {
        self.list_tokens_call()
    }

    async fn revoke_token(
        &self,
        request: Request<pb::RevokeTokenRequest>,
    ) -> Result<Response<pb::RevokeTokenResponse>, Status> {
        self.revoke_token_call(request.into_inner()).await
    }

    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        self.list_audit_events_call(request.into_inner()).await
    }
}
