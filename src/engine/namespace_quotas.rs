//! Each namespace's share of the daemon: at most `max_running` of its
//! executions run and at most `max_queued` wait at once (config
//! `[namespaces.NAME]`). A namespace with a `max_running` and no
//! `max_queued` waits for its own runs while others' go ahead, so without a
//! bound it could fill the daemon's queue (`max_queue`) for everyone: it
//! gets its fair share of that queue as its `max_queued` by default
//! ([`default_max_queued`]). Counted under the scheduler's lock, and only
//! for namespaces that have a quota, except the running ones of a daemon
//! with several namespaces, which GetStatus shows a caller per namespace:
//! a daemon without namespaces or quotas does no counting.

use std::collections::HashMap;

use crate::namespaces::{Namespaces, Visibility};

/// How many of a namespace's executions may wait at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueuedLimit {
    /// Its `max_queued`.
    Configured(usize),
    /// No `max_queued` but a `max_running`: its share of the daemon's
    /// queue, `max_queue` / `namespaces` (at least 1).
    DefaultShare {
        /// The share.
        limit: usize,
        /// The daemon's `max_queue`.
        max_queue: usize,
        /// How many namespaces share it (`default` counted).
        namespaces: usize,
    },
}

impl QueuedLimit {
    /// The number of executions.
    pub fn limit(&self) -> usize {
        match *self {
            QueuedLimit::Configured(limit) | QueuedLimit::DefaultShare { limit, .. } => limit,
        }
    }
}

/// The default `max_queued` of a namespace with a `max_running` and none
/// of its own: an even share of the daemon's queue among all its
/// namespaces, so that however long its own runs hold it, the others keep
/// room to wait in.
pub(super) fn default_max_queued(max_queue: usize, namespaces: usize) -> usize {
    (max_queue / namespaces.max(1)).max(1)
}

/// How many of a namespace's executions can be held at once
/// ([`NamespaceQuotas::most_held`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MostHeld {
    /// Waiting: its `max_queued`, or the default one.
    pub queued: QueuedLimit,
    /// Its `max_running`, if it has one.
    pub max_running: Option<usize>,
    /// The daemon's `max_concurrent_jobs`.
    pub workers: usize,
}

impl MostHeld {
    /// Running: its `max_running`, at most the daemon's workers.
    pub fn running(&self) -> usize {
        self.max_running
            .map_or(self.workers, |max| max.min(self.workers))
    }

    /// Waiting and running together.
    pub fn total(&self) -> usize {
        self.queued.limit() + self.running()
    }
}

/// The quotas and the counts they are checked against.
#[derive(Debug, Default)]
pub(super) struct NamespaceQuotas {
    /// (max_running, max_queued) of the namespaces with either.
    quotas: HashMap<String, (Option<usize>, Option<QueuedLimit>)>,
    /// Whether some namespace has a `max_running`: only then does the
    /// scheduler look past the front of the queue.
    limits_running: bool,
    /// Whether every namespace's running executions are counted (the
    /// daemon has several), not only those with a quota.
    counts_all_running: bool,
    running: HashMap<String, usize>,
    /// Queued, and being accepted (a reservation).
    waiting: HashMap<String, usize>,
}

impl NamespaceQuotas {
    /// The quotas of `namespaces` on a daemon whose queue holds
    /// `max_queue`.
    pub(super) fn new(namespaces: &Namespaces, max_queue: usize) -> Self {
        let count = namespaces.names().count();
        let quotas: HashMap<_, _> = namespaces
            .names()
            .filter_map(|name| {
                let s = namespaces.get(name)?;
                let max_queued = match (s.max_queued, s.max_running) {
                    (Some(limit), _) => Some(QueuedLimit::Configured(limit)),
                    (None, Some(_)) => Some(QueuedLimit::DefaultShare {
                        limit: default_max_queued(max_queue, count),
                        max_queue,
                        namespaces: count,
                    }),
                    (None, None) => None,
                };
                (s.max_running.is_some() || max_queued.is_some())
                    .then(|| (name.to_string(), (s.max_running, max_queued)))
            })
            .collect();
        Self {
            limits_running: quotas.values().any(|(running, _)| running.is_some()),
            counts_all_running: count > 1,
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

    /// Counts one more waiting in `namespace`, or returns its limit on
    /// waiting when it is full. As in the daemon's queue, those waiting
    /// (queued or being accepted) first fill the places the namespace may
    /// still run in, at most `free_workers` (the daemon's), and only the
    /// rest count against its `max_queued`: so executions that start at
    /// once, or would but for being accepted together, fit.
    pub(super) fn wait(&mut self, namespace: &str, free_workers: usize) -> Result<(), QueuedLimit> {
        let Some((max_running, max_queued)) = self.quotas.get(namespace) else {
            return Ok(());
        };
        let running = self.running.get(namespace).copied().unwrap_or(0);
        let waiting = self.waiting.entry(namespace.to_string()).or_default();
        if let Some(max) = max_queued {
            let may_start = match max_running {
                Some(max_running) => max_running.saturating_sub(running).min(free_workers),
                None => free_workers,
            };
            if *waiting >= max.limit() + may_start {
                return Err(*max);
            }
        }
        *waiting += 1;
        Ok(())
    }

    /// The most executions of `namespace` that can be held at once,
    /// waiting or running, on a daemon running at most `workers`: its
    /// limit on waiting and the places it may run in; None when only the
    /// daemon's queue bounds it.
    pub(super) fn most_held(&self, namespace: &str, workers: usize) -> Option<MostHeld> {
        let (max_running, Some(queued)) = self.quotas.get(namespace)? else {
            return None;
        };
        Some(MostHeld {
            queued: *queued,
            max_running: *max_running,
            workers,
        })
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
        let has_quota = self.quotas.contains_key(namespace);
        if has_quota {
            self.left(namespace);
        }
        if has_quota || self.counts_all_running {
            *self.running.entry(namespace.to_string()).or_default() += 1;
        }
    }

    /// How many executions of the namespaces `seen` sees run; only on a
    /// daemon with several namespaces (with one, a caller sees it all or
    /// nothing: the scheduler's own count).
    pub(super) fn running_in(&self, seen: &Visibility) -> usize {
        self.running
            .iter()
            .filter(|(namespace, _)| seen.sees(namespace))
            .map(|(_, running)| running)
            .sum()
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
    fn a_namespace_runs_and_waits_within_its_quota_and_others_are_not_held() {
        let namespaces = Namespaces::new(BTreeMap::from([(
            "a".to_string(),
            NamespaceSettings {
                max_running: Some(1),
                max_queued: Some(2),
                ..NamespaceSettings::default()
            },
        )]));
        let mut quotas = NamespaceQuotas::new(&namespaces, 1000);
        assert!(quotas.limits_running());
        assert_eq!((quotas.wait("a", 0), quotas.wait("a", 0)), (Ok(()), Ok(())));
        assert_eq!(quotas.wait("a", 0), Err(QueuedLimit::Configured(2)));
        assert!(quotas.may_run("a"));
        quotas.started("a");
        assert!(!quotas.may_run("a"));
        assert_eq!(
            quotas.wait("a", 0),
            Ok(()),
            "the started one left the queue"
        );
        quotas.ended("a");
        assert!(quotas.may_run("a"));
        for _ in 0..10 {
            assert_eq!(quotas.wait("default", 0), Ok(()));
            quotas.started("default");
        }
        // Not held or counted waiting; counted running, for GetStatus.
        assert!(quotas.may_run("default") && !quotas.waiting.contains_key("default"));
        assert_eq!(quotas.running.get("default"), Some(&10));
    }

    #[test]
    fn places_a_namespace_may_still_run_in_come_before_its_max_queued() {
        let namespaces = Namespaces::new(BTreeMap::from([(
            "a".to_string(),
            NamespaceSettings {
                max_running: Some(2),
                max_queued: Some(1),
                ..NamespaceSettings::default()
            },
        )]));
        let mut quotas = NamespaceQuotas::new(&namespaces, 1000);
        // Nothing runs and three workers are free: two places to run in
        // (its max_running), then one to wait in, taken before any starts.
        assert!((0..3).all(|_| quotas.wait("a", 3).is_ok()));
        assert_eq!(quotas.wait("a", 3), Err(QueuedLimit::Configured(1)));
        // The daemon's free workers bound them too.
        quotas.left("a");
        quotas.left("a");
        assert_eq!(quotas.wait("a", 0), Err(QueuedLimit::Configured(1)));
        assert_eq!(quotas.wait("a", 1), Ok(()));
        // One started: one place left to run in.
        quotas.started("a");
        assert_eq!(quotas.wait("a", 3), Ok(()));
        assert_eq!(quotas.wait("a", 3), Err(QueuedLimit::Configured(1)));
        let most = quotas.most_held("a", 1).expect("a max_queued");
        assert_eq!(
            (most.total(), most.running()),
            (2, 1),
            "at most the workers run"
        );
        assert_eq!(quotas.most_held("default", 4), None);
    }

    #[test]
    fn a_namespace_with_max_running_and_no_max_queued_waits_within_its_share() {
        let settings = |max_running| NamespaceSettings {
            max_running,
            ..NamespaceSettings::default()
        };
        // a, b and default share a queue of 7: 2 each.
        let namespaces = Namespaces::new(BTreeMap::from([
            ("a".to_string(), settings(Some(1))),
            ("b".to_string(), settings(None)),
        ]));
        let mut quotas = NamespaceQuotas::new(&namespaces, 7);
        assert_eq!((quotas.wait("a", 0), quotas.wait("a", 0)), (Ok(()), Ok(())));
        assert_eq!(
            quotas.wait("a", 0),
            Err(QueuedLimit::DefaultShare {
                limit: 2,
                max_queue: 7,
                namespaces: 3
            })
        );
        // A namespace without max_running is held to the daemon's queue only.
        assert!((0..5).all(|_| quotas.wait("b", 0).is_ok()));
        assert_eq!(default_max_queued(2, 3), 1, "at least one");
        assert_eq!(default_max_queued(1000, 3), 333);
    }

    #[test]
    fn with_several_namespaces_every_ones_running_are_counted() {
        let namespaces = Namespaces::new(BTreeMap::from([(
            "a".to_string(),
            NamespaceSettings::default(),
        )]));
        let mut quotas = NamespaceQuotas::new(&namespaces, 10);
        quotas.started("a");
        quotas.started("default");
        quotas.started("default");
        let only = |name: &str| Visibility::Only([name.to_string()].into());
        assert_eq!(quotas.running_in(&only("a")), 1);
        assert_eq!(quotas.running_in(&only("default")), 2);
        quotas.ended("default");
        assert_eq!(quotas.running_in(&Visibility::All), 2);
        assert!(quotas.waiting.is_empty(), "no quota: no waiting counted");
    }
}
