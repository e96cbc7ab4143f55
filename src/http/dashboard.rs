//! The web dashboard at `/`: the files Vite builds from web/ into
//! web/dist, embedded in the binary, so a machine without Node.js serves
//! the full dashboard. The build is checked in and drift-checked
//! (scripts/check-web-build.sh); docs/dashboard.md says why.
//!
//! The page is a client of the public API like any other (gRPC-web on this
//! same port): nothing here knows what it shows. Its own paths (the deep
//! links of docs/dashboard.md) all answer `index.html`, where the page's
//! router takes over.

use std::borrow::Cow;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "web/dist/"]
struct Assets;

/// The policy of every dashboard response: scripts, styles, images and
/// API calls from the daemon itself only; no inline script or style, no
/// plugin, no framing by another site.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// First path segments of the page's own routes (web/src/App.tsx).
const PAGE_ROUTES: &[&str] = &[
    "",
    "workflows",
    "executions",
    "history",
    "batches",
    "manifests",
];

/// Whether the dashboard answers this request: a GET or HEAD of a built
/// file or of one of the page's routes, or of any other path when a
/// browser navigates there (it then gets the page's "not found" screen
/// with a 404). Everything under `/v1/` is the JSON API's.
pub(super) fn claims(request: &Request<Body>) -> bool {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return false;
    }
    let path = request.uri().path();
    if path.starts_with("/v1/") {
        return false;
    }
    is_built_file(path) || is_page_route(path) || accepts_html(request.headers())
}

/// The response to a request [`claims`] took.
pub(super) async fn serve(request: Request<Body>) -> Response {
    let path = request.uri().path();
    let (name, status) = if is_built_file(path) {
        (path.trim_start_matches('/'), StatusCode::OK)
    } else if is_page_route(path) {
        ("index.html", StatusCode::OK)
    } else {
        ("index.html", StatusCode::NOT_FOUND)
    };
    let Some(found) = Assets::get(name) else {
        // Only a build without index.html gets here: say so, do not panic.
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the dashboard's build (web/dist) has no index.html",
        )
            .into_response();
    };
    let etag = etag(&found.metadata.sha256_hash());
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type(found.metadata.mimetype()))
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::CACHE_CONTROL, cache_control(name));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Weak comparison (RFC 9110 13.1.2), as If-None-Match asks for: the
    // gzipped and the plain body share the tag, which is weak for that.
    let unchanged = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim().trim_start_matches("W/") == etag.trim_start_matches("W/"))
        });
    if unchanged && status == StatusCode::OK {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let body = match found.data {
        Cow::Borrowed(bytes) => Body::from(bytes),
        Cow::Owned(bytes) => Body::from(bytes),
    };
    (status, headers, body).into_response()
}

/// Whether a path names a built file (`/` does not: it is a route).
fn is_built_file(path: &str) -> bool {
    match path.strip_prefix('/') {
        Some(name) if !name.is_empty() && name != "index.html" => Assets::get(name).is_some(),
        _ => false,
    }
}

fn is_page_route(path: &str) -> bool {
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    PAGE_ROUTES.contains(&first) || path == "/index.html"
}

/// Whether a browser navigates (its Accept puts HTML first or names it).
fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|accept| accept.contains("text/html"))
}

/// Vite names the files under `assets/` by their content's hash, so they
/// never change under a name: cached for a year. The rest (index.html, the
/// icon) is revalidated by its ETag on every load, so a new daemon's page
/// is picked up at once.
fn cache_control(name: &str) -> HeaderValue {
    if name.starts_with("assets/") {
        HeaderValue::from_static("public, max-age=31536000, immutable")
    } else {
        HeaderValue::from_static("no-cache")
    }
}

fn content_type(mime: &str) -> String {
    if mime.starts_with("text/") || mime == "application/javascript" {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}

/// A weak tag of the file's content: the compression layer may send it
/// gzipped, a different byte sequence under the same tag, which a strong
/// tag would promise against.
fn etag(hash: &[u8; 32]) -> String {
    let hex: String = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("W/\"{hex}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, accept: Option<&str>) -> Request<Body> {
        let mut builder = Request::get(path);
        if let Some(accept) = accept {
            builder = builder.header(header::ACCEPT, accept);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn claims_the_pages_routes_and_files_but_not_the_api() {
        assert!(claims(&get("/", None)));
        assert!(claims(&get("/executions/0191-abc", None)));
        assert!(claims(&get("/history", None)));
        assert!(claims(&get("/favicon.svg", None)));
        assert!(!claims(&get("/v1/executions", Some("text/html"))));
        assert!(!claims(&get("/no/such/thing", Some("application/json"))));
        assert!(claims(&get("/no/such/thing", Some("text/html,*/*"))));
        let post = Request::post("/").body(Body::empty()).unwrap();
        assert!(!claims(&post));
    }

    #[test]
    fn hashed_assets_are_immutable_and_the_page_revalidates() {
        assert_eq!(
            cache_control("assets/index-3f9a.js"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_control("index.html"), "no-cache");
    }

    #[test]
    fn text_types_name_their_charset() {
        assert_eq!(content_type("text/html"), "text/html; charset=utf-8");
        assert_eq!(content_type("image/svg+xml"), "image/svg+xml");
    }
}
