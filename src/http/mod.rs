//! One port for every client. The daemon's listener (TCP and the Unix
//! socket) answers, told apart per request by its content type:
//! - native gRPC (`application/grpc*`), exactly as before;
//! - gRPC-web (`application/grpc-web*`, tonic-web), for browsers;
//! - everything else as plain HTTP: the JSON routes of the proto's
//!   `google.api.http` annotations under `/v1/` ([`transcode`]), with
//!   streams as SSE or NDJSON ([`stream`]), plus `/metrics` and
//!   `/openapi.json`.
//!
//! A JSON route calls its RPC in-process through the same tonic service
//! ([`grpc_call`]), so both protocols run one implementation. See
//! docs/http.md.

mod error;
mod grpc_call;
mod request;
mod rules;
mod stream;
mod template;
mod transcode;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::Response;
use http::{header, HeaderValue, Request};
use tonic::service::Routes;
use tonic_web::{GrpcWebLayer, GrpcWebService};
use tower::{Layer, Service, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

pub(crate) use rules::RuleError;

/// Default cap of an HTTP request body (16 MiB): a manifest is far smaller.
pub(crate) const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Settings of the HTTP side of the port.
#[derive(Debug, Clone)]
pub(crate) struct HttpOptions {
    /// Origins allowed to call across origins (CORS); none by default, so
    /// a browser page of another origin can read nothing.
    pub(crate) cors_origins: Vec<HeaderValue>,
    /// Largest request body accepted; larger ones get 413.
    pub(crate) max_body_bytes: usize,
    /// Where HTTP requests are counted.
    pub(crate) metrics: crate::metrics::Metrics,
}

/// The routes of the whole port: `grpc` (the gRPC services), gRPC-web on
/// them, and the HTTP routes, `extra` (e.g. `/metrics`) among them.
pub(crate) fn one_port(
    grpc: Routes,
    extra: axum::Router,
    options: &HttpOptions,
) -> Result<Routes, RuleError> {
    let transcoder = Arc::new(transcode::Transcoder {
        table: rules::RouteTable::from_pool(crate::proto_json::pool())?,
        caller: grpc_call::GrpcCaller::new(grpc.clone()),
        max_body_bytes: options.max_body_bytes,
        metrics: options.metrics.clone(),
    });
    let http = axum::Router::new()
        .fallback(transcode::handle)
        .with_state(transcoder)
        .merge(extra);
    let port = OnePort {
        grpc: GrpcWebLayer::new().layer(grpc),
        http,
    };
    let router = if options.cors_origins.is_empty() {
        axum::Router::new().fallback_service(port)
    } else {
        axum::Router::new().fallback_service(cors(&options.cors_origins).layer(port))
    };
    Ok(Routes::from(router))
}

/// CORS for the named origins: the JSON routes and gRPC-web, with the
/// headers a gRPC-web client sends and reads.
fn cors(origins: &[HeaderValue]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([http::Method::GET, http::Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::ACCEPT,
            header::HeaderName::from_static("last-event-id"),
            header::HeaderName::from_static("x-grpc-web"),
            header::HeaderName::from_static("x-user-agent"),
            header::HeaderName::from_static("grpc-timeout"),
        ])
        .expose_headers([
            header::HeaderName::from_static("grpc-status"),
            header::HeaderName::from_static("grpc-message"),
            header::HeaderName::from_static("grpc-status-details-bin"),
        ])
}

/// Sends gRPC and gRPC-web requests to the gRPC services and the rest to
/// the HTTP routes.
#[derive(Clone)]
struct OnePort {
    grpc: GrpcWebService<Routes>,
    http: axum::Router,
}

/// Whether a request is gRPC or gRPC-web, by its content type.
fn is_grpc(request: &Request<axum::body::Body>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/grpc"))
}

impl Service<Request<axum::body::Body>> for OnePort {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<axum::body::Body>) -> Self::Future {
        if is_grpc(&request) {
            let grpc = self.grpc.clone();
            Box::pin(async move {
                let response = grpc.oneshot(request).await?;
                Ok(response.map(axum::body::Body::new))
            })
        } else {
            let http = self.http.clone();
            Box::pin(async move { http.oneshot(request).await })
        }
    }
}
