//! Manifests as text: a validation's result, and the executions a submit
//! started (as submitted, or as they ended).

use std::path::Path;

use super::print::{print_line, print_message, short_state, PrintFormat};
use crate::pb;

fn kind_text(kind: pb::ManifestKind) -> &'static str {
    match kind {
        pb::ManifestKind::Single => "single-VM",
        pb::ManifestKind::Batch => "batch",
        pb::ManifestKind::ArtifactV1 => "Artifact Manifest v1",
        pb::ManifestKind::Unspecified => "unrecognised",
    }
}

/// Prints a ValidateManifest answer: `F: valid batch manifest, 2 VMs: a, b`
/// or every problem as a `path: message` line, or the message.
pub(crate) fn print_validation(
    format: PrintFormat,
    path: &Path,
    response: &pb::ValidateManifestResponse,
) {
    match format {
        PrintFormat::Table if response.valid => {
            let names: Vec<&str> = response.vms.iter().map(|v| v.name.as_str()).collect();
            print_line(&format!(
                "{}: valid {} manifest, {} VM{}: {}",
                path.display(),
                kind_text(response.kind()),
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            ));
        }
        PrintFormat::Table => {
            for problem in &response.problems {
                let at = if problem.path.is_empty() {
                    "(document)"
                } else {
                    problem.path.as_str()
                };
                print_line(&format!("{at}: {}", problem.message));
            }
        }
        format => print_message(format, response),
    }
}

/// Prints the executions a submit started: `EXECUTION_ID  VM` lines, or the
/// SubmitManifestResponse.
pub(crate) fn print_submitted(format: PrintFormat, response: &pb::SubmitManifestResponse) {
    match format {
        PrintFormat::Table => {
            for vm in &response.vms {
                if let Some(execution) = &vm.execution {
                    print_line(&format!("{}  {}", execution.id, vm.name));
                }
            }
        }
        format => print_message(format, response),
    }
}

/// Prints the executions a submit started as they ended (`finished`, in the
/// order of the response's VMs that have one): `ID  VM  STATE` lines, or
/// the SubmitManifestResponse with each execution in its final state.
pub(crate) fn print_ended(
    format: PrintFormat,
    response: &pb::SubmitManifestResponse,
    finished: Vec<pb::Execution>,
) {
    match format {
        PrintFormat::Table => {
            for (vm, execution) in response.vms.iter().zip(&finished) {
                print_line(&format!(
                    "{}  {}  {}",
                    execution.id,
                    vm.name,
                    short_state(execution.state())
                ));
            }
        }
        format => {
            let mut ended = response.clone();
            let mut finished = finished.into_iter();
            for vm in ended.vms.iter_mut().filter(|vm| vm.execution.is_some()) {
                vm.execution = finished.next();
            }
            print_message(format, &ended);
        }
    }
}
