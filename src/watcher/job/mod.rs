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

mod plan;
mod run;
mod sidecar;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::Local;
use uuid::Uuid;

use super::layout;
use super::Folder;
use crate::clock::now_ms;
use crate::events::ExecutionState;
use crate::manifest::{Kind, Problem};
use crate::store::{DropFileRecord, DropFileState, DropFileWrite, ExecutionRecord};

/// Runs of one VM, counting the first: an execution interrupted by a daemon
/// stop is started again until this many ran.
pub(crate) const MAX_ATTEMPTS: u32 = 3;

/// Why a job stopped before its file reached its final place.
enum Halt {
    /// The daemon is stopping: the next start resumes the job.
    Stop,
    /// The job cannot go on; the file fails with this error.
    Fail(String),
}

/// What happened to a file.
enum FileOutcome {
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
    folder.count("taken");
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
            folder.count(DropFileState::Lost.as_str());
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
        Err(Halt::Fail(error)) => FileOutcome::Failed {
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
async fn work(folder: &Arc<Folder>, record: &DropFileRecord) -> Result<FileOutcome, Halt> {
    let layout = folder.layout.clone();
    let mode = folder.mode;
    let planned_record = record.clone();
    let policy = folder.runner.policy().clone();
    let planned =
        tokio::task::spawn_blocking(move || plan::plan(&layout, mode, &policy, &planned_record))
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
            return Ok(FileOutcome::Failed {
                error: rejection.error,
                details,
                problems: rejection.problems,
                runs: Vec::new(),
            });
        }
    };
    let runs = run::run_vms(folder, record, &validation).await?;
    let failed: Vec<&VmRun> = runs
        .iter()
        .filter(|r| r.execution.state != ExecutionState::Succeeded)
        .collect();
    if failed.is_empty() {
        return Ok(FileOutcome::Done {
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
    Ok(FileOutcome::Failed {
        error,
        details,
        problems: Vec::new(),
        runs,
    })
}

/// Moves the file to its final place with its sidecar, exactly once.
async fn settle(folder: &Arc<Folder>, record: DropFileRecord, outcome: FileOutcome) {
    let now = Local::now();
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
                FileOutcome::Done { .. } => (DropFileState::Processed, &folder.layout.processed),
                FileOutcome::Failed { .. } => (DropFileState::Failed, &folder.layout.failed),
            };
            let dir = layout::date_dir(base, now);
            if let Err(e) = std::fs::create_dir_all(&dir) {
                tracing::error!(dir = %dir.display(), error = %e, "cannot create the destination of a dropped file");
                return;
            }
            let path = layout::free_path(
                &dir,
                &file_name,
                now,
                &[sidecar::suffix(state, folder.mode)],
            );
            let error = match &outcome {
                FileOutcome::Failed { error, .. } => error.clone(),
                FileOutcome::Done { .. } => String::new(),
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
    let suffix = sidecar::suffix(state, folder.mode);
    let runner = folder.runner.clone();
    let mode = folder.mode;
    let sidecar_path = layout::sidecar(&final_path, suffix);
    let processing_path = record.processing_path.clone();
    let target = final_path.clone();
    let summary = record.clone();
    let moved = tokio::task::spawn_blocking(move || {
        sidecar::write(&sidecar_path, &runner, &summary, mode, &outcome, now)?;
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
    folder.count(state.as_str());
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
