//! A retry policy: how many attempts, how long between them, and which
//! exits are not worth another (docs/retries.md). Pure: the waits and the
//! decision; src/retries acts on them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::events::ExecutionState;

/// Wait before the second attempt when the policy does not say.
pub(crate) const DEFAULT_INITIAL_INTERVAL_MS: u64 = 1_000;
/// Growth of the wait when the policy does not say.
pub(crate) const DEFAULT_BACKOFF_COEFFICIENT: f64 = 2.0;
/// The longest wait, as a multiple of the first, when the policy does not
/// say.
const DEFAULT_MAXIMUM_INTERVAL_FACTOR: u64 = 100;
/// The most attempts a policy may ask for.
pub(crate) const MAX_ATTEMPTS: u32 = 100;
/// The longest wait a policy may ask for, in ms (about 31,700 years, past
/// any Duration the API takes): the retry scheduler adds a wait to the
/// current time in ms, which must not overflow.
const MAX_INTERVAL_MS: u64 = 1_000_000_000_000_000;

/// How a failed execution is tried again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Wait before the second attempt.
    pub initial_interval_ms: u64,
    /// Each further wait is the previous one times this.
    pub backoff_coefficient: f64,
    /// Longest wait.
    pub maximum_interval_ms: u64,
    /// Exit codes that end the attempts.
    #[serde(default)]
    pub non_retryable_exit_codes: Vec<i32>,
}

impl RetryPolicy {
    /// A policy from what a client or the config gave (None: the
    /// default), or what is wrong with it as (field, description), the
    /// field relative to the policy (`max_attempts`).
    pub fn new(
        max_attempts: u32,
        initial_interval_ms: Option<u64>,
        backoff_coefficient: Option<f64>,
        maximum_interval_ms: Option<u64>,
        non_retryable_exit_codes: Vec<i32>,
    ) -> Result<Self, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        if !(1..=MAX_ATTEMPTS).contains(&max_attempts) {
            problems.push((
                "max_attempts",
                format!("must be 1 to {MAX_ATTEMPTS} (1: no retry)"),
            ));
        }
        let too_long = || format!("must be at most {MAX_INTERVAL_MS} ms (about 31,700 years)");
        let initial = initial_interval_ms.unwrap_or(DEFAULT_INITIAL_INTERVAL_MS);
        if initial > MAX_INTERVAL_MS {
            problems.push(("initial_interval", too_long()));
        }
        let coefficient = backoff_coefficient.unwrap_or(DEFAULT_BACKOFF_COEFFICIENT);
        if !(1.0..=1000.0).contains(&coefficient) {
            problems.push(("backoff_coefficient", "must be 1 to 1000".to_string()));
        }
        let maximum = maximum_interval_ms.unwrap_or(
            initial
                .saturating_mul(DEFAULT_MAXIMUM_INTERVAL_FACTOR)
                .min(MAX_INTERVAL_MS),
        );
        if maximum > MAX_INTERVAL_MS {
            problems.push(("maximum_interval", too_long()));
        } else if maximum < initial && initial <= MAX_INTERVAL_MS {
            problems.push((
                "maximum_interval",
                "must not be shorter than initial_interval".to_string(),
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(RetryPolicy {
            max_attempts,
            initial_interval_ms: initial,
            backoff_coefficient: coefficient,
            maximum_interval_ms: maximum,
            non_retryable_exit_codes,
        })
    }

    /// The wait between the end of attempt `attempt` (1 for the first)
    /// and the start of the next.
    pub(crate) fn delay_after(&self, attempt: u32) -> Duration {
        let growth = self
            .backoff_coefficient
            .powi(attempt.saturating_sub(1).min(1000) as i32);
        let ms = (self.initial_interval_ms as f64 * growth).min(self.maximum_interval_ms as f64);
        Duration::from_millis(ms as u64)
    }

    /// Whether attempt `attempt`, which ended in `state` with
    /// `exit_code`, is followed by another. CANCELLED never is.
    pub(crate) fn retries(
        &self,
        attempt: u32,
        state: ExecutionState,
        exit_code: Option<i32>,
    ) -> bool {
        let retryable = match state {
            ExecutionState::Failed => {
                !exit_code.is_some_and(|code| self.non_retryable_exit_codes.contains(&code))
            }
            ExecutionState::TimedOut | ExecutionState::Interrupted => true,
            _ => false,
        };
        retryable && attempt < self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_by_the_coefficient_up_to_the_maximum() {
        let policy = RetryPolicy::new(10, Some(100), Some(3.0), Some(2_000), vec![]).unwrap();
        let waits: Vec<u64> = (1..=5)
            .map(|a| policy.delay_after(a).as_millis() as u64)
            .collect();
        assert_eq!(waits, [100, 300, 900, 2_000, 2_000]);
    }

    #[test]
    fn defaults_and_bad_values() {
        let policy = RetryPolicy::new(3, None, None, None, vec![]).unwrap();
        assert_eq!(policy.initial_interval_ms, 1_000);
        assert_eq!(policy.maximum_interval_ms, 100_000);
        let problems = RetryPolicy::new(0, Some(10), Some(0.5), Some(5), vec![]).unwrap_err();
        let fields: Vec<_> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            ["max_attempts", "backoff_coefficient", "maximum_interval"]
        );
    }

    #[test]
    fn what_is_tried_again() {
        let policy = RetryPolicy::new(3, None, None, None, vec![2]).unwrap();
        assert!(policy.retries(1, ExecutionState::Failed, Some(1)));
        assert!(policy.retries(1, ExecutionState::Failed, None), "a signal");
        assert!(
            !policy.retries(1, ExecutionState::Failed, Some(2)),
            "non-retryable"
        );
        assert!(policy.retries(2, ExecutionState::TimedOut, None));
        assert!(policy.retries(1, ExecutionState::Interrupted, None));
        assert!(
            !policy.retries(3, ExecutionState::Failed, Some(1)),
            "the last"
        );
        assert!(!policy.retries(1, ExecutionState::Cancelled, None));
        assert!(!policy.retries(1, ExecutionState::Succeeded, Some(0)));
    }

    /// Found by the `config` fuzz target (fuzz/regressions/config/): a
    /// config file's `maximum_interval_secs = 1e300` was a wait of u64::MAX
    /// ms, which the scheduler's `end_ms + wait as i64` made a retry at
    /// once (and a wait near i64::MAX ms, an overflow).
    #[test]
    fn fuzz_regression_retry_wait_past_the_clock() {
        // "[retry_policies.x]\nmax_attempts = 2\nmaximum_interval_secs = 1e300\n"
        let problems = RetryPolicy::new(2, None, None, Some(u64::MAX), vec![]).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, "maximum_interval");
        // "... initial_interval_secs = 1e300": one problem, on that field.
        let problems = RetryPolicy::new(2, Some(u64::MAX), None, None, vec![]).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, "initial_interval");
        // A long first wait alone still gets a maximum, capped.
        let policy = RetryPolicy::new(2, Some(MAX_INTERVAL_MS / 2), None, None, vec![]).unwrap();
        assert_eq!(policy.maximum_interval_ms, MAX_INTERVAL_MS);
        let wait = policy.delay_after(50).as_millis() as i64;
        assert!(4_000_000_000_000i64.checked_add(wait).is_some());
    }
}
