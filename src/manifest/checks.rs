//! The checks of a manifest that its tables cannot express: the version,
//! VM names, unique names and outputs in a batch, and the operator's
//! policy (sources in the source roots, outputs in the output directory,
//! known fix tools). Shared by the pipeline manifests ([`plan`](super::plan))
//! and the drop folders' job configs ([`disk`](super::disk)).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::output_path::{first_output, is_further_disk_of, safe_name, today};
use super::pipeline::VERSIONS;
use super::schema::{child, item};
use super::{Context, Problem, VmPlan};
use crate::policy::{self, WorkflowPolicy};

/// `version` (at `path`) must be one this daemon reads.
pub(crate) fn check_version(version: Option<&Value>, path: &str, problems: &mut Vec<Problem>) {
    let ok = match version {
        None | Some(Value::Null) => return, // reported as required by the table
        Some(Value::String(s)) => VERSIONS.contains(&s.trim()),
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
pub(crate) fn check_name(name: &str, path: &str, problems: &mut Vec<Problem>) {
    if name.contains('/') || name.contains('\0') || name == "." || name == ".." {
        problems.push(Problem::new(
            path,
            format!("{name:?} cannot name a VM: it must not contain '/' or be '.' or '..'"),
        ));
    }
}

/// Names (or ids, `key`) of the items of `list` must differ.
pub(crate) fn check_unique_names(
    plans: &[VmPlan],
    list: &str,
    key: &str,
    problems: &mut Vec<Problem>,
) {
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
pub(crate) fn check_source(
    path: &Path,
    field: &str,
    policy: Option<&WorkflowPolicy>,
    problems: &mut Vec<Problem>,
) {
    if let Some(policy) = policy {
        refusal(policy.confine_source(path), field, problems);
    }
}

/// An output path (relative: to the output directory) must stay inside
/// the policy's output directory.
pub(crate) fn check_output(
    path: &Path,
    field: &str,
    policy: &WorkflowPolicy,
    problems: &mut Vec<Problem>,
) {
    refusal(policy.output_target(path), field, problems);
}

/// A policy's refusal, if any, as the problem of `field`.
fn refusal<T>(
    outcome: Result<T, impl std::fmt::Display>,
    field: &str,
    problems: &mut Vec<Problem>,
) {
    if let Err(e) = outcome {
        problems.push(Problem::new(field, e.to_string()));
    }
}

/// `fix.tool` (of the `fix` object at `fix_path` of `pipeline`), when
/// given, must name a configured tool.
pub(crate) fn check_fix_tool(
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

/// A source path (`field`) made absolute against the context's base
/// directory and checked against its policy; None (a problem pushed) when
/// it cannot be made absolute.
pub(crate) fn resolve_source(
    path: &str,
    field: &str,
    context: Context<'_>,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    match absolute(path, context.base_dir) {
        Ok(resolved) => {
            check_source(Path::new(&resolved), field, context.policy, problems);
            Some(resolved)
        }
        Err(message) => {
            problems.push(Problem::new(field, message));
            None
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
