//! What a workflow program declares about itself (`--workflow-metadata`), in
//! the SDK's format, and its inputs as a JSON Schema document.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};

/// Schema version assumed for programs that declare none.
pub const DEFAULT_SCHEMA_VERSION: &str = "1.0.0";

/// The SDK's `FullWorkflowMetadata`: what `prog --workflow-metadata` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowMetadata {
    /// Unique id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Schema version (semver); "1.0.0" when missing.
    #[serde(default = "default_schema_version")]
    pub schema_version: String,
    /// Input fields in declaration order (also the argv order).
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
}

fn default_schema_version() -> String {
    DEFAULT_SCHEMA_VERSION.to_string()
}

/// One input field as the SDK declares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldSpec {
    /// Input name.
    pub name: String,
    /// Label for forms.
    #[serde(default)]
    pub label: String,
    /// Help text.
    #[serde(default)]
    pub description: String,
    /// Flag the value is passed with.
    pub cli_arg: String,
    /// Whether a value (or a default) must be present.
    #[serde(default)]
    pub required: bool,
    /// Default value; SDK programs send a string or null, numbers are accepted.
    #[serde(default, deserialize_with = "string_or_scalar")]
    pub default: Option<String>,
    /// Phases that need this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_for_phases: Option<Vec<i32>>,
    /// Type and constraints.
    pub field_type: FieldType,
}

/// Field types of the SDK, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(missing_docs)] // Documented on the proto message `FieldType`.
pub enum FieldType {
    Text,
    Number {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<i64>,
    },
    FilePath {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
    },
    Select {
        options: Vec<String>,
    },
    PhaseSelector {
        total_phases: i32,
    },
    StateFile {
        pattern: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phase: Option<i32>,
    },
}

fn string_or_scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "default must be a string, number or null, not {other}"
            )))
        }
    })
}

impl WorkflowMetadata {
    /// Checks what serde cannot: a usable id, unique field names and flags,
    /// sane constraints. Returns every problem found.
    pub fn check(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.id.trim().is_empty() {
            problems.push("id is empty".to_string());
        }
        let mut names = std::collections::HashSet::new();
        for (i, field) in self.fields.iter().enumerate() {
            if !names.insert(field.name.as_str()) {
                problems.push(format!(
                    "fields[{i}]: duplicate field name {:?}",
                    field.name
                ));
            }
            if field.cli_arg.is_empty() {
                problems.push(format!("fields[{i}] ({}): cli_arg is empty", field.name));
            }
            match &field.field_type {
                FieldType::Number {
                    min: Some(min),
                    max: Some(max),
                } if min > max => problems.push(format!(
                    "fields[{i}] ({}): min {min} > max {max}",
                    field.name
                )),
                FieldType::Select { options } if options.is_empty() => problems.push(format!(
                    "fields[{i}] ({}): select has no options",
                    field.name
                )),
                FieldType::PhaseSelector { total_phases } if *total_phases < 1 => problems.push(
                    format!("fields[{i}] ({}): total_phases must be >= 1", field.name),
                ),
                _ => {}
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// The inputs as a JSON Schema (draft 2020-12) object. Fields with a
    /// default are not listed as required: the daemon fills them in.
    pub fn input_json_schema(&self) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for field in &self.fields {
            let mut schema = match &field.field_type {
                FieldType::Text => json!({"type": "string"}),
                FieldType::Number { min, max } => {
                    let mut s = json!({"type": "number"});
                    if let Some(min) = min {
                        s["minimum"] = json!(min);
                    }
                    if let Some(max) = max {
                        s["maximum"] = json!(max);
                    }
                    s
                }
                FieldType::FilePath { pattern } => {
                    let mut s = json!({"type": "string", "format": "path"});
                    if let Some(pattern) = pattern {
                        s["x-glob-pattern"] = json!(pattern);
                    }
                    s
                }
                FieldType::Select { options } => json!({"type": "string", "enum": options}),
                FieldType::PhaseSelector { total_phases } => json!({
                    "type": "array",
                    "items": {"type": "integer", "minimum": 0, "maximum": total_phases - 1},
                    "uniqueItems": true,
                }),
                FieldType::StateFile { pattern, .. } => {
                    json!({"type": "string", "format": "path", "x-glob-pattern": pattern})
                }
            };
            if !field.label.is_empty() {
                schema["title"] = json!(field.label);
            }
            if !field.description.is_empty() {
                schema["description"] = json!(field.description);
            }
            if let Some(default) = &field.default {
                if let Some(value) = default_as_json(&field.field_type, default) {
                    schema["default"] = value;
                }
            }
            if field.required && field.default.is_none() {
                required.push(json!(field.name));
            }
            properties.insert(field.name.clone(), schema);
        }
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": self.name,
            "description": self.description,
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        })
    }
}

/// A default in the JSON type its schema declares; None when the program's
/// default does not fit its own type (then the schema just leaves it out).
fn default_as_json(field_type: &FieldType, default: &str) -> Option<Value> {
    match field_type {
        FieldType::Number { .. } => default
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(|n| match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => json!(f as i64),
                _ => Value::Number(n),
            }),
        FieldType::PhaseSelector { .. } => default
            .split(',')
            .map(|p| p.trim().parse::<i64>().ok())
            .collect::<Option<Vec<_>>>()
            .map(|phases| json!(phases)),
        _ => Some(json!(default)),
    }
}

/// A program that answered `--workflow-metadata` correctly.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveredWorkflow {
    /// What it declared.
    pub metadata: WorkflowMetadata,
    /// Its inputs as JSON Schema text, computed once at discovery.
    pub input_json_schema: String,
    /// Absolute path of the executable.
    pub program_path: PathBuf,
    /// When it was (re)discovered, ms since the epoch.
    pub discovered_at_ms: i64,
}

/// A program in a workflow directory that did not answer correctly.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveryFailure {
    /// The program.
    pub program_path: PathBuf,
    /// What went wrong.
    pub message: String,
    /// When, ms since the epoch.
    pub discovered_at_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_types_map_to_json_schema() {
        let metadata: WorkflowMetadata = serde_json::from_value(json!({
            "id": "w", "name": "W", "description": "d",
            "fields": [
                {"name":"n","label":"N","description":"","cli_arg":"--n","required":true,"default":"3",
                 "field_type":{"type":"number","min":1,"max":5}},
                {"name":"s","label":"S","description":"","cli_arg":"--s","required":true,"default":null,
                 "field_type":{"type":"select","options":["a","b"]}},
                {"name":"p","label":"P","description":"","cli_arg":"--p","required":false,"default":"0,2",
                 "field_type":{"type":"phase_selector","total_phases":3}}
            ]
        }))
        .unwrap();
        assert_eq!(metadata.schema_version, "1.0.0");
        let schema = metadata.input_json_schema();
        assert_eq!(schema["properties"]["n"]["minimum"], 1);
        assert_eq!(schema["properties"]["n"]["default"], 3);
        assert_eq!(schema["properties"]["s"]["enum"], json!(["a", "b"]));
        assert_eq!(schema["properties"]["p"]["items"]["maximum"], 2);
        assert_eq!(schema["properties"]["p"]["default"], json!([0, 2]));
        assert_eq!(schema["required"], json!(["s"]));
    }

    #[test]
    fn check_reports_every_problem() {
        let metadata: WorkflowMetadata = serde_json::from_value(json!({
            "id": "", "name": "W",
            "fields": [
                {"name":"a","cli_arg":"","field_type":{"type":"select","options":[]}},
                {"name":"a","cli_arg":"--a","field_type":{"type":"number","min":5,"max":1}}
            ]
        }))
        .unwrap();
        let problems = metadata.check().unwrap_err();
        for expected in [
            "id is empty",
            "cli_arg is empty",
            "no options",
            "duplicate",
            "min 5 > max 1",
        ] {
            assert!(problems.contains(expected), "{problems}");
        }
    }
}
