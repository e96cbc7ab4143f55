//! Short-lived tokens for SSE log URLs (docs/security.md, "Stream
//! tokens"): with tokens on, a browser's EventSource, which cannot send an
//! authorization header, follows a log with `?access_token=` from
//! CreateStreamToken; the token opens that log only, is refused on any
//! other route or execution and for a caller who cannot see the
//! execution, and is recorded in the audit log when made.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helper::*;

async fn stream_token(daemon: &Daemon, bearer: &str, execution_id: &str) -> (StatusCode, Value) {
    json_answer(
        http_client()
            .post(daemon.url(&format!("/v1/executions/{execution_id}/stream-token")))
            .bearer_auth(bearer)
            .json(&serde_json::json!({}))
            .send()
            .await,
    )
    .await
}

/// Runs hello over HTTP as `bearer`; returns the execution id.
async fn start_hello(daemon: &Daemon, bearer: &str) -> String {
    let (status, started) = json_answer(
        http_client()
            .post(daemon.url("/v1/executions"))
            .bearer_auth(bearer)
            .json(&serde_json::json!({"workflowId": "hello", "inputs": {"name": "sse"}}))
            .send()
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    started["execution"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_stream_token_opens_its_own_log_over_sse_and_nothing_else() {
    let daemon = Daemon::builder().flag("--auth", "tokens").start().await;
    let admin = daemon.admin_token();
    let id = start_hello(&daemon, &admin).await;

    let (status, made) = stream_token(&daemon, &admin, &id).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let token = made["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("wfs_"), "{token}");
    assert!(made["expireTime"].is_string(), "{made}");

    // Without a header, the URL's token opens the log as SSE, to its end.
    let response = http_client()
        .get(daemon.url(&format!(
            "/v1/executions/{id}/logs?follow=true&access_token={token}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut events = SseReader::new(response);
    let mut last = Value::Null;
    while let Some(event) = events.next().await {
        last = serde_json::from_str(&event.data).unwrap();
    }
    assert!(last["event"]["finished"].is_object(), "{last}");

    // Nowhere else: not another route, not another execution's log.
    let other_id = start_hello(&daemon, &admin).await;
    for (path, says) in [
        (
            format!("/v1/executions/{id}?access_token={token}"),
            "no API token",
        ),
        (
            format!("/v1/executions/{other_id}/logs?access_token={token}"),
            "another execution",
        ),
        (
            format!("/v1/executions/{id}/logs?access_token=wfs_forged.x"),
            "stream token refused",
        ),
    ] {
        let (status, body) = json_answer(http_client().get(daemon.url(&path)).send().await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(says),
            "{path}: {body}"
        );
    }
    // Not as a header either: it is not an API token.
    let (status, _) = json_answer(
        http_client()
            .get(daemon.url(&format!("/v1/executions/{id}")))
            .bearer_auth(&token)
            .send()
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Made only for an execution the caller sees; recorded when made.
    let (status, _) = stream_token(&daemon, &admin, &uuid::Uuid::now_v7().to_string()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let audit = eventually(
        "the audit event",
        std::time::Duration::from_secs(10),
        || {
            let request = http_client()
                .get(daemon.url("/v1/audit?pageSize=100"))
                .bearer_auth(&admin);
            let id = id.clone();
            async move {
                let (_, body) = json_answer(request.send().await).await;
                body["events"]
                    .as_array()?
                    .iter()
                    .find(|e| e["method"] == "CreateStreamToken" && e["object"] == id.as_str())
                    .cloned()
            }
        },
    )
    .await;
    assert_eq!(audit["code"], "OK", "{audit}");
}
