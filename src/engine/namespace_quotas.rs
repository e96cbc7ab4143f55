//! Each namespace's share of the daemon: at most `max_running` of its
//! executions run and at most `max_queued` wait at once (config
//! `[namespaces.NAME]`). Counted under the scheduler's lock, and only for
//! namespaces that have a quota: a daemon without any does no counting.

use std::collections::HashMap;

use crate::namespaces::Namespaces;

/// The quotas and the counts they are checked against.
#[derive(Debug, Default)]
pub(super) struct NamespaceQuotas {
    /// (max_running, max_queued) of the namespaces with either.
    quotas: HashMap<String, (Option<usize>, Option<usize>)>,
    /// Whether some namespace has a `max_running`: only then does the
    /// scheduler look past the front of the queue.
    limits_running: bool,
    running: HashMap<String, usize>,
    /// Queued, and being accepted (a reservation).
    waiting: HashMap<String, usize>,
}

impl NamespaceQuotas {
    /// The quotas of `namespaces`.
    pub(super) fn new(namespaces: &Namespaces) -> Self {
        let quotas: HashMap<_, _> = namespaces
            .names()
            .filter_map(|name| {
                let s = namespaces.get(name)?;
                (s.max_running.is_some() || s.max_queued.is_some())
                    .then(|| (name.to_string(), (s.max_running, s.max_queued)))
            })
            .collect();
        Self {
            limits_running: quotas.values().any(|(running, _)| running.is_some()),
            quotas,
            ..Self::default()
        }
    }

    /// Whether the scheduler must pick around namespaces at their
    /// `max_running` (else it takes the queue's front).
    pub(super) fn limits_running(&self) -> bool {
        self.limits_running
    }

    /// Whether one more of `namespace` may start.
    pub(super) fn may_run(&self, namespace: &str) -> bool {
        match self.quotas.get(namespace) {
            Some((Some(max), _)) => self.running.get(namespace).copied().unwrap_or(0) < *max,
            _ => true,
        }
    }

    /// Counts one more waiting in `namespace`, or returns its `max_queued`
    /// when it is full.
    pub(super) fn wait(&mut self, namespace: &str) -> Result<(), usize> {
        let Some((_, max_queued)) = self.quotas.get(namespace) else {
            return Ok(());
        };
        let waiting = self.waiting.entry(namespace.to_string()).or_default();
        if let Some(max) = max_queued {
            if *waiting >= *max {
                return Err(*max);
            }
        }
        *waiting += 1;
        Ok(())
    }

    /// One of `namespace` stopped waiting without starting (cancelled,
    /// or its acceptance failed).
    pub(super) fn left(&mut self, namespace: &str) {
        if let Some(waiting) = self.waiting.get_mut(namespace) {
            *waiting = waiting.saturating_sub(1);
        }
    }

    /// One of `namespace` went from waiting to running.
    pub(super) fn started(&mut self, namespace: &str) {
        if self.quotas.contains_key(namespace) {
            self.left(namespace);
            *self.running.entry(namespace.to_string()).or_default() += 1;
        }
    }

    /// One of `namespace` stopped running (or went back to waiting: then
    /// [`NamespaceQuotas::requeued`] follows).
    pub(super) fn ended(&mut self, namespace: &str) {
        if let Some(running) = self.running.get_mut(namespace) {
            *running = running.saturating_sub(1);
        }
    }

    /// One of `namespace` is waiting again (after [`NamespaceQuotas::ended`])
    /// or queued at start-up; counted past `max_queued` if need be, since
    /// it was accepted before.
    pub(super) fn requeued(&mut self, namespace: &str) {
        if self.quotas.contains_key(namespace) {
            *self.waiting.entry(namespace.to_string()).or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::namespaces::NamespaceSettings;

    #[test]
    fn a_namespace_runs_and_waits_within_its_quota_and_others_are_not_counted() {
        let namespaces = Namespaces::new(BTreeMap::from([(
            "a".to_string(),
            NamespaceSettings {
                max_running: Some(1),
                max_queued: Some(2),
                ..NamespaceSettings::default()
            },
        )]));
        let mut quotas = NamespaceQuotas::new(&namespaces);
        assert!(quotas.limits_running());
        assert_eq!((quotas.wait("a"), quotas.wait("a")), (Ok(()), Ok(())));
        assert_eq!(quotas.wait("a"), Err(2));
        assert!(quotas.may_run("a"));
        quotas.started("a");
        assert!(!quotas.may_run("a"));
        assert_eq!(quotas.wait("a"), Ok(()), "the started one left the queue");
        quotas.ended("a");
        assert!(quotas.may_run("a"));
        for _ in 0..10 {
            assert_eq!(quotas.wait("default"), Ok(()));
            quotas.started("default");
        }
        assert!(quotas.may_run("default") && !quotas.running.contains_key("default"));
    }
}
