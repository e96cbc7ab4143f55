//! Limits over HTTP: a full queue is 429, a body past
//! `--http-max-body-bytes` is 413 whether its length is declared or it
//! comes chunked; neither loses anything already accepted.

use std::convert::Infallible;

use base64::Engine;

use reqwest::{header, StatusCode};
use serde_json::json;

use crate::helper::*;

#[tokio::test]
async fn a_full_queue_is_429_and_nothing_accepted_is_lost() {
    let daemon = Daemon::builder()
        .program("gate.sh", gate_program("gate"))
        .max_jobs(1)
        .max_queue(1)
        .start()
        .await;
    let (running, gate) = daemon.start_gate().await;
    let queued = daemon
        .execute("gate", &[("gate", text(gate.to_str().unwrap()))])
        .await;
    assert_eq!(queued.state(), ExecutionState::Queued);

    let (status, body) = daemon
        .http_post(
            "/v1/executions",
            &json!({"workflowId": "gate", "inputs": {"gate": gate}}),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], 8, "RESOURCE_EXHAUSTED: {body}");

    std::fs::write(&gate, "").expect("open the gate");
    for id in [&running.id, &queued.id] {
        let (status, body) = daemon.http_get(&format!("/v1/executions/{id}:wait")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["execution"]["state"], "EXECUTION_STATE_SUCCEEDED");
    }
    assert_eq!(daemon.status().await.total_executions, 2);
}

#[tokio::test]
async fn bodies_past_the_cap_are_413_declared_or_chunked() {
    const CAP: usize = 512;
    let daemon = Daemon::builder()
        .flag("--http-max-body-bytes", CAP)
        .start()
        .await;
    let url = daemon.url("/v1/workflows/hello:validate");
    let padded = |len: usize| {
        let mut body = json!({"inputs": {"name": ""}}).to_string();
        let pad = "x".repeat(len - body.len());
        body = json!({"inputs": {"name": pad}}).to_string();
        assert_eq!(body.len(), len);
        body
    };

    // Just under the cap is served, just over it is not.
    let (status, body) = json_answer(
        http_client()
            .post(&url)
            .header(header::CONTENT_TYPE, "application/json")
            .body(padded(CAP))
            .send()
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = json_answer(
        http_client()
            .post(&url)
            .header(header::CONTENT_TYPE, "application/json")
            .body(padded(CAP + 1))
            .send()
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], 8, "{body}");

    // Chunked: no length declared, the cap is found while reading.
    let text = padded(4 * CAP);
    let chunks: Vec<Result<String, Infallible>> = text
        .as_bytes()
        .chunks(100)
        .map(|c| Ok(String::from_utf8(c.to_vec()).unwrap()))
        .collect();
    let request = http_client()
        .post(&url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .build()
        .unwrap();
    assert!(request.headers().get(header::CONTENT_LENGTH).is_none());
    let (status, body) = json_answer(http_client().execute(request).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");

    let (status, _) = daemon.http_get("/v1/status").await;
    assert_eq!(status, StatusCode::OK);
    daemon.status().await;
}

#[tokio::test]
async fn a_message_past_grpc_s_limit_is_413_and_one_within_it_is_served() {
    let daemon = Daemon::start().await;
    let daemon = &daemon;
    let validate = |manifest_bytes: usize| {
        let body = json!({
            "content": base64::engine::general_purpose::STANDARD.encode("#".repeat(manifest_bytes)),
            "fileName": "big.yaml",
        });
        async move { daemon.http_post("/v1/manifests:validate", &body).await }
    };
    // 3 MiB of manifest (4 MiB of JSON) fits gRPC's 4 MiB messages.
    let (status, body) = validate(3 << 20).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.get("valid").is_none(),
        "a comment is no manifest: {body}"
    );
    // 6 MiB (8 MiB of JSON) is within the 16 MiB body cap, not within
    // what the RPC takes: 413, not the gRPC decoder's OUT_OF_RANGE.
    let (status, body) = validate(6 << 20).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], 8, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("4194304"),
        "{body}"
    );
    daemon.status().await;
}
