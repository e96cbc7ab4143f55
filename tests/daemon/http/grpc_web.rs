//! gRPC-web and native gRPC on the port that also serves the JSON routes.

use prost::Message;
use reqwest::{header, StatusCode};

use crate::helper::*;

/// A gRPC-web body split into its messages and its trailer frame's text.
fn frames(mut body: &[u8]) -> (Vec<Vec<u8>>, String) {
    let mut messages = Vec::new();
    let mut trailers = String::new();
    while !body.is_empty() {
        assert!(body.len() >= 5, "a frame header: {body:?}");
        let flag = body[0];
        let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        let payload = body[5..5 + len].to_vec();
        body = &body[5 + len..];
        if flag & 0x80 != 0 {
            trailers.push_str(&String::from_utf8(payload).expect("text trailers"));
        } else {
            assert_eq!(flag, 0, "an uncompressed message");
            messages.push(payload);
        }
    }
    (messages, trailers)
}

#[tokio::test]
async fn grpc_web_and_native_grpc_share_the_port_with_http() {
    let daemon = Daemon::start().await;
    let (status, _) = daemon.http_get("/v1/status").await;
    assert_eq!(status, StatusCode::OK);

    let request = pb::GetStatusRequest::default().encode_to_vec();
    let mut body = vec![0u8];
    body.extend_from_slice(&(request.len() as u32).to_be_bytes());
    body.extend_from_slice(&request);
    let response = http_client()
        .post(daemon.url("/workflow.v1.WorkflowService/GetStatus"))
        .header(header::CONTENT_TYPE, "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(body)
        .send()
        .await
        .expect("gRPC-web GetStatus");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert!(response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/grpc-web"));
    let (messages, trailers) = frames(&response.bytes().await.expect("read the body"));
    assert_eq!(messages.len(), 1);
    let answer = pb::GetStatusResponse::decode(messages[0].as_slice()).expect("decodes");
    let trailers = trailers.to_ascii_lowercase();
    assert!(
        trailers.lines().any(|l| l.trim() == "grpc-status:0"),
        "{trailers:?}"
    );

    // Native gRPC after HTTP and gRPC-web traffic, same answer.
    let native = daemon.status().await;
    assert_eq!(answer.version, native.version);
    assert_eq!(answer.database_path, native.database_path);
    assert_eq!(answer.max_workers, native.max_workers);
}
