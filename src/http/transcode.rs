//! The HTTP/JSON handler: finds the route of a request, builds its RPC's
//! request message, calls the RPC in-process and writes the reply in the
//! proto3 JSON mapping (or as a stream, for a streaming RPC).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use prost::Message;

use super::error::HttpError;
use super::grpc_call::GrpcCaller;
use super::request::request_message;
use super::rules::{BodyRule, Lookup, Route, RouteTable};
use super::stream::{self, StreamFormat, RESUME_FIELD};
use crate::auth::Caller;
use crate::proto_json::encoded_to_json;

/// The largest request message the gRPC services decode: tonic's default,
/// which the daemon keeps. A JSON body within `--http-max-body-bytes` can
/// still make a larger one (a big base64 manifest); it is refused here as
/// too large (413), not by the gRPC decoder as OUT_OF_RANGE (400).
const MAX_GRPC_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// What the handler needs, shared by every request.
pub(crate) struct Transcoder {
    pub(crate) table: RouteTable,
    pub(crate) caller: GrpcCaller,
    pub(crate) max_body_bytes: usize,
    pub(crate) metrics: crate::metrics::Metrics,
}

/// Answers one HTTP/JSON request (the router's fallback: every path that
/// is not gRPC, `/metrics` or `/openapi.json`), and counts it by route.
pub(crate) async fn handle(
    State(transcoder): State<Arc<Transcoder>>,
    request: Request<axum::body::Body>,
) -> Response {
    let (parts, body) = request.into_parts();
    let lookup = transcoder.table.lookup(&parts.method, parts.uri.path());
    // Label values stay bounded: a route's template, never a request's
    // path, and only the standard methods.
    let route_label = match &lookup {
        Lookup::Found(route, _) => route.template.as_str(),
        Lookup::WrongMethod(_) | Lookup::NotFound => "unmatched",
    };
    let method_label = match parts.method.as_str() {
        method @ ("GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS") => method,
        _ => "other",
    };
    let response = match lookup {
        Lookup::Found(route, bindings) => transcoder
            .answer(route, bindings, &parts, body)
            .await
            .unwrap_or_else(IntoResponse::into_response),
        Lookup::WrongMethod(allowed) => HttpError::WrongMethod {
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            allowed,
        }
        .into_response(),
        Lookup::NotFound => HttpError::NoRoute {
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
        }
        .into_response(),
    };
    transcoder
        .metrics
        .http_request(route_label, method_label, response.status().as_u16());
    response
}

impl Transcoder {
    /// The answer of `route`'s RPC to this request.
    async fn answer(
        &self,
        route: &Route,
        mut bindings: Vec<(String, String)>,
        parts: &http::request::Parts,
        body: axum::body::Body,
    ) -> Result<Response, HttpError> {
        if route.body == BodyRule::Whole {
            check_json_content_type(parts.headers.get(header::CONTENT_TYPE))?;
        }
        let body = self.read_body(&parts.headers, body).await?;
        let streaming = route.method.is_server_streaming();
        if streaming
            && route
                .method
                .input()
                .get_field_by_name(RESUME_FIELD)
                .is_some()
        {
            if let Some(last) = parts.headers.get("last-event-id") {
                bindings.push((
                    RESUME_FIELD.to_string(),
                    stream::resume_from(last)?.to_string(),
                ));
            }
        }
        let message = request_message(route, &bindings, parts.uri.query(), &body)?.encode_to_vec();
        if message.len() > MAX_GRPC_MESSAGE_BYTES {
            return Err(HttpError::MessageTooLarge {
                size: message.len(),
                limit: MAX_GRPC_MESSAGE_BYTES,
            });
        }
        let replies = self
            .caller
            .call(
                &route.grpc_path(),
                message,
                parts.extensions.get::<Caller>().cloned(),
            )
            .await
            .map_err(HttpError::Rpc)?;
        let output = route.method.output();
        if streaming {
            return stream::respond(output, replies, StreamFormat::from_accept(&parts.headers))
                .await;
        }
        let bytes = replies.single().await.map_err(HttpError::Rpc)?;
        let mut json = Vec::with_capacity(bytes.len() * 2 + 16);
        encoded_to_json(&output, &bytes, &mut json).map_err(HttpError::unwritable)?;
        Ok((
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            json,
        )
            .into_response())
    }

    /// The whole body, refused past `max_body_bytes` (by its declared
    /// length at once, else when it grows past it).
    async fn read_body(
        &self,
        headers: &http::HeaderMap,
        body: axum::body::Body,
    ) -> Result<bytes::Bytes, HttpError> {
        let limit = self.max_body_bytes;
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > limit as u64) {
            return Err(HttpError::BodyTooLarge { limit });
        }
        match Limited::new(body, limit).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                Err(HttpError::BodyTooLarge { limit })
            }
            Err(error) => Err(HttpError::BodyRead(error.to_string())),
        }
    }
}

/// A body must be JSON when its type is declared at all (curl without `-H`
/// sends form encoding, which is let through as the JSON it almost always
/// is; anything else is refused).
fn check_json_content_type(content_type: Option<&HeaderValue>) -> Result<(), HttpError> {
    let Some(content_type) = content_type else {
        return Ok(());
    };
    let text = content_type.to_str().unwrap_or_default();
    let essence = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || essence.ends_with("+json")
        || essence == "application/x-www-form-urlencoded";
    if json {
        Ok(())
    } else {
        Err(HttpError::UnsupportedMediaType {
            content_type: text.to_string(),
        })
    }
}
