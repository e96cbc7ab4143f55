use std::collections::HashMap;

use http::Method;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor};
use serde_json::{json, Value};

use super::*;
use crate::http::request::request_message;
use crate::http::rules::Lookup;
use crate::proto_json::{dynamic_to_json_text, pool};

/// The document as the published file has it.
fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("documents serialize");
    text.push('\n');
    text
}

#[test]
fn the_published_document_is_the_proto() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DOCUMENT_FILE);
    let generated = document_text();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write the document");
        return;
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == generated,
        "{DOCUMENT_FILE} differs from the proto; regenerate it with \
         `UPDATE_OPENAPI=1 cargo test --lib openapi`"
    );
}

#[test]
fn the_documented_descriptors_are_the_served_ones_with_comments() {
    let strip = |pool: &DescriptorPool| {
        let mut files: Vec<_> = pool.file_descriptor_protos().cloned().collect();
        files
            .iter_mut()
            .for_each(|file| file.source_code_info = None);
        files
    };
    assert_eq!(strip(documented_pool()), strip(pool()));
    let documented = documented_pool().files().filter(|file| {
        file.file_descriptor_proto()
            .source_code_info
            .as_ref()
            .is_some_and(|info| !info.location.is_empty())
    });
    assert!(documented.count() > 0, "no source info: no descriptions");
}

#[test]
fn every_route_has_its_operation_with_its_path_parameters() {
    let doc = document();
    let table = RouteTable::from_pool(pool()).unwrap();
    for route in table.routes() {
        let path = route.template.openapi_path();
        let operation = &doc["paths"][&path][route.verb.as_str().to_ascii_lowercase()];
        assert_eq!(operation["operationId"], route.method.name(), "{path}");
        assert!(
            !operation["summary"].as_str().unwrap().is_empty(),
            "{path}: no comment"
        );
        let in_path: Vec<&str> = operation["parameters"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(in_path, route.template.variables().collect::<Vec<_>>());
    }
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let stream = &doc["paths"]["/v1/executions/{execution_id}/logs"]["get"];
    assert!(stream["responses"]["200"]["content"]["text/event-stream"].is_object());
    assert!(stream["responses"]["204"].is_object());
    assert!(stream["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "Last-Event-ID" && p["in"] == "header"));
}

/// Every `$ref` in `value`.
fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => out.push(target.clone()),
                    _ => references(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, out)),
        _ => {}
    }
}

#[test]
fn every_reference_names_a_schema_and_every_schema_is_referred_to() {
    let doc = document();
    let mut targets = Vec::new();
    references(&doc, &mut targets);
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for target in &targets {
        let name = target.strip_prefix(schema::REF_PREFIX).unwrap();
        assert!(schemas.contains_key(name), "{target}");
    }
    for name in schemas.keys() {
        assert!(
            targets.contains(&format!("{}{name}", schema::REF_PREFIX)),
            "{name} is never used"
        );
    }
    assert_eq!(
        doc["components"]["schemas"]["workflow.v1.Execution"]["properties"]["createTime"]["format"],
        "date-time"
    );
}

/// A validator of the named schema `name`, its references resolved in
/// the document.
fn validator(doc: &Value, name: &str) -> jsonschema::Validator {
    let root = json!({
        "$ref": format!("{}{name}", schema::REF_PREFIX),
        "components": doc["components"],
    });
    jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A value of `kind` other than its default, `variant` choosing among
/// the forms (an unknown enum number on odd variants).
fn sample(kind: &Kind, variant: usize, depth: usize) -> prost_reflect::Value {
    use prost_reflect::Value as V;
    match kind {
        Kind::Double => V::F64(1.5),
        Kind::Float => V::F32(1.5),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => V::I32(-7),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => V::I64(-(1 << 40)),
        Kind::Uint32 | Kind::Fixed32 => V::U32(u32::MAX),
        Kind::Uint64 | Kind::Fixed64 => V::U64(u64::MAX),
        Kind::Bool => V::Bool(true),
        Kind::String => V::String("text".into()),
        Kind::Bytes => V::Bytes(vec![0xfb, 0xff, 0x01].into()),
        Kind::Enum(e) if variant % 2 == 1 => V::EnumNumber(99 + e.values().len() as i32),
        Kind::Enum(e) => V::EnumNumber(e.values().last().unwrap().number()),
        Kind::Message(m) => V::Message(filled(m, variant, depth + 1)),
    }
}

/// `message` with every field set (one member of each oneof, chosen by
/// `variant`), nested messages too down to a depth.
fn filled(message: &MessageDescriptor, variant: usize, depth: usize) -> DynamicMessage {
    use prost_reflect::Value as V;
    let mut out = DynamicMessage::new(message.clone());
    match message.full_name() {
        "google.protobuf.Timestamp" => {
            out.set_field_by_name("seconds", V::I64(1_767_225_600));
            out.set_field_by_name("nanos", V::I32(5_000));
            return out;
        }
        "google.protobuf.Duration" => {
            out.set_field_by_name("seconds", V::I64(1));
            out.set_field_by_name("nanos", V::I32(500_000_000));
            return out;
        }
        "google.protobuf.Value" => {
            out.set_field_by_name("string_value", V::String("any".into()));
            return out;
        }
        _ if depth > 4 => return out,
        _ => {}
    }
    let chosen = |field: &FieldDescriptor| match field.containing_oneof() {
        Some(oneof) if !oneof.is_synthetic() => {
            let members: Vec<_> = oneof.fields().collect();
            members[variant % members.len()] == *field
        }
        _ => true,
    };
    for field in message.fields().filter(chosen) {
        let value = if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                unreachable!()
            };
            let key = match entry.map_entry_key_field().kind() {
                Kind::String => MapKey::String("key".into()),
                other => panic!("map key {other:?} has no sample"),
            };
            let value = sample(&entry.map_entry_value_field().kind(), variant, depth);
            V::Map(HashMap::from([(key, value)]))
        } else if field.is_list() {
            let item = sample(&field.kind(), variant, depth);
            V::List(vec![item.clone(), item])
        } else {
            sample(&field.kind(), variant, depth)
        };
        out.set_field(&field, value);
    }
    out
}

#[test]
fn every_message_as_the_daemon_writes_it_matches_its_schema() {
    let doc = document();
    let mut checked = 0;
    for (name, _) in doc["components"]["schemas"].as_object().unwrap() {
        let Some(message) = pool().get_message_by_name(name) else {
            continue;
        };
        let validator = validator(&doc, name);
        let variants = message
            .oneofs()
            .map(|o| o.fields().len())
            .max()
            .unwrap_or(1);
        for variant in 0..variants.max(2) {
            let json: Value =
                serde_json::from_str(&dynamic_to_json_text(&filled(&message, variant, 0)).unwrap())
                    .unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&json)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{name} {json}: {errors:?}");
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} messages checked");
}

#[test]
fn the_schemas_refuse_what_the_mapping_never_writes() {
    let doc = document();
    let execution = validator(&doc, "workflow.v1.Execution");
    for bad in [
        json!({"state": "RUNNING"}),
        json!({"workflow_id": "snake case is read, never written"}),
        json!({"createTime": "yesterday"}),
        json!({"timeout": "10"}),
        json!({"logCounts": {"total": 1.5}}),
        json!({"pid": "7"}),
    ] {
        assert!(!execution.is_valid(&bad), "{bad}");
    }
    let status = validator(&doc, STATUS);
    let error = crate::http::error::HttpError::Field {
        field: "pageSize".into(),
        reason: "not a number".into(),
    };
    assert!(status.is_valid(&error.to_status_json()));
    assert!(!status.is_valid(&json!({"code": 5})));
}

#[test]
fn bytes_are_documented_as_the_base64_the_reader_takes() {
    let doc = document();
    let content = &doc["components"]["schemas"]["workflow.v1.ValidateManifestRequest"]
        ["properties"]["content"];
    let schema = jsonschema::validator_for(content).unwrap();
    let input = pool()
        .get_message_by_name("workflow.v1.ValidateManifestRequest")
        .unwrap();
    for text in ["", "e30=", "e30", "+/8B", "-_8B", "YWJjZA==", "YWJjZA"] {
        assert!(schema.is_valid(&json!(text)), "{text}");
        let body = serde_json::from_value(json!({ "content": text })).unwrap();
        crate::http::request::message_from_object(&input, body)
            .unwrap_or_else(|e| panic!("{text}: {e}"));
    }
    for text in ["e", "e30==x", "+-8B", "a b", "\u{e9}"] {
        assert!(!schema.is_valid(&json!(text)), "{text}");
    }
}

#[test]
fn stream_events_are_documented_as_the_stream_writes_them() {
    let doc = document();
    let operation = &doc["paths"]["/v1/executions/{execution_id}/logs"]["get"];
    let event = &operation["responses"]["200"]["content"]["text/event-stream"]["schema"];
    let root = json!({"$ref": "#/event", "event": event, "components": doc["components"]});
    let schema = jsonschema::validator_for(&root).unwrap();
    assert!(schema.is_valid(&json!({"event": "message", "data": "{}", "id": "3"})));
    assert!(schema.is_valid(&json!({"event": "error", "data": "{}"})));
    assert!(!schema.is_valid(&json!({"event": "ping", "data": "{}"})));
    assert!(!schema.is_valid(&json!({"event": "message"})));
}

/// A sample text of a query parameter's `schema`.
fn query_text(schema: &Value) -> String {
    if let Some(values) = schema["enum"].as_array() {
        return values[1].as_str().unwrap().to_string();
    }
    match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("integer"), _) => "3".into(),
        (Some("boolean"), _) => "true".into(),
        (Some("string"), Some("date-time")) => "2026-01-02T03:04:05Z".into(),
        (Some("string"), _) if schema["pattern"].is_string() => "1.5s".into(),
        (Some("string"), _) => "text".into(),
        other => panic!("no sample for {other:?}"),
    }
}

#[test]
fn every_documented_query_parameter_is_read_as_documented() {
    let doc = document();
    let table = RouteTable::from_pool(pool()).unwrap();
    let mut checked = 0;
    for route in table.routes().iter().filter(|r| r.verb == Method::GET) {
        let operation = &doc["paths"][route.template.openapi_path()]["get"];
        let mut query = Vec::new();
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            if parameter["in"] != "query" {
                continue;
            }
            let name = parameter["name"].as_str().unwrap();
            let schema = &parameter["schema"];
            match (parameter["style"].as_str(), schema["type"].as_str()) {
                (Some("deepObject"), Some("object")) => {
                    let value = query_text(&schema["additionalProperties"]);
                    query.push(format!("{name}[a]={value}&{name}[b]={value}"));
                }
                (Some("form"), Some("array")) => {
                    let value = query_text(&schema["items"]);
                    query.push(format!("{name}={value}&{name}={value}"));
                }
                _ => query.push(format!("{name}={}", query_text(schema))),
            }
            checked += 1;
        }
        let path = route
            .template
            .openapi_path()
            .replace("{execution_id}", "e1");
        let path = path.replace("{workflow_id}", "w1");
        let Lookup::Found(found, bindings) = table.lookup(&Method::GET, &path) else {
            panic!("{path}")
        };
        let query = query.join("&");
        let message = request_message(found, &bindings, Some(&query), b"")
            .unwrap_or_else(|e| panic!("{path}?{query}: {e}"));
        for field in found.method.input().fields() {
            assert!(
                message.has_field(&field),
                "{path}?{query}: {} unset",
                field.name()
            );
        }
    }
    assert!(checked >= 10, "only {checked} query parameters");
}

#[tokio::test]
async fn the_port_serves_the_published_document() {
    use tower::ServiceExt;
    let options = crate::http::HttpOptions {
        cors_origins: Vec::new(),
        max_body_bytes: 1024,
        metrics: crate::metrics::Metrics::new(),
        authenticator: crate::auth::Authenticator::off(),
        protect_metrics: false,
    };
    let port = crate::http::one_port(
        tonic::service::Routes::default(),
        axum::Router::new(),
        &options,
    )
    .unwrap();
    let request = http::Request::get("/openapi.json")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = port.into_axum_router().oneshot(request).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let published = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DOCUMENT_FILE),
    )
    .unwrap();
    assert_eq!(std::str::from_utf8(&body).unwrap(), published);
}
