//! One dropped file, from `processing/` to its final place.
//!
//! Crash safety rests on three rules:
//! - the file is renamed into `processing/` *before* its ledger row is
//!   written, so a file there without a row was never started (it is started
//!   at the next start-up);
//! - every execution gets a request id derived from the row
//!   (`drop:<id>#vm<N>`, `...#vm<N>.<attempt>` for retries), so resuming
//!   finds the executions already started instead of starting them again;
//! - the final path is written to the row before the sidecar is written and
//!   the file renamed there, so a restart finishes the same move.
//!
//! Executions the daemon's own stop interrupted are started again (at most
//! [`MAX_ATTEMPTS`] in all); every other end is final: the file goes to
//! `processed/` when every VM succeeded, else to `failed/` with an
//! `.error.json` listing each VM.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Local;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::layout::{self, Layout};
use super::{DropMode, Folder};
use crate::clock::now_ms;
use crate::engine::EngineError;
use crate::events::ExecutionState;
use crate::manifest::disk::{self, DiskFile};
use crate::manifest::submit::{document_names, VmStart};
use crate::manifest::{
    self, Context, FormatHint, Kind, ManifestError, Problem, Validation, MAX_MANIFEST_BYTES,
};
use crate::policy::WorkflowPolicy;
use crate::store::{DropFileRecord, DropFileState, DropFileWrite, ExecutionRecord};

/// Runs of one VM, counting the first: an execution interrupted by a daemon
/// stop is started again until this many ran.
pub const MAX_ATTEMPTS: u32 = 3;

/// Why a job stopped before its file reached its final place.
enum Halt {
    /// The daemon is stopping: the next start resumes the job.
    Stop,
    /// The job cannot go on; the file fails with this error.
    Fail(String),
}

/// What happened to a file.
enum Outcome {
    /// Every VM succeeded.
    Done {
        kind: Option<Kind>,
        runs: Vec<VmRun>,
    },
    /// The file or a run failed.
    Failed {
        error: String,
        details: String,
        problems: Vec<Problem>,
        runs: Vec<VmRun>,
    },
}

/// The last run of one VM.
struct VmRun {
    name: String,
    execution: ExecutionRecord,
    attempts: u32,
}

/// A file that cannot be run, and why.
struct Rejection {
    error: String,
    problems: Vec<Problem>,
}

fn reject(error: impl Into<String>) -> Rejection {
    Rejection {
        error: error.into(),
        problems: Vec::new(),
    }
}

/// Starts a file just moved into `processing/` (or found there without a
/// ledger row): records it, then runs it.
pub(super) async fn run_new(
    folder: Arc<Folder>,
    processing_path: PathBuf,
    original_name: OsString,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
) {
    let _permit = match permit {
        Some(permit) => permit,
        None => match folder.slots.clone().acquire_owned().await {
            Ok(permit) => permit,
            Err(_) => return,
        },
    };
    let record = DropFileRecord {
        id: Uuid::now_v7().to_string(),
        folder: folder.layout.root.clone(),
        mode: folder.mode.as_str().to_string(),
        original_name: original_name.to_string_lossy().into_owned(),
        processing_path,
        state: DropFileState::Processing,
        batch_id: Some(Uuid::now_v7().to_string()),
        execution_ids: Vec::new(),
        taken_ms: now_ms(),
        final_path: None,
        final_state: None,
        finished_ms: None,
        error: String::new(),
    };
    if let Err(e) = folder
        .writer
        .drop_file(DropFileWrite::Insert(Box::new(record.clone())))
        .await
    {
        // The file stays in processing/ without a row; the next start runs it.
        tracing::error!(file = %record.processing_path.display(), error = %e, "cannot record a dropped file");
        return;
    }
    tracing::info!(file = %record.original_name, id = %record.id, folder = %folder.layout.root.display(), "took dropped file");
    run(folder, record).await;
}

/// Resumes a file whose row says it is still processing.
pub(super) async fn resume(folder: Arc<Folder>, record: DropFileRecord) {
    let Ok(_permit) = folder.slots.clone().acquire_owned().await else {
        return;
    };
    tracing::info!(file = %record.original_name, id = %record.id, "resuming dropped file");
    run(folder, record).await;
}

async fn run(folder: Arc<Folder>, record: DropFileRecord) {
    if std::fs::symlink_metadata(&record.processing_path).is_err() {
        // Moved already (a restart after the move), or removed by someone.
        let (state, level_lost) = match record.final_state {
            Some(state) if record.final_path.as_deref().is_some_and(exists) => (state, false),
            _ => (DropFileState::Lost, true),
        };
        if level_lost {
            tracing::warn!(file = %record.processing_path.display(), "a file being processed disappeared from processing/");
        }
        ledger(
            &folder,
            DropFileWrite::Finish {
                id: record.id.clone(),
                state,
                finished_ms: now_ms(),
            },
        )
        .await;
        return;
    }
    let outcome = match work(&folder, &record).await {
        Ok(outcome) => outcome,
        Err(Halt::Stop) => return,
        Err(Halt::Fail(error)) => Outcome::Failed {
            details: error.clone(),
            error,
            problems: Vec::new(),
            runs: Vec::new(),
        },
    };
    settle(&folder, record, outcome).await;
}

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

async fn ledger(folder: &Folder, write: DropFileWrite) -> bool {
    match folder.writer.drop_file(write).await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "cannot update the drop-folder ledger");
            false
        }
    }
}

/// Plans the file's runs, runs them and says how it went.
async fn work(folder: &Arc<Folder>, record: &DropFileRecord) -> Result<Outcome, Halt> {
    let layout = folder.layout.clone();
    let mode = folder.mode;
    let planned_record = record.clone();
    let policy = folder.runner.policy().clone();
    let planned =
        tokio::task::spawn_blocking(move || plan(&layout, mode, &policy, &planned_record))
            .await
            .map_err(|e| Halt::Fail(format!("planning failed: {e}")))?;
    let validation = match planned {
        Ok(validation) => validation,
        Err(rejection) => {
            let mut details = rejection.error.clone();
            for problem in &rejection.problems {
                details.push('\n');
                details.push_str(&problem.to_string());
            }
            return Ok(Outcome::Failed {
                error: rejection.error,
                details,
                problems: rejection.problems,
                runs: Vec::new(),
            });
        }
    };
    let runs = run_vms(folder, record, &validation).await?;
    let failed: Vec<&VmRun> = runs
        .iter()
        .filter(|r| r.execution.state != ExecutionState::Succeeded)
        .collect();
    if failed.is_empty() {
        return Ok(Outcome::Done {
            kind: validation.kind,
            runs,
        });
    }
    let error = if runs.len() == 1 {
        format!(
            "the pipeline of {} ended {}: {}",
            runs[0].name,
            runs[0].execution.state.as_str(),
            runs[0].execution.error
        )
    } else {
        format!(
            "{} of {} VMs did not succeed: {}",
            failed.len(),
            runs.len(),
            failed
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let details = runs
        .iter()
        .map(|r| {
            format!(
                "{}: execution {} {}{}",
                r.name,
                r.execution.id,
                r.execution.state.as_str(),
                if r.execution.error.is_empty() {
                    String::new()
                } else {
                    format!(": {}", r.execution.error)
                }
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Outcome::Failed {
        error,
        details,
        problems: Vec::new(),
        runs,
    })
}

/// Reads and checks the file; blocking.
fn plan(
    layout: &Layout,
    mode: DropMode,
    policy: &WorkflowPolicy,
    record: &DropFileRecord,
) -> Result<Validation, Rejection> {
    let path = &record.processing_path;
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| reject(format!("cannot inspect the file: {e}")))?;
    let source = if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path)
            .map_err(|e| reject(format!("cannot read the symbolic link: {e}")))?;
        // Relative links were made relative to to_be_processed/, where the
        // link was dropped.
        let target = if target.is_relative() {
            layout.incoming.join(target)
        } else {
            target
        };
        let resolved = std::fs::canonicalize(&target).map_err(|_| {
            reject(format!(
                "the file is a symbolic link to {}, which does not exist",
                target.display()
            ))
        })?;
        if !resolved.starts_with(&layout.root) {
            return Err(reject(format!(
                "the file is a symbolic link to {}, outside the drop folder {}; only links within the folder are followed",
                resolved.display(),
                layout.root.display()
            )));
        }
        if !resolved.is_file() {
            return Err(reject(format!(
                "the file is a symbolic link to {}, which is not a regular file",
                resolved.display()
            )));
        }
        resolved
    } else if meta.is_dir() {
        return Err(reject(
            "this is a directory; only files dropped at the top level of to_be_processed/ are processed",
        ));
    } else if !meta.is_file() {
        return Err(reject(
            "this is not a regular file (a fifo, socket or device); it was not read",
        ));
    } else {
        path.clone()
    };
    let len = std::fs::metadata(&source)
        .map_err(|e| reject(format!("cannot inspect the file: {e}")))?
        .len();
    if len == 0 {
        return Err(reject("the file is empty"));
    }
    let original = record.original_name.as_str();
    let stem = layout::stem(std::ffi::OsStr::new(original));
    let read = || -> Result<Vec<u8>, Rejection> {
        if len > MAX_MANIFEST_BYTES as u64 {
            return Err(reject(format!(
                "the file is {len} bytes; a manifest or job config may have at most {} MiB",
                MAX_MANIFEST_BYTES >> 20
            )));
        }
        std::fs::read(&source).map_err(|e| reject(format!("cannot read the file: {e}")))
    };
    let validation = match mode {
        DropMode::Manifest => manifest::validate(
            &read()?,
            FormatHint::Detect,
            Context {
                file_name: Some(original),
                base_dir: Some(&layout.root),
                policy: Some(policy),
            },
        ),
        DropMode::Disk => match disk::classify(Path::new(original)) {
            DiskFile::Disk => {
                let plan = disk::disk_plan(&source, &stem).map_err(|p| reject(p.message))?;
                Validation {
                    format: None,
                    kind: Some(Kind::Single),
                    problems: Vec::new(),
                    vms: vec![plan],
                }
            }
            DiskFile::JobConfig => {
                disk::job_config(&read()?, original, &stem, &layout.root, policy)
            }
            DiskFile::Other => {
                return Err(reject(format!(
                    "not a disk image (.{}) or a job config (.{})",
                    disk::DISK_EXTENSIONS.join(" ."),
                    disk::JOB_EXTENSIONS.join(" .")
                )))
            }
        },
    };
    if !validation.is_valid() {
        let what = match mode {
            DropMode::Manifest => "manifest",
            DropMode::Disk => "job config",
        };
        return Err(Rejection {
            error: format!(
                "invalid {what}: {} problem{}",
                validation.problems.len(),
                if validation.problems.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ),
            problems: validation.problems,
        });
    }
    Ok(validation)
}

/// The request id of attempt `attempt` of VM `index` of a dropped file.
fn attempt_request_id(id: &str, index: usize, attempt: u32) -> String {
    if attempt <= 1 {
        format!("drop:{id}#vm{index}")
    } else {
        format!("drop:{id}#vm{index}.{attempt}")
    }
}

/// Starts (or finds) every VM's execution and waits for all of them.
async fn run_vms(
    folder: &Arc<Folder>,
    record: &DropFileRecord,
    validation: &Validation,
) -> Result<Vec<VmRun>, Halt> {
    let batch_id = if validation.is_batch() {
        record.batch_id.clone()
    } else {
        None
    };
    let names = document_names(&validation.vms);
    let mut latest = Vec::with_capacity(validation.vms.len());
    for index in 0..validation.vms.len() {
        latest.push(latest_attempt(folder, record, index).await?);
    }
    let mut started = Vec::with_capacity(latest.len());
    for (index, found) in latest.into_iter().enumerate() {
        started.push(match found {
            Some(found) => found,
            None => {
                let execution =
                    start(folder, record, validation, &names, index, 1, &batch_id).await?;
                (execution, 1)
            }
        });
    }
    record_executions(folder, record, started.iter().map(|(e, _)| e)).await;

    let mut runs = Vec::with_capacity(started.len());
    let mut retried = false;
    for (index, (mut execution, mut attempt)) in started.into_iter().enumerate() {
        loop {
            let finished = wait_finished(folder, execution.id).await?;
            if finished.state == ExecutionState::Interrupted && attempt < MAX_ATTEMPTS {
                if folder.stopping() {
                    return Err(Halt::Stop);
                }
                tracing::info!(execution = %finished.id, vm = %validation.vms[index].name, "running an interrupted VM pipeline again");
                attempt += 1;
                execution = start(
                    folder, record, validation, &names, index, attempt, &batch_id,
                )
                .await?;
                retried = true;
                continue;
            }
            runs.push(VmRun {
                name: validation.vms[index].name.clone(),
                execution: finished,
                attempts: attempt,
            });
            break;
        }
    }
    if retried {
        record_executions(folder, record, runs.iter().map(|r| &r.execution)).await;
    }
    Ok(runs)
}

async fn record_executions<'a>(
    folder: &Folder,
    record: &DropFileRecord,
    executions: impl Iterator<Item = &'a ExecutionRecord>,
) {
    let execution_ids: Vec<String> = executions.map(|e| e.id.to_string()).collect();
    if execution_ids != record.execution_ids {
        ledger(
            folder,
            DropFileWrite::SetExecutions {
                id: record.id.clone(),
                execution_ids,
            },
        )
        .await;
    }
}

/// The newest execution a previous run of this job started for VM `index`.
async fn latest_attempt(
    folder: &Folder,
    record: &DropFileRecord,
    index: usize,
) -> Result<Option<(ExecutionRecord, u32)>, Halt> {
    let mut latest = None;
    for attempt in 1..=MAX_ATTEMPTS {
        let request_id = attempt_request_id(&record.id, index, attempt);
        match folder
            .runner
            .engine()
            .execution_by_request_id(&request_id)
            .await
        {
            Ok(Some(execution)) => latest = Some((execution, attempt)),
            Ok(None) => break,
            Err(e) => return Err(engine_halt(e)),
        }
    }
    Ok(latest)
}

/// Starts one attempt of one VM, waiting while the queue is full or the
/// pipeline workflow is not discovered.
#[allow(clippy::too_many_arguments)]
async fn start(
    folder: &Folder,
    record: &DropFileRecord,
    validation: &Validation,
    names: &[String],
    index: usize,
    attempt: u32,
    batch_id: &Option<String>,
) -> Result<ExecutionRecord, Halt> {
    let vm = &validation.vms[index];
    let mut labels = std::collections::BTreeMap::new();
    labels.insert("vm".to_string(), vm.name.clone());
    labels.insert(
        "drop_folder".to_string(),
        folder.layout.root.to_string_lossy().into_owned(),
    );
    labels.insert("drop_file".to_string(), record.original_name.clone());
    labels.insert("drop_id".to_string(), record.id.clone());
    if let Some(batch_id) = batch_id {
        labels.insert("batch_id".to_string(), batch_id.clone());
    }
    loop {
        if folder.stopping() {
            return Err(Halt::Stop);
        }
        let started = folder
            .runner
            .start_vm(VmStart {
                dir_id: &record.id,
                file_name: &names[index],
                vm,
                request_id: Some(attempt_request_id(&record.id, index, attempt)),
                batch_id: batch_id.clone(),
                labels: labels.clone(),
            })
            .await;
        let wait = match started {
            Ok(started) => return Ok(started.execution),
            Err(ManifestError::Engine(EngineError::QueueFull { .. })) => Duration::from_millis(250),
            Err(ManifestError::Engine(EngineError::WorkflowNotFound(_))) => Duration::from_secs(2),
            Err(ManifestError::Engine(EngineError::HistoryUnwritable(_))) => Duration::from_secs(1),
            Err(ManifestError::Engine(EngineError::ShuttingDown)) => return Err(Halt::Stop),
            Err(e) => {
                return Err(Halt::Fail(format!(
                    "cannot start the pipeline of {}: {e}",
                    vm.name
                )))
            }
        };
        tokio::time::sleep(wait).await;
    }
}

fn engine_halt(error: EngineError) -> Halt {
    match error {
        EngineError::ShuttingDown | EngineError::LeftQueued(_) => Halt::Stop,
        other => Halt::Fail(other.to_string()),
    }
}

/// Waits until an execution has finished. A daemon stopping first (the
/// execution left queued for the next start) stops the job, to be resumed.
async fn wait_finished(folder: &Folder, id: Uuid) -> Result<ExecutionRecord, Halt> {
    folder
        .runner
        .engine()
        .wait_for_end(&id.to_string())
        .await
        .map_err(engine_halt)
}

/// Moves the file to its final place with its sidecar, exactly once.
async fn settle(folder: &Arc<Folder>, record: DropFileRecord, outcome: Outcome) {
    let now = Local::now();
    let suffix_of = |state: DropFileState| match (state, folder.mode) {
        (DropFileState::Failed, _) => ".error.json",
        (_, DropMode::Manifest) => ".report.json",
        (_, DropMode::Disk) => ".meta.json",
    };
    let file_name = record
        .processing_path
        .file_name()
        .unwrap_or_default()
        .to_os_string();
    let (final_path, state) = match (&record.final_path, record.final_state) {
        // Decided before a restart: finish that move.
        (Some(path), Some(decided)) => (path.clone(), decided),
        _ => {
            let (state, base) = match &outcome {
                Outcome::Done { .. } => (DropFileState::Processed, &folder.layout.processed),
                Outcome::Failed { .. } => (DropFileState::Failed, &folder.layout.failed),
            };
            let dir = layout::date_dir(base, now);
            if let Err(e) = std::fs::create_dir_all(&dir) {
                tracing::error!(dir = %dir.display(), error = %e, "cannot create the destination of a dropped file");
                return;
            }
            let path = layout::free_path(&dir, &file_name, now, &[suffix_of(state)]);
            let error = match &outcome {
                Outcome::Failed { error, .. } => error.clone(),
                Outcome::Done { .. } => String::new(),
            };
            if !ledger(
                folder,
                DropFileWrite::Decide {
                    id: record.id.clone(),
                    final_path: path.clone(),
                    final_state: state,
                    error,
                },
            )
            .await
            {
                return;
            }
            (path, state)
        }
    };
    let suffix = suffix_of(state);
    let job_id = layout::stem(&file_name);
    let runner = folder.runner.clone();
    let mode = folder.mode;
    let sidecar_path = layout::sidecar(&final_path, suffix);
    let processing_path = record.processing_path.clone();
    let target = final_path.clone();
    let summary = record.clone();
    let moved = tokio::task::spawn_blocking(move || {
        let runs = match &outcome {
            Outcome::Done { runs, .. } | Outcome::Failed { runs, .. } => runs,
        };
        let vms: Vec<Value> = runs.iter().map(|r| vm_json(&runner, r)).collect();
        let content = sidecar_json(&summary, &job_id, mode, &outcome, vms, now);
        let bytes = serde_json::to_vec_pretty(&content).expect("sidecars serialize");
        crate::fs::write_atomic(&sidecar_path, &bytes, crate::fs::Access::Shared)
            .map_err(|e| format!("cannot write {}: {e}", sidecar_path.display()))?;
        std::fs::rename(&processing_path, &target)
            .map_err(|e| format!("cannot move it to {}: {e}", target.display()))
    })
    .await;
    match moved {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!(file = %record.processing_path.display(), error = %e, "cannot finish a dropped file; the next start retries");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "finishing a dropped file panicked");
            return;
        }
    }
    tracing::info!(file = %record.original_name, to = %final_path.display(), state = state.as_str(), "dropped file done");
    ledger(
        folder,
        DropFileWrite::Finish {
            id: record.id,
            state,
            finished_ms: now_ms(),
        },
    )
    .await;
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
/// keys, plus the drop id, the mode and each VM's run.
fn sidecar_json(
    record: &DropFileRecord,
    job_id: &str,
    mode: DropMode,
    outcome: &Outcome,
    vms: Vec<Value>,
    now: chrono::DateTime<Local>,
) -> Value {
    let time = now.to_rfc3339();
    let mut out = Map::new();
    out.insert("job_id".into(), json!(job_id));
    out.insert("original_name".into(), json!(record.original_name));
    match outcome {
        Outcome::Done { kind, .. } => {
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
        Outcome::Failed {
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
