//! From a parsed manifest to one `{name, pipeline}` document per VM: the
//! tables' check ([`pipeline`](super::pipeline)), then what they cannot
//! express ([`checks`](super::checks)) and what follows from the context
//! (source types from extensions, relative paths, VM names). Artifact
//! Manifest v1 becomes one pipeline per disk.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::checks::{
    check_fix_tool, check_name, check_output, check_unique_names, check_unique_outputs,
    check_version, resolve_source,
};
use super::pipeline::{source_type_of, ARTIFACT, BATCH, SINGLE, SOURCE_TYPES};
use super::schema::{check, child, item, Ty};
use super::{Context, Kind, Problem, VmPlan};

/// Validates a document of a known kind; returns the VM plans (meaningful
/// only when no problem was pushed).
pub(crate) fn plans(
    document: &Map<String, Value>,
    kind: Kind,
    default_name: Option<&str>,
    context: Context<'_>,
    problems: &mut Vec<Problem>,
) -> Vec<VmPlan> {
    let value = Value::Object(document.clone());
    match kind {
        Kind::Single => {
            let normalized = check(&value, &Ty::Object(SINGLE), "", problems);
            check_version(document.get("version"), "version", problems);
            let mut pipeline = normalized.get("pipeline").cloned().unwrap_or(Value::Null);
            finish_pipeline(&mut pipeline, "pipeline", false, context, problems);
            let name = normalized
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| default_name.map(str::to_string))
                .or_else(|| stem_of(pipeline.pointer("/load/source_path")))
                .unwrap_or_else(|| "vm".to_string());
            check_name(&name, "name", problems);
            vec![VmPlan::new(name, pipeline)]
        }
        Kind::Batch => {
            let normalized = check(&value, &Ty::Object(BATCH), "", problems);
            check_version(document.get("version"), "version", problems);
            let vms = normalized
                .get("vms")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut plans = Vec::new();
            for (i, vm) in vms.into_iter().enumerate() {
                let path = item("vms", i);
                let name = vm.get("name").and_then(Value::as_str).unwrap_or_default();
                if !name.is_empty() {
                    check_name(name, &child(&path, "name"), problems);
                }
                let mut pipeline = vm.get("pipeline").cloned().unwrap_or(Value::Null);
                finish_pipeline(
                    &mut pipeline,
                    &child(&path, "pipeline"),
                    true,
                    context,
                    problems,
                );
                plans.push(VmPlan::new(name.to_string(), pipeline));
            }
            check_unique_names(&plans, "vms", "name", problems);
            check_unique_outputs(&plans, "vms", context.policy, problems);
            plans
        }
        Kind::ArtifactV1 => {
            let plans = artifact(&value, document, context, problems);
            check_unique_outputs(&plans, "disks", context.policy, problems);
            plans
        }
    }
}

/// The checks a table cannot express, on a normalized pipeline at `path`.
fn finish_pipeline(
    pipeline: &mut Value,
    path: &str,
    infer_type: bool,
    context: Context<'_>,
    problems: &mut Vec<Problem>,
) {
    if let Some(policy) = context.policy {
        check_fix_tool(pipeline, &child(path, "fix"), policy, problems);
        if let Some(output) = pipeline
            .pointer("/convert/output_path")
            .and_then(Value::as_str)
        {
            check_output(
                Path::new(output),
                &child(&child(path, "convert"), "output_path"),
                policy,
                problems,
            );
        }
    }
    let Some(load) = pipeline.get_mut("load").and_then(Value::as_object_mut) else {
        return;
    };
    let load_path = child(path, "load");
    if let Some(source) = load.get("source_path").and_then(Value::as_str) {
        let field = child(&load_path, "source_path");
        if let Some(resolved) = resolve_source(source, &field, context, problems) {
            load.insert("source_path".into(), Value::String(resolved));
        }
    }
    if infer_type && !load.contains_key("source_type") {
        if let Some(source) = load.get("source_path").and_then(Value::as_str) {
            match source_type_of(Path::new(source)) {
                Some(t) => {
                    load.insert("source_type".into(), Value::String(t.into()));
                }
                None => problems.push(Problem::new(
                    &child(&load_path, "source_type"),
                    format!(
                        "is required: the extension of source_path does not tell the type (one of {})",
                        SOURCE_TYPES.join(", ")
                    ),
                )),
            }
        }
    }
    if load.get("source_type").and_then(Value::as_str) == Some("ami")
        && !load.contains_key("ami_id")
    {
        problems.push(Problem::new(
            &child(&load_path, "ami_id"),
            "is required when source_type is ami",
        ));
    }
}

/// Artifact Manifest v1: one pipeline per disk.
fn artifact(
    value: &Value,
    document: &Map<String, Value>,
    context: Context<'_>,
    problems: &mut Vec<Problem>,
) -> Vec<VmPlan> {
    let normalized = check(value, &Ty::Object(ARTIFACT), "", problems);
    check_version(
        document.get("manifest_version"),
        "manifest_version",
        problems,
    );
    let stages = normalized.get("pipeline").cloned().unwrap_or(json!({}));
    let output = normalized.get("output").cloned().unwrap_or(json!({}));
    let format = output
        .get("format")
        .or_else(|| stages.pointer("/convert/output_format"))
        .and_then(Value::as_str)
        .unwrap_or("qcow2")
        .to_string();
    let disks = normalized
        .get("disks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let single_disk = disks.len() == 1;
    if let Some(policy) = context.policy {
        check_fix_tool(&stages, "pipeline.fix", policy, problems);
    }
    let output_field = if output.get("directory").is_some() {
        "output.directory"
    } else {
        "output.filename"
    };
    let mut plans = Vec::new();
    for (i, disk) in disks.iter().enumerate() {
        let path = item("disks", i);
        let id = disk.get("id").and_then(Value::as_str).unwrap_or_default();
        let mut load = Map::new();
        load.insert(
            "source_type".into(),
            disk.get("source_format").cloned().unwrap_or(Value::Null),
        );
        if let Some(local) = disk.get("local_path").and_then(Value::as_str) {
            let field = child(&path, "local_path");
            if let Some(resolved) = resolve_source(local, &field, context, problems) {
                load.insert("source_path".into(), Value::String(resolved));
            }
        }
        let mut convert = json!({
            "enabled": stages.pointer("/convert/enabled").cloned().unwrap_or(Value::Bool(true)),
            "output_format": format,
            "compress": stages.pointer("/convert/compress").cloned().unwrap_or(Value::Bool(true)),
        });
        let file_name = match output.get("filename").and_then(Value::as_str) {
            Some(name) if single_disk => name.to_string(),
            _ => format!("{id}.{format}"),
        };
        let output_path = match output.get("directory").and_then(Value::as_str) {
            Some(dir) => Some(
                Path::new(dir)
                    .join(&file_name)
                    .to_string_lossy()
                    .into_owned(),
            ),
            None if output.get("filename").is_some() => Some(file_name),
            None => None,
        };
        if let Some(overwrite) = stages.pointer("/convert/overwrite") {
            convert["overwrite"] = overwrite.clone();
        }
        if let Some(output_path) = output_path {
            if let Some(policy) = context.policy {
                check_output(Path::new(&output_path), output_field, policy, problems);
            }
            convert["output_path"] = Value::String(output_path);
        }
        let pipeline = json!({
            "load": load,
            "inspect": stages.get("inspect").cloned().unwrap_or(json!({})),
            "fix": stages.get("fix").cloned().unwrap_or(json!({})),
            "convert": convert,
            "validate": stages.get("validate").cloned().unwrap_or(json!({})),
        });
        plans.push(VmPlan::new(id.to_string(), pipeline));
    }
    check_unique_names(&plans, "disks", "id", problems);
    plans
}

/// The file stem of a path value, when there is one.
fn stem_of(path: Option<&Value>) -> Option<String> {
    let stem = Path::new(path?.as_str()?).file_stem()?.to_str()?;
    (!stem.is_empty()).then(|| stem.to_string())
}
