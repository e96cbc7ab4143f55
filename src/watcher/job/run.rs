//! Running a planned file: every VM's pipeline started as an execution
//! with a request id derived from the ledger row (so a resumed job finds
//! the executions it already started), interrupted runs started again up
//! to [`MAX_ATTEMPTS`], and a wait for all of them to end.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::super::Folder;
use super::{ledger, Halt, VmRun, MAX_ATTEMPTS};
use crate::engine::EngineError;
use crate::events::ExecutionState;
use crate::manifest::submit::{document_names, VmStart};
use crate::manifest::{ManifestError, Validation};
use crate::store::{DropFileRecord, DropFileWrite, ExecutionRecord};

/// The request id of attempt `attempt` of VM `index` of a dropped file.
pub(super) fn attempt_request_id(id: &str, index: usize, attempt: u32) -> String {
    if attempt <= 1 {
        format!("drop:{id}#vm{index}")
    } else {
        format!("drop:{id}#vm{index}.{attempt}")
    }
}

/// Starts (or finds) every VM's execution and waits for all of them.
pub(super) async fn run_vms(
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
                output_dir: None,
                scheduled_by: None,
                namespace: &folder.namespace,
            })
            .await;
        let wait = match started {
            Ok(started) => return Ok(started.execution),
            Err(ManifestError::Engine(
                EngineError::QueueFull { .. } | EngineError::NamespaceQueueFull { .. },
            )) => Duration::from_millis(250),
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
