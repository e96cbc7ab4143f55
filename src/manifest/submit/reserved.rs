//! A submission that holds its places: everything before storing its
//! executions ([`ManifestRunner::reserve`]), so that SubmitManifest spends
//! its namespace's rate of starting work only once the whole batch has its
//! places in the queue, and a submission refused for a full queue costs
//! nothing and leaves nothing behind.

use std::collections::VecDeque;
use std::path::PathBuf;

use uuid::Uuid;

use super::{
    document_names, found_vm, vm_request_id, ManifestRunner, RequestIdGuard, SubmitOptions,
    SubmitOutcome, SubmittedVm, VmStart, PIPELINE_WORKFLOW,
};
use crate::engine::{CheckedStart, ReservedStart};
use crate::manifest::{ManifestError, Validation};

/// A valid submission whose new executions each hold a place in the
/// queue, none stored yet. [`ReservedSubmission::start`] stores and
/// queues them; dropped before, it gives the places back and removes the
/// documents it wrote.
pub(crate) struct ReservedSubmission<'a> {
    runner: &'a ManifestRunner,
    batch_id: Option<String>,
    /// Whether this call starts the submission (false: its request id
    /// found what an earlier call started).
    starts_new: bool,
    /// Every VM, in order.
    vms: VecDeque<PlannedVm<'a>>,
    /// Documents written for executions whose start has not begun.
    unstarted_documents: Vec<PathBuf>,
    /// Their directory, removed with them when nothing else is in it.
    documents_dir: PathBuf,
    /// Held until the executions are stored, so a second call with the
    /// same request id finds them.
    _request_id: Option<RequestIdGuard<'a>>,
}

/// One VM of a submission (boxed: both are large).
enum PlannedVm<'a> {
    /// Started by an earlier call with the same request id.
    Found(Box<SubmittedVm>),
    /// To store, in its place.
    New(Box<NewVm<'a>>),
}

struct NewVm<'a> {
    name: String,
    manifest_path: PathBuf,
    start: ReservedStart<'a>,
}

impl ManifestRunner {
    /// Checks a manifest's submission and takes its places: finds what an
    /// earlier call with its request id started, writes the other VMs'
    /// documents, checks their executions and takes a place in the queue
    /// for each (all or none: [`crate::engine::Engine::reserve_all`]).
    pub(crate) async fn reserve(
        &self,
        validation: &Validation,
        options: SubmitOptions,
    ) -> Result<ReservedSubmission<'_>, ManifestError> {
        if !validation.is_valid() {
            return Err(ManifestError::Invalid(validation.problems.clone()));
        }
        // Waits while discovery is still probing programs (at start).
        if self
            .engine
            .catalog()
            .wait_for(PIPELINE_WORKFLOW)
            .await
            .is_none()
        {
            return Err(ManifestError::WorkflowMissing(PIPELINE_WORKFLOW.into()));
        }
        let guard = match &options.request_id {
            Some(request_id) => Some(self.request_ids.lock(request_id).await),
            None => None,
        };
        let first = match &options.request_id {
            Some(request_id) => {
                self.engine
                    .execution_by_request_id(&vm_request_id(request_id, 0))
                    .await?
            }
            None => None,
        };
        let batch_id = validation.is_batch().then(|| {
            first
                .as_ref()
                .and_then(|e| e.batch_id.clone())
                .unwrap_or_else(|| Uuid::now_v7().to_string())
        });
        let dir_id = batch_id
            .clone()
            .unwrap_or_else(|| Uuid::now_v7().to_string());
        let mut submission = ReservedSubmission {
            runner: self,
            batch_id: batch_id.clone(),
            starts_new: first.is_none(),
            vms: VecDeque::with_capacity(validation.vms.len()),
            unstarted_documents: Vec::new(),
            documents_dir: self.manifests_dir.join(&dir_id),
            _request_id: guard,
        };
        // Each VM found, or new: its name, its document and its checked
        // start, which takes a place below.
        let mut planned: Vec<Result<SubmittedVm, (String, PathBuf)>> = Vec::new();
        let mut starts = Vec::new();
        let names = document_names(&validation.vms);
        for (index, (vm, file_name)) in validation.vms.iter().zip(&names).enumerate() {
            let mut labels = options.labels.clone();
            labels.insert("vm".into(), vm.name.clone());
            if let Some(batch_id) = &batch_id {
                labels.insert("batch_id".into(), batch_id.clone());
            }
            if let Some(file_name) = &options.file_name {
                labels.insert("manifest".into(), file_name.clone());
            }
            let start = VmStart {
                dir_id: &dir_id,
                file_name,
                vm,
                request_id: options.request_id.as_ref().map(|r| vm_request_id(r, index)),
                batch_id: batch_id.clone(),
                labels,
                output_dir: options.output_dir.as_deref(),
                scheduled_by: options.scheduled_by.clone(),
                namespace: &options.namespace,
            };
            if let Some(found) = self.found(&start).await? {
                planned.push(Ok(found));
                continue;
            }
            // The document first: the pipeline's `manifest` input must
            // name a file that exists to be valid.
            let manifest_path = self.write_document(&start).await?;
            submission.unstarted_documents.push(manifest_path.clone());
            let request = self.execute_request(start, &manifest_path);
            match self.engine.check_execute(request).await? {
                // Stored meanwhile under its request id: it runs that
                // document.
                CheckedStart::Existing(execution) => {
                    submission.unstarted_documents.pop();
                    planned.push(Ok(found_vm(&vm.name, *execution)));
                }
                CheckedStart::New(start) => {
                    starts.push(*start);
                    planned.push(Err((vm.name.clone(), manifest_path)));
                }
            }
        }
        let mut places = self.engine.reserve_all(starts)?.into_iter();
        submission.vms = planned
            .into_iter()
            .map(|vm| match vm {
                Ok(found) => PlannedVm::Found(Box::new(found)),
                Err((name, manifest_path)) => PlannedVm::New(Box::new(NewVm {
                    name,
                    manifest_path,
                    start: places.next().expect("a place for every new VM"),
                })),
            })
            .collect();
        Ok(submission)
    }
}

impl ReservedSubmission<'_> {
    /// Whether this call starts the submission, and so spends a start of
    /// its namespace's rate; false when its request id found the
    /// executions an earlier call started.
    pub(crate) fn starts_new(&self) -> bool {
        self.starts_new
    }

    /// Stores and queues the new executions in their places, in order.
    pub(crate) async fn start(mut self) -> Result<SubmitOutcome, ManifestError> {
        let mut vms = Vec::with_capacity(self.vms.len());
        while let Some(vm) = self.vms.pop_front() {
            match vm {
                PlannedVm::Found(found) => vms.push(*found),
                PlannedVm::New(new) => {
                    let NewVm {
                        name,
                        manifest_path,
                        start,
                    } = *new;
                    // From here the document is the execution's: a call
                    // abandoned while it is stored may still store it.
                    self.unstarted_documents.retain(|d| *d != manifest_path);
                    let (execution, _) = self.runner.engine.start(start).await?;
                    vms.push(SubmittedVm {
                        name,
                        manifest_path,
                        execution,
                    });
                }
            }
        }
        Ok(SubmitOutcome {
            batch_id: self.batch_id.take(),
            vms,
            started: self.starts_new,
        })
    }
}

impl Drop for ReservedSubmission<'_> {
    fn drop(&mut self) {
        if self.unstarted_documents.is_empty() {
            return;
        }
        for document in self.unstarted_documents.drain(..) {
            if let Err(e) = std::fs::remove_file(&document) {
                tracing::warn!(path = %document.display(), error = %e, "cannot remove the document of a VM not started");
            }
        }
        // Fails, as it should, while documents of started VMs are in it.
        let _ = std::fs::remove_dir(&self.documents_dir);
    }
}
