//! The fix stage: applies the requested guest fixes to copy-on-write
//! overlays of the source disks (the source is never changed), with the
//! fix tool the operator configured and the input or manifest picked, or
//! else with virt-customize for the fixes it can apply. Convert then reads
//! the overlays.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tokio::process::Command;

use crate::{
    policy::{FixTool, BUILTIN_FIX_TOOL},
    vm::{
        command::{self, clip, describe_status, find_program},
        error::StageError,
        manifest::FixStage,
        qemu,
        run::{Disk, Run},
    },
};

use super::{StageOutcome, StageResult};

/// Runs the fix stage.
pub(super) async fn run(run: &mut Run) -> StageResult {
    let fix = run.manifest().pipeline.fix.clone();
    let requested = fix.requested();
    if requested.is_empty() {
        return Ok(StageOutcome::Skipped {
            reason: "no guest fixes requested".into(),
            detail: None,
        });
    }
    let tool = match choose_tool(run, &fix)? {
        Ok(tool) => tool,
        Err(missing) => {
            let message = format!(
                "guest fixes NOT applied ({}): no guest tooling: {}; configure a fix tool \
                 (setting fix_tools, e.g. hyper2kvm) and pick it with fix.tool, or install \
                 libguestfs (virt-customize)",
                requested.join(", "),
                missing.join("; ")
            );
            if run.options.require_fix {
                return Err(StageError::failed(format!(
                    "{message}; require_fix is true"
                )));
            }
            run.warn(message.clone());
            return Ok(StageOutcome::Skipped {
                reason: message,
                detail: Some(json!({ "requested": requested, "applied": [] })),
            });
        }
    };
    let overlays = create_overlays(run).await?;
    let mut result = match &tool {
        ChosenTool::Configured { name, tool } => {
            run_configured(run, name, tool, &fix, &overlays).await?
        }
        ChosenTool::VirtCustomize {
            program,
            commands,
            not_possible,
        } => run_virt_customize(run, program, commands, not_possible, &overlays).await?,
    };
    result["requested"] = json!(requested);
    run.convert_inputs = overlays;
    Ok(StageOutcome::Done {
        summary: format!(
            "fixes run with {}",
            result["tool"].as_str().unwrap_or("a tool")
        ),
        result,
    })
}

/// The tool that will apply the fixes, or why there is none (the outer
/// error: the input or manifest picked a tool the operator did not
/// configure).
fn choose_tool(run: &Run, fix: &FixStage) -> Result<Result<ChosenTool, Vec<String>>, StageError> {
    // The manifest's fix.tool wins over the program's fix_tool input;
    // either only picks a tool the operator configured, by name.
    let picked = match (&fix.tool, &run.options.fix_tool) {
        (Some(name), _) => Some(("fix.tool", name.clone())),
        (None, Some(name)) => Some(("input fix_tool", name.clone())),
        (None, None) => None,
    }
    .filter(|(_, name)| !name.is_empty() && name != BUILTIN_FIX_TOOL);
    let mut missing = Vec::new();
    if let Some((field, name)) = picked {
        let Some(configured) = run.options.policy.fix_tools.get(&name) else {
            return Err(StageError::failed(format!(
                "{field} {name:?} is not a configured fix tool; the configured \
                 ones (setting fix_tools) are: {}",
                run.options.policy.fix_tool_names().join(", ")
            )));
        };
        if configured.program().is_file() {
            return Ok(Ok(ChosenTool::Configured {
                name,
                tool: configured.clone(),
            }));
        }
        missing.push(format!(
            "the fix tool {name:?}'s program {} was not found",
            configured.program().display()
        ));
    }
    let Some(program) = find_program("virt-customize") else {
        missing.push("virt-customize (libguestfs) is not installed".into());
        return Ok(Err(missing));
    };
    let (commands, not_possible) = virt_customize_plan(fix);
    if commands.is_empty() {
        missing.push(format!(
            "virt-customize cannot apply {}",
            not_possible.join(", ")
        ));
        return Ok(Err(missing));
    }
    Ok(Ok(ChosenTool::VirtCustomize {
        program,
        commands,
        not_possible,
    }))
}

/// A copy-on-write overlay of each source disk, in the scratch directory:
/// the fixes go there, and the source is never changed.
async fn create_overlays(run: &mut Run) -> Result<Vec<Disk>, StageError> {
    let scratch = run.scratch()?;
    let mut overlays = Vec::new();
    for (i, disk) in run.sources.iter().enumerate() {
        let backing =
            std::fs::canonicalize(&disk.path).map_err(StageError::io("resolve", &disk.path))?;
        let overlay = scratch.join(format!("{}-disk{}.fixed.qcow2", run.name, i + 1));
        qemu::create_overlay(&backing, &disk.format, &overlay, &run.cancel).await?;
        overlays.push(Disk {
            path: overlay,
            format: "qcow2".into(),
        });
    }
    Ok(overlays)
}

/// Hands each overlay and the requested fixes to a configured fix tool.
async fn run_configured(
    run: &Run,
    name: &str,
    tool: &FixTool,
    fix: &FixStage,
    overlays: &[Disk],
) -> Result<Value, StageError> {
    let mut runs = Vec::new();
    for overlay in overlays {
        let args = tool.args(&overlay.path, &run.name);
        run.progress(
            "fix",
            &format!(
                "running the fix tool {name} ({} {:?}) on {}",
                tool.program().display(),
                args,
                overlay.path.display()
            ),
        );
        let mut cmd = Command::new(tool.program());
        cmd.args(&args)
            .current_dir(&run.options.work_dir)
            .env("VM_PIPELINE_NAME", &run.name)
            .env("VM_PIPELINE_DISK_FORMAT", &overlay.format)
            .env(
                "VM_PIPELINE_FIX",
                serde_json::to_string(fix).unwrap_or_default(),
            );
        let out = command::run(&mut cmd, &run.cancel).await?;
        run.echo("fix", &out.stdout);
        run.echo("fix", &out.stderr);
        if !out.status.success() {
            return Err(StageError::failed(format!(
                "fix tool {name} ({}) failed on {} ({}): {}",
                tool.program().display(),
                overlay.path.display(),
                describe_status(out.status),
                clip(&out.error_text())
            )));
        }
        runs.push(json!({ "disk": overlay.path, "exit_code": out.code() }));
    }
    Ok(json!({
        "tool": name,
        "argv": tool.argv,
        "note": "the requested fixes were handed to the fix tool; \
                 what it changed is its own report",
        "runs": runs,
    }))
}

/// Runs virt-customize's scripts in each overlay; the fixes it cannot
/// apply fail the stage when they are required, else are a warning.
async fn run_virt_customize(
    run: &mut Run,
    program: &Path,
    commands: &[(String, String)],
    not_possible: &[String],
    overlays: &[Disk],
) -> Result<Value, StageError> {
    if !not_possible.is_empty() {
        let message = format!(
            "virt-customize cannot apply {}; those fixes were NOT applied",
            not_possible.join(", ")
        );
        if run.options.require_fix {
            return Err(StageError::failed(format!(
                "{message}; require_fix is true"
            )));
        }
        run.warn(message);
    }
    for overlay in overlays {
        run.progress(
            "fix",
            &format!("running virt-customize on {}", overlay.path.display()),
        );
        let mut cmd = Command::new(program);
        cmd.args(["--format", "qcow2", "-a"]).arg(&overlay.path);
        for (_, script) in commands {
            cmd.args(["--run-command", script]);
        }
        let out = command::run(&mut cmd, &run.cancel).await?;
        run.echo("fix", &out.stdout);
        if !out.status.success() {
            return Err(StageError::failed(format!(
                "virt-customize failed on {} ({}): {}",
                overlay.path.display(),
                describe_status(out.status),
                clip(&out.error_text())
            )));
        }
    }
    Ok(json!({
        "tool": "virt-customize",
        "applied": commands.iter().map(|(name, _)| name).collect::<Vec<_>>(),
        "not_applied": not_possible,
    }))
}

/// The tool the fix stage uses.
enum ChosenTool {
    /// A tool the operator configured (setting `fix_tools`), by its name.
    Configured { name: String, tool: FixTool },
    /// virt-customize with the `--run-command` scripts it can run, and the
    /// requested fixes it has no way to apply.
    VirtCustomize {
        program: PathBuf,
        commands: Vec<(String, String)>,
        not_possible: Vec<String>,
    },
}

/// Which requested fixes virt-customize can apply (as shell commands run
/// inside the guest) and which it cannot.
fn virt_customize_plan(fix: &FixStage) -> (Vec<(String, String)>, Vec<String>) {
    let mut commands = Vec::new();
    let mut not_possible = Vec::new();
    for wanted in fix.requested() {
        if wanted == "grub" {
            commands.push((
                wanted,
                "if command -v update-grub >/dev/null 2>&1; then update-grub; \
                 elif command -v grub2-mkconfig >/dev/null 2>&1; then grub2-mkconfig -o /boot/grub2/grub.cfg; \
                 else echo 'no grub tool in the guest' >&2; exit 1; fi"
                    .to_string(),
            ));
        } else if wanted.starts_with("initramfs") {
            commands.push((
                wanted,
                "if command -v dracut >/dev/null 2>&1; then dracut -f --regenerate-all; \
                 elif command -v update-initramfs >/dev/null 2>&1; then update-initramfs -u -k all; \
                 else echo 'no initramfs tool in the guest' >&2; exit 1; fi"
                    .to_string(),
            ));
        } else {
            // fstab and network rewrites need hyper2kvm's logic.
            not_possible.push(wanted);
        }
    }
    (commands, not_possible)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virt_customize_never_claims_fstab_or_network() {
        let (commands, not_possible) = virt_customize_plan(&FixStage::default());
        let names: Vec<&str> = commands.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["grub", "initramfs (regenerate)"]);
        assert_eq!(not_possible, ["fstab (stabilize-all)", "network (full)"]);
    }
}
