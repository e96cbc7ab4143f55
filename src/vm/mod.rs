//! `workflow-vm-pipeline`: one VM's hyper2kvm-style pipeline (load, inspect,
//! fix, convert, validate) as an ordinary workflow program, so a manifest
//! run is an execution like any other: phases and tasks in the tree, live
//! convert progress, cancel, history, and the report as an artifact.
//!
//! This file holds the program's inputs (the command line and the metadata
//! that declares it). The program reads one VM's pipeline
//! ([`manifest::VmManifest`]); `pipeline` runs the stages (`stage`, one
//! file each) over the state of the run (`run`), drives `qemu-img` and,
//! when installed, libguestfs through `command`, reports on the workflow
//! protocol (`events`) and writes `<name>.report.json` (`report`). See
//! docs/vm-pipeline.md.

mod command;
mod error;
mod events;
mod image_chain;
mod image_refs;
pub mod manifest;
mod ovf;
mod pipeline;
pub mod program;
mod qemu;
mod report;
mod run;
mod stage;

use std::path::PathBuf;

use crate::manifest::pipeline::BOOT_ACCELERATORS;
use crate::policy::WorkflowPolicy;
use crate::workflow::{FieldSpec, FieldType, WorkflowMetadata};

/// The workflow id the program declares.
pub(crate) const WORKFLOW_ID: &str = "vm_pipeline";

/// Phase of the `state_file_created` event that announces the report.
pub(crate) const REPORT_PHASE: i32 = 4;

/// Exit code of a run stopped by SIGTERM/SIGINT (128 + SIGTERM).
pub(crate) const EXIT_CANCELLED: i32 = 143;

/// Command line of `workflow-vm-pipeline`. Every flag but
/// `--workflow-metadata` is one of the workflow's fields.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "workflow-vm-pipeline",
    about = "Runs one VM's conversion pipeline (load, inspect, fix, convert, validate) with qemu-img"
)]
pub struct Args {
    /// Print the workflow metadata (JSON) and exit.
    #[arg(long)]
    pub(crate) workflow_metadata: bool,
    /// The VM's pipeline: {"name": ..., "pipeline": {...}}.
    #[arg(long, required_unless_present = "workflow_metadata")]
    pub(crate) manifest: Option<PathBuf>,
    /// Output directory, inside the policy's (default: the policy's).
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    pub(crate) output_dir: String,
    /// The guest-fix tool, by the name the operator configured it under,
    /// unless the manifest's `fix.tool` says.
    #[arg(long, default_value = crate::policy::BUILTIN_FIX_TOOL)]
    pub(crate) fix_tool: String,
    /// "true": a fix stage that cannot run fails the pipeline.
    #[arg(long, default_value = "false", value_parser = ["true", "false"])]
    pub(crate) require_fix: String,
    /// The boot test's qemu accelerator, one of [`BOOT_ACCELERATORS`],
    /// unless the manifest's `validate.boot_accel` says.
    #[arg(long, default_value = BOOT_ACCELERATORS[0], value_parser = BOOT_ACCELERATORS)]
    pub(crate) boot_accel: String,
}

/// What one run needs.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// The per-VM manifest file.
    pub(crate) manifest: PathBuf,
    /// Output directory; None means the policy's. Relative paths are
    /// resolved against the policy's, and it must be inside it.
    pub(crate) output_dir: Option<PathBuf>,
    /// The guest-fix tool the input picked, by name (None or
    /// [`crate::policy::BUILTIN_FIX_TOOL`]: virt-customize).
    pub(crate) fix_tool: Option<String>,
    /// Fail instead of skipping when fixes cannot be applied.
    pub(crate) require_fix: bool,
    /// qemu's `-machine accel=` for the boot test.
    pub(crate) boot_accel: String,
    /// The working directory: the report and scratch files go here.
    pub(crate) work_dir: PathBuf,
    /// What the operator allows: source roots, output directory, fix tools.
    pub(crate) policy: WorkflowPolicy,
}

impl Args {
    /// The run options, with `work_dir` the process's current directory.
    pub(crate) fn options(&self, policy: WorkflowPolicy) -> std::io::Result<Options> {
        let work_dir = std::env::current_dir()?;
        let manifest = self.manifest.clone().unwrap_or_default();
        Ok(Options {
            manifest: if manifest.is_absolute() {
                manifest
            } else {
                work_dir.join(manifest)
            },
            output_dir: Some(self.output_dir.trim())
                .filter(|d| !d.is_empty())
                .map(PathBuf::from),
            fix_tool: Some(self.fix_tool.clone()).filter(|t| !t.is_empty()),
            require_fix: self.require_fix == "true",
            boot_accel: self.boot_accel.clone(),
            work_dir,
            policy,
        })
    }
}

/// What `--workflow-metadata` prints; the `fix_tool` options are the
/// policy's tools (without a policy, only the built-in fallback).
pub(crate) fn metadata(policy: Option<&WorkflowPolicy>) -> WorkflowMetadata {
    let fix_tools = policy.map_or_else(
        || vec![crate::policy::BUILTIN_FIX_TOOL.to_string()],
        WorkflowPolicy::fix_tool_names,
    );
    let field = |name: &str, label: &str, description: &str, cli_arg: &str| FieldSpec {
        name: name.into(),
        label: label.into(),
        description: description.into(),
        cli_arg: cli_arg.into(),
        required: false,
        default: None,
        required_for_phases: None,
        field_type: FieldType::Text,
    };
    WorkflowMetadata {
        id: WORKFLOW_ID.into(),
        name: "VM conversion pipeline".into(),
        description: "Converts one VM's disk for KVM: load (source check, OVA/OVF), inspect \
                      (qemu-img info, OS with libguestfs), fix (guest tooling), convert \
                      (qemu-img convert with progress), validate (qemu-img check and compare). \
                      Writes <name>.report.json."
            .into(),
        schema_version: crate::workflow::DEFAULT_SCHEMA_VERSION.into(),
        fields: vec![
            FieldSpec {
                required: true,
                field_type: FieldType::FilePath {
                    pattern: Some("*.json".into()),
                },
                ..field(
                    "manifest",
                    "VM manifest",
                    "JSON file with one VM's pipeline: {\"name\": ..., \"pipeline\": {load, inspect, fix, convert, validate}}",
                    "--manifest",
                )
            },
            FieldSpec {
                default: Some(String::new()),
                ..field(
                    "output_dir",
                    "Output directory",
                    "Where outputs go when convert.output_path is absent \
                     (OUTPUT_DIR/YYYY-MM-DD/<name>/<name>.<format>); must be inside the daemon's \
                     output directory (setting output_dir), which is used when empty",
                    "--output-dir",
                )
            },
            FieldSpec {
                default: Some(crate::policy::BUILTIN_FIX_TOOL.into()),
                field_type: FieldType::Select { options: fix_tools },
                ..field(
                    "fix_tool",
                    "Guest-fix tool",
                    "Which guest-fix tool the operator configured (setting fix_tools) applies the \
                     fixes, unless the manifest's fix.tool says; virt-customize: libguestfs, \
                     when installed",
                    "--fix-tool",
                )
            },
            FieldSpec {
                default: Some("false".into()),
                field_type: FieldType::Select {
                    options: vec!["true".into(), "false".into()],
                },
                ..field(
                    "require_fix",
                    "Require guest fixes",
                    "true: fail when the requested guest fixes cannot be applied (no tooling) instead of skipping them",
                    "--require-fix",
                )
            },
            FieldSpec {
                default: Some(BOOT_ACCELERATORS[0].into()),
                field_type: FieldType::Select {
                    options: BOOT_ACCELERATORS.iter().map(|a| a.to_string()).collect(),
                },
                ..field(
                    "boot_accel",
                    "Boot test accelerator",
                    "qemu accelerator of the boot test (validate.boot_test), unless the \
                     manifest's validate.boot_accel says: kvm:tcg uses KVM and falls back to \
                     emulation; tcg emulates, for machines where KVM is nested and slow; kvm \
                     fails when KVM cannot be used",
                    "--boot-accel",
                )
            },
        ],
    }
}
