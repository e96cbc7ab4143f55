//! The engine's settings, from the daemon's config and the parts built
//! before it.

use std::sync::Arc;

use crate::config::Config;
use crate::engine::EngineConfig;
use crate::guardian::Guardian;
use crate::metrics::Metrics;
use crate::program_env::ProgramEnv;

/// What the engine runs with, given the control groups for runs with
/// limits (`cgroups`, set up before any program was started).
pub(super) fn engine_config(
    config: &Config,
    program_env: Arc<ProgramEnv>,
    metrics: &Metrics,
    cgroups: Option<Arc<crate::cgroups::Cgroups>>,
) -> EngineConfig {
    EngineConfig {
        max_concurrent_jobs: config.max_concurrent_jobs,
        max_queue: config.max_queue,
        runs_dir: config.runs_dir(),
        default_grace_period: config.default_grace_period,
        shutdown_grace_period: config.shutdown_grace_period,
        program_env,
        output_dir: config.output_dir.clone(),
        metrics: metrics.clone(),
        retry_defaults: config.retry_policies.clone(),
        program_limits: config.program_limits.clone(),
        guardian: guardian(config.kill_programs_with_daemon),
        cgroups,
        exec_shim: crate::exec_shim::next_to_daemon(),
        namespaces: Arc::new(config.namespaces.clone()),
        bundled_workflows_dir: config.bundled_workflows_dir(),
        boot_id_file: config.data_dir.join("boot-id"),
        idle_workers: Default::default(),
        running_committed_before_spawn: matches!(
            config.history_database(),
            crate::store::Database::Postgres(_)
        ),
    }
}

/// The guardian that kills the programs if the daemon dies, when wanted
/// and it starts.
fn guardian(wanted: bool) -> Option<Arc<Guardian>> {
    if !wanted {
        tracing::info!("kill_programs_with_daemon = false: programs outlive a dead daemon until its next start");
        return None;
    }
    match Guardian::start() {
        Ok(guardian) => Some(Arc::new(guardian)),
        Err(e) => {
            tracing::error!(error = %e, "cannot start the guardian: programs will outlive a dead daemon until its next start");
            None
        }
    }
}
