//! The error mapping of the HTTP routes: a gRPC code to its HTTP status
//! with a `google.rpc.Status` JSON body, and the router's and request
//! reader's own refusals, each naming what was wrong. After all of them
//! the daemon still serves and nothing was started.

use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::helper::*;

/// The fields of the BadRequest violations of an error body.
fn violated_fields(body: &Value) -> Vec<String> {
    assert_eq!(
        body["details"][0]["@type"], "type.googleapis.com/google.rpc.BadRequest",
        "{body}"
    );
    body["details"][0]["fieldViolations"]
        .as_array()
        .expect("field violations")
        .iter()
        .map(|v| v["field"].as_str().expect("a field").to_string())
        .collect()
}

/// Sends a raw request and returns its status, Allow header and JSON body.
async fn send(
    daemon: &Daemon,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> (StatusCode, Option<String>, Value) {
    let mut request = http_client()
        .request(method, daemon.url(path))
        .body(body.to_string());
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let response = request.send().await.expect("the daemon answers");
    let allow = response
        .headers()
        .get(header::ALLOW)
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/json",
        "errors are JSON"
    );
    let (status, body) = json_answer(Ok(response)).await;
    (status, allow, body)
}

/// POSTs a JSON text to `path`.
async fn post_text(daemon: &Daemon, path: &str, body: &str) -> (StatusCode, Value) {
    let (status, _, body) = send(daemon, Method::POST, path, Some("application/json"), body).await;
    (status, body)
}

#[tokio::test]
async fn rpc_errors_answer_their_http_status() {
    let daemon = Daemon::start().await;

    let (status, body) = daemon
        .http_post(
            "/v1/workflows/hello:validate",
            &json!({"inputs": {"bogus": "x"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], 3);
    assert_eq!(violated_fields(&body), ["inputs.bogus"]);

    let (status, body) = daemon.http_get("/v1/executions/nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(violated_fields(&body), ["execution_id"]);

    const UNKNOWN: &str = "00000000-0000-4000-8000-000000000000";
    for path in [
        "/v1/workflows/nope".to_string(),
        format!("/v1/executions/{UNKNOWN}"),
        format!("/v1/executions/{UNKNOWN}:wait"),
        format!("/v1/executions/{UNKNOWN}/logs"),
        format!("/v1/executions/{UNKNOWN}/logs?follow=true"),
    ] {
        let (status, body) = daemon.http_get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["code"], 5, "{path}: {body}");
        assert!(body["message"].is_string(), "{path}: {body}");
    }

    let done = daemon.execute("hello", &[]).await;
    daemon.wait_state(&done.id, ExecutionState::Succeeded).await;
    let (status, body) = daemon
        .http_post(&format!("/v1/executions/{}:cancel", done.id), &json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], 9, "FAILED_PRECONDITION: {body}");
}

#[tokio::test]
async fn bad_requests_are_refused_naming_what_is_wrong() {
    let daemon = Daemon::start().await;
    let get = |path: &'static str| send(&daemon, Method::GET, path, None, "");

    let (status, _, body) = get("/v1/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], 5);
    assert!(body["message"].as_str().unwrap().contains("/v1/nothing"));

    let (status, allow, body) = send(&daemon, Method::DELETE, "/v1/executions", None, "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    let allow = allow.expect("an Allow header");
    let mut allowed: Vec<&str> = allow.split(", ").collect();
    allowed.sort();
    assert_eq!(allowed, ["GET", "POST"]);
    let (status, allow, _) = send(&daemon, Method::PUT, "/v1/status", None, "{}").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(allow.as_deref(), Some("GET"));

    let (status, _, body) = send(
        &daemon,
        Method::POST,
        "/v1/executions",
        Some("text/plain"),
        r#"{"workflowId": "hello"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert!(body["message"].as_str().unwrap().contains("text/plain"));

    let (status, body) = post_text(&daemon, "/v1/executions", "{\n  \"workflowId\": ").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("line 2 column"), "{message}");

    let (status, body) = post_text(
        &daemon,
        "/v1/executions",
        r#"{"workflowId": "hello", "colour": 1}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(violated_fields(&body), ["colour"]);

    let (status, body) = post_text(&daemon, "/v1/executions", r#"{"workflowId": 5}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(violated_fields(&body), ["workflowId"]);

    let (status, body) = post_text(
        &daemon,
        "/v1/executions",
        r#"{"workflowId": "hello", "inputs": {"name": "x"}, "timeout": "soon"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(violated_fields(&body), ["timeout"]);

    for (path, field) in [
        ("/v1/executions?pagesize=1", "pagesize"),
        ("/v1/executions?page_size=x", "page_size"),
        ("/v1/executions?states=EXECUTION_STATE_DONE", "states[0]"),
        ("/v1/executions/x/logs?follow=yes", "follow"),
    ] {
        let (status, _, body) = get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(violated_fields(&body), [field], "{path}: {body}");
    }

    let exec = daemon.execute("hello", &[]).await;
    daemon.wait_state(&exec.id, ExecutionState::Succeeded).await;
    let response = http_client()
        .get(daemon.url(&format!("/v1/executions/{}/logs", exec.id)))
        .header("last-event-id", "seven")
        .send()
        .await
        .expect("GET logs");
    let (status, body) = json_answer(Ok(response)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(violated_fields(&body), ["Last-Event-ID"]);

    // Still serving, over both protocols, and none of the refused
    // requests started anything.
    let status = daemon.status().await;
    assert_eq!(status.total_executions, 1);
    let (code, body) = daemon.http_get("/v1/status").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["totalExecutions"], "1");
}

/// A JSON client bounds a `:wait` with its own timeout (closing the
/// connection); giving up ends the call and never cancels the execution.
#[tokio::test]
async fn a_client_that_gives_up_a_wait_leaves_the_execution_running() {
    let daemon = Daemon::builder()
        .program("gate.sh", gate_program("gate"))
        .start()
        .await;
    let (exec, gate) = daemon.start_gate().await;
    let gave_up = http_client()
        .get(daemon.url(&format!("/v1/executions/{}:wait", exec.id)))
        .timeout(std::time::Duration::from_millis(300))
        .send()
        .await;
    assert!(
        gave_up.as_ref().is_err_and(|e| e.is_timeout()),
        "the wait must still be waiting: {gave_up:?}"
    );
    let (code, body) = daemon
        .http_get(&format!("/v1/executions/{}", exec.id))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        body["execution"]["state"], "EXECUTION_STATE_RUNNING",
        "{body}"
    );
    std::fs::write(gate, "").expect("open the gate");
    let (code, body) = daemon
        .http_get(&format!("/v1/executions/{}:wait", exec.id))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        body["execution"]["state"], "EXECUTION_STATE_SUCCEEDED",
        "{body}"
    );
}
