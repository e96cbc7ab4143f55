//! The connection to the daemon every command shares ([`Ctx`]), and the
//! calls several commands make through it.

use std::time::Duration;

use super::{
    args::GlobalArgs,
    error::{innermost_cause, CliError},
    render::{print_note, short_state, PrintFormat},
};
use crate::client_token::{daemon_client, DaemonClient};
use crate::pb;

/// A connection to the daemon plus what every command needs to print.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// The daemon address as the user gave it (for error messages).
    pub(crate) addr: String,
    /// The gRPC client.
    pub(crate) client: DaemonClient,
    /// The `--output` format.
    pub(crate) output: PrintFormat,
}

impl Ctx {
    /// Connects to the daemon; a failure is [`CliError::Unavailable`].
    pub(crate) async fn connect(globals: &GlobalArgs) -> Result<Ctx, CliError> {
        let addr = globals.daemon_addr().trim().to_string();
        let token = globals.bearer_token()?;
        let endpoint = globals
            .tls
            .endpoint(&addr)?
            .connect_timeout(Duration::from_secs(5));
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| CliError::Unavailable {
                addr: addr.clone(),
                reason: innermost_cause(&e),
            })?;
        Ok(Ctx {
            addr,
            client: daemon_client(channel, token),
            output: globals.output,
        })
    }

    /// The message a call answered with; an error status becomes a
    /// [`CliError`] ([`CliError::from_status`]).
    pub(crate) fn message<T>(
        &self,
        response: Result<tonic::Response<T>, tonic::Status>,
    ) -> Result<T, CliError> {
        response
            .map(tonic::Response::into_inner)
            .map_err(|status| self.status_error(status))
    }

    /// Maps an error status of a call to a [`CliError`].
    pub(crate) fn status_error(&self, status: tonic::Status) -> CliError {
        CliError::from_status(status, &self.addr)
    }

    /// Sends Execute and notes on stderr what happened.
    pub(crate) async fn start(
        &self,
        request: pb::ExecuteRequest,
    ) -> Result<pb::Execution, CliError> {
        let workflow_id = request.workflow_id.clone();
        let response = self.message(self.client.clone().execute(request).await)?;
        let execution = response.execution.ok_or_else(|| {
            CliError::NotFound(format!("no execution returned for {workflow_id}"))
        })?;
        if response.started {
            print_note(&format!(
                "wfctl: started execution {} of {} ({})",
                execution.id,
                workflow_id,
                short_state(execution.state())
            ));
        } else {
            print_note(&format!(
                "wfctl: execution {} already exists for this request id ({}); not started again",
                execution.id,
                short_state(execution.state())
            ));
        }
        Ok(execution)
    }

    /// Fetches one execution.
    pub(crate) async fn get_execution(&self, id: &str) -> Result<pb::Execution, CliError> {
        let request = pb::GetExecutionRequest {
            execution_id: id.to_string(),
        };
        let response = self.client.clone().get_execution(request).await;
        self.execution_in(id, self.message(response)?.execution)
    }

    /// Waits until the execution ends (WaitExecution) and returns it.
    pub(crate) async fn wait_execution(&self, id: &str) -> Result<pb::Execution, CliError> {
        let request = pb::WaitExecutionRequest {
            execution_id: id.to_string(),
        };
        let response = self.client.clone().wait_execution(request).await;
        self.execution_in(id, self.message(response)?.execution)
    }

    /// The execution a response carries; an empty one is
    /// [`CliError::NotFound`].
    fn execution_in(
        &self,
        id: &str,
        execution: Option<pb::Execution>,
    ) -> Result<pb::Execution, CliError> {
        execution.ok_or_else(|| CliError::NotFound(format!("execution {id} not found")))
    }

    /// Lists executions with a filter, paging until `limit` (0 = all).
    pub(crate) async fn list_executions(
        &self,
        filter: pb::ListExecutionsRequest,
        limit: usize,
    ) -> Result<Vec<pb::Execution>, CliError> {
        Ok(self.list_executions_paged(filter, limit).await?.executions)
    }

    /// Like [`Ctx::list_executions`], as one ListExecutionsResponse: every
    /// page's executions, and the batch summary of the last page when the
    /// filter named a batch.
    pub(crate) async fn list_executions_paged(
        &self,
        filter: pb::ListExecutionsRequest,
        limit: usize,
    ) -> Result<pb::ListExecutionsResponse, CliError> {
        let mut executions = Vec::new();
        let mut request = filter;
        loop {
            let want = if limit == 0 {
                1000
            } else {
                (limit - executions.len()).min(1000)
            };
            request.page_size = want as i32;
            let page = self.message(self.client.clone().list_executions(request.clone()).await)?;
            executions.extend(page.executions);
            if page.next_page_token.is_empty() || (limit != 0 && executions.len() >= limit) {
                if limit != 0 {
                    executions.truncate(limit);
                }
                return Ok(pb::ListExecutionsResponse {
                    executions,
                    next_page_token: String::new(),
                    batch: page.batch,
                });
            }
            request.page_token = page.next_page_token;
        }
    }

    /// Fetches the daemon's status, with the counts of `namespace`'s
    /// executions (empty: of every namespace the token sees).
    pub(crate) async fn get_status(
        &self,
        namespace: &str,
    ) -> Result<pb::GetStatusResponse, CliError> {
        let request = pb::GetStatusRequest {
            namespace: namespace.to_string(),
        };
        self.message(self.client.clone().get_status(request).await)
    }
}
