//! The manifest RPCs (ValidateManifest, SubmitManifest): the document
//! read and validated against the operator's policy off the async
//! threads, then run by the daemon's [`crate::manifest::ManifestRunner`];
//! a submission spends its namespace's rate only once it is valid and
//! every one of its new executions holds a place in the queue.

use tonic::{Response, Status};

use super::{convert, invalid_argument, optional, WorkflowApi};
use crate::manifest::{self, SubmitOptions};
use crate::pb;
use crate::policy::WorkflowPolicy;

impl WorkflowApi {
    pub(super) async fn validate_manifest_call(
        &self,
        request: pb::ValidateManifestRequest,
    ) -> Result<Response<pb::ValidateManifestResponse>, Status> {
        let policy = self.manifests.as_ref().map(|m| m.policy().clone());
        let validation = validate_manifest_content(
            request.content,
            request.format,
            optional(request.file_name),
            policy,
        )
        .await?;
        Ok(Response::new(convert::validation(&validation)))
    }

    pub(super) async fn submit_manifest_call(
        &self,
        request: pb::SubmitManifestRequest,
        namespace: String,
    ) -> Result<Response<pb::SubmitManifestResponse>, Status> {
        let runner = self
            .manifests
            .clone()
            .ok_or_else(|| Status::unimplemented("this server does not run manifests"))?;
        let file_name = optional(request.file_name);
        let validation = validate_manifest_content(
            request.content,
            request.format,
            file_name.clone(),
            Some(runner.policy().clone()),
        )
        .await?;
        let request_id = optional(request.request_id)
            .map(|id| crate::namespaces::scoped_request_id(&namespace, &id));
        let submission = runner
            .reserve(
                &validation,
                SubmitOptions {
                    request_id,
                    file_name,
                    labels: request.labels.into_iter().collect(),
                    namespace: namespace.clone(),
                    ..SubmitOptions::default()
                },
            )
            .await?;
        // Spent once every new VM has its place: a bad manifest, or one
        // refused for a full queue, costs the namespace nothing, and a
        // repeat of a request id starts nothing new.
        if submission.starts_new() {
            self.spend_start(&namespace)?;
        }
        let outcome = submission.start().await?;
        let records: Vec<_> = outcome.vms.iter().map(|vm| vm.execution.clone()).collect();
        let executions = self.shown(&records, true).await;
        Ok(Response::new(pb::SubmitManifestResponse {
            batch_id: outcome.batch_id.unwrap_or_default(),
            vms: outcome
                .vms
                .iter()
                .zip(executions)
                .map(|(vm, execution)| pb::SubmittedVm {
                    name: vm.name.clone(),
                    manifest_path: vm.manifest_path.to_string_lossy().into_owned(),
                    execution: Some(execution),
                })
                .collect(),
            started: outcome.started,
            kind: convert::manifest_kind(validation.kind) as i32,
        }))
    }
}

/// Reads and validates manifest content off the async threads (a large
/// YAML document takes a while).
async fn validate_manifest_content(
    content: Vec<u8>,
    format: i32,
    file_name: Option<String>,
    policy: Option<WorkflowPolicy>,
) -> Result<manifest::Validation, Status> {
    let hint = convert::format_hint(format).ok_or_else(|| {
        invalid_argument(
            format!("format {format} is not a ManifestFormat"),
            &[("format", "must be a ManifestFormat value")],
        )
    })?;
    tokio::task::spawn_blocking(move || {
        manifest::validate(
            &content,
            hint,
            manifest::Context {
                file_name: file_name.as_deref(),
                base_dir: None,
                policy: policy.as_ref(),
            },
        )
    })
    .await
    .map_err(|e| Status::internal(format!("manifest validation failed: {e}")))
}
