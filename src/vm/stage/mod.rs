//! The five stages of one VM's pipeline, one file each: [`Stage`] names
//! them in phase order and routes each to its file with one exhaustive
//! `match`. A stage returns what it did (or why it was skipped) or why it
//! failed; the pipeline loop turns that into events and the report.

mod boot_test;
mod convert;
mod fix;
mod inspect;
mod load;
mod partial_output;
mod validate;

use serde_json::Value;

use super::{error::StageError, run::Run};

/// What a stage did.
#[derive(Debug)]
pub(crate) enum StageOutcome {
    /// It did its job: a one-line summary and the details for the report.
    Done { summary: String, result: Value },
    /// It did not run, on purpose, for this reason.
    Skipped {
        reason: String,
        detail: Option<Value>,
    },
}

/// What a stage returns.
pub(crate) type StageResult = Result<StageOutcome, StageError>;

/// One stage of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Check the source and find its disks (OVA, OVF, disk image).
    Load,
    /// Read disk facts and detect the guest OS.
    Inspect,
    /// Apply guest fixes in an overlay.
    Fix,
    /// Convert with qemu-img.
    Convert,
    /// Check and compare the outputs; the boot test.
    Validate,
}

impl Stage {
    /// Every stage, in phase order.
    pub(crate) const ALL: [Stage; 5] = [
        Stage::Load,
        Stage::Inspect,
        Stage::Fix,
        Stage::Convert,
        Stage::Validate,
    ];

    /// The stage's name: its phase, task and report key.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Stage::Load => "load",
            Stage::Inspect => "inspect",
            Stage::Fix => "fix",
            Stage::Convert => "convert",
            Stage::Validate => "validate",
        }
    }

    /// Why the stage is off in the manifest, if it is (load always runs).
    pub(crate) fn disabled(self, run: &Run) -> Option<String> {
        let pipeline = &run.manifest.as_ref()?.pipeline;
        let enabled = match self {
            Stage::Load => true,
            Stage::Inspect => pipeline.inspect.enabled,
            Stage::Fix => pipeline.fix.enabled,
            Stage::Convert => pipeline.convert.enabled,
            Stage::Validate => pipeline.validate.enabled,
        };
        (!enabled).then(|| "disabled in the manifest (enabled: false)".to_string())
    }

    /// What the stage's task is about, for `task_started`.
    pub(crate) fn describe(self, run: &Run) -> String {
        match self {
            Stage::Load => "Check the source disk and what source_type says it is".into(),
            Stage::Inspect => "Read disk facts (qemu-img info) and detect the guest OS".into(),
            Stage::Fix => "Apply guest fixes (needs libguestfs or a configured fix tool)".into(),
            Stage::Convert => {
                let format = run
                    .manifest
                    .as_ref()
                    .map(|m| m.pipeline.convert.output_format.as_str())
                    .unwrap_or("qcow2");
                format!("Convert with qemu-img to {format}")
            }
            Stage::Validate => "Check the output (qemu-img check, compare) and boot test".into(),
        }
    }

    /// Runs the stage.
    pub(crate) async fn run(self, run: &mut Run) -> StageResult {
        match self {
            Stage::Load => load::run(run).await,
            Stage::Inspect => inspect::run(run).await,
            Stage::Fix => fix::run(run).await,
            Stage::Convert => convert::run(run).await,
            Stage::Validate => validate::run(run).await,
        }
    }
}
