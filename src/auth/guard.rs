//! Refuses a WorkflowService call whose [`Caller`] lacks the role the
//! method needs, and hands each call that changes something, and each
//! refused call, to the audit log once it has its answer: a tower layer
//! around the generated server, so no handler can forget either.
//! UNAUTHENTICATED when there is no principal (with why), PERMISSION_DENIED
//! naming the role needed, RESOURCE_EXHAUSTED over the caller's rate of
//! starting work ([`super::rate`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use tonic::server::NamedService;
use tower::{Layer, Service};

use super::audit::{object_of, Auditor, AUDITED};
use super::rate::StartRate;
use super::{roles, AuthError, Caller};

/// The largest request an audited call may send (tonic's own default
/// limit on a decoded message, plus the frame header): its body is read
/// whole to name its object.
const MAX_AUDITED_REQUEST: usize = 4 * 1024 * 1024 + 5;

/// The answer to an audited call whose request could not be read whole:
/// past the size gRPC allows one message (as tonic itself answers one),
/// or cut off.
fn unreadable_request(
    method: &str,
    error: &(dyn std::error::Error + Send + Sync + 'static),
) -> tonic::Status {
    if error
        .downcast_ref::<http_body_util::LengthLimitError>()
        .is_some()
    {
        tonic::Status::out_of_range(format!(
            "{method}: the request is larger than {} bytes, the most one gRPC message may be",
            MAX_AUDITED_REQUEST - 5
        ))
    } else {
        tonic::Status::cancelled(format!("{method}: the request could not be read: {error}"))
    }
}

/// Wraps a service in a [`RoleGuard`] that records to `auditor`.
#[derive(Clone)]
pub(crate) struct RoleGuardLayer {
    auditor: Arc<Auditor>,
    rate: Option<Arc<StartRate>>,
}

impl RoleGuardLayer {
    /// Guards, recording to `auditor`, holding each caller to `rate` when
    /// there is one.
    pub(crate) fn new(auditor: Arc<Auditor>, rate: Option<StartRate>) -> Self {
        Self {
            auditor,
            rate: rate.map(Arc::new),
        }
    }
}

impl<S> Layer<S> for RoleGuardLayer {
    type Service = RoleGuard<S>;

    fn layer(&self, inner: S) -> RoleGuard<S> {
        RoleGuard {
            inner,
            auditor: self.auditor.clone(),
            rate: self.rate.clone(),
        }
    }
}

/// The service, behind the role check and the audit.
#[derive(Clone)]
pub(crate) struct RoleGuard<S> {
    inner: S,
    auditor: Arc<Auditor>,
    rate: Option<Arc<StartRate>>,
}

impl<S: NamedService> NamedService for RoleGuard<S> {
    const NAME: &'static str = S::NAME;
}

/// Why a call to `method` by `caller` is refused, if it is.
fn refusal(method: &str, caller: Option<&Caller>) -> Option<AuthError> {
    let needed = roles::needed(method);
    match caller.map(|c| &c.principal) {
        // Only the port sets a caller; a request without one came some
        // other way and is refused (fail closed).
        None => Some(AuthError::Missing),
        Some(Err(e)) => Some(e.clone()),
        Some(Ok(principal)) if principal.role < needed => Some(AuthError::WrongRole {
            method: method.to_string(),
            needed,
            who: principal.name.clone(),
            has: principal.role,
        }),
        Some(Ok(_)) if roles::DAEMON_WIDE.contains(&method) => {
            caller.and_then(|c| super::daemon_wide(c, method).err())
        }
        Some(Ok(_)) => None,
    }
}

/// The outcome of an answer: a trailers-only answer carries its status in
/// the headers; any other is the handler's Ok (its trailers say OK).
fn outcome(answer: &http::Response<tonic::body::Body>) -> (String, String) {
    match tonic::Status::from_header_map(answer.headers()) {
        Some(status) => (
            crate::grpc_code::name(status.code()).to_string(),
            status.message().to_string(),
        ),
        None => ("OK".to_string(), String::new()),
    }
}

impl<S, B> Service<http::Request<B>> for RoleGuard<S>
where
    S: Service<http::Request<tonic::body::Body>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request
            .uri()
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let caller = request.extensions().get::<Caller>().cloned();
        let refused = refusal(&method, caller.as_ref()).map(tonic::Status::from);
        // Only a call its role allows is counted against its caller's rate.
        let refused = refused.or_else(|| {
            let rate = self.rate.as_ref()?;
            let principal = caller.as_ref()?.principal.as_ref().ok()?;
            rate.refusal(&method, &principal.name)
        });
        if refused.is_none() && !AUDITED.contains(&method.as_str()) {
            return Box::pin(self.inner.call(request.map(tonic::body::Body::new)));
        }
        // The service made ready is the one to call (tower's contract);
        // a fresh clone takes its place for the next call.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let auditor = self.auditor.clone();
        Box::pin(async move {
            // An audited call is unary and small: read it whole to name
            // its object, then hand the same bytes on.
            let (parts, body) = request.into_parts();
            let read = Limited::new(body, MAX_AUDITED_REQUEST).collect().await;
            let (bytes, unreadable) = match read {
                Ok(collected) => (collected.to_bytes(), None),
                Err(e) => (Bytes::new(), Some(unreadable_request(&method, e.as_ref()))),
            };
            let object = object_of(&method, &bytes);
            let answer = match refused.or(unreadable) {
                Some(status) => status.into_http(),
                None => {
                    let body = tonic::body::Body::new(Full::new(bytes));
                    inner.call(http::Request::from_parts(parts, body)).await?
                }
            };
            let (code, message) = outcome(&answer);
            auditor.record(caller.as_ref(), &method, object, &code, &message);
            Ok(answer)
        })
    }
}
