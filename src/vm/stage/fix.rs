//! The fix stage: applies the requested guest fixes to copy-on-write
//! overlays of the source disks (the source is never changed), with the
//! fix tool the operator configured and the input or manifest picked, or
//! else with virt-customize for the fixes it can apply. Convert then reads
//! the overlays.

use std::path::PathBuf;

use serde_json::json;
use tokio::process::Command;

use crate::{
    policy::BUILTIN_FIX_TOOL,
    vm::{
        command::{self, clip, describe_status, find_program},
        error::StageError,
        manifest::FixStage,
        qemu,
        run::{Disk, Run},
    },
};

use super::{Outcome, StageResult};

/// Runs the fix stage.
pub(super) async fn run(run: &mut Run) -> StageResult {
    let fix = run.manifest().pipeline.fix.clone();
    let requested = fix.requested();
    if requested.is_empty() {
        return Ok(Outcome::Skipped {
            reason: "no guest fixes requested".into(),
            detail: None,
        });
    }
    let require = run.options.require_fix;
    // The manifest's fix.tool wins over the program's fix_tool input;
    // either only picks a tool the operator configured, by name.
    let picked = match (&fix.tool, &run.options.fix_tool) {
        (Some(name), _) => Some(("fix.tool", name.clone())),
        (None, Some(name)) => Some(("input fix_tool", name.clone())),
        (None, None) => None,
    }
    .filter(|(_, name)| !name.is_empty() && name != BUILTIN_FIX_TOOL);
    let configured = match picked {
        None => None,
        Some((field, name)) => match run.options.policy.fix_tools.get(&name) {
            Some(tool) => Some((name, tool.clone())),
            None => {
                return Err(StageError::failed(format!(
                    "{field} {name:?} is not a configured fix tool; the configured \
                     ones (setting fix_tools) are: {}",
                    run.options.policy.fix_tool_names().join(", ")
                )))
            }
        },
    };

    // The tool that will do the work, or why there is none.
    let mut missing = Vec::new();
    let mut tool = None;
    if let Some((name, configured)) = configured {
        if configured.program().is_file() {
            tool = Some(FixTool::Configured {
                name,
                tool: configured,
            });
        } else {
            missing.push(format!(
                "the fix tool {name:?}'s program {} was not found",
                configured.program().display()
            ));
        }
    }
    if tool.is_none() {
        match find_program("virt-customize") {
            Some(program) => {
                let (commands, not_possible) = virt_customize_plan(&fix);
                if commands.is_empty() {
                    missing.push(format!(
                        "virt-customize cannot apply {}",
                        not_possible.join(", ")
                    ));
                } else {
                    tool = Some(FixTool::VirtCustomize {
                        program,
                        commands,
                        not_possible,
                    });
                }
            }
            None => missing.push("virt-customize (libguestfs) is not installed".into()),
        }
    }
    let Some(tool) = tool else {
        let message = format!(
            "guest fixes NOT applied ({}): no guest tooling: {}; configure a fix tool \
             (setting fix_tools, e.g. hyper2kvm) and pick it with fix.tool, or install \
             libguestfs (virt-customize)",
            requested.join(", "),
            missing.join("; ")
        );
        if require {
            return Err(StageError::failed(format!(
                "{message}; require_fix is true"
            )));
        }
        run.warn(message.clone());
        return Ok(Outcome::Skipped {
            reason: message,
            detail: Some(json!({ "requested": requested, "applied": [] })),
        });
    };

    // Fixes go into a copy-on-write overlay: the source is never changed.
    let scratch = run.scratch()?;
    let mut overlays = Vec::new();
    for (i, disk) in run.sources.clone().iter().enumerate() {
        let backing =
            std::fs::canonicalize(&disk.path).map_err(StageError::io("resolve", &disk.path))?;
        let overlay = scratch.join(format!("{}-disk{}.fixed.qcow2", run.name, i + 1));
        qemu::create_overlay(&backing, &disk.format, &overlay, &run.cancel).await?;
        overlays.push(Disk {
            path: overlay,
            format: "qcow2".into(),
        });
    }

    let result = match &tool {
        FixTool::Configured { name, tool } => {
            let mut runs = Vec::new();
            for overlay in &overlays {
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
                        serde_json::to_string(&fix).unwrap_or_default(),
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
            json!({
                "tool": name,
                "argv": tool.argv,
                "requested": requested,
                "note": "the requested fixes were handed to the fix tool; \
                         what it changed is its own report",
                "runs": runs,
            })
        }
        FixTool::VirtCustomize {
            program,
            commands,
            not_possible,
        } => {
            if !not_possible.is_empty() {
                let message = format!(
                    "virt-customize cannot apply {}; those fixes were NOT applied",
                    not_possible.join(", ")
                );
                if require {
                    return Err(StageError::failed(format!(
                        "{message}; require_fix is true"
                    )));
                }
                run.warn(message);
            }
            for overlay in &overlays {
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
            json!({
                "tool": "virt-customize",
                "requested": requested,
                "applied": commands.iter().map(|(name, _)| name).collect::<Vec<_>>(),
                "not_applied": not_possible,
            })
        }
    };
    run.convert_inputs = overlays;
    Ok(Outcome::Done {
        summary: format!(
            "fixes run with {}",
            result["tool"].as_str().unwrap_or("a tool")
        ),
        result,
    })
}

/// The tool the fix stage uses.
enum FixTool {
    /// A tool the operator configured (setting `fix_tools`), by its name.
    Configured {
        name: String,
        tool: crate::policy::FixTool,
    },
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
