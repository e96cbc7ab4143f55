//! The handlers, in process: the `WorkflowService` trait methods called
//! directly, as tonic-health's own tests do, on an engine over a real
//! history and small workflow programs. No network, no daemon binary.

use std::time::Duration;

use tonic::{Code, Request, Response, Status};
use tonic_types::StatusExt;

use super::{DaemonInfo, WorkflowApi};
use crate::engine::testing::{gate_program, workflow_script, TestEngine};
use crate::pb;
use crate::pb::workflow_service_server::WorkflowService;

/// Prints its greeting and succeeds.
fn hello_program() -> String {
    workflow_script(
        r#"{"id":"hello","name":"Hello","description":"Greets.","fields":[]}"#,
        "echo hello",
    )
}

struct Served {
    api: WorkflowApi,
    engine: TestEngine,
}

async fn serve(workers: usize, queue: usize) -> Served {
    let engine = TestEngine::start(
        workers,
        queue,
        &[
            ("gate.sh", gate_program("gate")),
            ("hello.sh", hello_program()),
        ],
    )
    .await;
    let registry = crate::registry::Registry::new(
        crate::store::Database::Sqlite(engine.path("history.sqlite3")),
        workers,
        false,
    );
    registry.writing(engine.engine.clone());
    let api = WorkflowApi::new(
        engine.engine.clone(),
        DaemonInfo {
            version: "test".into(),
            started_at_ms: crate::clock::now_ms(),
            database_path: engine.path("history.sqlite3").display().to_string(),
            history_retention: None,
        },
        registry.clone(),
    );
    Served { api, engine }
}

impl Served {
    async fn list_workflows(
        &self,
        page_size: i32,
        page_token: String,
    ) -> pb::ListWorkflowsResponse {
        let request = pb::ListWorkflowsRequest {
            page_size,
            page_token,
            ..Default::default()
        };
        let response = self.api.list_workflows(Request::new(request)).await;
        response.unwrap().into_inner()
    }

    async fn cancel(&self, execution_id: &str) -> Result<pb::CancelResponse, Status> {
        let request = pb::CancelRequest {
            execution_id: execution_id.into(),
            ..Default::default()
        };
        let response = self.api.cancel(Request::new(request)).await;
        response.map(Response::into_inner)
    }

    async fn list_executions(
        &self,
        request: pb::ListExecutionsRequest,
    ) -> Result<pb::ListExecutionsResponse, Status> {
        let response = self.api.list_executions(Request::new(request)).await;
        response.map(Response::into_inner)
    }
}

fn execute_request(workflow_id: &str) -> pb::ExecuteRequest {
    pb::ExecuteRequest {
        workflow_id: workflow_id.into(),
        ..Default::default()
    }
}

fn gated(gate: &std::path::Path) -> pb::ExecuteRequest {
    let mut request = execute_request("gate");
    request.inputs.insert(
        "gate".into(),
        prost_types::Value {
            kind: Some(prost_types::value::Kind::StringValue(
                gate.display().to_string(),
            )),
        },
    );
    request
}

async fn execute(api: &WorkflowApi, request: pb::ExecuteRequest) -> pb::Execution {
    let response = api.execute(Request::new(request)).await.unwrap();
    let response = response.into_inner();
    assert!(response.started);
    response.execution.expect("an execution")
}

async fn wait(api: &WorkflowApi, id: &str) -> pb::Execution {
    let waited = api.wait_execution(Request::new(pb::WaitExecutionRequest {
        execution_id: id.into(),
    }));
    tokio::time::timeout(Duration::from_secs(10), waited)
        .await
        .expect("ended in time")
        .unwrap()
        .into_inner()
        .execution
        .expect("an execution")
}

/// The field violations of an INVALID_ARGUMENT status.
fn violations(status: &Status) -> Vec<(String, String)> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .expect("field violations")
        .field_violations
        .iter()
        .map(|v| (v.field.clone(), v.description.clone()))
        .collect()
}

fn assert_violations(status: &Status, expected: &[(&str, &str)]) {
    let expected: Vec<_> = expected
        .iter()
        .map(|(field, description)| (field.to_string(), description.to_string()))
        .collect();
    assert_eq!(violations(status), expected);
}

fn state(execution: &pb::Execution) -> pb::ExecutionState {
    pb::ExecutionState::try_from(execution.state).expect("a state")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_workflows_pages_through_the_catalog() {
    let s = serve(1, 1).await;
    let all = s.list_workflows(0, String::new()).await;
    let ids: Vec<_> = all.workflows.iter().map(|w| w.id.as_str()).collect();
    assert_eq!(ids, ["gate", "hello"]);
    assert!(all.discovery_errors.is_empty());
    assert!(all.next_page_token.is_empty());

    let first = s.list_workflows(1, String::new()).await;
    assert_eq!(first.workflows[0].id, "gate");
    let second = s.list_workflows(1, first.next_page_token).await;
    assert_eq!(second.workflows[0].id, "hello");
    assert!(second.next_page_token.is_empty());
    s.engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_runs_to_its_end() {
    let s = serve(1, 1).await;
    let accepted = execute(&s.api, execute_request("hello")).await;
    assert_eq!(accepted.workflow_id, "hello");

    let got = s
        .api
        .get_execution(Request::new(pb::GetExecutionRequest {
            execution_id: accepted.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .execution
        .unwrap();
    assert_eq!(got.id, accepted.id);

    let ended = wait(&s.api, &accepted.id).await;
    assert_eq!(state(&ended), pb::ExecutionState::Succeeded, "{ended:?}");
    assert_eq!(ended.exit_code, Some(0));
    assert!(ended.end_time.is_some());
    s.engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_are_invalid_arguments_naming_their_fields() {
    let s = serve(1, 1).await;
    let missing_id = s.api.execute(Request::new(execute_request("")));
    assert_violations(
        &missing_id.await.unwrap_err(),
        &[("workflow_id", "is required")],
    );

    let missing_input = s.api.execute(Request::new(execute_request("gate")));
    let missing_input = missing_input.await.unwrap_err();
    let fields: Vec<_> = violations(&missing_input)
        .into_iter()
        .map(|(field, _)| field)
        .collect();
    assert_eq!(fields, ["inputs.gate"]);

    let mut negative = execute_request("hello");
    negative.timeout = Some(prost_types::Duration {
        seconds: -1,
        nanos: 0,
    });
    let negative = s.api.execute(Request::new(negative)).await.unwrap_err();
    let out_of_range = "must be positive and at most 315576000000s";
    assert_violations(&negative, &[("timeout", out_of_range)]);
    // Past the Duration range it could be stored but never written as
    // proto JSON (the HTTP routes would fail on every read of it).
    let mut huge = execute_request("hello");
    huge.timeout = Some(prost_types::Duration {
        seconds: 1_000_000_000_000,
        nanos: 0,
    });
    let huge = s.api.execute(Request::new(huge)).await.unwrap_err();
    assert_violations(&huge, &[("timeout", out_of_range)]);

    let not_an_id = pb::GetExecutionRequest {
        execution_id: "not-a-uuid".into(),
    };
    let not_an_id = s.api.get_execution(Request::new(not_an_id)).await;
    assert_violations(
        &not_an_id.unwrap_err(),
        &[("execution_id", "must be a UUID")],
    );

    let bad_page = s
        .list_executions(pb::ListExecutionsRequest {
            page_size: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&bad_page)[0].0, "page_size");
    s.engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_execution_is_not_found() {
    let s = serve(1, 1).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let got = s
        .api
        .get_execution(Request::new(pb::GetExecutionRequest {
            execution_id: unknown.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(got.code(), Code::NotFound, "{got:?}");
    let waited = s
        .api
        .wait_execution(Request::new(pb::WaitExecutionRequest {
            execution_id: unknown,
        }))
        .await
        .unwrap_err();
    assert_eq!(waited.code(), Code::NotFound, "{waited:?}");
    s.engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_of_a_queued_execution_ends_it_unstarted() {
    let s = serve(1, 1).await;
    let gate = s.engine.path("gate");
    let running = execute(&s.api, gated(&gate)).await;
    let queued = execute(&s.api, gated(&gate)).await;
    assert_eq!(state(&queued), pb::ExecutionState::Queued);

    let cancelled = s.cancel(&queued.id).await.unwrap();
    assert!(!cancelled.already_requested);
    let ended = wait(&s.api, &queued.id).await;
    assert_eq!(state(&ended), pb::ExecutionState::Cancelled);
    assert_eq!(ended.start_time, None);

    let again = s.cancel(&queued.id).await.unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");

    std::fs::write(&gate, "").unwrap();
    assert_eq!(
        state(&wait(&s.api, &running.id).await),
        pb::ExecutionState::Succeeded
    );
    s.engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_executions_pages_newest_first() {
    let s = serve(2, 10).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let execution = execute(&s.api, execute_request("hello")).await;
        ids.push(execution.id);
    }
    for id in &ids {
        wait(&s.api, id).await;
    }

    let mut listed = Vec::new();
    let mut page_token = Some(String::new());
    while let Some(token) = page_token.take() {
        let request = pb::ListExecutionsRequest {
            page_size: 2,
            page_token: token,
            workflow_id: "hello".into(),
            ..Default::default()
        };
        let page = s.list_executions(request).await.unwrap();
        assert!(page.executions.len() <= 2);
        listed.extend(page.executions.into_iter().map(|e| e.id));
        page_token = Some(page.next_page_token).filter(|token| !token.is_empty());
    }
    ids.reverse();
    assert_eq!(listed, ids);

    // A token is tied to the filters it was made for.
    let first = s
        .list_executions(pb::ListExecutionsRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    let other_filters = s
        .list_executions(pb::ListExecutionsRequest {
            page_size: 2,
            page_token: first.next_page_token,
            workflow_id: "gate".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&other_filters)[0].0, "page_token");
    s.engine.stop().await;
}
