//! The manifest formats' tables ([`pipeline`](super::pipeline)) as a JSON
//! Schema (draft 2020-12) for editors, published as
//! `docs/manifest.schema.json`. Generated, never written by hand, so the
//! validator and the schema cannot disagree about a key, a type, a default
//! or an allowed value. A test fails when the file differs from what
//! [`json_schema`] gives; `UPDATE_SCHEMA=1 cargo test --lib
//! manifest::json_schema` rewrites it.
//!
//! What the tables cannot express (unique names, `ami` needing `ami_id`,
//! paths inside the operator's directories) is left to the daemon's
//! ValidateManifest.

use serde_json::{json, Map, Value};

use super::pipeline::{ARTIFACT, BATCH, SINGLE, VERSIONS};
use super::schema::{Absent, Rule, Ty};

/// The JSON Schema of a pipeline manifest: a single-VM manifest, a batch
/// or an Artifact Manifest v1.
pub(crate) fn json_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "workflowd VM pipeline manifest",
        "description": "A hyper2kvm pipeline manifest as workflowd reads it (docs/manifests.md): \
            one VM, a batch of VMs, or an Artifact Manifest v1. Generated from the daemon's \
            tables (src/manifest/pipeline.rs); do not edit.",
        "oneOf": [
            format("Single VM", "{version, pipeline}", SINGLE),
            format("Batch", "{version, batch: true, vms: [{name, pipeline}, ...]}", BATCH),
            format(
                "Artifact Manifest v1",
                "{manifest_version, disks: [...]}: one pipeline per disk, run as a batch",
                ARTIFACT,
            ),
        ],
    })
}

/// One of the formats, titled.
fn format(title: &str, shape: &str, rules: &[Rule]) -> Value {
    let mut schema = object(rules);
    schema.insert("title".into(), Value::from(title));
    schema.insert("description".into(), Value::from(shape));
    Value::Object(schema)
}

/// A mapping with these keys only.
fn object(rules: &[Rule]) -> Map<String, Value> {
    let properties: Map<String, Value> = rules
        .iter()
        .map(|rule| (rule.key.to_string(), Value::Object(property(rule))))
        .collect();
    let required: Vec<&str> = rules
        .iter()
        .filter(|rule| required(rule))
        .map(|rule| rule.key)
        .collect();
    let mut schema = Map::new();
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        schema.insert("required".into(), json!(required));
    }
    schema.insert("additionalProperties".into(), Value::Bool(false));
    schema
}

/// One key: its type, description and default. A key that may be left
/// out may also be null, which the validator reads as absent (`inspect:`
/// left empty in YAML).
fn property(rule: &Rule) -> Map<String, Value> {
    let mut schema = of_type(&rule.ty);
    if !rule.doc.is_empty() {
        schema.insert("description".into(), Value::from(rule.doc));
    }
    let default = match rule.absent {
        Absent::Bool(b) => Some(Value::Bool(b)),
        Absent::Str(s) => Some(Value::from(s)),
        Absent::Int(n) => Some(Value::from(n)),
        Absent::Skip | Absent::Required | Absent::Defaults => None,
    };
    if let Some(default) = default {
        schema.insert("default".into(), default);
    }
    if !required(rule) {
        allow_null(&mut schema);
    }
    schema
}

/// Whether a key must be given: a required one, or a mapping filled in
/// when absent whose own keys cannot all be left out (`pipeline.load`).
fn required(rule: &Rule) -> bool {
    match (&rule.absent, &rule.ty) {
        (Absent::Required, _) => true,
        (Absent::Defaults, Ty::Object(rules)) => rules.iter().any(required),
        _ => false,
    }
}

/// What a value of `ty` may be.
fn of_type(ty: &Ty) -> Map<String, Value> {
    let schema = match ty {
        // The validator refuses strings of white space only.
        Ty::Str => json!({"type": "string", "pattern": "\\S"}),
        Ty::Bool => json!({"type": "boolean"}),
        // An enum of one rather than `const`, so that a key that may be
        // left out may also be null, as everywhere else.
        Ty::Exactly { value, meaning } => {
            json!({"type": "boolean", "enum": [value], "$comment": meaning})
        }
        Ty::Int { min, max } if *max == i64::MAX => json!({"type": "integer", "minimum": min}),
        Ty::Int { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
        Ty::Positive => json!({"type": "number", "exclusiveMinimum": 0}),
        Ty::Enum(allowed) => json!({"type": "string", "enum": allowed}),
        Ty::Pattern { regex, meaning } => {
            json!({"type": "string", "pattern": regex, "$comment": meaning})
        }
        Ty::Version => {
            let mut versions: Vec<Value> = VERSIONS.iter().map(|v| Value::from(*v)).collect();
            versions.push(Value::from(1));
            json!({"type": ["string", "number"], "enum": versions})
        }
        Ty::AnyObject => json!({"type": "object"}),
        Ty::Object(rules) => return object(rules),
        Ty::List { item, min } => json!({
            "type": "array",
            "items": Value::Object(of_type(item)),
            "minItems": min,
        }),
    };
    match schema {
        Value::Object(map) => map,
        _ => unreachable!("every schema above is an object"),
    }
}

/// Lets a schema's value be null as well.
fn allow_null(schema: &mut Map<String, Value>) {
    match schema.get_mut("type") {
        Some(Value::Array(types)) => types.push(json!("null")),
        Some(single) => *single = json!([single.clone(), "null"]),
        None => {}
    }
    if let Some(Value::Array(allowed)) = schema.get_mut("enum") {
        allowed.push(Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{parse, validate, Context, FormatHint};

    /// Where the published schema is, relative to the repository.
    const SCHEMA_FILE: &str = "docs/manifest.schema.json";

    /// The schema as the published file has it.
    fn json_schema_text() -> String {
        let mut text = serde_json::to_string_pretty(&json_schema()).expect("schemas serialize");
        text.push('\n');
        text
    }

    /// What the daemon's validator and a real JSON Schema validator, as an
    /// editor runs it, each say of `content`: (valid, valid).
    fn verdicts(content: &str) -> (bool, bool) {
        let daemon = validate(content.as_bytes(), FormatHint::Detect, Context::default());
        let (_, document) = parse(content.as_bytes(), FormatHint::Detect, None)
            .unwrap_or_else(|(_, problem)| panic!("{problem}: {content}"));
        let editor = jsonschema::validator_for(&json_schema()).expect("the schema compiles");
        (daemon.is_valid(), editor.is_valid(&Value::Object(document)))
    }

    #[test]
    fn manifests_the_daemon_takes_the_schema_takes_too() {
        let manifests = [
            r#"{"version": "1.0", "pipeline": {"load": {"source_type": "vmdk", "source_path": "/d/web.vmdk"},
                "convert": {"output_format": "qcow2"}}}"#,
            r#"{"version": "1.0", "name": "my-vm", "pipeline": {
                "load": {"source_type": "ami", "source_path": "/data/my-vm.raw", "ami_id": "ami-0123"},
                "inspect": {"enabled": true, "detect_os": true},
                "fix": {"fstab": {"enabled": true, "mode": "bypath-only"}, "grub": {"enabled": false},
                        "initramfs": {"enabled": true, "regenerate": false},
                        "network": {"enabled": true, "fix_level": "none"}, "tool": "virt-customize"},
                "convert": {"output_format": "vdi", "compress": false, "output_path": "my-vm.vdi", "overwrite": true},
                "validate": {"enabled": true, "boot_test": true, "boot_test_seconds": 3600, "boot_accel": "tcg"}}}"#,
            "version: 1.0\nbatch: true\nvms:\n  - name: a\n    pipeline:\n      load: {source_path: /d/a.img}\n      inspect:\n  - name: b\n    pipeline:\n      load: {source_path: /d/b.vhdx}\n      convert: {output_format: raw}\n",
            r#"{"manifest_version": "1.0", "source": {"kind": "vsphere"},
                "vm": {"name": "web", "cpu": 2, "mem_gb": 0.5, "firmware": "uefi", "secure_boot": false, "os_hint": "linux"},
                "disks": [{"id": "boot", "source_format": "qcow2", "bytes": 1024, "local_path": "/d/boot.qcow2",
                           "checksum": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                           "boot_order_hint": 0, "disk_type": "os"}],
                "pipeline": {"convert": {"output_format": "raw"}, "validate": {"boot_test": false}},
                "output": {"directory": "/out", "filename": "web.raw"}}"#,
        ];
        for manifest in manifests {
            assert_eq!(verdicts(manifest), (true, true), "{manifest}");
        }
    }

    #[test]
    fn what_the_tables_refuse_the_schema_refuses_too() {
        let single = |pipeline: &str| {
            format!(
                r#"{{"version": "1.0", "pipeline": {{"load": {{"source_type": "raw", "source_path": "/d/a.raw"}}, {pipeline}}}}}"#
            )
        };
        let manifests = [
            single(r#""convert": {"output_format": "qcow2", "compres": true}"#),
            single(r#""convert": {"output_format": "qcow3"}"#),
            single(r#""validate": {"boot_test_seconds": 3601}"#),
            single(r#""convert": {"output_format": "qcow2"}, "fix": {"tool": " "}"#),
            r#"{"version": "1.0", "pipeline": {"load": {"source_path": "/d/a.raw"}, "convert": {"output_format": "raw"}}}"#.to_string(),
            r#"{"version": "2", "pipeline": {"load": {"source_type": "raw", "source_path": "/d/a.raw"}, "convert": {"output_format": "raw"}}}"#.to_string(),
            r#"{"version": "1.0", "vms": []}"#.to_string(),
            // `batch` names the format: true needs vms, false forbids them.
            r#"{"version": "1.0", "batch": true, "pipeline": {"load": {"source_type": "raw", "source_path": "/d/a.raw"}, "convert": {"output_format": "qcow2"}}}"#.to_string(),
            r#"{"version": "1.0", "batch": false, "vms": [{"name": "a", "pipeline": {"load": {"source_path": "/d/a.raw"}}}]}"#.to_string(),
            r#"{"version": "1.0", "vms": [{"pipeline": {"load": {"source_path": "/d/a.raw"}}}]}"#.to_string(),
            r#"{"manifest_version": "1.0", "disks": [{"id": "bad id", "source_format": "qcow2", "bytes": 1, "local_path": "/d/a"}]}"#.to_string(),
            r#"{"manifest_version": "1.0", "vm": {"mem_gb": 0}, "disks": [{"id": "a", "source_format": "qcow2", "bytes": 1, "local_path": "/d/a"}]}"#.to_string(),
        ];
        for manifest in &manifests {
            assert_eq!(verdicts(manifest), (false, false), "{manifest}");
        }
    }

    #[test]
    fn the_published_schema_is_the_tables() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SCHEMA_FILE);
        let generated = json_schema_text();
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &generated).expect("write the schema");
            return;
        }
        let published = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            published == generated,
            "{SCHEMA_FILE} differs from the manifest tables; regenerate it with \
             `UPDATE_SCHEMA=1 cargo test --lib manifest::json_schema`"
        );
    }

    #[test]
    fn keys_that_may_be_absent_may_be_null_and_show_their_default() {
        let schema = json_schema();
        let single = &schema["oneOf"][0];
        assert_eq!(single["required"], json!(["version", "pipeline"]));
        assert_eq!(single["additionalProperties"], false);
        let fstab_mode = &single["properties"]["pipeline"]["properties"]["fix"]["properties"]
            ["fstab"]["properties"]["mode"];
        assert_eq!(fstab_mode["default"], "stabilize-all");
        assert_eq!(
            fstab_mode["enum"],
            json!(["stabilize-all", "bypath-only", "noop", null])
        );
        let pipeline = &single["properties"]["pipeline"];
        // load cannot be left out: its source_type and source_path are
        // required; inspect can.
        assert_eq!(
            pipeline["required"],
            json!(["load", "convert"]),
            "{pipeline:#}"
        );
        assert_eq!(pipeline["properties"]["load"]["type"], "object");
        assert_eq!(
            pipeline["properties"]["inspect"]["type"],
            json!(["object", "null"])
        );
    }
}
