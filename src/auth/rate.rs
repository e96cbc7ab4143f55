//! Rate limits on the calls that start work (Execute, SubmitManifest,
//! TriggerSchedule): one token bucket per caller (GCRA, the governor
//! crate), so one busy client cannot take every start from the others.
//! A call over its caller's rate is RESOURCE_EXHAUSTED with a
//! google.rpc.RetryInfo saying when one more fits, and a message naming
//! the limit. With authentication off every caller is the same caller.
//! Config `start_rate_per_second` (off when unset) and
//! `start_rate_burst`.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The calls that start work, which the rate limits count together.
pub(crate) const RATE_LIMITED: &[&str] = &["Execute", "SubmitManifest", "TriggerSchedule"];

/// The rate at which each caller may start work.
pub(crate) struct StartRate {
    limiter: RateLimiter<String, HashMapStateStore<String>, DefaultClock>,
    clock: DefaultClock,
    per_second: f64,
    burst: u32,
}

impl StartRate {
    /// Calls at `per_second` on average, `burst` at once after a pause.
    pub(crate) fn new(per_second: f64, burst: NonZeroU32) -> StartRate {
        let quota = Quota::with_period(Duration::from_secs_f64(1.0 / per_second))
            .expect("a positive rate has a positive period")
            .allow_burst(burst);
        StartRate {
            limiter: RateLimiter::hashmap(quota),
            clock: DefaultClock::default(),
            per_second,
            burst: burst.get(),
        }
    }

    /// The refusal of a call to `method` by `caller`, if it is over the
    /// rate; None when it may go on (and then it is counted).
    pub(crate) fn refusal(&self, method: &str, caller: &str) -> Option<Status> {
        if !RATE_LIMITED.contains(&method) {
            return None;
        }
        let not_until = self.limiter.check_key(&caller.to_string()).err()?;
        let wait = not_until.wait_time_from(self.clock.now());
        let message = format!(
            "rate limit: {caller} may start work {}/s (bursts of {}), counting Execute, \
             SubmitManifest and TriggerSchedule together (config start_rate_per_second, \
             start_rate_burst); retry in {:.2} s",
            self.per_second,
            self.burst,
            wait.as_secs_f64()
        );
        Some(Status::with_error_details(
            Code::ResourceExhausted,
            message,
            ErrorDetails::with_retry_info(Some(wait)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_past_its_burst_is_told_when_to_retry_and_others_are_not() {
        let rate = StartRate::new(1.0, NonZeroU32::new(2).unwrap());
        assert!(rate.refusal("Execute", "token a").is_none());
        assert!(rate.refusal("SubmitManifest", "token a").is_none());
        let refused = rate.refusal("Execute", "token a").expect("over the burst");
        assert_eq!(refused.code(), Code::ResourceExhausted);
        assert!(refused
            .message()
            .contains("token a may start work 1/s (bursts of 2)"));
        let retry = refused.get_details_retry_info().expect("RetryInfo");
        let delay = retry.retry_delay.expect("a delay");
        assert!(
            delay > Duration::ZERO && delay <= Duration::from_secs(1),
            "{delay:?}"
        );
        // Another caller has its own bucket; reads are not counted.
        assert!(rate.refusal("Execute", "token b").is_none());
        assert!(rate.refusal("GetExecution", "token a").is_none());
    }
}
