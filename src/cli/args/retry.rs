//! The retry flags of `wfctl run` (docs/retries.md): a flag group of its
//! own, so another verb that starts executions can take the same.

/// How a failed run is tried again: ExecuteRequest.retry_policy. Without
/// `--retry-max-attempts` none is sent and the daemon's default for the
/// workflow applies.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct RetryArgs {
    /// Attempts in all, the first included (1: no retry, also not the
    /// daemon's default policy).
    #[arg(long, value_name = "N")]
    pub(crate) retry_max_attempts: Option<i32>,
    /// Wait before the second attempt, e.g. 2s [daemon default: 1s].
    #[arg(long, value_name = "DURATION", requires = "retry_max_attempts")]
    pub(crate) retry_initial_interval: Option<String>,
    /// Each further wait is the previous one times this [daemon default: 2].
    #[arg(long, value_name = "FACTOR", requires = "retry_max_attempts")]
    pub(crate) retry_backoff: Option<f64>,
    /// Longest wait, e.g. 1m [daemon default: 100 x the initial interval].
    #[arg(long, value_name = "DURATION", requires = "retry_max_attempts")]
    pub(crate) retry_max_interval: Option<String>,
    /// An exit code that ends the attempts at once (repeatable).
    #[arg(
        long = "retry-non-retryable-exit-code",
        value_name = "CODE",
        requires = "retry_max_attempts"
    )]
    pub(crate) retry_non_retryable_exit_codes: Vec<i32>,
}
