//! CORS: closed unless origins are configured, then open to exactly those
//! (the JSON routes and gRPC-web alike); a malformed origin stops the
//! daemon from starting.

use reqwest::{header, Method, StatusCode};

use crate::helper::*;

const DASH: &str = "https://dash.example";
const EVIL: &str = "https://evil.example";

/// The `access-control-allow-origin` of a response, if any.
fn allowed_origin(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .map(|v| v.to_str().unwrap().to_string())
}

/// A header of a response as text (empty when absent), lowercased.
fn header_text(response: &reqwest::Response, name: header::HeaderName) -> String {
    response
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(",")
}

/// GET /v1/status from `origin`.
async fn get_from(daemon: &Daemon, origin: &str) -> reqwest::Response {
    let response = http_client()
        .get(daemon.url("/v1/status"))
        .header(header::ORIGIN, origin)
        .send()
        .await
        .expect("GET /v1/status");
    assert_eq!(response.status(), StatusCode::OK);
    response
}

/// A browser's preflight of a POST from `origin` with gRPC-web headers.
async fn preflight(daemon: &Daemon, path: &str, origin: &str) -> reqwest::Response {
    http_client()
        .request(Method::OPTIONS, daemon.url(path))
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "content-type,x-grpc-web,x-user-agent",
        )
        .send()
        .await
        .expect("OPTIONS")
}

#[tokio::test]
async fn without_configured_origins_no_origin_is_allowed() {
    let daemon = Daemon::start().await;
    assert_eq!(allowed_origin(&get_from(&daemon, EVIL).await), None);
    let response = preflight(&daemon, "/v1/executions", EVIL).await;
    assert_eq!(allowed_origin(&response), None);
    let response = preflight(&daemon, "/workflow.v1.WorkflowService/GetStatus", EVIL).await;
    assert_eq!(allowed_origin(&response), None);
}

#[tokio::test]
async fn a_configured_origin_is_allowed_and_no_other() {
    let daemon = Daemon::builder()
        .flag("--http-cors-origin", DASH)
        .start()
        .await;
    assert_eq!(
        allowed_origin(&get_from(&daemon, DASH).await).as_deref(),
        Some(DASH)
    );
    assert_eq!(allowed_origin(&get_from(&daemon, EVIL).await), None);
    // Errors too, so the page can read why.
    let response = http_client()
        .get(daemon.url("/v1/workflows/nope"))
        .header(header::ORIGIN, DASH)
        .send()
        .await
        .expect("GET a missing workflow");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(allowed_origin(&response).as_deref(), Some(DASH));

    for path in ["/v1/executions", "/workflow.v1.WorkflowService/GetStatus"] {
        let response = preflight(&daemon, path, DASH).await;
        assert!(response.status().is_success(), "{path}: {response:?}");
        assert_eq!(allowed_origin(&response).as_deref(), Some(DASH), "{path}");
        let methods = header_text(&response, header::ACCESS_CONTROL_ALLOW_METHODS);
        assert!(methods.contains("post"), "{path}: {methods}");
        let headers = header_text(&response, header::ACCESS_CONTROL_ALLOW_HEADERS);
        for wanted in ["content-type", "x-grpc-web", "x-user-agent"] {
            assert!(headers.contains(wanted), "{path}: {wanted} in {headers}");
        }
        let response = preflight(&daemon, path, EVIL).await;
        assert_eq!(allowed_origin(&response), None, "{path}");
    }

    // A gRPC-web call from the page: allowed, its status readable.
    let response = http_client()
        .post(daemon.url("/workflow.v1.WorkflowService/GetStatus"))
        .header(header::ORIGIN, DASH)
        .header(header::CONTENT_TYPE, "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(vec![0u8; 5])
        .send()
        .await
        .expect("gRPC-web GetStatus");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(allowed_origin(&response).as_deref(), Some(DASH));
    let exposed = header_text(&response, header::ACCESS_CONTROL_EXPOSE_HEADERS);
    assert!(exposed.contains("grpc-status"), "{exposed}");
}

#[tokio::test]
async fn a_malformed_origin_stops_the_daemon_naming_the_setting() {
    for origin in ["*", "https://x/path", "dash.example"] {
        let (status, stderr) = Daemon::builder()
            .flag("--http-cors-origin", origin)
            .start_expecting_failure()
            .await;
        assert!(!status.success(), "{origin}");
        assert!(stderr.contains("http_cors_origins"), "{origin}: {stderr}");
        assert!(stderr.contains(origin), "{origin}: {stderr}");
    }
}
