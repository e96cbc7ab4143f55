//! The web dashboard served at `/` from the files embedded in the binary:
//! the page on every one of its routes, its hashed assets cached for good,
//! a strict Content-Security-Policy, gzip, revalidation by ETag, and the
//! JSON API left alone. (What the page does is tested in a real browser:
//! web/e2e.)

use reqwest::{header, StatusCode};

use crate::helper::*;

/// GET `path` with optional extra headers.
async fn get(
    daemon: &Daemon,
    path: &str,
    headers: &[(header::HeaderName, &str)],
) -> reqwest::Response {
    let mut request = http_client().get(daemon.url(path));
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

fn header_of(response: &reqwest::Response, name: header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The script the page loads (`<script type="module" src="/assets/...">`).
fn script_path(index: &str) -> String {
    let start = index
        .find("src=\"/assets/")
        .expect("index.html loads a script from /assets/")
        + 5;
    let end = index[start..].find('"').unwrap() + start;
    index[start..end].to_string()
}

#[tokio::test]
async fn every_page_route_answers_the_page_with_a_strict_policy() {
    let daemon = Daemon::start().await;
    let root = get(&daemon, "/", &[]).await;
    assert_eq!(root.status(), StatusCode::OK);
    assert_eq!(
        header_of(&root, header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert_eq!(header_of(&root, header::CACHE_CONTROL), "no-cache");
    let policy = header_of(&root, header::CONTENT_SECURITY_POLICY);
    assert!(policy.contains("default-src 'self'"), "{policy}");
    assert!(
        policy.contains("script-src 'self';"),
        "no inline scripts: {policy}"
    );
    assert!(!policy.contains("unsafe"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(header_of(&root, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    let etag = header_of(&root, header::ETAG);
    let index = root.text().await.unwrap();
    // Every script is a file the policy allows ('self'): none is inline.
    let scripts: Vec<&str> = index.split("<script").skip(1).collect();
    assert!(!scripts.is_empty(), "{index}");
    for script in scripts {
        let tag = &script[..script.find('>').unwrap()];
        assert!(
            tag.contains(" src=\"/assets/"),
            "an inline script: <script{tag}>"
        );
    }
    assert!(!index.contains("<style"), "an inline style in {index}");
    let again = get(&daemon, "/", &[(header::IF_NONE_MATCH, etag.as_str())]).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{etag}");

    // Deep links load the same page, whatever the client accepts.
    for path in [
        "/workflows",
        "/workflows/hello",
        "/executions/0198c0de-0000-7000-8000-000000000000?seq=42",
        "/history?state=FAILED",
        "/batches/b-1",
        "/manifests/new?step=review",
    ] {
        let response = get(&daemon, path, &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.text().await.unwrap(), index, "{path}");
    }

    // Any other path a browser navigates to: the page (its "not found"
    // screen) with an honest 404.
    let lost = get(
        &daemon,
        "/no/such/page",
        &[(header::ACCEPT, "text/html,*/*;q=0.8")],
    )
    .await;
    assert_eq!(lost.status(), StatusCode::NOT_FOUND);
    assert_eq!(lost.text().await.unwrap(), index);
}

#[tokio::test]
async fn assets_are_cached_for_good_gzipped_and_revalidated() {
    let daemon = Daemon::start().await;
    let index = get(&daemon, "/", &[]).await.text().await.unwrap();
    let script = script_path(&index);

    let plain = get(&daemon, &script, &[]).await;
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(
        header_of(&plain, header::CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        header_of(&plain, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    let etag = header_of(&plain, header::ETAG);
    assert!(etag.starts_with("W/\"") && etag.len() > 10, "{etag}");
    let plain_len = plain.bytes().await.unwrap().len();

    let zipped = get(&daemon, &script, &[(header::ACCEPT_ENCODING, "gzip")]).await;
    assert_eq!(header_of(&zipped, header::CONTENT_ENCODING), "gzip");
    let body = zipped.bytes().await.unwrap();
    assert_eq!(&body[..2], &[0x1f, 0x8b], "a gzip stream");
    assert!(
        body.len() < plain_len / 2,
        "{} of {plain_len} bytes",
        body.len()
    );

    let again = get(&daemon, &script, &[(header::IF_NONE_MATCH, etag.as_str())]).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_json_api_keeps_its_paths_and_errors() {
    let daemon = Daemon::start().await;
    // Under /v1/ a browser's Accept changes nothing: JSON errors.
    let missing = get(&daemon, "/v1/nothing", &[(header::ACCEPT, "text/html")]).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        header_of(&missing, header::CONTENT_TYPE),
        "application/json"
    );
    // A non-browser client of an unknown path gets the API's 404.
    let (status, body) = daemon.http_get("/no/such/thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], 5, "{body}");
    // The page is read-only: a POST to it is the API's business.
    let (status, _) = daemon.http_post("/", &serde_json::json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The JSON routes still work next to it.
    let (status, body) = daemon.http_get("/v1/status").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["version"].is_string(), "{body}");
    // The dashboard's compression stays off the API: a log stream must
    // not wait in a compressor.
    let id = daemon.execute("hello", &[("name", text("gzip"))]).await.id;
    let logs = get(
        &daemon,
        &format!("/v1/executions/{id}/logs?follow=true"),
        &[
            (header::ACCEPT, "application/x-ndjson"),
            (header::ACCEPT_ENCODING, "gzip"),
        ],
    )
    .await;
    assert_eq!(logs.status(), StatusCode::OK);
    assert_eq!(header_of(&logs, header::CONTENT_ENCODING), "");
    let text = logs.text().await.unwrap();
    assert!(text.contains("\"finished\""), "{text}");
}
