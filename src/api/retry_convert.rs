//! Retry policies and attempts: protobuf <-> domain.

use super::wire_time::{duration, pb_duration, timestamp};
use crate::pb;
use crate::retry_policy::RetryPolicy;
use crate::store::ExecutionRecord;

/// The policy a request gives under `field` (`retry_policy`,
/// `schedule.action.execute.retry_policy`), or its problems as
/// (field, description) with the full field path.
pub(crate) fn policy(
    field: &str,
    policy: Option<&pb::RetryPolicy>,
) -> Result<Option<RetryPolicy>, Vec<(String, String)>> {
    let Some(p) = policy else {
        return Ok(None);
    };
    let mut problems = Vec::new();
    let mut millis = |name: &str, value: &Option<prost_types::Duration>| {
        value.as_ref().and_then(|d| match duration(d) {
            Some(d) if !d.is_zero() => Some(d.as_millis() as u64),
            _ => {
                problems.push((
                    format!("{field}.{name}"),
                    "must be a positive duration within the Duration range".to_string(),
                ));
                None
            }
        })
    };
    let initial = millis("initial_interval", &p.initial_interval);
    let maximum = millis("maximum_interval", &p.maximum_interval);
    let coefficient = (p.backoff_coefficient != 0.0).then_some(p.backoff_coefficient);
    let attempts = u32::try_from(p.max_attempts).unwrap_or(0);
    match RetryPolicy::new(
        attempts,
        initial,
        coefficient,
        maximum,
        p.non_retryable_exit_codes.clone(),
    ) {
        Ok(policy) if problems.is_empty() => Ok(Some(policy)),
        Ok(_) => Err(problems),
        Err(more) => {
            problems.extend(
                more.into_iter()
                    .map(|(name, why)| (format!("{field}.{name}"), why)),
            );
            Err(problems)
        }
    }
}

/// A policy as responses show it.
pub(crate) fn pb_policy(policy: &RetryPolicy) -> pb::RetryPolicy {
    let ms = |ms: u64| pb_duration(std::time::Duration::from_millis(ms));
    pb::RetryPolicy {
        max_attempts: policy.max_attempts as i32,
        initial_interval: Some(ms(policy.initial_interval_ms)),
        backoff_coefficient: policy.backoff_coefficient,
        maximum_interval: Some(ms(policy.maximum_interval_ms)),
        non_retryable_exit_codes: policy.non_retryable_exit_codes.clone(),
    }
}

/// The retry fields of an execution as responses show them: its policy,
/// its attempt, the first and next attempts, and when the next one starts
/// while it waits.
pub(crate) fn fill_attempts(execution: &mut pb::Execution, record: &ExecutionRecord) {
    let Some(retry) = &record.retry else {
        execution.attempt = 1;
        return;
    };
    execution.retry_policy = Some(pb_policy(&retry.policy));
    execution.attempt = retry.attempt as i32;
    execution.first_attempt_id = retry
        .first_attempt
        .map(|id| id.to_string())
        .unwrap_or_default();
    execution.next_attempt_id = retry
        .next_attempt
        .map(|id| id.to_string())
        .unwrap_or_default();
    let waiting = retry.next_attempt.is_none()
        && !retry.settled
        && retry
            .policy
            .retries(retry.attempt, record.state, record.exit_code);
    if let (true, Some(end_ms)) = (waiting, record.end_ms) {
        let delay = retry.policy.delay_after(retry.attempt).as_millis() as i64;
        execution.next_attempt_time = Some(timestamp(end_ms + delay));
    }
}
