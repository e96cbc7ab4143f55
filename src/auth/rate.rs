//! Rate limits on the calls that start work (Execute, SubmitManifest,
//! TriggerSchedule): one token bucket per caller (GCRA, the governor
//! crate), so one busy client cannot take every start from the others.
//! A call over its caller's rate is RESOURCE_EXHAUSTED with a
//! google.rpc.RetryInfo saying when one more fits, and a message naming
//! the limit. With authentication off every caller is the same caller.
//! Config `start_rate_per_second` (off when unset) and
//! `start_rate_burst`; a namespace's own rate (`[namespaces.NAME]`'s) is
//! a bucket per namespace ([`NamespaceRates`]), spent by the handlers only
//! once a start is valid and new, so bad input does not drain a team's
//! rate.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The calls that start work, which the rate limits count together.
pub(crate) const RATE_LIMITED: &[&str] = &["Execute", "SubmitManifest", "TriggerSchedule"];

/// The rate at which each caller may start work. Checked before the
/// handler, so every start call its role allows counts, valid or not: it
/// is the daemon's guard against a flood (checking a call is work too),
/// and bad input drains only the bucket of the caller that sent it.
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
        self.over(
            caller,
            caller,
            "Execute, SubmitManifest and TriggerSchedule",
            "start_rate_per_second, start_rate_burst",
        )
    }

    /// The refusal when `key`'s bucket is empty, naming `who`, the calls
    /// it `counts` and the config `settings`; None when the call may go on
    /// (then counted).
    fn over(&self, key: &str, who: &str, counts: &str, settings: &str) -> Option<Status> {
        let not_until = self.limiter.check_key(&key.to_string()).err()?;
        let wait = not_until.wait_time_from(self.clock.now());
        let message = format!(
            "rate limit: {who} may start work {}/s (bursts of {}), counting {counts} \
             together (config {settings}); retry in {:.2} s",
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

/// Each namespace's rate of starting work, for the namespaces that have
/// one.
#[derive(Default)]
pub(crate) struct NamespaceRates {
    by_namespace: std::collections::HashMap<String, StartRate>,
}

impl NamespaceRates {
    /// The rates of `namespaces`.
    pub(crate) fn new(namespaces: &crate::namespaces::Namespaces) -> Self {
        let by_namespace = namespaces
            .names()
            .filter_map(|name| {
                let (per_second, burst) = namespaces.get(name)?.start_rate?;
                Some((name.to_string(), StartRate::new(per_second, burst)))
            })
            .collect();
        Self { by_namespace }
    }

    /// The refusal of one more start in `namespace`, if it is over its
    /// rate; None when it may go on (and then it is counted).
    pub(crate) fn refusal(&self, namespace: &str) -> Option<Status> {
        self.by_namespace.get(namespace)?.over(
            namespace,
            &format!("namespace {namespace}"),
            "its valid new Execute and SubmitManifest calls",
            &format!("namespaces.{namespace}.start_rate_per_second, start_rate_burst"),
        )
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

    #[test]
    fn a_namespace_has_its_own_bucket_and_others_have_none() {
        let namespaces = crate::namespaces::Namespaces::new(std::collections::BTreeMap::from([(
            "a".to_string(),
            crate::namespaces::NamespaceSettings {
                start_rate: Some((1.0, NonZeroU32::new(1).unwrap())),
                ..Default::default()
            },
        )]));
        let rates = NamespaceRates::new(&namespaces);
        assert!(rates.refusal("a").is_none());
        let refused = rates.refusal("a").expect("over the burst");
        assert!(
            refused.message().contains("namespace a may start work 1/s")
                && refused
                    .message()
                    .contains("namespaces.a.start_rate_per_second"),
            "{}",
            refused.message()
        );
        assert!((0..10).all(|_| rates.refusal("default").is_none()));
    }
}
