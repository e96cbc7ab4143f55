//! The queue of accepted executions waiting for a worker: FIFO across the
//! daemon, kept as one FIFO per namespace so that the next one allowed to
//! start is found without walking past the waiting executions of a
//! namespace at its `max_running`. Picking looks at each namespace's front
//! once: O(namespaces), not O(queued).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use uuid::Uuid;

use super::active::ActiveExecution;

/// What the queue needs to know of a waiting execution.
pub(super) trait Waiting {
    fn id(&self) -> Uuid;
    fn namespace(&self) -> &Arc<str>;
}

impl Waiting for Arc<ActiveExecution> {
    fn id(&self) -> Uuid {
        self.id
    }
    fn namespace(&self) -> &Arc<str> {
        &self.namespace
    }
}

/// One namespace's waiting executions, each with its place in the
/// daemon-wide order.
type Places<T> = VecDeque<(i64, T)>;

/// Accepted executions in the order they were queued.
pub(super) struct ExecutionQueue<T = Arc<ActiveExecution>> {
    /// Each namespace's waiting executions with their place in the
    /// daemon-wide order, lowest first. A namespace's queue is kept when
    /// it empties (there are only the configured few), so the common
    /// push-then-pop allocates nothing.
    by_namespace: HashMap<Arc<str>, Places<T>>,
    /// The place the next execution put at the back gets.
    next_back: i64,
    /// The place the last execution put at the front got.
    front: i64,
    len: usize,
}

impl<T> Default for ExecutionQueue<T> {
    fn default() -> Self {
        ExecutionQueue {
            by_namespace: HashMap::new(),
            next_back: 0,
            front: 0,
            len: 0,
        }
    }
}

impl<T: Waiting> ExecutionQueue<T> {
    /// How many executions wait.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Queues `execution` after every waiting one.
    pub(super) fn push_back(&mut self, execution: T) {
        let place = self.next_back;
        self.next_back += 1;
        self.insert(place, execution, VecDeque::push_back);
    }

    /// Queues `execution` before every waiting one (one that was taken off
    /// to start and could not).
    pub(super) fn push_front(&mut self, execution: T) {
        self.front -= 1;
        let place = self.front;
        self.insert(place, execution, VecDeque::push_front);
    }

    fn insert(&mut self, place: i64, execution: T, put: fn(&mut Places<T>, (i64, T))) {
        match self.by_namespace.get_mut(execution.namespace()) {
            Some(waiting) => put(waiting, (place, execution)),
            None => {
                let namespace = execution.namespace().clone();
                self.by_namespace
                    .insert(namespace, VecDeque::from([(place, execution)]));
            }
        }
        self.len += 1;
    }

    /// Takes off the earliest queued execution whose namespace `may_run`.
    pub(super) fn pop_first_where(&mut self, may_run: impl Fn(&str) -> bool) -> Option<T> {
        let namespace = self
            .by_namespace
            .iter()
            .filter(|(namespace, _)| may_run(namespace))
            .filter_map(|(namespace, waiting)| Some((waiting.front()?.0, namespace)))
            .min_by_key(|(place, _)| *place)?
            .1
            .clone();
        let (_, execution) = self.by_namespace.get_mut(&namespace)?.pop_front()?;
        self.len -= 1;
        Some(execution)
    }

    /// Takes execution `id` of `namespace` off the queue, if it waits.
    pub(super) fn remove(&mut self, id: Uuid, namespace: &str) -> Option<T> {
        let waiting = self.by_namespace.get_mut(namespace)?;
        let position = waiting.iter().position(|(_, e)| e.id() == id)?;
        let (_, execution) = waiting.remove(position)?;
        self.len -= 1;
        Some(execution)
    }

    /// How many executions of the namespaces `counted` wait.
    pub(super) fn len_where(&self, counted: impl Fn(&str) -> bool) -> usize {
        self.by_namespace
            .iter()
            .filter(|(namespace, _)| counted(namespace))
            .map(|(_, waiting)| waiting.len())
            .sum()
    }

    /// Empties the queue, in no particular order.
    pub(super) fn drain(&mut self) -> Vec<T> {
        self.len = 0;
        self.by_namespace
            .values_mut()
            .flat_map(|waiting| waiting.drain(..).map(|(_, e)| e))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Queued(Uuid, Arc<str>);

    impl Waiting for Queued {
        fn id(&self) -> Uuid {
            self.0
        }
        fn namespace(&self) -> &Arc<str> {
            &self.1
        }
    }

    fn queued(namespace: &str) -> Queued {
        Queued(Uuid::now_v7(), namespace.into())
    }

    fn pop_all(queue: &mut ExecutionQueue<Queued>, may_run: impl Fn(&str) -> bool) -> Vec<Uuid> {
        std::iter::from_fn(|| queue.pop_first_where(&may_run))
            .map(|q| q.0)
            .collect()
    }

    #[test]
    fn executions_leave_in_the_order_they_came_across_namespaces() {
        let mut queue = ExecutionQueue::default();
        let order: Vec<Queued> = ["a", "b", "a", "c", "b"].map(queued).into();
        let ids: Vec<Uuid> = order.iter().map(|q| q.0).collect();
        order.into_iter().for_each(|q| queue.push_back(q));
        assert_eq!(queue.len(), 5);
        assert_eq!(pop_all(&mut queue, |_| true), ids);
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn a_namespace_that_may_not_run_is_passed_over_keeping_its_order() {
        let mut queue = ExecutionQueue::default();
        let (a1, a2, b1) = (queued("a"), queued("a"), queued("b"));
        let ids = (a1.0, a2.0, b1.0);
        [a1, a2, b1].into_iter().for_each(|q| queue.push_back(q));
        assert_eq!(pop_all(&mut queue, |ns| ns != "a"), vec![ids.2]);
        assert_eq!(queue.len_where(|ns| ns == "a"), 2);
        assert_eq!(pop_all(&mut queue, |_| true), vec![ids.0, ids.1]);
    }

    #[test]
    fn one_put_back_at_the_front_leaves_first() {
        let mut queue = ExecutionQueue::default();
        let (a, b, back) = (queued("a"), queued("b"), queued("b"));
        let ids = (a.0, b.0, back.0);
        queue.push_back(a);
        queue.push_back(b);
        queue.push_front(back);
        assert_eq!(pop_all(&mut queue, |_| true), vec![ids.2, ids.0, ids.1]);
    }

    #[test]
    fn a_removed_execution_no_longer_waits() {
        let mut queue = ExecutionQueue::default();
        let (a, b) = (queued("a"), queued("a"));
        let ids = (a.0, b.0);
        queue.push_back(a);
        queue.push_back(b);
        assert!(
            queue.remove(ids.0, "b").is_none(),
            "the namespace is part of the key"
        );
        assert_eq!(queue.remove(ids.0, "a").map(|q| q.0), Some(ids.0));
        assert!(queue.remove(ids.0, "a").is_none());
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.drain().len(), 1);
        assert_eq!((queue.len(), pop_all(&mut queue, |_| true).len()), (0, 0));
    }
}
