//! Refuses a WorkflowService call whose [`Caller`] lacks the role the
//! method needs: a tower layer around the generated server, so no handler
//! can forget the check. UNAUTHENTICATED when there is no principal (with
//! why), PERMISSION_DENIED naming the role needed.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::server::NamedService;
use tower::{Layer, Service};

use super::{roles, AuthError, Caller};

/// Wraps a service in a [`RoleGuard`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RoleGuardLayer;

impl<S> Layer<S> for RoleGuardLayer {
    type Service = RoleGuard<S>;

    fn layer(&self, inner: S) -> RoleGuard<S> {
        RoleGuard { inner }
    }
}

/// The service, behind the role check.
#[derive(Debug, Clone)]
pub(crate) struct RoleGuard<S> {
    inner: S,
}

impl<S: NamedService> NamedService for RoleGuard<S> {
    const NAME: &'static str = S::NAME;
}

/// Why the call in `request` is refused, if it is.
fn refusal<B>(request: &http::Request<B>) -> Option<AuthError> {
    let method = request.uri().path().rsplit('/').next().unwrap_or_default();
    let needed = roles::needed(method);
    match request.extensions().get::<Caller>() {
        // Only the port sets a caller; a request without one came some
        // other way and is refused (fail closed).
        None => Some(AuthError::Missing),
        Some(Caller(Err(e))) => Some(e.clone()),
        Some(Caller(Ok(principal))) if principal.role < needed => Some(AuthError::WrongRole {
            method: method.to_string(),
            needed,
            who: principal.name.clone(),
            has: principal.role,
        }),
        Some(Caller(Ok(_))) => None,
    }
}

impl<S, B> Service<http::Request<B>> for RoleGuard<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        match refusal(&request) {
            Some(error) => {
                let status = tonic::Status::from(error);
                Box::pin(async move { Ok(status.into_http()) })
            }
            None => Box::pin(self.inner.call(request)),
        }
    }
}
