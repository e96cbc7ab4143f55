//! The latest successful runs of each workflow, kept in memory for the
//! estimates: read from the history the first time a workflow is asked
//! about, then kept up to date as its executions succeed, so a page of a
//! thousand executions costs no query per row (and, once warm, none).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::OnceCell;

use crate::estimate::{PastRuns, HISTORY_RUNS};
use crate::store::SuccessfulRun;

/// The runs of one workflow that are known here.
#[derive(Debug, Default)]
struct WorkflowRuns {
    /// Whether the history has been read for it: until then `latest`
    /// holds only runs that ended in this daemon's life.
    loaded: bool,
    /// Newest end first, at most [`HISTORY_RUNS`], no execution twice.
    latest: Vec<SuccessfulRun>,
}

impl WorkflowRuns {
    /// Adds runs, keeping the newest [`HISTORY_RUNS`] and each execution
    /// once: a run recorded as it ended may also be in a read of the
    /// history that raced with it.
    fn merge(&mut self, runs: impl IntoIterator<Item = SuccessfulRun>) {
        for run in runs {
            if !self.latest.iter().any(|known| known.id == run.id) {
                self.latest.push(run);
            }
        }
        self.latest
            .sort_unstable_by_key(|run| std::cmp::Reverse((run.end_ms, run.id)));
        self.latest.truncate(HISTORY_RUNS);
    }
}

/// Latest successful runs by workflow id.
#[derive(Debug, Default)]
pub(super) struct RunHistory {
    by_workflow: Mutex<HashMap<String, WorkflowRuns>>,
    /// One read of the history per workflow, shared: a burst of first
    /// asks about a workflow (Executes after a restart) waits for one
    /// read instead of each making its own. Set once the read is done; a
    /// failed read leaves it unset for the next ask to retry.
    loads: Mutex<HashMap<String, Arc<OnceCell<()>>>>,
}

impl RunHistory {
    /// Records a run that just succeeded (its end is committed).
    pub(super) fn record(&self, workflow_id: &str, run: SuccessfulRun) {
        self.by_workflow
            .lock()
            .entry(workflow_id.to_string())
            .or_default()
            .merge([run]);
    }

    /// Those of `workflow_ids` whose history has not been read yet.
    pub(super) fn not_loaded<'a>(&self, workflow_ids: &BTreeSet<&'a str>) -> Vec<&'a str> {
        let by_workflow = self.by_workflow.lock();
        workflow_ids
            .iter()
            .copied()
            .filter(|id| !by_workflow.get(*id).is_some_and(|runs| runs.loaded))
            .collect()
    }

    /// The shared read of `workflow_id`'s history (see `loads`).
    pub(super) fn load_once(&self, workflow_id: &str) -> Arc<OnceCell<()>> {
        self.loads
            .lock()
            .entry(workflow_id.to_string())
            .or_default()
            .clone()
    }

    /// Adds what the history holds for a workflow.
    pub(super) fn load(&self, workflow_id: &str, runs: Vec<SuccessfulRun>) {
        let mut by_workflow = self.by_workflow.lock();
        let known = by_workflow.entry(workflow_id.to_string()).or_default();
        known.merge(runs);
        known.loaded = true;
    }

    /// What the known runs of `workflow_id` say; None when there are none.
    pub(super) fn past_runs(&self, workflow_id: &str) -> Option<PastRuns> {
        let by_workflow = self.by_workflow.lock();
        let durations: Vec<i64> = by_workflow
            .get(workflow_id)?
            .latest
            .iter()
            .map(|run| run.duration_ms)
            .collect();
        PastRuns::of(&durations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn run(n: u128, duration_ms: i64) -> SuccessfulRun {
        SuccessfulRun {
            id: Uuid::from_u128(n),
            end_ms: n as i64 * 1000,
            duration_ms,
        }
    }

    #[test]
    fn a_run_seen_both_as_it_ended_and_in_the_history_counts_once() {
        let history = RunHistory::default();
        history.record("w", run(3, 300));
        let asked = BTreeSet::from(["w", "v"]);
        assert_eq!(history.not_loaded(&asked), vec!["v", "w"]);
        history.load("w", vec![run(3, 300), run(2, 200), run(1, 100)]);
        assert_eq!(history.not_loaded(&asked), vec!["v"]);
        assert_eq!(
            history.past_runs("w"),
            Some(PastRuns {
                median_ms: 200,
                runs: 3
            })
        );
        assert_eq!(history.past_runs("v"), None);
    }

    #[test]
    fn only_the_newest_runs_are_kept() {
        let history = RunHistory::default();
        history.load("w", (0..HISTORY_RUNS as u128).map(|n| run(n, 10)).collect());
        for n in 100..105 {
            history.record("w", run(n, 1000));
        }
        let past = history.past_runs("w").unwrap();
        assert_eq!(past.runs, HISTORY_RUNS as u32);
        assert_eq!(
            past.median_ms, 10,
            "5 slow runs of 20 do not move the median"
        );
    }
}
