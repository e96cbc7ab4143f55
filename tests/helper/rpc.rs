//! Calls of the workflow service that a test expects to succeed, and the
//! requests and input values they send.

use std::{collections::HashMap, time::Duration};

use super::*;
use prost_types::{value::Kind, Value};

impl Daemon {
    /// Starts an execution and expects it to be accepted as new.
    pub async fn execute(&self, workflow_id: &str, inputs: &[(&str, Value)]) -> pb::Execution {
        self.execute_request(request(workflow_id, inputs)).await
    }

    /// Sends an Execute request and expects it to start a new execution.
    pub async fn execute_request(&self, req: pb::ExecuteRequest) -> pb::Execution {
        let workflow_id = req.workflow_id.clone();
        let resp = self
            .client()
            .execute(req)
            .await
            .unwrap_or_else(|s| panic!("Execute {workflow_id}: {s:?}"))
            .into_inner();
        assert!(
            resp.started,
            "Execute {workflow_id} did not start a new execution"
        );
        let exec = resp.execution.expect("Execute returns the execution");
        assert!(
            matches!(
                exec.state(),
                ExecutionState::Queued | ExecutionState::Running
            ),
            "a new execution is QUEUED or RUNNING, got {:?}",
            exec.state()
        );
        exec
    }

    /// WaitExecution, expected to succeed: the execution in its final state.
    pub async fn wait_end(&self, execution_id: &str) -> pb::Execution {
        self.client()
            .wait_execution(pb::WaitExecutionRequest {
                execution_id: execution_id.to_string(),
            })
            .await
            .unwrap_or_else(|s| panic!("WaitExecution {execution_id}: {s:?}"))
            .into_inner()
            .execution
            .expect("WaitExecution returns the execution")
    }

    /// GetExecution, expected to succeed.
    pub async fn get(&self, execution_id: &str) -> pb::Execution {
        self.client()
            .get_execution(pb::GetExecutionRequest {
                execution_id: execution_id.to_string(),
            })
            .await
            .unwrap_or_else(|s| panic!("GetExecution {execution_id}: {s:?}"))
            .into_inner()
            .execution
            .expect("GetExecution returns the execution")
    }

    /// Opens a StreamLogs stream.
    pub async fn open_stream(
        &self,
        execution_id: &str,
        from_sequence: u64,
        follow: bool,
    ) -> tonic::Streaming<pb::StreamLogsResponse> {
        self.client()
            .stream_logs(pb::StreamLogsRequest {
                execution_id: execution_id.to_string(),
                from_sequence,
                follow,
            })
            .await
            .unwrap_or_else(|s| panic!("StreamLogs {execution_id}: {s:?}"))
            .into_inner()
    }

    /// Reads a whole StreamLogs stream until it ends.
    pub async fn logs(
        &self,
        execution_id: &str,
        from_sequence: u64,
        follow: bool,
    ) -> Vec<LogEvent> {
        drain(self.open_stream(execution_id, from_sequence, follow).await).await
    }

    /// GetStatus, expected to succeed.
    pub async fn status(&self) -> pb::GetStatusResponse {
        self.client()
            .get_status(pb::GetStatusRequest::default())
            .await
            .expect("GetStatus")
            .into_inner()
    }

    /// ListWorkflows with the largest page.
    pub async fn list_workflows(&self) -> pb::ListWorkflowsResponse {
        self.client()
            .list_workflows(pb::ListWorkflowsRequest {
                page_size: 1000,
                ..Default::default()
            })
            .await
            .expect("ListWorkflows")
            .into_inner()
    }

    /// ListExecutions with a request, expected to succeed.
    pub async fn list_executions(
        &self,
        req: pb::ListExecutionsRequest,
    ) -> pb::ListExecutionsResponse {
        self.client()
            .list_executions(req)
            .await
            .expect("ListExecutions")
            .into_inner()
    }

    /// Cancel, expected to succeed.
    pub async fn cancel(
        &self,
        execution_id: &str,
        grace: Option<Duration>,
        force: bool,
    ) -> pb::CancelResponse {
        self.client()
            .cancel(cancel_request(execution_id, grace, force))
            .await
            .unwrap_or_else(|s| panic!("Cancel {execution_id}: {s:?}"))
            .into_inner()
    }
}

/// `message` with `authorization: Bearer token`.
pub fn with_bearer<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a header value"),
    );
    request
}

/// A Cancel request.
pub fn cancel_request(
    execution_id: &str,
    grace: Option<Duration>,
    force: bool,
) -> pb::CancelRequest {
    pb::CancelRequest {
        execution_id: execution_id.to_string(),
        grace_period: grace.map(duration),
        force,
        request_id: String::new(),
    }
}

/// An Execute request without request_id, timeout or labels.
pub fn request(workflow_id: &str, inputs: &[(&str, Value)]) -> pb::ExecuteRequest {
    pb::ExecuteRequest {
        workflow_id: workflow_id.to_string(),
        inputs: input_map(inputs),
        ..Default::default()
    }
}

/// Input values by name.
pub fn input_map(inputs: &[(&str, Value)]) -> HashMap<String, Value> {
    inputs
        .iter()
        .map(|(name, value)| (name.to_string(), value.clone()))
        .collect()
}

/// A string input value.
pub fn text(s: &str) -> Value {
    Value::from(s)
}

/// A number input value.
pub fn num(n: f64) -> Value {
    Value::from(n)
}

/// A list-of-numbers input value.
pub fn nums(ns: &[f64]) -> Value {
    Value {
        kind: Some(Kind::ListValue(prost_types::ListValue {
            values: ns.iter().map(|n| num(*n)).collect(),
        })),
    }
}

/// A labels map.
pub fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A protobuf Duration.
pub fn duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration::try_from(d).expect("duration fits")
}
