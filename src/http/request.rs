//! An HTTP request turned into its RPC's request message: the body (for
//! `body: "*"` routes), the query string (for the others) and the path's
//! bindings, read through the proto3 JSON mapping like every other JSON
//! the daemon reads. Every refusal names the field or parameter.

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value};

use super::error::HttpError;
use super::rules::{BodyRule, Route};
use crate::proto_json::deserialize_options;

/// The request message of `route` from the path's `bindings`, the `query`
/// string and the `body`.
pub(crate) fn request_message(
    route: &Route,
    bindings: &[(String, String)],
    query: Option<&str>,
    body: &[u8],
) -> Result<DynamicMessage, HttpError> {
    let input = route.method.input();
    let mut object = match route.body {
        BodyRule::Whole => {
            let object = body_object(body)?;
            if let Some((name, _)) = query_pairs(query).next() {
                return Err(unknown_parameter(
                    &name,
                    "this route reads its fields from the body",
                ));
            }
            object
        }
        BodyRule::None => {
            if !body.is_empty() {
                return Err(HttpError::UnexpectedBody {
                    route: format!("{} {}", route.verb, route.template),
                });
            }
            query_object(&input, query)?
        }
    };
    for (name, value) in bindings {
        let field = input
            .get_field_by_name(name)
            .expect("route tables only bind fields of the request");
        object.remove(field.json_name());
        object.remove(field.name());
        object.insert(field.name().to_string(), scalar(&field, value)?);
    }
    message_from_object(&input, object)
}

/// `object` read as a `descriptor` message, a type error naming the path of
/// the field it is in (`inputs.count`, `timeout`).
pub(crate) fn message_from_object(
    descriptor: &MessageDescriptor,
    object: Map<String, Value>,
) -> Result<DynamicMessage, HttpError> {
    let value = Value::Object(object);
    let mut track = serde_path_to_error::Track::new();
    let deserializer = serde_path_to_error::Deserializer::new(&value, &mut track);
    DynamicMessage::deserialize_with_options(
        descriptor.clone(),
        deserializer,
        &deserialize_options(),
    )
    .map_err(|error| {
        let reason = error.to_string();
        let parent = track.path().to_string();
        // An unknown field is reported at its parent: name it itself.
        let unknown = reason
            .strip_prefix("unrecognized field name '")
            .and_then(|rest| rest.split_once('\''))
            .map(|(name, _)| name);
        let field = match (parent.as_str(), unknown) {
            (".", Some(name)) => name.to_string(),
            (parent, Some(name)) => format!("{parent}.{name}"),
            (".", None) => "body".to_string(),
            (parent, None) => parent.to_string(),
        };
        HttpError::Field { field, reason }
    })
}

/// The most JSON values (array elements, object members) a body may hold.
/// Each becomes a tree node several times over (JSON value, protobuf
/// value, dynamic message) before the message's size is known, so a body
/// within the byte cap made of tiny values (`[0,0,0,...]`) would cost
/// hundreds of bytes per input byte. No request of this API comes close.
pub(crate) const MAX_JSON_VALUES: usize = 100_000;

/// The body as a JSON object; an empty body is an empty message.
fn body_object(body: &[u8]) -> Result<Map<String, Value>, HttpError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    if json_values(body) > MAX_JSON_VALUES {
        return Err(HttpError::TooManyValues {
            limit: MAX_JSON_VALUES,
        });
    }
    match serde_json::from_slice(body).map_err(HttpError::MalformedJson)? {
        Value::Object(object) => Ok(object),
        _ => Err(HttpError::BodyNotAnObject),
    }
}

/// About how many values a JSON text holds: its commas, brackets and
/// braces outside strings (one pass, no allocation).
fn json_values(text: &[u8]) -> usize {
    let (mut count, mut in_string, mut escaped) = (0, false, false);
    for &byte in text {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match byte {
                b'"' => in_string = true,
                b',' | b'[' | b'{' => count += 1,
                _ => {}
            }
        }
    }
    count
}

/// The query string's pairs, decoded; `access_token`, a log stream's
/// credential that the port has already read (src/auth/stream_token.rs),
/// is not a field.
fn query_pairs(query: Option<&str>) -> impl Iterator<Item = (String, String)> + '_ {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(name, _)| name != "access_token")
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
}

/// The query string as the JSON object of a request message: a parameter
/// per field (its proto or JSON name), repeated for a repeated field, and
/// `map[key]=value` for a map of strings.
fn query_object(
    input: &MessageDescriptor,
    query: Option<&str>,
) -> Result<Map<String, Value>, HttpError> {
    let mut object = Map::new();
    for (name, value) in query_pairs(query) {
        let (field_name, key) = match name.split_once('[') {
            Some((field, rest)) => match rest.strip_suffix(']') {
                Some(key) if !key.is_empty() => (field, Some(key)),
                _ => return Err(unknown_parameter(&name, "expected NAME[KEY] for a map")),
            },
            None => (name.as_str(), None),
        };
        let field = input
            .get_field_by_name(field_name)
            .or_else(|| input.get_field_by_json_name(field_name))
            .ok_or_else(|| unknown_parameter(&name, "not a field of this request"))?;
        let slot = field.name().to_string();
        match key {
            Some(key) => {
                if !field.is_map() {
                    return Err(unknown_parameter(&name, "only a map field takes [KEY]"));
                }
                let Kind::Message(entry) = field.kind() else {
                    unreachable!("a map field's kind is its entry message")
                };
                let value = scalar(&entry.map_entry_value_field(), &value)?;
                let map = object
                    .entry(slot)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(map) = map {
                    map.insert(key.to_string(), value);
                }
            }
            None if field.is_map() => {
                return Err(unknown_parameter(
                    &name,
                    "a map field takes NAME[KEY]=VALUE",
                ))
            }
            None if field.is_list() => {
                let value = scalar(&field, &value)?;
                let list = object
                    .entry(slot)
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(list) = list {
                    list.push(value);
                }
            }
            None => {
                if object.contains_key(&slot) {
                    return Err(unknown_parameter(&name, "given twice"));
                }
                object.insert(slot, scalar(&field, &value)?);
            }
        }
    }
    Ok(object)
}

/// A path or query value as the JSON the proto3 mapping reads for `field`:
/// numbers, enums, 64-bit integers, bytes, Timestamps and Durations all
/// read from strings; booleans are the one kind that must be converted.
fn scalar(field: &FieldDescriptor, text: &str) -> Result<Value, HttpError> {
    match field.kind() {
        Kind::Bool => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(HttpError::Field {
                field: field.name().to_string(),
                reason: format!("{text:?} is not a boolean (true or false)"),
            }),
        },
        Kind::Message(message)
            if !matches!(
                message.full_name(),
                "google.protobuf.Timestamp" | "google.protobuf.Duration"
            ) =>
        {
            Err(HttpError::Field {
                field: field.name().to_string(),
                reason: "a message field cannot be set from the query string".into(),
            })
        }
        // An enum by number, as the JSON mapping also reads it.
        Kind::Enum(_) => Ok(text
            .parse::<i32>()
            .map_or_else(|_| Value::String(text.to_string()), Value::from)),
        _ => Ok(Value::String(text.to_string())),
    }
}

fn unknown_parameter(name: &str, reason: &str) -> HttpError {
    HttpError::Field {
        field: name.to_string(),
        reason: format!("query parameter refused: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::rules::{Lookup, RouteTable};
    use crate::pb;
    use crate::proto_json::pool;
    use http::Method;
    use prost::Message;

    fn decode<M: Message + Default>(
        verb: Method,
        path: &str,
        query: Option<&str>,
        body: &str,
    ) -> Result<M, HttpError> {
        let table = RouteTable::from_pool(pool()).unwrap();
        let Lookup::Found(route, bindings) = table.lookup(&verb, path) else {
            panic!("no route for {path}")
        };
        let message = request_message(route, &bindings, query, body.as_bytes())?;
        Ok(M::decode(message.encode_to_vec().as_slice()).unwrap())
    }

    #[test]
    fn query_parameters_fill_the_request_by_either_name() {
        let request: pb::ListExecutionsRequest = decode(
            Method::GET,
            "/v1/executions",
            Some("page_size=5&workflowId=hello&states=EXECUTION_STATE_RUNNING&states=1&labels[team]=a%20b&create_time_after=2026-01-01T00:00:00Z"),
            "",
        )
        .unwrap();
        assert_eq!(request.page_size, 5);
        assert_eq!(request.workflow_id, "hello");
        assert_eq!(
            request.states,
            [
                pb::ExecutionState::Running as i32,
                pb::ExecutionState::Queued as i32
            ]
        );
        assert_eq!(request.labels["team"], "a b");
        assert_eq!(request.create_time_after.unwrap().seconds, 1_767_225_600);
    }

    #[test]
    fn value_counting_skips_strings() {
        assert_eq!(json_values(br#"{"a": [1, 2], "b": "x,[{\",y"}"#), 4);
    }

    #[test]
    fn path_bindings_and_booleans_reach_their_fields() {
        let request: pb::StreamLogsRequest = decode(
            Method::GET,
            "/v1/executions/e%2F1/logs",
            Some("follow=true&from_sequence=7"),
            "",
        )
        .unwrap();
        assert_eq!(request.execution_id, "e/1");
        assert!(request.follow);
        assert_eq!(request.from_sequence, 7);
    }

    #[test]
    fn the_body_is_the_message_and_the_path_wins_over_it() {
        let request: pb::CancelRequest = decode(
            Method::POST,
            "/v1/executions/e1:cancel",
            None,
            r#"{"executionId": "other", "force": true, "gracePeriod": "1.5s"}"#,
        )
        .unwrap();
        assert_eq!(request.execution_id, "e1");
        assert!(request.force);
        assert_eq!(request.grace_period.unwrap().nanos, 500_000_000);
        let empty: pb::CancelRequest =
            decode(Method::POST, "/v1/executions/e1:cancel", None, "").unwrap();
        assert_eq!(empty.execution_id, "e1");
    }

    fn refusal(verb: Method, path: &str, query: Option<&str>, body: &str) -> (String, String) {
        let table = RouteTable::from_pool(pool()).unwrap();
        let Lookup::Found(route, bindings) = table.lookup(&verb, path) else {
            panic!("no route for {path}")
        };
        match request_message(route, &bindings, query, body.as_bytes()) {
            Err(HttpError::Field { field, reason }) => (field, reason),
            Err(other) => (String::new(), other.to_string()),
            Ok(message) => panic!("accepted {message:?}"),
        }
    }

    #[test]
    fn bad_input_is_refused_naming_the_field() {
        let (field, reason) = refusal(Method::GET, "/v1/executions", Some("pagesize=1"), "");
        assert_eq!(field, "pagesize");
        assert!(reason.contains("not a field"), "{reason}");
        let (field, _) = refusal(Method::GET, "/v1/executions", Some("page_size=x"), "");
        assert_eq!(field, "page_size");
        let (field, _) = refusal(Method::GET, "/v1/executions/e/logs", Some("follow=yes"), "");
        assert_eq!(field, "follow");
        let (field, reason) = refusal(
            Method::POST,
            "/v1/executions",
            None,
            r#"{"workflowId": "a", "colour": 1}"#,
        );
        assert_eq!(field, "colour", "{reason}");
        let (field, _) = refusal(Method::POST, "/v1/executions", None, r#"{"workflowId": 5}"#);
        assert_eq!(field, "workflowId");
        let (field, _) = refusal(
            Method::POST,
            "/v1/executions",
            None,
            r#"{"timeout": "soon"}"#,
        );
        assert_eq!(field, "timeout");
        let (_, reason) = refusal(
            Method::POST,
            "/v1/executions",
            None,
            "{\n  \"workflowId\": ",
        );
        assert!(reason.contains("line 2 column"), "{reason}");
        let many = format!(
            "{{\"inputs\": {{\"a\": [{}0]}}}}",
            "0,".repeat(MAX_JSON_VALUES)
        );
        let (_, reason) = refusal(Method::POST, "/v1/executions", None, &many);
        assert!(reason.contains("JSON values"), "{reason}");
        let (_, reason) = refusal(Method::POST, "/v1/executions", None, "[1]");
        assert!(reason.contains("JSON object"), "{reason}");
        let (_, reason) = refusal(Method::GET, "/v1/status", None, "{}");
        assert!(reason.contains("takes no body"), "{reason}");
        let (field, _) = refusal(Method::POST, "/v1/executions", Some("x=1"), "{}");
        assert_eq!(field, "x");
    }
}
