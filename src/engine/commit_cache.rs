//! Answers read from the history, kept until the history changes.
//!
//! The history writer counts its commits ([`StoreWriter::commits`]); an
//! answer read after commit N is current until commit N+1. GetStatus, which
//! every dashboard, `wfctl status` and health probe polls, then reads
//! SQLite only after something was written, not at every call: reading it
//! cost about 80 us of CPU a call against 13 us for a bare tonic server's
//! health check (bench/README.md, gRPC overhead).
//!
//! [`StoreWriter::commits`]: crate::store::StoreWriter::commits

use std::sync::Arc;

use parking_lot::Mutex;

/// The latest answer, the commit count it was read after and the key it
/// was read for (e.g. the midnight "today" began at).
pub(super) struct CommitCache<K, T> {
    latest: Mutex<Option<(u64, K, Arc<T>)>>,
}

impl<K: PartialEq, T> Default for CommitCache<K, T> {
    fn default() -> Self {
        CommitCache {
            latest: Mutex::new(None),
        }
    }
}

impl<K: PartialEq, T> CommitCache<K, T> {
    /// The answer for `key` if it was read after the commit count is
    /// `commits` (taken before the caller would read the history).
    pub(super) fn get(&self, commits: u64, key: &K) -> Option<Arc<T>> {
        match &*self.latest.lock() {
            Some((read_at, read_for, answer)) if *read_at == commits && read_for == key => {
                Some(answer.clone())
            }
            _ => None,
        }
    }

    /// Keeps `answer`, read for `key` after `commits` commits (the count
    /// taken *before* the read: a commit during the read makes the next
    /// call read again rather than keep a stale answer).
    pub(super) fn put(&self, commits: u64, key: K, answer: T) -> Arc<T> {
        let answer = Arc::new(answer);
        *self.latest.lock() = Some((commits, key, answer.clone()));
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::CommitCache;

    #[test]
    fn an_answer_lasts_until_the_next_commit_or_another_key() {
        let cache = CommitCache::<i64, &str>::default();
        assert!(cache.get(0, &1).is_none());
        cache.put(3, 1, "three");
        assert_eq!(cache.get(3, &1).as_deref(), Some(&"three"));
        assert!(cache.get(4, &1).is_none(), "a commit since");
        assert!(cache.get(3, &2).is_none(), "another key");
        cache.put(4, 1, "four");
        assert!(cache.get(3, &1).is_none());
        assert_eq!(cache.get(4, &1).as_deref(), Some(&"four"));
    }
}
