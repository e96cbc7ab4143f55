//! Counts requests to workflow.v1.WorkflowService by method and status
//! code: a tower service around the generated server.
//!
//! A gRPC call's status comes either in the response headers (a
//! "trailers-only" response: every error tonic answers before streaming)
//! or in the trailers after the last message, so the response body is
//! wrapped to see them. A call the client abandons (its stream reset or
//! the connection gone) before a status was sent drops the future or the
//! body: that counts as CANCELLED, as the client sees it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use tonic::server::NamedService;
use tower::Service;

use super::families::{Families, GrpcLabels};

/// The method label of a path the service does not have.
const UNKNOWN_METHOD: &str = "unknown";

/// The code name in a `grpc-status` value; an unreadable one is UNKNOWN,
/// as a client would take it.
fn code_name(value: &http::HeaderValue) -> &'static str {
    value
        .to_str()
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .and_then(crate::grpc_code::name_of_number)
        .unwrap_or("UNKNOWN")
}

/// The RPC names of workflow.v1.WorkflowService, read once from the
/// descriptor set: only these become labels.
fn known_methods() -> &'static [String] {
    static METHODS: OnceLock<Vec<String>> = OnceLock::new();
    METHODS.get_or_init(|| {
        prost_reflect::DescriptorPool::decode(crate::pb::FILE_DESCRIPTOR_SET)
            .ok()
            .and_then(|pool| pool.get_service_by_name("workflow.v1.WorkflowService"))
            .map(|service| service.methods().map(|m| m.name().to_string()).collect())
            .unwrap_or_default()
    })
}

/// The method label of a request path (`/workflow.v1.WorkflowService/GetExecution`).
fn method_of(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or_default();
    known_methods()
        .iter()
        .find(|known| known.as_str() == name)
        .map_or(UNKNOWN_METHOD, String::as_str)
}

/// One call being counted: counted once, with the first status seen, or
/// CANCELLED when dropped before any.
struct Call {
    families: Arc<Families>,
    method: &'static str,
    counted: bool,
}

impl Call {
    fn finish(&mut self, code: &'static str) {
        if !self.counted {
            self.counted = true;
            self.families
                .grpc_requests
                .get_or_create(&GrpcLabels {
                    method: self.method,
                    code,
                })
                .inc();
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.finish("CANCELLED");
    }
}

/// The gRPC service `S`, its requests counted.
#[derive(Clone)]
pub(crate) struct GrpcMetrics<S> {
    inner: S,
    families: Arc<Families>,
}

impl<S> GrpcMetrics<S> {
    pub(super) fn new(inner: S, families: Arc<Families>) -> Self {
        GrpcMetrics { inner, families }
    }
}

impl<S: NamedService> NamedService for GrpcMetrics<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B, ResBody> Service<http::Request<B>> for GrpcMetrics<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Body + Unpin,
{
    type Response = http::Response<CountedBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let mut call = Call {
            families: self.families.clone(),
            method: method_of(request.uri().path()),
            counted: false,
        };
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = match response.await {
                Ok(response) => response,
                Err(e) => {
                    // The transport fails the stream; the client gets no status.
                    call.finish("UNKNOWN");
                    return Err(e);
                }
            };
            // Trailers-only: the status is in the headers and the body is empty.
            if let Some(status) = response.headers().get("grpc-status") {
                call.finish(code_name(status));
            }
            Ok(response.map(|inner| CountedBody { inner, call }))
        })
    }
}

/// A response body that counts its call when the trailers go by.
pub(crate) struct CountedBody<B> {
    inner: B,
    call: Call,
}

impl<B: Body + Unpin> Body for CountedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(status) = frame.trailers_ref().and_then(|t| t.get("grpc-status")) {
                    this.call.finish(code_name(status));
                }
            }
            // The stream broke off: the client sees no status of ours.
            Poll::Ready(Some(Err(_))) => this.call.finish("UNKNOWN"),
            // Ended without trailers (and without a status in the headers).
            Poll::Ready(None) => this.call.finish("UNKNOWN"),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
