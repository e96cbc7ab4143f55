//! The example workflows shipped inside the binary, installed into the data
//! directory at start so a fresh daemon has something to run.

use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::fs::private;

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

/// The name under which the daemon's executable is the VM pipeline program
/// (workflow `vm_pipeline`): the bundled workflow link has this name.
pub const VM_PIPELINE_PROGRAM: &str = "workflow-vm-pipeline";

/// Whether this process was started under [`VM_PIPELINE_PROGRAM`]'s name,
/// that is through the link [`link_vm_pipeline`] makes.
pub fn started_as_vm_pipeline() -> bool {
    std::env::args_os()
        .next()
        .as_deref()
        .and_then(|program| Path::new(program).file_name())
        .is_some_and(|name| name == VM_PIPELINE_PROGRAM)
}

/// Links the running daemon's own executable into `dir` under
/// [`VM_PIPELINE_PROGRAM`]'s name, so the default discovery finds the
/// workflow `vm_pipeline` whatever else is installed: the daemon binary
/// carries the pipeline. An outdated link (a daemon installed elsewhere
/// before) is replaced atomically.
pub fn link_vm_pipeline(dir: &Path) -> std::io::Result<()> {
    let link = dir.join(VM_PIPELINE_PROGRAM);
    let target = std::env::current_exe()?;
    if std::fs::read_link(&link).ok().as_deref() == Some(target.as_path()) {
        return Ok(());
    }
    private::create_dir_all(dir)?;
    let partial = dir.join(format!(".{VM_PIPELINE_PROGRAM}.partial"));
    let _ = std::fs::remove_file(&partial);
    std::os::unix::fs::symlink(&target, &partial)?;
    std::fs::rename(&partial, &link)
}

/// Writes the bundled workflows into `dir`, replacing outdated copies
/// atomically ([`crate::fs::write_atomic`]) so a running discovery never
/// sees half a file. The directory is private (0700) and the programs are
/// executable by the daemon's user only (0700), like everything else in the
/// data directory; copies left more open by an older daemon are tightened.
pub fn install(dir: &Path) -> std::io::Result<()> {
    private::create_dir_all(dir)?;
    private::tighten(dir)?;
    // What a daemon killed mid-install left (write_atomic's partials).
    crate::fs::remove_stale_partials(dir)?;
    for (name, contents) in BUNDLED_WORKFLOWS {
        let target = dir.join(name);
        if std::fs::read_to_string(&target).is_ok_and(|current| current == *contents) {
            std::fs::set_permissions(&target, Permissions::from_mode(PROGRAM_MODE))?;
            continue;
        }
        crate::fs::write_atomic(
            &target,
            contents.as_bytes(),
            crate::fs::Access::PrivateProgram,
        )?;
    }
    Ok(())
}
