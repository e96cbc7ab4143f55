//! One port for every client. The daemon's listener (TCP and the Unix
//! socket) answers, told apart per request by its content type:
//! - native gRPC (`application/grpc*`), exactly as before;
//! - gRPC-web (`application/grpc-web*`, tonic-web), for browsers;
//! - everything else as plain HTTP: the JSON routes of the proto's
//!   `google.api.http` annotations under `/v1/` ([`transcode`]), with
//!   streams as SSE or NDJSON ([`stream`]), plus `/metrics`,
//!   `/openapi.json` and the web dashboard at `/` ([`dashboard`]).
//!
//! A JSON route calls its RPC in-process through the same tonic service
//! ([`grpc_call`]), so both protocols run one implementation. What a web
//! page of another origin sends is refused first ([`origin`]). See
//! docs/http.md.

mod dashboard;
mod error;
mod grpc_call;
#[cfg(test)]
mod openapi;
mod origin;
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

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, Request};
use tonic::service::Routes;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo, UdsConnectInfo};
use tonic_web::{GrpcWebLayer, GrpcWebService};
use tower::{Layer, Service, ServiceExt};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub(crate) use rules::RuleError;

use crate::auth::{Authenticator, Transport};

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
    /// Who each request comes from.
    pub(crate) authenticator: Authenticator,
    /// Whether `GET /metrics` needs a token (any role) when tokens are on:
    /// its series name workflows and show their activity.
    pub(crate) protect_metrics: bool,
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
        .route("/openapi.json", axum::routing::get(openapi_json))
        .fallback(dashboard_or_api)
        .with_state(Fallback {
            transcoder,
            dashboard: axum::Router::new()
                .fallback(dashboard::serve)
                .layer(CompressionLayer::new()),
        })
        .merge(extra);
    let port = OnePort {
        grpc: GrpcWebLayer::new().layer(grpc),
        http,
        guard: Arc::new(origin::OriginGuard::new(&options.cors_origins)),
        authenticator: options.authenticator.clone(),
        protect_metrics: options.protect_metrics,
    };
    let router = if options.cors_origins.is_empty() {
        axum::Router::new().fallback_service(port)
    } else {
        axum::Router::new().fallback_service(cors(&options.cors_origins).layer(port))
    };
    Ok(Routes::from(router))
}

/// What answers the paths no fixed route takes.
#[derive(Clone)]
struct Fallback {
    transcoder: Arc<transcode::Transcoder>,
    /// The dashboard's files, gzipped for clients that take it (the JSON
    /// routes are not: their streams must not wait in a compressor).
    dashboard: axum::Router,
}

/// The dashboard's files and page routes, else the JSON API.
async fn dashboard_or_api(
    State(fallback): State<Fallback>,
    request: Request<axum::body::Body>,
) -> Response {
    if dashboard::claims(&request) {
        match fallback.dashboard.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    } else {
        transcode::handle(State(fallback.transcoder), request).await
    }
}

/// `GET /openapi.json`: the OpenAPI document of the HTTP routes, generated
/// from the proto by the test-only `openapi` module and checked in.
async fn openapi_json() -> ([(header::HeaderName, HeaderValue); 1], &'static str) {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        include_str!("../../clients/openapi/workflow.openapi.json"),
    )
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
/// the HTTP routes, after refusing what a foreign web page sent
/// ([`origin`]).
#[derive(Clone)]
struct OnePort {
    grpc: GrpcWebService<Routes>,
    http: axum::Router,
    guard: Arc<origin::OriginGuard>,
    authenticator: Authenticator,
    protect_metrics: bool,
}

/// What a request is, by its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// `application/grpc`, `application/grpc+proto`, ...
    Grpc,
    /// `application/grpc-web`, `application/grpc-web-text+proto`, ...
    GrpcWeb,
    /// Anything else.
    Http,
}

fn protocol(request: &Request<axum::body::Body>) -> Protocol {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("application/grpc-web") {
        Protocol::GrpcWeb
    } else if content_type.starts_with("application/grpc") {
        Protocol::Grpc
    } else {
        Protocol::Http
    }
}

impl Service<Request<axum::body::Body>> for OnePort {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<axum::body::Body>) -> Self::Future {
        let protocol = protocol(&request);
        // A TLS connection's info wraps the TCP one (src/daemon/tls.rs).
        let tls = request.extensions().get::<TlsConnectInfo<TcpConnectInfo>>();
        let tcp = tls
            .map(TlsConnectInfo::get_ref)
            .or_else(|| request.extensions().get::<TcpConnectInfo>())
            .cloned();
        let client_certificates = tls.and_then(TlsConnectInfo::peer_certs);
        let (transport, peer) = if request.extensions().get::<UdsConnectInfo>().is_some() {
            (Transport::UnixSocket, "unix socket".to_string())
        } else {
            let remote = tcp.as_ref().and_then(TcpConnectInfo::remote_addr);
            (
                Transport::Tcp {
                    client_certificates: client_certificates.as_deref().map(Vec::as_slice),
                },
                remote.map_or_else(|| "unknown".to_string(), |a| a.to_string()),
            )
        };
        let authorization = request
            .headers()
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes);
        // An EventSource cannot send a header: a log stream's URL may
        // carry a short-lived token instead (src/auth/stream_token.rs).
        let stream_token = match (protocol, authorization) {
            (Protocol::Http, None) if request.method() == http::Method::GET => {
                crate::auth::presented_stream_token(request.uri())
            }
            _ => None,
        };
        let caller = self
            .authenticator
            .caller(transport, peer, authorization, stream_token);
        // A browser can send the HTTP routes and gRPC-web, never native gRPC.
        if protocol != Protocol::Grpc {
            let connection = tcp.as_ref();
            let authority = request.uri().authority().map(|a| a.as_str());
            if let Err(refusal) = self.guard.check(request.headers(), authority, connection) {
                let response = error::HttpError::Refused(refusal).into_response();
                return Box::pin(async move { Ok(response) });
            }
        }
        if protocol == Protocol::Http && self.protect_metrics && request.uri().path() == "/metrics"
        {
            // Its series name every namespace's workflows: the daemon's.
            if let Err(refusal) = crate::auth::daemon_wide(&caller, "GET /metrics") {
                let response = error::HttpError::Rpc(refusal.into()).into_response();
                return Box::pin(async move { Ok(response) });
            }
        }
        request.extensions_mut().insert(caller);
        if protocol == Protocol::Http {
            let http = self.http.clone();
            Box::pin(async move { http.oneshot(request).await })
        } else {
            let grpc = self.grpc.clone();
            Box::pin(async move {
                let response = grpc.oneshot(request).await?;
                Ok(response.map(axum::body::Body::new))
            })
        }
    }
}
