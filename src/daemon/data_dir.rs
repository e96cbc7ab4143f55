//! The daemon's directories before it starts: the data directory,
//! created private (and made private again when something opened it up),
//! the bundled workflows, the output directory and the user's workflow
//! directory.

use std::os::unix::fs::DirBuilderExt;

use super::DaemonError;
use crate::config::Config;
use crate::fs::private;

/// Mode of the output directory when the daemon creates it: the operator
/// (the daemon's user) writes, the group (e.g. the hypervisor's) reads the
/// converted disks, others get nothing.
const OUTPUT_DIR_MODE: u32 = 0o750;

/// Makes the directories the daemon needs; only the data directory and
/// the bundled workflows must be made for it to start.
pub(super) fn prepare_dirs(config: &Config) -> Result<(), DaemonError> {
    let prepare = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| DaemonError::Prepare { path, source }
    };
    prepare_private_dirs(config).map_err(prepare(&config.data_dir))?;
    if config.bundled_workflows
        && config
            .workflow_dirs
            .contains(&config.bundled_workflows_dir())
    {
        crate::bundled::install(&config.bundled_workflows_dir())
            .map_err(prepare(&config.bundled_workflows_dir()))?;
        // Without the link manifests have no `vm_pipeline` to run; the
        // daemon still serves everything else.
        if let Err(e) = crate::bundled::link_vm_pipeline(&config.bundled_workflows_dir()) {
            tracing::warn!(error = %e, "cannot link the VM pipeline program");
        }
    }
    if let Err(e) = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(OUTPUT_DIR_MODE)
        .create(&config.output_dir)
    {
        tracing::warn!(dir = %config.output_dir.display(), error = %e, "cannot create the output directory");
    }
    for dir in &config.workflow_dirs {
        // The seed's user directory is created so users can drop programs
        // in; private, since discovery refuses programs others could change.
        if dir.ends_with(".workflow-manager/workflows") {
            let _ = private::create_dir_all(dir);
        }
    }
    Ok(())
}

/// Creates the data directory and the runs directory private (0700), and
/// takes group and others' access away from a data directory made more
/// open before (an older daemon, or the umask), saying so in the log.
fn prepare_private_dirs(config: &Config) -> std::io::Result<()> {
    private::create_dir_all(&config.data_dir)?;
    if let Some(mode) = private::tighten(&config.data_dir)? {
        tracing::warn!(
            dir = %config.data_dir.display(),
            mode = format!("{mode:o}"),
            "the data directory was open to other users; made it private (0700)"
        );
    }
    private::create_dir_all(&config.runs_dir())?;
    private::tighten(&config.runs_dir())?;
    Ok(())
}
