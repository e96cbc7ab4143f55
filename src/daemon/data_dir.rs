//! The daemon's data directory: created private, and made private again
//! when something opened it up.

use crate::config::Config;
use crate::fs::private;

/// Creates the data directory and the runs directory private (0700), and
/// takes group and others' access away from a data directory made more
/// open before (an older daemon, or the umask), saying so in the log.
pub(super) fn prepare_private_dirs(config: &Config) -> std::io::Result<()> {
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
