//! JSON Schemas of the proto's messages and enums in the proto3 JSON
//! mapping, exactly as prost-reflect writes it (and the wider forms it
//! also reads): lowerCamelCase names, 64-bit integers as strings (numbers
//! read too), enums by name (numbers read too), bytes as base64,
//! Timestamps and Durations as strings, Struct/Value as any JSON. Fields at
//! their default are left out of every reply, so no property is required.

use std::collections::{BTreeMap, BTreeSet};

use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{json, Map, Value};

use super::comments::comment;

/// Where a named schema lives in the document.
pub(super) const REF_PREFIX: &str = "#/components/schemas/";

/// A protojson Duration: seconds with up to 9 fractional digits and `s`.
const DURATION_PATTERN: &str = "^-?[0-9]+(\\.[0-9]{1,9})?s$";

/// A `$ref` to the component `name`.
pub(super) fn reference(name: &str) -> Value {
    json!({ "$ref": format!("{REF_PREFIX}{name}") })
}

/// The named schemas (components/schemas) the document refers to, each
/// message or enum once, by its full name (`workflow.v1.Execution`).
#[derive(Default)]
pub(super) struct Schemas {
    /// Named schemas, finished or not.
    named: BTreeMap<String, Value>,
    /// Referred to, schema not written yet.
    pending: Vec<Named>,
    /// Every name referred to so far.
    seen: BTreeSet<String>,
}

/// A descriptor whose named schema is to be written.
enum Named {
    Message(MessageDescriptor),
    Enum(EnumDescriptor),
}

impl Schemas {
    /// Adds a hand-written named schema (google.rpc.Status, which the
    /// descriptor set does not carry).
    pub(super) fn insert(&mut self, name: &str, schema: Value) {
        self.seen.insert(name.to_string());
        self.named.insert(name.to_string(), schema);
    }

    /// The schema of a `message` value: a well-known type's JSON form, or a
    /// `$ref` to its named schema.
    pub(super) fn message(&mut self, message: &MessageDescriptor) -> Value {
        if let Some(schema) = well_known(message) {
            return schema;
        }
        let name = message.full_name().to_string();
        if self.seen.insert(name.clone()) {
            self.pending.push(Named::Message(message.clone()));
        }
        reference(&name)
    }

    /// A `$ref` to the named schema of `enumeration`.
    fn enumeration(&mut self, enumeration: &EnumDescriptor) -> Value {
        let name = enumeration.full_name().to_string();
        if self.seen.insert(name.clone()) {
            self.pending.push(Named::Enum(enumeration.clone()));
        }
        reference(&name)
    }

    /// Every named schema, those referred to by the ones written included.
    pub(super) fn finish(mut self) -> Map<String, Value> {
        while let Some(next) = self.pending.pop() {
            let (name, schema) = match next {
                Named::Message(message) => {
                    (message.full_name().to_string(), self.object(&message, &[]))
                }
                Named::Enum(enumeration) => (
                    enumeration.full_name().to_string(),
                    enum_schema(&enumeration),
                ),
            };
            self.named.insert(name, schema);
        }
        self.named.into_iter().collect()
    }

    /// The object schema of `message` without the fields named in `skip`
    /// (those a route's path binds).
    pub(super) fn object(&mut self, message: &MessageDescriptor, skip: &[&str]) -> Value {
        let kept = |field: &FieldDescriptor| !skip.contains(&field.name());
        let mut properties = Map::new();
        for field in message.fields().filter(kept) {
            properties.insert(field.json_name().to_string(), self.field(&field));
        }
        let mut description = comment(&message.parent_file(), message.path()).unwrap_or_default();
        for oneof in message.oneofs().filter(|oneof| !oneof.is_synthetic()) {
            let members: Vec<String> = oneof
                .fields()
                .filter(kept)
                .map(|field| format!("`{}`", field.json_name()))
                .collect();
            description.push_str(&format!(
                "\n\nAt most one of {} is set (the oneof `{}`).",
                members.join(", "),
                oneof.name()
            ));
        }
        let mut schema = json!({
            "title": message.full_name(),
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
        });
        describe(&mut schema, description.trim());
        schema
    }

    /// A field's value: a map as an object, a repeated field as an array.
    fn field(&mut self, field: &FieldDescriptor) -> Value {
        let mut schema = if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                unreachable!("a map field's kind is its entry message")
            };
            let value = self.value(&entry.map_entry_value_field().kind());
            let mut schema = json!({"type": "object", "additionalProperties": value});
            if let Some(pattern) = map_key_pattern(&entry.map_entry_key_field().kind()) {
                schema["propertyNames"] = json!({ "pattern": pattern });
            }
            schema
        } else if field.is_list() {
            json!({"type": "array", "items": self.value(&field.kind())})
        } else {
            self.value(&field.kind())
        };
        if let Some(text) = comment(&field.parent_file(), field.path()) {
            describe(&mut schema, &text);
        }
        schema
    }

    /// One value of `kind`, as written and read in JSON.
    fn value(&mut self, kind: &Kind) -> Value {
        match kind {
            Kind::Double | Kind::Float => json!({"oneOf": [
                {"type": "number", "format": if *kind == Kind::Float { "float" } else { "double" }},
                {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]},
            ]}),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                json!({"type": "integer", "format": "int32"})
            }
            Kind::Uint32 | Kind::Fixed32 => {
                json!({"type": "integer", "format": "uint32", "minimum": 0, "maximum": u32::MAX})
            }
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => json!({
                "description": "A 64-bit integer, written as a decimal string (numbers are read too).",
                "oneOf": [
                    {"type": "string", "pattern": "^-?[0-9]+$"},
                    {"type": "integer", "format": "int64"},
                ],
            }),
            Kind::Uint64 | Kind::Fixed64 => json!({
                "description": "An unsigned 64-bit integer, written as a decimal string (numbers are read too).",
                "oneOf": [
                    {"type": "string", "pattern": "^[0-9]+$"},
                    {"type": "integer", "format": "uint64", "minimum": 0},
                ],
            }),
            Kind::Bool => json!({"type": "boolean"}),
            Kind::String => json!({"type": "string"}),
            Kind::Bytes => bytes(),
            Kind::Enum(enumeration) => self.enumeration(enumeration),
            Kind::Message(message) => self.message(message),
        }
    }
}

/// Bytes as base64 text: written in the standard alphabet with padding;
/// read in the standard or the URL-safe one, padded or not.
fn bytes() -> Value {
    json!({
        "type": "string",
        "contentEncoding": "base64",
        "pattern": BASE64_PATTERN,
    })
}

/// The base64 texts prost-reflect reads: one alphabet, whole groups of 4
/// and a last group of 2 or 3 characters, padded or not.
const BASE64_PATTERN: &str =
    "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$\
    |^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}(?:==)?|[A-Za-z0-9_-]{3}=?)?$";

/// The JSON form of a well-known type, None for any other message.
fn well_known(message: &MessageDescriptor) -> Option<Value> {
    let name = message.full_name();
    let schema = match name {
        "google.protobuf.Timestamp" => json!({
            "type": "string",
            "format": "date-time",
            "description": "An RFC 3339 time in UTC, e.g. `2026-01-02T03:04:05.678Z`.",
        }),
        "google.protobuf.Duration" => json!({
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration in seconds with an `s` suffix, e.g. `1.5s`.",
        }),
        "google.protobuf.Struct" => json!({"type": "object", "description": "Any JSON object."}),
        "google.protobuf.Value" => json!({"description": "Any JSON value."}),
        "google.protobuf.ListValue" => json!({"type": "array", "description": "Any JSON array."}),
        "google.protobuf.Empty" => json!({"type": "object", "additionalProperties": false}),
        _ if name.starts_with("google.protobuf.") => {
            panic!("{name}: its JSON form is not mapped here yet (src/http/openapi/schema.rs)")
        }
        _ => return None,
    };
    Some(schema)
}

/// The named schema of an enum: its value names as written, the numbers
/// it also reads, and each value's comment.
fn enum_schema(enumeration: &EnumDescriptor) -> Value {
    let names: Vec<String> = enumeration
        .values()
        .map(|value| value.name().to_string())
        .collect();
    let mut description = comment(&enumeration.parent_file(), enumeration.path())
        .unwrap_or_default()
        + "\n\nWritten as the value's name; its number is read too.";
    for value in enumeration.values() {
        let text = comment(&value.parent_file(), value.path()).unwrap_or_default();
        description.push_str(&format!("\n- `{}`: {}", value.name(), text));
    }
    let mut schema = json!({
        "title": enumeration.full_name(),
        "anyOf": [
            {"type": "string", "enum": names},
            {"type": "integer", "format": "int32"},
        ],
    });
    describe(&mut schema, description.trim());
    schema
}

/// What the keys of a map with `key` keys look like (JSON keys are
/// strings; a number or bool key is written as its text).
fn map_key_pattern(key: &Kind) -> Option<&'static str> {
    match key {
        Kind::String => None,
        Kind::Bool => Some("^(true|false)$"),
        Kind::Uint32 | Kind::Fixed32 | Kind::Uint64 | Kind::Fixed64 => Some("^[0-9]+$"),
        _ => Some("^-?[0-9]+$"),
    }
}

/// Puts `text` before `schema`'s description (a `$ref` keeps its own
/// besides, as JSON Schema 2020-12 allows), unless it is empty.
pub(super) fn describe(schema: &mut Value, text: &str) {
    if text.is_empty() {
        return;
    }
    let description = match schema.get("description").and_then(Value::as_str) {
        Some(own) => format!("{text}\n\n{own}"),
        None => text.to_string(),
    };
    schema["description"] = Value::from(description);
}

/// A value of `kind` as the query string carries it ([`super::super::request`]
/// reads it as JSON text): numbers as integers, enums by name only,
/// Timestamps and Durations as text. None for a message, which the query
/// string cannot set.
pub(super) fn query_value(kind: &Kind) -> Option<Value> {
    Some(match kind {
        Kind::Double | Kind::Float => json!({"type": "number"}),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            json!({"type": "integer", "format": "int32"})
        }
        Kind::Uint32 | Kind::Fixed32 => {
            json!({"type": "integer", "format": "uint32", "minimum": 0, "maximum": u32::MAX})
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            json!({"type": "integer", "format": "int64"})
        }
        Kind::Uint64 | Kind::Fixed64 => {
            json!({"type": "integer", "format": "uint64", "minimum": 0, "maximum": u64::MAX})
        }
        Kind::Bool => json!({"type": "boolean"}),
        Kind::String => json!({"type": "string"}),
        Kind::Bytes => bytes(),
        Kind::Enum(enumeration) => json!({
            "type": "string",
            "enum": enumeration.values().map(|value| value.name().to_string()).collect::<Vec<_>>(),
        }),
        Kind::Message(message) => match message.full_name() {
            "google.protobuf.Timestamp" | "google.protobuf.Duration" => well_known(message)?,
            _ => return None,
        },
    })
}
