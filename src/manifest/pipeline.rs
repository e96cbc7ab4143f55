//! The manifest formats as tables ([`schema`](super::schema)), the checks
//! a table cannot express (ami needs an ami_id, unique VM names, absolute
//! paths, ...) and the normalization of a valid manifest into one
//! `{name, pipeline}` document per VM with hyperctl's defaults applied.
//!
//! Formats (docs/hyper2kvm.md): the seed's pipeline manifest, single VM
//! (`{version, pipeline}`) or batch (`{version, batch: true, vms: [...]}`),
//! and hyper2kvm's later Artifact Manifest v1 (`{manifest_version, disks,
//! ...}`), which becomes one pipeline per disk, run as a batch.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::schema::{check, child, item, rule, Absent, Rule, Ty};
use super::{Context, Kind, Problem, VmPlan};
use crate::manifest::output_path::{first_output, is_further_disk_of, safe_name, today};
use crate::policy::{self, WorkflowPolicy};

/// Source types of the seed's format.
pub const SOURCE_TYPES: &[&str] = &["vmdk", "ova", "ovf", "vhd", "vhdx", "raw", "ami"];
/// fstab fix modes.
pub const FSTAB_MODES: &[&str] = &["stabilize-all", "bypath-only", "noop"];
/// Network fix levels.
pub const FIX_LEVELS: &[&str] = &["full", "basic", "none"];
/// Output disk formats (the seed's three, plus vmdk as the TUI offers).
pub const OUTPUT_FORMATS: &[&str] = &["qcow2", "raw", "vdi", "vmdk"];
/// How long the boot test lets a guest run unless the manifest says.
pub const DEFAULT_BOOT_TEST_SECONDS: i64 = 20;
/// The longest boot test a manifest may ask for: an hour.
pub const MAX_BOOT_TEST_SECONDS: i64 = 3600;
/// qemu accelerators of the boot test, the default first: KVM when it
/// works, else TCG; TCG alone, for machines where KVM is nested and crawls
/// (every exit of a guest firmware takes milliseconds there, as
/// libguestfs's `force_tcg` setting knows); KVM alone, to fail rather than
/// emulate.
pub const BOOT_ACCELERATORS: [&str; 3] = ["kvm:tcg", "tcg", "kvm"];
/// Disk formats of Artifact Manifest v1.
pub const ARTIFACT_SOURCE_FORMATS: &[&str] = &["vmdk", "qcow2", "raw", "vhd", "vhdx", "vdi"];

const INSPECT: &[Rule] = &[
    rule("enabled", Ty::Bool, Absent::Bool(true)),
    rule("detect_os", Ty::Bool, Absent::Bool(true)),
];
const FSTAB: &[Rule] = &[
    rule("enabled", Ty::Bool, Absent::Bool(true)),
    rule("mode", Ty::Enum(FSTAB_MODES), Absent::Str("stabilize-all")),
];
const GRUB: &[Rule] = &[rule("enabled", Ty::Bool, Absent::Bool(true))];
const INITRAMFS: &[Rule] = &[
    rule("enabled", Ty::Bool, Absent::Bool(true)),
    rule("regenerate", Ty::Bool, Absent::Bool(true)),
];
const NETWORK: &[Rule] = &[
    rule("enabled", Ty::Bool, Absent::Bool(true)),
    rule("fix_level", Ty::Enum(FIX_LEVELS), Absent::Str("full")),
];
const FIX: &[Rule] = &[
    rule("enabled", Ty::Bool, Absent::Bool(true)),
    rule("fstab", Ty::Object(FSTAB), Absent::Defaults),
    rule("grub", Ty::Object(GRUB), Absent::Defaults),
    rule("initramfs", Ty::Object(INITRAMFS), Absent::Defaults),
    rule("network", Ty::Object(NETWORK), Absent::Defaults),
    // Ours: which configured guest-fix tool (setting fix_tools) to use.
    rule("tool", Ty::Str, Absent::Skip),
];
const VALIDATE: &[Rule] = &[
    rule("enabled", Ty::Bool, Absent::Bool(true)),
    rule("boot_test", Ty::Bool, Absent::Bool(false)),
    // Not in hyper2kvm's format: how long the boot test lets the guest run
    // (a Windows guest may need longer than a Linux one to show trouble).
    rule(
        "boot_test_seconds",
        Ty::Int {
            min: 1,
            max: MAX_BOOT_TEST_SECONDS,
        },
        Absent::Int(DEFAULT_BOOT_TEST_SECONDS),
    ),
    // Ours too: the boot test's accelerator; when absent, the program's
    // `--boot-accel` input decides (default kvm:tcg).
    rule("boot_accel", Ty::Enum(&BOOT_ACCELERATORS), Absent::Skip),
];

// A single-VM manifest must say what its source is and what to make of it.
const LOAD_SINGLE: &[Rule] = &[
    rule("source_type", Ty::Enum(SOURCE_TYPES), Absent::Required),
    rule("source_path", Ty::Str, Absent::Required),
    rule("ami_id", Ty::Str, Absent::Skip),
];
const CONVERT_SINGLE: &[Rule] = &[
    rule("enabled", Ty::Bool, Absent::Bool(true)),
    rule("output_format", Ty::Enum(OUTPUT_FORMATS), Absent::Required),
    rule("compress", Ty::Bool, Absent::Bool(true)),
    rule("output_path", Ty::Str, Absent::Skip),
    // Ours: replace an output file that already exists.
    rule("overwrite", Ty::Bool, Absent::Skip),
];
const PIPELINE_SINGLE: &[Rule] = &[
    rule("load", Ty::Object(LOAD_SINGLE), Absent::Defaults),
    rule("inspect", Ty::Object(INSPECT), Absent::Defaults),
    rule("fix", Ty::Object(FIX), Absent::Defaults),
    rule("convert", Ty::Object(CONVERT_SINGLE), Absent::Defaults),
    rule("validate", Ty::Object(VALIDATE), Absent::Defaults),
];
const SINGLE: &[Rule] = &[
    rule("version", Ty::Version, Absent::Required),
    // Not in the seed's single format; accepted to name the VM.
    rule("name", Ty::Str, Absent::Skip),
    rule("batch", Ty::Bool, Absent::Skip),
    rule("pipeline", Ty::Object(PIPELINE_SINGLE), Absent::Required),
];

// In a batch only the source path is required: the type follows from the
// extension and the output format defaults to qcow2.
const LOAD_BATCH: &[Rule] = &[
    rule("source_type", Ty::Enum(SOURCE_TYPES), Absent::Skip),
    rule("source_path", Ty::Str, Absent::Required),
    rule("ami_id", Ty::Str, Absent::Skip),
];
const CONVERT_BATCH: &[Rule] = &[
    rule("enabled", Ty::Bool, Absent::Bool(true)),
    rule(
        "output_format",
        Ty::Enum(OUTPUT_FORMATS),
        Absent::Str("qcow2"),
    ),
    rule("compress", Ty::Bool, Absent::Bool(true)),
    rule("output_path", Ty::Str, Absent::Skip),
    rule("overwrite", Ty::Bool, Absent::Skip),
];
const PIPELINE_BATCH: &[Rule] = &[
    rule("load", Ty::Object(LOAD_BATCH), Absent::Defaults),
    rule("inspect", Ty::Object(INSPECT), Absent::Defaults),
    rule("fix", Ty::Object(FIX), Absent::Defaults),
    rule("convert", Ty::Object(CONVERT_BATCH), Absent::Defaults),
    rule("validate", Ty::Object(VALIDATE), Absent::Defaults),
];
const VM: &[Rule] = &[
    rule("name", Ty::Str, Absent::Required),
    rule("pipeline", Ty::Object(PIPELINE_BATCH), Absent::Required),
];
const VM_ITEM: Ty = Ty::Object(VM);
const BATCH: &[Rule] = &[
    rule("version", Ty::Version, Absent::Required),
    rule("batch", Ty::Bool, Absent::Skip),
    rule(
        "vms",
        Ty::List {
            item: &VM_ITEM,
            min: 1,
        },
        Absent::Required,
    ),
];

// Artifact Manifest v1.
const ARTIFACT_VM: &[Rule] = &[
    rule("name", Ty::Str, Absent::Skip),
    rule("cpu", Ty::at_least(1), Absent::Skip),
    rule("mem_gb", Ty::Positive, Absent::Skip),
    rule(
        "firmware",
        Ty::Enum(&["bios", "uefi", "unknown"]),
        Absent::Skip,
    ),
    rule("secure_boot", Ty::Bool, Absent::Skip),
    rule("os_hint", Ty::Str, Absent::Skip),
];
const DISK: &[Rule] = &[
    rule(
        "id",
        Ty::Pattern {
            regex: "^[a-zA-Z0-9_-]+$",
            meaning: "letters, digits, _ and - only",
        },
        Absent::Required,
    ),
    rule(
        "source_format",
        Ty::Enum(ARTIFACT_SOURCE_FORMATS),
        Absent::Required,
    ),
    rule("bytes", Ty::at_least(0), Absent::Required),
    rule("local_path", Ty::Str, Absent::Required),
    rule(
        "checksum",
        Ty::Pattern {
            regex: "^sha256:[0-9a-fA-F]{64}$",
            meaning: "\"sha256:\" followed by 64 hex digits",
        },
        Absent::Skip,
    ),
    rule("boot_order_hint", Ty::at_least(0), Absent::Skip),
    rule("disk_type", Ty::Str, Absent::Skip),
];
const DISK_ITEM: Ty = Ty::Object(DISK);
const ARTIFACT_CONVERT: &[Rule] = &[
    rule("enabled", Ty::Bool, Absent::Bool(true)),
    rule("output_format", Ty::Enum(OUTPUT_FORMATS), Absent::Skip),
    rule("compress", Ty::Bool, Absent::Bool(true)),
    rule("overwrite", Ty::Bool, Absent::Skip),
];
const ARTIFACT_PIPELINE: &[Rule] = &[
    rule("inspect", Ty::Object(INSPECT), Absent::Defaults),
    rule("fix", Ty::Object(FIX), Absent::Defaults),
    rule("convert", Ty::Object(ARTIFACT_CONVERT), Absent::Defaults),
    rule("validate", Ty::Object(VALIDATE), Absent::Defaults),
];
const ARTIFACT_OUTPUT: &[Rule] = &[
    rule("directory", Ty::Str, Absent::Skip),
    rule("format", Ty::Enum(OUTPUT_FORMATS), Absent::Skip),
    rule("filename", Ty::Str, Absent::Skip),
];
const ARTIFACT: &[Rule] = &[
    rule("manifest_version", Ty::Version, Absent::Required),
    rule("source", Ty::AnyObject, Absent::Skip),
    rule("vm", Ty::Object(ARTIFACT_VM), Absent::Skip),
    rule(
        "disks",
        Ty::List {
            item: &DISK_ITEM,
            min: 1,
        },
        Absent::Required,
    ),
    rule("pipeline", Ty::Object(ARTIFACT_PIPELINE), Absent::Defaults),
    rule("output", Ty::Object(ARTIFACT_OUTPUT), Absent::Skip),
];

/// Which format a parsed document is in.
pub(crate) fn kind_of(document: &Map<String, Value>) -> Kind {
    if document.contains_key("manifest_version") || document.contains_key("disks") {
        Kind::ArtifactV1
    } else if document.contains_key("vms") || document.get("batch") == Some(&Value::Bool(true)) {
        Kind::Batch
    } else {
        Kind::Single
    }
}

/// Validates a document of a known kind; returns the VM plans (meaningful
/// only when no problem was pushed).
pub(crate) fn validate(
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
            let pipeline = normalized.get("pipeline").cloned().unwrap_or(Value::Null);
            let mut pipeline = pipeline;
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
            if document.get("batch") == Some(&Value::Bool(false)) {
                problems.push(Problem::new(
                    "batch",
                    "must be true (or left out) in a manifest with vms",
                ));
            }
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
        match absolute(source, context.base_dir) {
            Ok(resolved) => {
                check_source(Path::new(&resolved), &field, context.policy, problems);
                load.insert("source_path".into(), Value::String(resolved));
            }
            Err(message) => problems.push(Problem::new(&field, message)),
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
            match absolute(local, context.base_dir) {
                Ok(resolved) => {
                    check_source(Path::new(&resolved), &field, context.policy, problems);
                    load.insert("source_path".into(), Value::String(resolved));
                }
                Err(message) => problems.push(Problem::new(&field, message)),
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

fn check_version(version: Option<&Value>, path: &str, problems: &mut Vec<Problem>) {
    let ok = match version {
        None | Some(Value::Null) => return, // reported as required by the table
        Some(Value::String(s)) => matches!(s.trim(), "1" | "1.0"),
        Some(Value::Number(n)) => n.as_f64() == Some(1.0),
        Some(_) => return, // reported as a type error by the table
    };
    if !ok {
        let given = match version {
            Some(Value::String(s)) => format!("{s:?}"),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        problems.push(Problem::new(
            path,
            format!("unsupported version {given}; this daemon reads version \"1.0\""),
        ));
    }
}

/// VM names become file names and output directories: no path separators.
fn check_name(name: &str, path: &str, problems: &mut Vec<Problem>) {
    if name.contains('/') || name.contains('\0') || name == "." || name == ".." {
        problems.push(Problem::new(
            path,
            format!("{name:?} cannot name a VM: it must not contain '/' or be '.' or '..'"),
        ));
    }
}

fn check_unique_names(plans: &[VmPlan], list: &str, key: &str, problems: &mut Vec<Problem>) {
    for (i, plan) in plans.iter().enumerate() {
        if plan.name.is_empty() {
            continue;
        }
        if let Some(first) = plans[..i].iter().position(|p| p.name == plan.name) {
            problems.push(Problem::new(
                &child(&item(list, i), key),
                format!(
                    "duplicate {key} {:?} (also {}.{key})",
                    plan.name,
                    item(list, first)
                ),
            ));
        }
    }
}

/// A source path (absolute) must be inside a source root of the policy.
fn check_source(
    path: &Path,
    field: &str,
    policy: Option<&WorkflowPolicy>,
    problems: &mut Vec<Problem>,
) {
    if let Some(Err(e)) = policy.map(|p| p.confine_source(path)) {
        problems.push(Problem::new(field, e.to_string()));
    }
}

/// An output path (relative: to the output directory) must stay inside
/// the policy's output directory.
fn check_output(path: &Path, field: &str, policy: &WorkflowPolicy, problems: &mut Vec<Problem>) {
    if let Err(e) = policy.output_target(path) {
        problems.push(Problem::new(field, e.to_string()));
    }
}

/// `fix.tool` (of the `fix` object at `fix_path` of `pipeline`), when
/// given, must name a configured tool.
fn check_fix_tool(
    pipeline: &Value,
    fix_path: &str,
    policy: &WorkflowPolicy,
    problems: &mut Vec<Problem>,
) {
    let Some(tool) = pipeline.pointer("/fix/tool").and_then(Value::as_str) else {
        return;
    };
    let known = policy.fix_tool_names();
    if !known.iter().any(|k| k == tool) {
        problems.push(Problem::new(
            &child(fix_path, "tool"),
            format!(
                "{tool:?} is not a configured fix tool; the configured ones (setting \
                 fix_tools) are: {}",
                known.join(", ")
            ),
        ));
    }
}

/// Every output of a batch must be a file of its own: two VMs whose names
/// differ only in what the file-name rule replaces (`web 01`, `web:01`),
/// equal output paths, or one VM's further disks (`<name>-diskN`, for OVA
/// and OVF sources, which may hold several) on another's output would
/// overwrite each other. Refused, naming both items and the path.
pub(crate) fn check_unique_outputs(
    plans: &[VmPlan],
    list: &str,
    policy: Option<&WorkflowPolicy>,
    problems: &mut Vec<Problem>,
) {
    // Without a policy (a local check) the outputs are compared as they
    // would be under any one output directory.
    let output_dir = policy.map_or_else(|| PathBuf::from("/OUTPUT_DIR"), |p| p.output_dir.clone());
    let date = today();
    let outputs: Vec<Option<(PathBuf, bool)>> = plans
        .iter()
        .map(|plan| {
            let pipeline = plan.document.get("pipeline")?;
            let format = pipeline.pointer("/convert/output_format")?.as_str()?;
            let output_path = pipeline
                .pointer("/convert/output_path")
                .and_then(Value::as_str)
                .map(Path::new);
            let first = first_output(
                &output_dir,
                &safe_name(&plan.name),
                output_path,
                format,
                &date,
            );
            let first =
                policy::resolve(&first).unwrap_or_else(|_| policy::normalize_lexically(&first));
            let several_disks = matches!(
                pipeline
                    .pointer("/load/source_type")
                    .and_then(Value::as_str),
                Some("ova" | "ovf")
            );
            Some((first, several_disks))
        })
        .collect();
    for (j, later) in outputs.iter().enumerate() {
        let Some((path, several)) = later else {
            continue;
        };
        for (i, earlier) in outputs[..j].iter().enumerate() {
            let Some((earlier_path, earlier_several)) = earlier else {
                continue;
            };
            let clash = if earlier_path == path
                || (*earlier_several && is_further_disk_of(earlier_path, path))
            {
                Some(path.clone())
            } else if *several && is_further_disk_of(path, earlier_path) {
                Some(earlier_path.clone())
            } else {
                None
            };
            if let Some(clash) = clash {
                problems.push(Problem::new(
                    &item(list, j),
                    format!(
                        "{} ({:?}) and {} ({:?}) would both write {}; give them names that \
                         differ in more than the characters file names replace, or distinct \
                         convert.output_path values",
                        item(list, i),
                        plans[i].name,
                        item(list, j),
                        plans[j].name,
                        clash.display()
                    ),
                ));
                break;
            }
        }
    }
}

/// `path` made absolute against `base_dir`, or why it cannot be.
fn absolute(path: &str, base_dir: Option<&Path>) -> Result<String, String> {
    let p = Path::new(path);
    if p.is_absolute() {
        return Ok(path.to_string());
    }
    match base_dir {
        Some(base) => Ok(base.join(p).to_string_lossy().into_owned()),
        None => Err(format!(
            "must be an absolute path; {path:?} is relative and the daemon cannot know to what"
        )),
    }
}

/// The source type a file's extension implies.
pub(crate) fn source_type_of(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "vmdk" => "vmdk",
        "ova" => "ova",
        "ovf" => "ovf",
        "vhd" => "vhd",
        "vhdx" => "vhdx",
        "raw" | "img" => "raw",
        "ami" => "ami",
        _ => return None,
    })
}

fn stem_of(path: Option<&Value>) -> Option<String> {
    let stem = Path::new(path?.as_str()?).file_stem()?.to_str()?;
    (!stem.is_empty()).then(|| stem.to_string())
}
