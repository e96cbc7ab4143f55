//! The OpenAPI 3.1 document of the HTTP/JSON routes, generated from the
//! descriptor pool and the route table, so it describes exactly what
//! [`super::request`], [`super::transcode`], [`super::stream`] and
//! [`super::error`] do. Published as `clients/openapi/workflow.openapi.json`
//! and served at `GET /openapi.json`; a test fails when the file differs
//! from [`document`]; `UPDATE_OPENAPI=1 cargo test --lib openapi` rewrites
//! it. Test-only: the daemon serves the checked-in file.

mod comments;
mod operation;
mod schema;
#[cfg(test)]
mod tests;

use std::sync::OnceLock;

use prost_reflect::DescriptorPool;
use serde_json::{json, Map, Value};

use super::rules::{RouteTable, SERVICE};
use comments::comment;
use schema::Schemas;

/// The published document, relative to the repository.
pub(super) const DOCUMENT_FILE: &str = "clients/openapi/workflow.openapi.json";

/// The named schema of every error body.
const STATUS: &str = "google.rpc.Status";

/// The daemon's descriptors ([`crate::proto_json::pool`]) with the proto's
/// comments (source info), which build.rs keeps for this generator only.
fn documented_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let bytes = include_bytes!(concat!(
            env!("OUT_DIR"),
            "/workflow_descriptor_documented.bin"
        ));
        DescriptorPool::decode(&bytes[..]).expect("build.rs writes a descriptor set that decodes")
    })
}

/// The OpenAPI document of every HTTP route of the port.
pub(super) fn document() -> Value {
    let pool = documented_pool();
    let table = RouteTable::from_pool(pool).expect("every RPC has a served route");
    let service = pool.get_service_by_name(SERVICE).expect("the service");
    let mut schemas = Schemas::default();
    schemas.insert(STATUS, status_schema());
    let mut paths = Map::new();
    for route in table.routes() {
        let path = paths
            .entry(route.template.openapi_path())
            .or_insert_with(|| json!({}));
        path[route.verb.as_str().to_ascii_lowercase()] = operation::operation(route, &mut schemas);
    }
    paths.insert("/openapi.json".into(), openapi_json());
    paths.insert("/metrics".into(), metrics());
    let service_comment = comment(&service.parent_file(), service.path()).unwrap_or_default();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "workflowd",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!("{service_comment}\n\n{MAPPING}"),
        },
        "tags": [{"name": service.name(), "description": format!("The RPCs of `{}`.", service.full_name())}],
        "paths": paths,
        "components": {"schemas": schemas.finish()},
    })
}

/// How the routes read and write JSON, and what every route may answer.
const MAPPING: &str = "\
The HTTP/JSON routes of the gRPC service, read from its `google.api.http` \
annotations and served on the daemon's one port beside gRPC and gRPC-web. \
Generated from the proto (src/http/openapi); do not edit.

Bodies are the RPC's messages in the proto3 JSON mapping: lowerCamelCase \
field names (the proto names are read too), 64-bit integers as strings \
(numbers are read too), enums by name (numbers are read too), bytes as \
base64, Timestamps as RFC 3339 text, Durations as `\"1.5s\"`. A reply \
leaves out every field at its default, so no reply property is required. \
A request may also give any number as a string and any field as `null` \
(its default; JSON null for a `google.protobuf.Value`), as protojson reads \
them. Unknown fields are refused.

GET routes take the request's other fields from the query string: a \
repeated field as one parameter per value (`states=A&states=B`), a map of \
strings as `labels[key]=value`. Routes with a body take it as the whole \
request message (`Content-Type: application/json`); the fields the path \
binds are taken from the path.

Every error is a `google.rpc.Status` in JSON with the HTTP status its gRPC \
code maps to (INVALID_ARGUMENT, FAILED_PRECONDITION and OUT_OF_RANGE 400, \
UNAUTHENTICATED 401, PERMISSION_DENIED 403, NOT_FOUND 404, ALREADY_EXISTS \
and ABORTED 409, RESOURCE_EXHAUSTED 429 (413 for a body over the limit), \
CANCELLED 499, UNIMPLEMENTED 501, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, \
UNKNOWN, INTERNAL and DATA_LOSS 500), field errors as \
`google.rpc.BadRequest` field violations. An unknown path answers 404 and \
a known path with another method 405 with an `Allow` header, both with a \
Status body. A `grpc-timeout` header (e.g. `30S`) sets the RPC's deadline.";

/// The schema of every error body, as [`super::error`] writes it.
fn status_schema() -> Value {
    json!({
        "title": STATUS,
        "description": "An error: its gRPC code, a message, and the field violations of a bad request.",
        "type": "object",
        "required": ["code", "message"],
        "additionalProperties": false,
        "properties": {
            "code": {
                "type": "integer",
                "format": "int32",
                "minimum": 1,
                "maximum": 16,
                "description": "The gRPC status code (google.rpc.Code), e.g. 3 for INVALID_ARGUMENT, 5 for NOT_FOUND.",
            },
            "message": {"type": "string", "description": "What went wrong."},
            "details": {
                "type": "array",
                "description": "Present when there are field violations.",
                "items": {
                    "type": "object",
                    "required": ["@type"],
                    "properties": {
                        "@type": {
                            "type": "string",
                            "description": "The detail's type, `type.googleapis.com/google.rpc.BadRequest`.",
                        },
                        "fieldViolations": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["field", "description"],
                                "additionalProperties": false,
                                "properties": {
                                    "field": {
                                        "type": "string",
                                        "description": "The field, query parameter or header refused, e.g. `inputs.count`.",
                                    },
                                    "description": {"type": "string", "description": "Why."},
                                },
                            },
                        },
                    },
                },
            },
        },
    })
}

/// `GET /openapi.json`: this document.
fn openapi_json() -> Value {
    json!({"get": {
        "operationId": "GetOpenApiDocument",
        "summary": "This OpenAPI document.",
        "description": "The OpenAPI 3.1 document of the HTTP routes, as published in clients/openapi/workflow.openapi.json.",
        "responses": {"200": {
            "description": "The document.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }},
    }})
}

/// `GET /metrics`: the daemon's Prometheus metrics.
fn metrics() -> Value {
    let text = json!({"schema": {"type": "string"}});
    json!({"get": {
        "operationId": "GetMetrics",
        "summary": "The daemon's metrics for Prometheus.",
        "description": "The daemon's metrics in the Prometheus text format, or OpenMetrics when the `Accept` header asks for `application/openmetrics-text`.",
        "responses": {"200": {
            "description": "The metrics.",
            "content": {"text/plain": text, "application/openmetrics-text": text},
        }},
    }})
}
