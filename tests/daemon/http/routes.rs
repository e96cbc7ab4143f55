//! Every JSON route once, its answer in the proto3 JSON mapping
//! (lowerCamelCase keys, enums by name, 64-bit integers as strings) and
//! equal to what the same call answers over gRPC.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helper::*;

/// The ids of the executions of a ListExecutions answer in JSON.
fn ids(list: &Value) -> Vec<String> {
    list["executions"]
        .as_array()
        .map(|executions| {
            executions
                .iter()
                .map(|e| e["id"].as_str().expect("an id").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// GETs `path`, expecting 200.
async fn ok(daemon: &Daemon, path: &str) -> Value {
    let (status, body) = daemon.http_get(path).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    body
}

/// POSTs `body` to `path`, expecting 200.
async fn posted(daemon: &Daemon, path: &str, body: Value) -> Value {
    let (status, answer) = daemon.http_post(path, &body).await;
    assert_eq!(status, StatusCode::OK, "POST {path} {body}: {answer}");
    answer
}

#[tokio::test]
async fn workflow_and_execution_routes_answer_as_grpc_does() {
    let daemon = Daemon::builder()
        .program("gate.sh", gate_program("gate"))
        .start()
        .await;

    let workflows = ok(&daemon, "/v1/workflows?page_size=1000").await;
    let grpc = proto_json(
        &daemon.list_workflows().await,
        "workflow.v1.ListWorkflowsResponse",
    );
    assert_eq!(workflows["workflows"], grpc["workflows"]);
    let hello = ok(&daemon, "/v1/workflows/hello").await;
    assert_eq!(hello["workflow"]["id"], "hello");
    assert!(
        hello["workflow"]["fields"][0]["cliArg"].is_string(),
        "{hello}"
    );
    assert!(hello["workflow"].get("cli_arg").is_none());

    let validated = posted(
        &daemon,
        "/v1/workflows/hello:validate",
        json!({"inputs": {"name": "web"}}),
    )
    .await;
    assert_eq!(validated["resolvedInputs"], json!({"name": "web"}));
    let grpc = daemon
        .client()
        .validate_inputs(pb::ValidateInputsRequest {
            workflow_id: "hello".into(),
            inputs: input_map(&[("name", text("web"))]),
        })
        .await
        .expect("ValidateInputs")
        .into_inner();
    assert_eq!(
        validated,
        proto_json(&grpc, "workflow.v1.ValidateInputsResponse")
    );

    // Execute, wait and get: the finished execution is the same message
    // over both protocols.
    let started = posted(
        &daemon,
        "/v1/executions",
        json!({"workflowId": "hello", "inputs": {"name": "web"},
               "labels": {"via": "http"}, "requestId": "http-1", "timeout": "30s"}),
    )
    .await;
    assert_eq!(started["started"], true, "{started}");
    let execution = &started["execution"];
    let state = execution["state"].as_str().expect("state by name");
    assert!(
        ["EXECUTION_STATE_QUEUED", "EXECUTION_STATE_RUNNING"].contains(&state),
        "{started}"
    );
    assert_eq!(execution["timeout"], "30s");
    let hello_id = execution["id"].as_str().unwrap().to_string();
    let again = posted(
        &daemon,
        "/v1/executions",
        json!({"workflowId": "hello", "requestId": "http-1"}),
    )
    .await;
    assert_eq!(again["execution"]["id"], hello_id.as_str(), "{again}");
    assert!(again.get("started").is_none(), "false is omitted: {again}");
    let waited = ok(&daemon, &format!("/v1/executions/{hello_id}:wait")).await;
    assert_eq!(waited["execution"]["state"], "EXECUTION_STATE_SUCCEEDED");
    assert_eq!(waited["execution"]["exitCode"], 0, "an optional set to 0");
    let got = ok(&daemon, &format!("/v1/executions/{hello_id}")).await;
    let grpc = pb::GetExecutionResponse {
        execution: Some(daemon.get(&hello_id).await),
        batch: None,
    };
    assert_eq!(got, proto_json(&grpc, "workflow.v1.GetExecutionResponse"));
    assert_eq!(waited, got);
    assert_eq!(got["execution"]["labels"], json!({"via": "http"}));

    // The log without follow, as NDJSON: each line the gRPC message.
    let logs = http_client()
        .get(daemon.url(&format!("/v1/executions/{hello_id}/logs")))
        .header("accept", "application/x-ndjson")
        .send()
        .await
        .expect("GET logs")
        .text()
        .await
        .expect("read logs");
    let lines: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(lines, daemon.grpc_log_json(&hello_id).await);
    assert_eq!(lines[0]["event"]["sequence"], "1", "uint64 as a string");

    // Cancel a running execution.
    let gate = daemon.file("gate");
    let started = posted(
        &daemon,
        "/v1/executions",
        json!({"workflowId": "gate", "inputs": {"gate": gate}}),
    )
    .await;
    let gate_id = started["execution"]["id"].as_str().unwrap().to_string();
    daemon.wait_started(&gate_id).await;
    let cancelled = posted(
        &daemon,
        &format!("/v1/executions/{gate_id}:cancel"),
        json!({"force": true, "gracePeriod": "1s"}),
    )
    .await;
    assert!(cancelled.is_object(), "{cancelled}");
    let waited = ok(&daemon, &format!("/v1/executions/{gate_id}:wait")).await;
    assert_eq!(waited["execution"]["state"], "EXECUTION_STATE_CANCELLED");

    let other = daemon
        .execute_request(pb::ExecuteRequest {
            labels: labels(&[("via", "grpc")]),
            ..request("hello", &[])
        })
        .await;
    daemon
        .wait_state(&other.id, ExecutionState::Succeeded)
        .await;

    // ListExecutions: filters as query parameters, then paging.
    let by_workflow = ok(&daemon, "/v1/executions?workflow_id=hello").await;
    assert_eq!(ids(&by_workflow), [other.id.clone(), hello_id.clone()]);
    let by_state = ok(&daemon, "/v1/executions?states=EXECUTION_STATE_CANCELLED").await;
    assert_eq!(ids(&by_state), [gate_id.as_str()]);
    let by_states = ok(
        &daemon,
        "/v1/executions?states=EXECUTION_STATE_CANCELLED&states=EXECUTION_STATE_SUCCEEDED",
    )
    .await;
    assert_eq!(by_states["executions"].as_array().unwrap().len(), 3);
    let by_label = ok(&daemon, "/v1/executions?labels[via]=http").await;
    assert_eq!(ids(&by_label), [hello_id.as_str()]);
    let by_json_name = ok(
        &daemon,
        "/v1/executions?workflowId=gate&labels%5Bvia%5D=none",
    )
    .await;
    assert_eq!(ids(&by_json_name), Vec::<String>::new());

    let first = ok(&daemon, "/v1/executions?page_size=2").await;
    let grpc = daemon
        .list_executions(pb::ListExecutionsRequest {
            page_size: 2,
            ..Default::default()
        })
        .await;
    assert_eq!(
        first,
        proto_json(&grpc, "workflow.v1.ListExecutionsResponse")
    );
    let token = first["nextPageToken"].as_str().expect("a next page");
    let second = ok(
        &daemon,
        &format!("/v1/executions?page_size=2&page_token={token}"),
    )
    .await;
    assert_eq!(ids(&second), [hello_id.as_str()]);
    assert!(second.get("nextPageToken").is_none(), "{second}");
    let mut all = ids(&first);
    all.extend(ids(&second));
    assert_eq!(all, [other.id.clone(), gate_id.clone(), hello_id.clone()]);

    // GetStatus: uint64 counters as strings, a map by state name.
    let status = ok(&daemon, "/v1/status").await;
    assert_eq!(status["totalExecutions"], "3");
    assert_eq!(status["totalsByState"]["SUCCEEDED"], "2");
    assert_eq!(status["totalsByState"]["CANCELLED"], "1");
    let grpc = proto_json(&daemon.status().await, "workflow.v1.GetStatusResponse");
    for key in [
        "version",
        "maxWorkers",
        "maxQueue",
        "databasePath",
        "outputDir",
    ] {
        assert_eq!(status[key], grpc[key], "{key}");
    }
}

#[tokio::test]
async fn manifest_routes_take_the_content_as_base64() {
    let daemon = Daemon::builder()
        .program("vm-pipeline.sh", fixture_pipeline())
        .start()
        .await;
    let disk = make_disk(&daemon.staging_dir(), "web.raw", "raw");
    let converted = daemon.output_dir().join("web.qcow2");
    let manifest = json!({"version": "1.0", "pipeline": {
        "load": {"source_type": "raw", "source_path": disk},
        "convert": {"output_format": "qcow2", "output_path": converted}}})
    .to_string();
    let content = base64::engine::general_purpose::STANDARD.encode(&manifest);

    let validated = posted(
        &daemon,
        "/v1/manifests:validate",
        json!({"content": content, "fileName": "web.json"}),
    )
    .await;
    assert_eq!(validated["valid"], true, "{validated}");
    assert_eq!(validated["kind"], "MANIFEST_KIND_SINGLE");
    let grpc = daemon
        .client()
        .validate_manifest(pb::ValidateManifestRequest {
            content: manifest.clone().into_bytes(),
            format: 0,
            file_name: "web.json".into(),
        })
        .await
        .expect("ValidateManifest")
        .into_inner();
    assert_eq!(
        validated,
        proto_json(&grpc, "workflow.v1.ValidateManifestResponse")
    );

    let submitted = posted(
        &daemon,
        "/v1/manifests:submit",
        json!({"content": content, "fileName": "web.json", "format": "MANIFEST_FORMAT_JSON"}),
    )
    .await;
    assert_eq!(submitted["started"], true, "{submitted}");
    assert_eq!(submitted["vms"][0]["name"], "web");
    let id = submitted["vms"][0]["execution"]["id"]
        .as_str()
        .expect("an execution id");
    let waited = ok(&daemon, &format!("/v1/executions/{id}:wait")).await;
    assert_eq!(
        waited["execution"]["state"], "EXECUTION_STATE_SUCCEEDED",
        "{waited}"
    );
    assert_eq!(image_format(&converted), "qcow2");
    assert!(same_content(&disk, &converted));
}
