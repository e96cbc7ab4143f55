//! GetStatus's counts: the daemon's, or those of the namespaces a caller
//! sees. The daemon-wide counts are the history's totals (kept by
//! triggers), read once per commit of the history ([`super::commit_cache`])
//! and the scheduler's own counts; a caller seeing only some namespaces
//! gets its namespaces' executions counted from the history (cached per
//! commit too, for the latest set of namespaces asked) and its running and
//! queued ones from the scheduler.

use std::collections::BTreeSet;

use super::{Engine, EngineError, EngineStatus};
use crate::clock::local_midnight_ms;
use crate::events::ExecutionState;
use crate::namespaces::Visibility;

impl Engine {
    /// The counts of the executions `seen` sees: the daemon's when it sees
    /// every namespace, at no more cost than before namespaces.
    pub(crate) async fn status(&self, seen: &Visibility) -> Result<EngineStatus, EngineError> {
        let midnight = local_midnight_ms();
        let commits = self.writer.commits();
        let configured: BTreeSet<String> =
            self.config.namespaces.names().map(String::from).collect();
        let (counts, running, queued) = match seen.clone().normalized(&configured) {
            Visibility::All => {
                let counts = match self.state_counts.get(commits, &midnight) {
                    Some(counts) => counts,
                    None => {
                        let counts = self.read(move |r| r.state_counts(midnight)).await?;
                        self.state_counts.put(commits, midnight, counts)
                    }
                };
                let scheduler = self.scheduler();
                (counts, scheduler.running, scheduler.queue.len())
            }
            Visibility::Only(names) => {
                let names: Vec<String> = names.into_iter().collect();
                let key = (midnight, names.clone());
                let counts = match self.namespace_state_counts.get(commits, &key) {
                    Some(counts) => counts,
                    None => {
                        let counts = self
                            .read(move |r| r.state_counts_in(&names, midnight))
                            .await?;
                        self.namespace_state_counts.put(commits, key, counts)
                    }
                };
                let scheduler = self.scheduler();
                let queued = scheduler.queue.len_where(|namespace| seen.sees(namespace));
                (counts, scheduler.namespaces.running_in(seen), queued)
            }
        };
        let today = &counts.ended_since;
        let today_in = |states: &[ExecutionState]| -> u64 {
            states
                .iter()
                .map(|s| today.get(s.as_str()).copied().unwrap_or(0))
                .sum()
        };
        Ok(EngineStatus {
            max_workers: self.config.max_concurrent_jobs,
            max_queue: self.config.max_queue,
            running,
            queued,
            succeeded_today: today_in(&[ExecutionState::Succeeded]),
            failed_today: today_in(&[
                ExecutionState::Failed,
                ExecutionState::TimedOut,
                ExecutionState::Interrupted,
            ]),
            totals_by_state: counts.totals.clone(),
            history_write_failure: self.writer.write_failure(),
        })
    }
}
