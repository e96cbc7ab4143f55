//! Discovery: ListWorkflows / GetWorkflow, discovery errors, paging, the
//! bundled examples (`listing.rs`), and hot reload of the watched
//! directories with the programs it refuses (`hot_reload.rs`).

use std::path::Path;

use serde_json::json;
use workflow_manager::pb::{
    self,
    field_type::{self, Kind},
};

mod hot_reload;
mod listing;

/// The example workflows, ordered by id.
pub(super) const EXAMPLE_IDS: [&str; 5] = [
    "chatty",
    "hello",
    "ignore_sigterm",
    "research_pipeline",
    "sleeper",
];

pub(super) fn ids(workflows: &[pb::Workflow]) -> Vec<&str> {
    workflows.iter().map(|w| w.id.as_str()).collect()
}

pub(super) fn canonical(path: &str) -> std::path::PathBuf {
    Path::new(path)
        .canonicalize()
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What a program declares: runs `program --workflow-metadata`.
pub(super) fn declared_metadata(program: &Path) -> serde_json::Value {
    let out = std::process::Command::new(program)
        .arg("--workflow-metadata")
        .output()
        .expect("run --workflow-metadata");
    assert!(out.status.success(), "{}", program.display());
    serde_json::from_slice(&out.stdout).expect("metadata JSON")
}

pub(super) fn opt_i64(v: &serde_json::Value) -> Option<i64> {
    v.as_i64()
}

/// The protocol's field JSON as the API's Field.
pub(super) fn declared_field(f: &serde_json::Value) -> pb::Field {
    let t = &f["field_type"];
    let kind = match t["type"].as_str().expect("field_type.type") {
        "text" => Kind::Text(field_type::Text {}),
        "number" => Kind::Number(field_type::Number {
            min: opt_i64(&t["min"]),
            max: opt_i64(&t["max"]),
        }),
        "file_path" => Kind::FilePath(field_type::FilePath {
            pattern: t["pattern"].as_str().map(Into::into),
        }),
        "select" => Kind::Select(field_type::Select {
            options: t["options"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_str().unwrap().to_string())
                .collect(),
        }),
        "phase_selector" => Kind::PhaseSelector(field_type::PhaseSelector {
            total_phases: t["total_phases"].as_i64().unwrap() as i32,
        }),
        "state_file" => Kind::StateFile(field_type::StateFile {
            pattern: t["pattern"].as_str().unwrap().into(),
            phase: t["phase"].as_i64().map(|p| p as i32),
        }),
        other => panic!("unknown field type {other}"),
    };
    pb::Field {
        name: f["name"].as_str().unwrap().into(),
        label: f["label"].as_str().unwrap().into(),
        description: f["description"].as_str().unwrap().into(),
        cli_arg: f["cli_arg"].as_str().unwrap().into(),
        required: f["required"].as_bool().unwrap(),
        default_value: f["default"].as_str().map(Into::into),
        required_for_phases: f["required_for_phases"]
            .as_array()
            .map(|a| a.iter().map(|p| p.as_i64().unwrap() as i32).collect())
            .unwrap_or_default(),
        r#type: Some(pb::FieldType { kind: Some(kind) }),
    }
}

/// Checks the JSON Schema of a workflow against its fields.
pub(super) fn check_schema(workflow: &pb::Workflow) {
    let schema: serde_json::Value =
        serde_json::from_str(&workflow.input_json_schema).expect("input_json_schema is JSON");
    let id = &workflow.id;
    assert_eq!(schema["type"], "object", "{id}: {schema}");
    let mut required = Vec::new();
    for field in &workflow.fields {
        let prop = &schema["properties"][&field.name];
        let kind = field
            .r#type
            .as_ref()
            .and_then(|t| t.kind.as_ref())
            .expect("field type");
        let context = format!("{id}.{}: {schema}", field.name);
        match kind {
            Kind::Text(_) | Kind::FilePath(_) | Kind::StateFile(_) => {
                assert_eq!(prop["type"], "string", "{context}")
            }
            Kind::Number(n) => {
                assert_eq!(prop["type"], "number", "{context}");
                assert_eq!(
                    prop.get("minimum").and_then(|m| m.as_f64()),
                    n.min.map(|m| m as f64),
                    "{context}"
                );
                assert_eq!(
                    prop.get("maximum").and_then(|m| m.as_f64()),
                    n.max.map(|m| m as f64),
                    "{context}"
                );
            }
            Kind::Select(s) => {
                assert_eq!(prop["type"], "string", "{context}");
                assert_eq!(prop["enum"], json!(s.options), "{context}");
            }
            Kind::PhaseSelector(_) => {
                assert_eq!(prop["type"], "array", "{context}");
                assert_eq!(prop["items"]["type"], "integer", "{context}");
            }
        }
        if field.required {
            required.push(field.name.clone());
        }
    }
    let mut listed: Vec<String> = schema
        .get("required")
        .and_then(|r| r.as_array())
        .map(|r| r.iter().map(|n| n.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    listed.sort();
    required.sort();
    assert_eq!(listed, required, "{id}: required inputs: {schema}");
}
