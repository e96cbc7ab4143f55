//! The engine's settings, from the daemon's config and the parts built
//! before it.

use std::sync::Arc;

use crate::config::Config;
use crate::engine::EngineConfig;
use crate::metrics::Metrics;
use crate::program_env::ProgramEnv;

/// What the engine runs with. Sets up the control groups for runs with
/// limits (killing what a previous life left in them).
pub(super) fn engine_config(
    config: &Config,
    program_env: Arc<ProgramEnv>,
    metrics: &Metrics,
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
        kill_programs_with_daemon: config.kill_programs_with_daemon,
        cgroups: crate::cgroups::at_daemon_start(config.cgroups, &config.data_dir),
    }
}
