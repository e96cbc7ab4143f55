//! Sending a hyper2kvm pipeline manifest to the daemon to be checked or run
//! (ValidateManifest, SubmitManifest): the work of `wfctl manifest validate
//! -file F` and `wfctl manifest submit -file F` ([`super::hyperctl`]), and
//! of `manifest create|generate -submit` ([`super::manifest_builder`]). The
//! file is sent as it is; the daemon detects JSON or YAML from its name and
//! content.

use std::path::Path;

use super::{
    context::Ctx,
    error::CliError,
    go_flags::GoFlags,
    outcome::execution_outcome,
    render::{
        manifest::{print_ended, print_submitted, print_validation},
        print_note,
    },
};
use crate::pb;

/// A manifest file as it is sent to the daemon, which detects JSON or YAML
/// from its name and content.
#[derive(Debug)]
pub(crate) struct ManifestFile {
    /// The bytes, as they are.
    pub(crate) content: Vec<u8>,
    /// The file's name, without its directory.
    pub(crate) file_name: String,
}

/// Reads a manifest file before connecting, so a missing file is a usage
/// error whether or not the daemon is up.
pub(crate) fn read(path: &Path) -> Result<ManifestFile, CliError> {
    let content = std::fs::read(path)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(ManifestFile { content, file_name })
}

/// Validates a manifest: prints that it is valid (or every problem, one
/// `path: message` line each) and fails with exit code 5 when invalid.
pub(crate) async fn validate(ctx: &Ctx, path: &Path, file: ManifestFile) -> Result<(), CliError> {
    let request = pb::ValidateManifestRequest {
        content: file.content,
        format: pb::ManifestFormat::Detect as i32,
        file_name: file.file_name,
    };
    let response = ctx.message(ctx.client.clone().validate_manifest(request).await)?;
    print_validation(ctx.output, path, &response);
    if response.valid {
        Ok(())
    } else {
        Err(CliError::InvalidArgument {
            message: format!(
                "{} is not a valid manifest ({} problem{})",
                path.display(),
                response.problems.len(),
                if response.problems.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ),
            violations: Vec::new(),
        })
    }
}

/// How a manifest is submitted: the flags every form that submits one
/// takes (`manifest submit`, `manifest create|generate -submit`).
#[derive(Debug, Default)]
pub(crate) struct Submission {
    /// `-request-id`: the idempotency key.
    pub(crate) request_id: Option<String>,
    /// `-namespace`: where its executions start; None: the daemon's
    /// choice (the token's only namespace, else `default`).
    pub(crate) namespace: Option<String>,
    /// `-wait`: follow every execution to its end.
    pub(crate) wait: bool,
}

impl Submission {
    /// The submission `flags` ask for.
    pub(crate) fn of(flags: &GoFlags) -> Self {
        Submission {
            request_id: flags.value("request-id").map(str::to_string),
            namespace: flags.value("namespace").map(str::to_string),
            wait: flags.switch("wait"),
        }
    }
}

/// Submits a manifest: starts one execution per VM and prints their ids (one
/// per line; the batch id goes to stderr), or with `wait` follows them all
/// and fails unless every one succeeded.
pub(crate) async fn submit(
    ctx: &Ctx,
    file: ManifestFile,
    how: &Submission,
) -> Result<(), CliError> {
    let request = pb::SubmitManifestRequest {
        content: file.content,
        format: pb::ManifestFormat::Detect as i32,
        file_name: file.file_name,
        request_id: how.request_id.clone().unwrap_or_default(),
        labels: Default::default(),
        namespace: how.namespace.clone().unwrap_or_default(),
    };
    let response = ctx.message(ctx.client.clone().submit_manifest(request).await)?;
    let verb = if response.started {
        "started"
    } else {
        "already started by this request_id:"
    };
    if response.batch_id.is_empty() {
        print_note(&format!(
            "wfctl: {verb} {} execution(s)",
            response.vms.len()
        ));
    } else {
        print_note(&format!(
            "wfctl: batch {}: {verb} {} execution(s)",
            response.batch_id,
            response.vms.len()
        ));
    }
    let ids: Vec<String> = response
        .vms
        .iter()
        .filter_map(|vm| vm.execution.as_ref().map(|e| e.id.clone()))
        .collect();
    if !how.wait {
        print_submitted(ctx.output, &response);
        return Ok(());
    }
    print_note(&format!(
        "wfctl: waiting for {} execution(s) to finish",
        ids.len()
    ));
    let mut first_failure = None;
    let mut finished = Vec::with_capacity(ids.len());
    for id in &ids {
        let execution = ctx.wait_execution(id).await?;
        if let Err(e) = execution_outcome(ctx, &execution) {
            first_failure.get_or_insert(e);
        }
        finished.push(execution);
    }
    print_ended(ctx.output, &response, finished);
    match first_failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
