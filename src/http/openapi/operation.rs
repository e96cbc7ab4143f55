//! One route's operation: its parameters (the path's variables, the query
//! string of a GET route as [`crate::http::request`] reads it, the
//! `Last-Event-ID` of a resumable stream), its body and its responses.

use prost_reflect::{FieldDescriptor, Kind};
use serde_json::{json, Map, Value};

use super::comments::{comment, first_sentence};
use super::schema::{describe, query_value, reference, Schemas};
use super::STATUS;
use crate::http::rules::{BodyRule, Route};
use crate::http::stream::RESUME_FIELD;

/// The operation of `route`.
pub(super) fn operation(route: &Route, schemas: &mut Schemas) -> Value {
    let method = &route.method;
    let input = method.input();
    let path_fields: Vec<&str> = route.template.variables().collect();
    let text = comment(&method.parent_file(), method.path()).unwrap_or_default();
    let mut parameters = Vec::new();
    for name in &path_fields {
        let field = input
            .get_field_by_name(name)
            .expect("route tables only bind fields of the request");
        let mut schema = query_value(&field.kind()).expect("a path binds a scalar field");
        if field.kind() == Kind::String {
            schema["minLength"] = json!(1);
        }
        parameters.push(parameter(&field, name, "path", schema));
    }
    let streaming = method.is_server_streaming();
    let resumable = streaming && input.get_field_by_name(RESUME_FIELD).is_some();
    if resumable {
        parameters.push(json!({
            "name": "Last-Event-ID",
            "in": "header",
            "required": false,
            "description": format!(
                "The sequence number of the last event received (an `EventSource` sends it \
                 when it reconnects): the stream resumes after it, overriding `{RESUME_FIELD}`."
            ),
            "schema": {"type": "string", "pattern": "^\\s*[0-9]+\\s*$"},
        }));
    }
    let mut operation = json!({
        "operationId": method.name(),
        "tags": [method.parent_service().name()],
        "summary": first_sentence(&text),
        "description": format!("{text}\n\ngRPC: `{}`.", route.grpc_path()),
    });
    match route.body {
        BodyRule::None => {
            for field in input.fields() {
                if !path_fields.contains(&field.name()) {
                    parameters.extend(query_parameter(&field));
                }
            }
        }
        BodyRule::Whole => {
            let schema = if path_fields.is_empty() {
                schemas.message(&input)
            } else {
                let mut schema = schemas.object(&input, &path_fields);
                schema["title"] = json!(format!(
                    "{} without {}",
                    input.full_name(),
                    path_fields.join(", ")
                ));
                describe(
                    &mut schema,
                    "The request message; the fields the path binds are taken from the path.",
                );
                schema
            };
            operation["requestBody"] = json!({
                "required": false,
                "description": "The request message in the proto3 JSON mapping; an empty body is \
                    an empty message.",
                "content": {"application/json": {"schema": schema}},
            });
        }
    }
    if !parameters.is_empty() {
        operation["parameters"] = Value::Array(parameters);
    }
    operation["responses"] = responses(route, schemas, streaming, resumable);
    operation
}

/// The query parameter of a GET route's `field`, named by its JSON name
/// (its proto name is read too); None for a message field, which the
/// query string cannot set.
fn query_parameter(field: &FieldDescriptor) -> Option<Value> {
    let name = field.json_name();
    let mut parameter = if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            unreachable!("a map field's kind is its entry message")
        };
        let value = query_value(&entry.map_entry_value_field().kind())?;
        let mut parameter = self::parameter(
            field,
            name,
            "query",
            json!({"type": "object", "additionalProperties": value}),
        );
        parameter["style"] = json!("deepObject");
        parameter["explode"] = json!(true);
        parameter
    } else if field.is_list() {
        let items = query_value(&field.kind())?;
        let mut parameter = self::parameter(
            field,
            name,
            "query",
            json!({"type": "array", "items": items}),
        );
        parameter["style"] = json!("form");
        parameter["explode"] = json!(true);
        parameter
    } else {
        parameter(field, name, "query", query_value(&field.kind())?)
    };
    if field.name() != name {
        let text = parameter["description"].as_str().unwrap_or_default();
        parameter["description"] = json!(format!("{text} (Also read as `{}`.)", field.name()));
    }
    Some(parameter)
}

/// A parameter `name` in `place` for `field`, with its comment.
fn parameter(field: &FieldDescriptor, name: &str, place: &str, schema: Value) -> Value {
    let mut parameter = json!({
        "name": name,
        "in": place,
        "required": place == "path",
        "schema": schema,
    });
    if let Some(text) = comment(&field.parent_file(), field.path()) {
        parameter["description"] = json!(text);
    }
    parameter
}

/// An error response: a `google.rpc.Status`.
fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": reference(STATUS)}},
    })
}

/// One event of a Server-Sent Events stream of `item`s, as an object of
/// its fields: the schema of a `text/event-stream` describes each event,
/// as OpenAPI 3.2's `itemSchema` does (and schemathesis reads it).
fn sse_event(item: Value, name: &str, resumable: bool) -> Value {
    let id = if resumable {
        "The event's sequence number, for `Last-Event-ID`."
    } else {
        "Not sent."
    };
    json!({
        "description": format!(
            "One event of the stream (the body is a sequence of them, the default format): a \
             `message` event's data is one `{name}` in JSON; an error after the stream started \
             is an `error` event whose data is a `google.rpc.Status`, and ends the stream."
        ),
        "type": "object",
        "required": ["event", "data"],
        "additionalProperties": false,
        "properties": {
            "event": {"enum": ["message", "error"]},
            "data": {"type": "string", "contentMediaType": "application/json"},
            "id": {"type": "string", "pattern": "^[0-9]+$", "description": id},
        },
        "oneOf": [
            {"properties": {"event": {"const": "message"}, "data": {"contentSchema": item}}},
            {"properties": {"event": {"const": "error"}, "data": {"contentSchema": reference(STATUS)}}},
        ],
    })
}

/// The responses of `route`.
fn responses(route: &Route, schemas: &mut Schemas, streaming: bool, resumable: bool) -> Value {
    let output = route.method.output();
    let mut responses = Map::new();
    if streaming {
        let item = schemas.message(&output);
        let ndjson = format!(
            "Newline-delimited JSON, for `Accept: application/x-ndjson`: one `{}` per line; an \
             error after the stream started is a last line `{{\"error\": <google.rpc.Status>}}`.",
            output.full_name()
        );
        responses.insert(
            "200".into(),
            json!({
                "description": "The stream. An RPC that fails before its first message answers \
                    with an error status instead.",
                "content": {
                    "text/event-stream": {"schema": sse_event(item, output.full_name(), resumable)},
                    "application/x-ndjson": {"schema": {"type": "string", "description": ndjson}},
                },
            }),
        );
        responses.insert(
            "204".into(),
            json!({"description": "The stream has no message at all, e.g. a resumed stream \
                with nothing after `Last-Event-ID` (which tells an `EventSource` to stop \
                reconnecting)."}),
        );
    } else {
        responses.insert(
            "200".into(),
            json!({
                "description": format!("The `{}`.", output.full_name()),
                "content": {"application/json": {"schema": schemas.message(&output)}},
            }),
        );
    }
    responses.insert(
        "400".into(),
        error(
            "The request was refused (INVALID_ARGUMENT, FAILED_PRECONDITION or OUT_OF_RANGE): \
             bad JSON, an unknown field or parameter, a value of the wrong type, or the RPC's \
             own checks, with the field violations.",
        ),
    );
    if route.template.variables().next().is_some() {
        responses.insert(
            "404".into(),
            error("NOT_FOUND: nothing has the id the path names."),
        );
    }
    if route.body == BodyRule::Whole {
        responses.insert(
            "413".into(),
            error("The body is larger than the daemon's `--http-max-body-bytes`."),
        );
        responses.insert("415".into(), error("The body's content type is not JSON."));
    }
    responses.insert(
        "default".into(),
        error("Any other error, with the HTTP status of its gRPC code."),
    );
    Value::Object(responses)
}
