//! Running manifests: each VM's pipeline document is written to
//! `<data_dir>/manifests/<id>/<vm>.json` (atomically) and becomes one
//! ordinary execution of the workflow `vm_pipeline` with the inputs
//! `manifest` (that file) and `output_dir`. The executions of a batch share
//! a batch id. A submission takes every new VM's place in the queue
//! before it stores any (`submit/reserved.rs`), so it starts whole or not
//! at all for want of a place. Used by SubmitManifest, schedules and (a VM
//! at a time, waiting for places) the drop folders.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;

use super::{ManifestError, Validation, VmPlan, MAX_MANIFEST_BYTES};
use crate::engine::{Engine, EngineError, ExecuteRequest};
use crate::policy::WorkflowPolicy;
use crate::store::{ExecutionRecord, ScheduledBy};

mod reserved;

/// The workflow that runs one VM's pipeline.
pub(crate) const PIPELINE_WORKFLOW: &str = "vm_pipeline";

/// The description of the `state_file_created` event announcing a run's
/// report.
pub(crate) const REPORT_DESCRIPTION: &str = "pipeline report";

/// How a manifest is submitted.
#[derive(Debug, Clone, Default)]
pub(crate) struct SubmitOptions {
    /// Idempotency key; each VM's execution gets `<request_id>#vm<N>`.
    pub request_id: Option<String>,
    /// The manifest's file name (the `manifest` label).
    pub file_name: Option<String>,
    /// Labels for every execution.
    pub labels: BTreeMap<String, String>,
    /// The runs' output directory, when not the policy's (inside it; the
    /// manifest was validated against it).
    pub output_dir: Option<PathBuf>,
    /// The schedule submitting it, if one is.
    pub scheduled_by: Option<ScheduledBy>,
    /// The executions' namespace; empty: `default`.
    pub namespace: String,
}

/// One started (or found) VM execution.
#[derive(Debug, Clone)]
pub(crate) struct SubmittedVm {
    /// VM name.
    pub name: String,
    /// Its pipeline document.
    pub manifest_path: PathBuf,
    /// The execution.
    pub execution: ExecutionRecord,
}

/// The outcome of a submission.
#[derive(Debug, Clone)]
pub(crate) struct SubmitOutcome {
    /// The batch id, for batches.
    pub batch_id: Option<String>,
    /// One entry per VM, in order.
    pub vms: Vec<SubmittedVm>,
    /// Whether this call started them (false: found by request id).
    pub started: bool,
}

/// One VM execution to start.
#[derive(Debug, Clone)]
pub(crate) struct VmStart<'a> {
    /// Directory (below `manifests/`) for the document.
    pub dir_id: &'a str,
    /// File name of the document (see [`document_names`]).
    pub file_name: &'a str,
    /// The VM.
    pub vm: &'a VmPlan,
    /// Idempotency key of this execution.
    pub request_id: Option<String>,
    /// Batch id.
    pub batch_id: Option<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// The output directory, when not the policy's.
    pub output_dir: Option<&'a Path>,
    /// The schedule starting it, if one is.
    pub scheduled_by: Option<ScheduledBy>,
    /// Its namespace; empty: `default`.
    pub namespace: &'a str,
}

/// Starts VM pipelines on the engine.
pub(crate) struct ManifestRunner {
    engine: Arc<Engine>,
    manifests_dir: PathBuf,
    /// The operator's policy: manifests are checked against it, and its
    /// output directory is the runs' `output_dir`.
    policy: WorkflowPolicy,
    runs_dir: PathBuf,
    /// Serializes look-up-then-start per request id, so two identical
    /// submissions racing each other cannot make two batches.
    request_ids: RequestIdLocks,
}

/// One lock per request id in use. Submissions with different request ids
/// never wait for each other: one lock for all of them let only one
/// submission be accepted per commit of the history.
#[derive(Default)]
struct RequestIdLocks {
    /// Each id's lock and how many callers hold or wait for it.
    held: Mutex<HashMap<String, RequestIdLock>>,
}

type RequestIdLock = (Arc<tokio::sync::Mutex<()>>, usize);

impl RequestIdLocks {
    async fn lock(&self, request_id: &str) -> RequestIdGuard<'_> {
        let lock = {
            let mut held = self.held.lock();
            let (lock, users) = held.entry(request_id.to_string()).or_default();
            *users += 1;
            lock.clone()
        };
        // Built before waiting, so a caller that gives up while waiting
        // still counts itself out.
        let mut guard = RequestIdGuard {
            locks: self,
            request_id: request_id.to_string(),
            held: None,
        };
        guard.held = Some(lock.lock_owned().await);
        guard
    }
}

struct RequestIdGuard<'a> {
    locks: &'a RequestIdLocks,
    request_id: String,
    held: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for RequestIdGuard<'_> {
    fn drop(&mut self) {
        self.held = None;
        let mut held = self.locks.held.lock();
        if let Some((_, users)) = held.get_mut(&self.request_id) {
            *users -= 1;
            if *users == 0 {
                held.remove(&self.request_id);
            }
        }
    }
}

impl ManifestRunner {
    /// A runner writing documents below `manifests_dir` and telling the
    /// pipeline to write into the policy's output directory; `runs_dir` is
    /// where executions run (their reports are found there).
    pub(crate) fn new(
        engine: Arc<Engine>,
        manifests_dir: PathBuf,
        policy: WorkflowPolicy,
        runs_dir: PathBuf,
    ) -> Arc<Self> {
        Arc::new(ManifestRunner {
            engine,
            manifests_dir,
            policy,
            runs_dir,
            request_ids: RequestIdLocks::default(),
        })
    }

    /// The engine.
    pub(crate) fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Where converted disks go by default.
    pub(crate) fn output_dir(&self) -> &Path {
        &self.policy.output_dir
    }

    /// The policy manifests are checked against.
    pub(crate) fn policy(&self) -> &WorkflowPolicy {
        &self.policy
    }

    /// Fails unless the pipeline workflow is discovered.
    pub(crate) fn ensure_workflow(&self) -> Result<(), ManifestError> {
        match self.engine.catalog().get(PIPELINE_WORKFLOW) {
            Some(_) => Ok(()),
            None => Err(ManifestError::WorkflowMissing(PIPELINE_WORKFLOW.into())),
        }
    }

    /// Starts one execution per VM of a valid manifest (or finds the ones an
    /// earlier call with the same request id started): every new one's
    /// place in the queue first ([`ManifestRunner::reserve`]), then each
    /// stored and queued.
    pub(crate) async fn submit(
        &self,
        validation: &Validation,
        options: SubmitOptions,
    ) -> Result<SubmitOutcome, ManifestError> {
        self.reserve(validation, options).await?.start().await
    }

    /// Starts one VM's execution, or returns the one its request id already
    /// names (then without touching its document).
    pub(crate) async fn start_vm(&self, start: VmStart<'_>) -> Result<SubmittedVm, ManifestError> {
        if let Some(found) = self.found(&start).await? {
            return Ok(found);
        }
        let manifest_path = self.write_document(&start).await?;
        let name = start.vm.name.clone();
        let request = self.execute_request(start, &manifest_path);
        let (execution, _) = self.engine.execute(request).await?;
        Ok(SubmittedVm {
            name,
            manifest_path,
            execution,
        })
    }

    /// The execution an earlier call started for this VM, by its request
    /// id.
    async fn found(&self, start: &VmStart<'_>) -> Result<Option<SubmittedVm>, ManifestError> {
        let Some(request_id) = &start.request_id else {
            return Ok(None);
        };
        let found = self.engine.execution_by_request_id(request_id).await?;
        Ok(found.map(|execution| found_vm(&start.vm.name, execution)))
    }

    /// Writes the VM's pipeline document (atomically); returns its path.
    async fn write_document(&self, start: &VmStart<'_>) -> Result<PathBuf, ManifestError> {
        let manifest_path = self.manifests_dir.join(start.dir_id).join(start.file_name);
        let bytes = serde_json::to_vec_pretty(&start.vm.document).expect("documents serialize");
        let target = manifest_path.clone();
        tokio::task::spawn_blocking(move || {
            crate::fs::write_atomic(&target, &bytes, crate::fs::Access::Private)
        })
        .await
        .map_err(EngineError::from)?
        .map_err(|source| ManifestError::Write {
            path: manifest_path.clone(),
            source,
        })?;
        Ok(manifest_path)
    }

    /// The Execute request of the VM's pipeline run on the document at
    /// `manifest_path`.
    fn execute_request(&self, start: VmStart<'_>, manifest_path: &Path) -> ExecuteRequest {
        let mut inputs = BTreeMap::new();
        inputs.insert(
            "manifest".to_string(),
            Value::String(manifest_path.to_string_lossy().into_owned()),
        );
        inputs.insert(
            "output_dir".to_string(),
            Value::String(
                start
                    .output_dir
                    .unwrap_or(&self.policy.output_dir)
                    .to_string_lossy()
                    .into_owned(),
            ),
        );
        ExecuteRequest {
            workflow_id: PIPELINE_WORKFLOW.to_string(),
            inputs,
            request_id: start.request_id,
            timeout: None,
            labels: start.labels,
            batch_id: start.batch_id,
            scheduled_by: start.scheduled_by,
            retry: None,
            limits: Default::default(),
            namespace: start.namespace.to_string(),
        }
    }

    /// The namespace the executions of the drop folder `folder` go into.
    pub(crate) fn drop_folder_namespace(&self, folder: &Path) -> String {
        self.engine.namespaces().of_drop_folder(folder).to_string()
    }

    /// The report a finished pipeline run announced (state_file_created
    /// "pipeline report"): its path and content, or why it cannot be read.
    pub(crate) fn report(
        &self,
        execution: &ExecutionRecord,
    ) -> Option<(PathBuf, Result<Value, String>)> {
        let artifact = execution
            .artifacts
            .iter()
            .rev()
            .find(|a| a.description == REPORT_DESCRIPTION)
            .or_else(|| {
                execution
                    .artifacts
                    .iter()
                    .rev()
                    .find(|a| a.path.ends_with(".report.json"))
            })?;
        let mut path = PathBuf::from(&artifact.path);
        if path.is_relative() {
            path = self.runs_dir.join(execution.id.to_string()).join(path);
        }
        let content = read_json(&path);
        Some((path, content))
    }
}

/// A VM's execution found by its request id, with the document it runs.
fn found_vm(name: &str, execution: ExecutionRecord) -> SubmittedVm {
    let manifest_path = execution
        .inputs
        .get("manifest")
        .map(PathBuf::from)
        .unwrap_or_default();
    SubmittedVm {
        name: name.to_string(),
        manifest_path,
        execution,
    }
}

/// The request id of VM `index` of a submission keyed `request_id`.
pub(crate) fn vm_request_id(request_id: &str, index: usize) -> String {
    format!("{request_id}#vm{index}")
}

/// File names for the VMs' documents: the name by the outputs' file-name
/// rule ([`crate::manifest::output_path::safe_name`]), made unique within the
/// list.
/// A name already taken gets `-<n>`, n counting up from the VM's index
/// until the name is free: a fallback can itself be another VM's plain
/// name ("x", "x-2", "x" want `x-2.json` for the third VM), and
/// two VMs sharing a document would run one conversion twice and lose the
/// other.
pub(crate) fn document_names(vms: &[VmPlan]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(vms.len());
    for (index, vm) in vms.iter().enumerate() {
        // The file-name rule the pipeline's outputs follow, so a VM's
        // document and its disk are named alike.
        let base = crate::manifest::output_path::safe_name(&vm.name);
        let mut name = format!("{base}.json");
        let mut n = index;
        while names.contains(&name) {
            name = format!("{base}-{n}.json");
            n += 1;
        }
        names.push(name);
    }
    names
}

/// Reads a JSON file of at most [`MAX_MANIFEST_BYTES`].
fn read_json(path: &Path) -> Result<Value, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > MAX_MANIFEST_BYTES as u64 {
        return Err(format!("{} bytes is too large to include", meta.len()));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| format!("not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn request_id_locks_wait_only_for_the_same_id_and_clean_up() {
        let locks = RequestIdLocks::default();
        let first = locks.lock("a").await;
        // Another id is not held up.
        let other = locks.lock("b").await;
        drop(other);
        // The same id waits until the first is released.
        let same = locks.lock("a");
        tokio::pin!(same);
        assert!(poll_once(same.as_mut()).await.is_none());
        drop(first);
        let second = same.await;
        drop(second);
        assert!(locks.held.lock().is_empty(), "entries are removed");

        // A caller that gives up while waiting leaves nothing behind.
        let first = locks.lock("c").await;
        let mut waiting = Box::pin(locks.lock("c"));
        assert!(poll_once(waiting.as_mut()).await.is_none());
        drop(waiting);
        drop(first);
        assert!(locks.held.lock().is_empty(), "entries are removed");
    }

    /// Polls a future once: its output if it was ready.
    async fn poll_once<F: std::future::Future + Unpin>(future: F) -> Option<F::Output> {
        let mut future = future;
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut future).poll(cx) {
                std::task::Poll::Ready(output) => Some(output),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }

    #[test]
    fn document_names_are_safe_and_unique() {
        let vm = |name: &str| VmPlan::new(name.to_string(), json!({}));
        let names = document_names(&[vm("web 01"), vm("web/01"), vm(".."), vm("db-ü")]);
        assert_eq!(
            names,
            ["web_01.json", "web_01-1.json", "vm.json", "db-ü.json"]
        );
    }

    #[test]
    fn a_fallback_name_that_is_another_vms_name_is_not_reused() {
        let vm = |name: &str| VmPlan::new(name.to_string(), json!({}));
        // The third VM, "x" again, would fall back to `x-2.json`, which
        // "x-2" already has.
        let names = document_names(&[vm("x"), vm("x-2"), vm("x")]);
        assert_eq!(names, ["x.json", "x-2.json", "x-3.json"]);
        // However the names fall, every VM has a document of its own.
        let names = document_names(&[vm("a"), vm("a-3"), vm("a-4"), vm("a"), vm("a"), vm("a-3")]);
        let unique: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
    }
}
