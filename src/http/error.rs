//! Errors of the HTTP/JSON routes, each answered as a `google.rpc.Status`
//! in JSON (`code`, `message`, `details` with the BadRequest field
//! violations) with the HTTP status its gRPC code maps to: the one mapping
//! from gRPC codes to HTTP statuses.

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, Method, StatusCode};
use serde_json::{json, Value};
use tonic::Code;
use tonic_types::StatusExt;

/// Why an HTTP request got no answer from its RPC.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    /// The RPC itself failed: its status, passed on.
    #[error("{}", .0.message())]
    Rpc(tonic::Status),
    /// The body is not JSON.
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(serde_json::Error),
    /// The body is JSON, but not an object.
    #[error("the body must be a JSON object (the request message)")]
    BodyNotAnObject,
    /// The route takes no body and got one.
    #[error("{route} takes no body: put the fields in the query string")]
    UnexpectedBody { route: String },
    /// A field of the request (from the body, the query or the path) was
    /// refused: unknown, or of the wrong type.
    #[error("{field}: {reason}")]
    Field { field: String, reason: String },
    /// `Last-Event-ID` is not a sequence number.
    #[error("Last-Event-ID {value:?} is not a sequence number")]
    BadLastEventId { value: String },
    /// The body holds more JSON values than any request needs.
    #[error("the body holds more than {limit} JSON values")]
    TooManyValues { limit: usize },
    /// The body is larger than `--http-max-body-bytes`.
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    /// The body is within the cap, but the request message it makes is
    /// larger than the gRPC services decode.
    #[error("the request message is {size} bytes, more than the {limit} an RPC takes")]
    MessageTooLarge { size: usize, limit: usize },
    /// The body is not JSON by its content type.
    #[error("content type {content_type:?} is not served: send application/json")]
    UnsupportedMediaType { content_type: String },
    /// The request's body could not be read.
    #[error("the request body could not be read: {0}")]
    BodyRead(String),
    /// A web page of another origin sent it, or it came under a foreign
    /// host name (src/http/origin.rs).
    #[error("{0}")]
    Refused(super::origin::OriginRefusal),
    /// No route has this path.
    #[error("no route for {method} {path}")]
    NoRoute { method: Method, path: String },
    /// The path has routes, none for this method.
    #[error("{method} is not allowed on {path}")]
    WrongMethod {
        method: Method,
        path: String,
        allowed: Vec<Method>,
    },
}

impl HttpError {
    /// A reply the proto3 JSON mapping cannot write (an INTERNAL error,
    /// answered as JSON rather than a dropped connection).
    pub(crate) fn unwritable(why: impl std::fmt::Display) -> Self {
        HttpError::Rpc(tonic::Status::internal(format!(
            "a reply cannot be written as JSON: {why}"
        )))
    }

    /// The gRPC code of this error, as a gRPC client would see it.
    pub(crate) fn code(&self) -> Code {
        match self {
            HttpError::Rpc(status) => status.code(),
            HttpError::MalformedJson(_)
            | HttpError::BodyNotAnObject
            | HttpError::UnexpectedBody { .. }
            | HttpError::Field { .. }
            | HttpError::BadLastEventId { .. }
            | HttpError::UnsupportedMediaType { .. } => Code::InvalidArgument,
            HttpError::BodyTooLarge { .. }
            | HttpError::MessageTooLarge { .. }
            | HttpError::TooManyValues { .. } => Code::ResourceExhausted,
            HttpError::BodyRead(_) => Code::Cancelled,
            HttpError::Refused(_) => Code::PermissionDenied,
            HttpError::NoRoute { .. } => Code::NotFound,
            HttpError::WrongMethod { .. } => Code::Unimplemented,
        }
    }

    /// The HTTP status of this error.
    pub(crate) fn http_status(&self) -> StatusCode {
        match self {
            HttpError::BodyTooLarge { .. }
            | HttpError::MessageTooLarge { .. }
            | HttpError::TooManyValues { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            HttpError::WrongMethod { .. } => StatusCode::METHOD_NOT_ALLOWED,
            _ => http_status_of(self.code()),
        }
    }

    /// The error as a `google.rpc.Status` in the proto3 JSON mapping.
    pub(crate) fn to_status_json(&self) -> Value {
        let mut violations = Vec::new();
        let message = match self {
            HttpError::Rpc(status) => {
                if let Some(bad_request) = status.get_error_details().bad_request() {
                    violations.extend(
                        bad_request
                            .field_violations
                            .iter()
                            .map(|v| (v.field.clone(), v.description.clone())),
                    );
                }
                status.message().to_string()
            }
            HttpError::Field { field, reason } => {
                violations.push((field.clone(), reason.clone()));
                self.to_string()
            }
            HttpError::BadLastEventId { .. } => {
                violations.push(("Last-Event-ID".into(), self.to_string()));
                self.to_string()
            }
            _ => self.to_string(),
        };
        let mut status = json!({"code": self.code() as i32, "message": message});
        if !violations.is_empty() {
            status["details"] = json!([{
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": violations
                    .into_iter()
                    .map(|(field, description)| json!({"field": field, "description": description}))
                    .collect::<Vec<_>>(),
            }]);
        }
        status
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = self.to_status_json().to_string();
        let mut response = (
            self.http_status(),
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response();
        if response.status() == StatusCode::UNAUTHORIZED {
            // RFC 9110 11.6.1: a 401 names the scheme it wants.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"workflowd\""),
            );
        }
        if let HttpError::WrongMethod { allowed, .. } = &self {
            let allow = allowed
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            if let Ok(value) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
        }
        response
    }
}

/// The HTTP status a gRPC code maps to, as grpc-gateway and Google's APIs
/// map it (google/rpc/code.proto).
pub(crate) fn http_status_of(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a valid status"),
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::{ErrorDetails, FieldViolation};

    #[test]
    fn every_grpc_code_has_its_http_status() {
        let table = [
            (Code::Ok, 200),
            (Code::Cancelled, 499),
            (Code::Unknown, 500),
            (Code::InvalidArgument, 400),
            (Code::DeadlineExceeded, 504),
            (Code::NotFound, 404),
            (Code::AlreadyExists, 409),
            (Code::PermissionDenied, 403),
            (Code::ResourceExhausted, 429),
            (Code::FailedPrecondition, 400),
            (Code::Aborted, 409),
            (Code::OutOfRange, 400),
            (Code::Unimplemented, 501),
            (Code::Internal, 500),
            (Code::Unavailable, 503),
            (Code::DataLoss, 500),
            (Code::Unauthenticated, 401),
        ];
        for (code, http) in table {
            assert_eq!(http_status_of(code).as_u16(), http, "{code:?}");
        }
    }

    #[test]
    fn field_violations_travel_as_bad_request_details() {
        let mut details = ErrorDetails::new();
        details.set_bad_request(vec![FieldViolation::new("name", "is required")]);
        let status =
            tonic::Status::with_error_details(Code::InvalidArgument, "bad inputs", details);
        let error = HttpError::Rpc(status);
        assert_eq!(error.http_status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            error.to_status_json(),
            json!({
                "code": 3,
                "message": "bad inputs",
                "details": [{
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": "name", "description": "is required"}],
                }],
            })
        );
    }

    #[test]
    fn router_errors_have_their_own_statuses() {
        let wrong = HttpError::WrongMethod {
            method: Method::DELETE,
            path: "/v1/status".into(),
            allowed: vec![Method::GET],
        };
        let response = wrong.into_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET");
        assert_eq!(
            HttpError::BodyTooLarge { limit: 1 }.http_status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            HttpError::MessageTooLarge { size: 2, limit: 1 }.http_status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let no_route = HttpError::NoRoute {
            method: Method::GET,
            path: "/v1/x".into(),
        };
        assert_eq!(no_route.http_status(), StatusCode::NOT_FOUND);
        assert_eq!(no_route.to_status_json()["code"], 5);
    }
}
