//! The example workflows shipped inside the binary, installed into the data
//! directory at start so a fresh daemon has something to run.

use std::fs::Permissions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::private_files;

/// Mode of an installed bundled program: run by the daemon's user alone.
const PROGRAM_MODE: u32 = 0o700;

/// (file name, contents) of every bundled workflow.
pub const BUNDLED_WORKFLOWS: &[(&str, &str)] = &[
    ("hello.sh", include_str!("../examples/workflows/hello.sh")),
    (
        "research-pipeline.sh",
        include_str!("../examples/workflows/research-pipeline.sh"),
    ),
    (
        "sleeper.sh",
        include_str!("../examples/workflows/sleeper.sh"),
    ),
    ("chatty.sh", include_str!("../examples/workflows/chatty.sh")),
    (
        "ignore-sigterm.sh",
        include_str!("../examples/workflows/ignore-sigterm.sh"),
    ),
];

/// The VM pipeline program (workflow `vm_pipeline`), shipped as its own
/// binary next to `workflowd`.
pub const VM_PIPELINE_PROGRAM: &str = "workflow-vm-pipeline";

/// Links the VM pipeline program into `dir` when it is installed next to
/// the running daemon's executable, so the default discovery finds the
/// workflow `vm_pipeline`. A link left by an earlier daemon whose target is
/// gone is removed. Returns whether the program is linked.
pub fn link_vm_pipeline(dir: &Path) -> std::io::Result<bool> {
    let link = dir.join(VM_PIPELINE_PROGRAM);
    let target = std::env::current_exe()?
        .parent()
        .map(|exe_dir| exe_dir.join(VM_PIPELINE_PROGRAM))
        .filter(|target| target.is_file());
    let Some(target) = target else {
        let ours = std::fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink());
        if ours && !link.exists() {
            std::fs::remove_file(&link)?;
        }
        return Ok(false);
    };
    if std::fs::read_link(&link).ok().as_deref() == Some(target.as_path()) {
        return Ok(true);
    }
    private_files::create_dir_all(dir)?;
    let partial = dir.join(format!(".{VM_PIPELINE_PROGRAM}.partial"));
    let _ = std::fs::remove_file(&partial);
    std::os::unix::fs::symlink(&target, &partial)?;
    std::fs::rename(&partial, &link)?;
    Ok(true)
}

/// Writes the bundled workflows into `dir`, replacing outdated copies
/// atomically (write `.partial`, then rename) so a running discovery never
/// sees half a file. The directory is private (0700) and the programs are
/// executable by the daemon's user only (0700), like everything else in the
/// data directory; copies left more open by an older daemon are tightened.
pub fn install(dir: &Path) -> std::io::Result<()> {
    private_files::create_dir_all(dir)?;
    private_files::tighten(dir)?;
    for (name, contents) in BUNDLED_WORKFLOWS {
        let target = dir.join(name);
        if std::fs::read_to_string(&target).is_ok_and(|current| current == *contents) {
            std::fs::set_permissions(&target, Permissions::from_mode(PROGRAM_MODE))?;
            continue;
        }
        let partial = dir.join(format!(".{name}.partial"));
        let _ = std::fs::remove_file(&partial);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PROGRAM_MODE)
            .open(&partial)?;
        file.write_all(contents.as_bytes())?;
        drop(file);
        std::fs::set_permissions(&partial, Permissions::from_mode(PROGRAM_MODE))?;
        std::fs::rename(&partial, &target)?;
    }
    Ok(())
}
