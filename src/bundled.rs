//! The example workflows shipped inside the binary, installed into the data
//! directory at start so a fresh daemon has something to run.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

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

/// Writes the bundled workflows into `dir`, replacing outdated copies
/// atomically (write `.partial`, then rename) so a running discovery never
/// sees half a file.
pub fn install(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, contents) in BUNDLED_WORKFLOWS {
        let target = dir.join(name);
        if std::fs::read_to_string(&target).is_ok_and(|current| current == *contents) {
            continue;
        }
        let partial = dir.join(format!(".{name}.partial"));
        std::fs::write(&partial, contents)?;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))?;
        std::fs::rename(&partial, &target)?;
    }
    Ok(())
}
