//! The sidecar file written next to a dropped file at its final place:
//! `.report.json` (manifest mode) or `.meta.json` (disk mode) when every
//! VM succeeded, `.error.json` otherwise. Upstream's keys, plus the drop
//! id, the mode and each VM's run with its pipeline report.

use std::path::Path;

use chrono::Local;
use serde_json::{json, Map, Value};

use super::super::{layout, DropMode};
use super::{FileOutcome, VmRun};
use crate::manifest::{self, Kind, Problem};
use crate::store::{DropFileRecord, DropFileState};

/// The name suffix of the sidecar of a file that ended in `state`.
pub(super) fn suffix(state: DropFileState, mode: DropMode) -> &'static str {
    match (state, mode) {
        (DropFileState::Failed, _) => ".error.json",
        (_, DropMode::Manifest) => ".report.json",
        (_, DropMode::Disk) => ".meta.json",
    }
}

/// Writes the sidecar of `record` at `path`, atomically and readable by
/// all (the folder's users read it).
pub(super) fn write(
    path: &Path,
    runner: &manifest::ManifestRunner,
    record: &DropFileRecord,
    mode: DropMode,
    outcome: &FileOutcome,
    now: chrono::DateTime<Local>,
) -> Result<(), String> {
    let runs = match outcome {
        FileOutcome::Done { runs, .. } | FileOutcome::Failed { runs, .. } => runs,
    };
    let vms: Vec<Value> = runs.iter().map(|r| vm_json(runner, r)).collect();
    let content = content(record, mode, outcome, vms, now);
    let bytes = serde_json::to_vec_pretty(&content).expect("sidecars serialize");
    crate::fs::write_atomic(path, &bytes, crate::fs::Access::Shared)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// One VM's run in a sidecar: its execution and its pipeline report.
fn vm_json(runner: &manifest::ManifestRunner, run: &VmRun) -> Value {
    let mut vm = json!({
        "name": run.name,
        "execution_id": run.execution.id.to_string(),
        "state": run.execution.state.as_str(),
        "attempts": run.attempts,
        "exit_code": run.execution.exit_code,
        "error": run.execution.error,
    });
    match runner.report(&run.execution) {
        Some((path, Ok(report))) => {
            vm["report_path"] = Value::String(path.to_string_lossy().into_owned());
            vm["report"] = report;
        }
        Some((path, Err(why))) => {
            vm["report_path"] = Value::String(path.to_string_lossy().into_owned());
            vm["report_error"] = Value::String(why);
        }
        None => {
            vm["report"] = Value::Null;
        }
    }
    vm
}

/// The `.report.json`, `.meta.json` or `.error.json` of a file: upstream's
/// keys (`job_id` is the name it was taken under, without its extension),
/// plus the drop id, the mode and each VM's run.
pub(super) fn content(
    record: &DropFileRecord,
    mode: DropMode,
    outcome: &FileOutcome,
    vms: Vec<Value>,
    now: chrono::DateTime<Local>,
) -> Value {
    let time = now.to_rfc3339();
    let file_name = record.processing_path.file_name().unwrap_or_default();
    let job_id = layout::stem(file_name);
    let mut out = Map::new();
    out.insert("job_id".into(), json!(job_id));
    out.insert("original_name".into(), json!(record.original_name));
    match outcome {
        FileOutcome::Done { kind, .. } => {
            if mode == DropMode::Manifest {
                out.insert("manifest".into(), json!(record.original_name));
                out.insert("status".into(), json!("completed"));
            } else {
                out.insert("status".into(), json!("success"));
            }
            out.insert("completed_at".into(), json!(time));
            if kind.is_some_and(Kind::is_batch) {
                out.insert("batch_id".into(), json!(record.batch_id));
            }
            // A single VM's report is the file's report, as upstream writes it.
            if let [vm] = vms.as_slice() {
                if let Some(Value::Object(report)) = vm.get("report") {
                    for (key, value) in report {
                        out.entry(key.clone()).or_insert_with(|| value.clone());
                    }
                }
            }
        }
        FileOutcome::Failed {
            error,
            details,
            problems,
            ..
        } => {
            out.insert("failed_at".into(), json!(time));
            out.insert("error".into(), json!(error));
            out.insert("exception".into(), json!(details));
            out.insert("status".into(), json!("failed"));
            if !problems.is_empty() {
                out.insert(
                    "problems".into(),
                    Value::Array(problems.iter().map(Problem::to_json).collect()),
                );
            }
        }
    }
    out.insert("drop_id".into(), json!(record.id));
    out.insert("mode".into(), json!(mode.as_str()));
    if !vms.is_empty() {
        out.insert("vms".into(), Value::Array(vms));
    }
    Value::Object(out)
}
