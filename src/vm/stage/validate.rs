//! The validate stage: `qemu-img check` of each output and `qemu-img
//! compare` with what it was converted from, then, when the manifest asks,
//! the boot test. Every problem is collected before the stage fails, so
//! the report lists them all.

use serde_json::{json, Value};

use crate::vm::{
    command::clip,
    error::StageError,
    qemu::{self, CheckOutcome, CompareOutcome},
    run::Run,
};

use super::{boot_test, StageOutcome, StageResult};

/// Runs the validate stage.
pub(super) async fn run(run: &mut Run) -> StageResult {
    if run.outputs.is_empty() {
        let reason = "nothing to validate: the convert stage produced no output".to_string();
        run.warn(format!("validate skipped: {reason}"));
        return Ok(StageOutcome::Skipped {
            reason,
            detail: None,
        });
    }
    let mut errors = Vec::new();
    let mut checks = Vec::new();
    for output in run.outputs.clone() {
        let path = output.path.display();
        run.progress("validate", &format!("checking {path}"));
        let check = match qemu::check(&output.path, &output.format, &run.cancel).await? {
            CheckOutcome::Clean(report) => json!({ "status": "clean", "report": report }),
            CheckOutcome::Leaks(report) => {
                run.warn(format!(
                    "qemu-img check: {} has leaked clusters (wasted space, data intact)",
                    output.path.display()
                ));
                json!({ "status": "leaked_clusters", "report": report })
            }
            CheckOutcome::Unsupported => {
                json!({ "status": "not_supported", "note": format!("the {} format has no consistency check", output.format) })
            }
            CheckOutcome::Corrupted(text) => problem(
                &mut errors,
                "corrupted",
                format!("qemu-img check: {path} is corrupted: {}", clip(&text)),
            ),
            CheckOutcome::Failed(text) => problem(
                &mut errors,
                "failed",
                format!("qemu-img check {path} failed: {}", clip(&text)),
            ),
        };
        run.progress(
            "validate",
            &format!(
                "comparing {} with {}",
                output.input.path.display(),
                output.path.display()
            ),
        );
        let compare = match qemu::compare(
            &output.input.path,
            &output.input.format,
            &output.path,
            &output.format,
            &run.cancel,
        )
        .await?
        {
            CompareOutcome::Identical => json!({ "status": "identical" }),
            CompareOutcome::Different(text) => {
                errors.push(format!(
                    "qemu-img compare: {} differs from {}: {}",
                    output.path.display(),
                    output.input.path.display(),
                    clip(&text)
                ));
                json!({ "status": "different", "detail": text })
            }
            CompareOutcome::Error(text) => problem(
                &mut errors,
                "error",
                format!(
                    "qemu-img compare of {} and {} failed: {}",
                    output.input.path.display(),
                    output.path.display(),
                    clip(&text)
                ),
            ),
        };
        checks.push(json!({
            "path": output.path,
            "format": output.format,
            "compared_with": output.input.path,
            "check": check,
            "compare": compare,
        }));
    }

    let boot = if run.manifest().pipeline.validate.boot_test {
        match boot_test::run(run).await {
            Ok(result) => result,
            Err(StageError::Cancelled) => return Err(StageError::Cancelled),
            Err(StageError::ToolMissing { tool }) => {
                let warning = format!(
                    "boot_test requested but {tool} is not installed; the boot test was not run"
                );
                run.warn(warning.clone());
                json!({ "status": "skipped", "reason": warning })
            }
            Err(e) => {
                let e = e.to_string();
                errors.push(format!("boot test: {e}"));
                json!({ "status": "failed", "error": e })
            }
        }
    } else {
        json!({ "status": "not_requested" })
    };

    if !errors.is_empty() {
        return Err(StageError::failed(errors.join("; ")));
    }
    Ok(StageOutcome::Done {
        summary: format!(
            "{} output(s) checked and identical to their source",
            checks.len()
        ),
        result: json!({ "outputs": checks, "boot_test": boot }),
    })
}

/// Keeps a problem for the stage's error and gives the report's status.
fn problem(errors: &mut Vec<String>, status: &str, message: String) -> Value {
    errors.push(message);
    json!({ "status": status })
}
