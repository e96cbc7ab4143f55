//! The estimate of a batch, from its members' (docs/estimates.md).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use super::{execution_estimate, Basis, Estimate, PastRuns, Stage};

/// A queued or running execution of a batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActiveMember<'a> {
    /// The workflow it runs.
    pub(crate) workflow_id: &'a str,
    /// Where it is.
    pub(crate) stage: Stage,
    /// Its workflow's earlier successful runs.
    pub(crate) past: Option<PastRuns>,
}

/// Counts of a batch's executions, as the history has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchTally {
    /// All of them.
    pub(crate) total: u32,
    /// Ended in any way (they count as done).
    pub(crate) finished: u32,
}

/// The estimate of a batch at `now_ms`; None once none of it is active.
///
/// - progress: the mean over all `counts.total` executions, a finished one
///   counting 1, a running one its own progress (0 when unknown), a queued
///   one 0;
/// - remaining: a FIFO schedule of the active members on `workers`
///   workers, as the engine runs them: running members hold a worker for
///   their own remaining time, queued ones (in `active` order, which is
///   their queue order) each take the first worker to free up for their
///   expected duration (their workflow's median). A member without an
///   estimate of its own is taken to need the mean expected duration of
///   those with one; when none has one, remaining is unknown. Executions
///   outside the batch are not modelled.
pub(crate) fn batch_estimate(
    counts: BatchTally,
    active: &[ActiveMember<'_>],
    workers: usize,
    now_ms: i64,
) -> Option<Estimate> {
    if active.is_empty() || counts.total == 0 {
        return None;
    }
    let own: Vec<Option<Estimate>> = active
        .iter()
        .map(|m| execution_estimate(m.stage, m.past, now_ms))
        .collect();
    let progressed: f64 = own.iter().filter_map(|e| e.and_then(|e| e.progress)).sum();
    let progress =
        ((f64::from(counts.finished) + progressed) / f64::from(counts.total)).clamp(0.0, 1.0);

    // Each member's expected whole duration, where its own estimate gives one.
    let elapsed = |m: &ActiveMember<'_>| match m.stage {
        Stage::Queued => 0,
        Stage::Running { start_ms, .. } => start_ms.map_or(0, |s| (now_ms - s).max(0)),
    };
    let known: Vec<i64> = active
        .iter()
        .zip(&own)
        .filter_map(|(m, e)| e.and_then(|e| e.remaining_ms).map(|r| elapsed(m) + r))
        .collect();
    let fallback_ms = (!known.is_empty())
        .then(|| (known.iter().map(|d| i128::from(*d)).sum::<i128>() / known.len() as i128) as i64);
    let remaining_ms = fallback_ms.map(|fallback_ms| {
        let needs = |m: &ActiveMember<'_>, e: &Option<Estimate>| {
            e.and_then(|e| e.remaining_ms)
                .unwrap_or_else(|| (fallback_ms - elapsed(m)).max(0))
        };
        schedule(
            active
                .iter()
                .zip(&own)
                .filter(|(m, _)| matches!(m.stage, Stage::Running { .. }))
                .map(|(m, e)| needs(m, e)),
            active
                .iter()
                .zip(&own)
                .filter(|(m, _)| m.stage == Stage::Queued)
                .map(|(m, e)| needs(m, e)),
            workers,
        )
    });

    let used = |basis: Basis| {
        own.iter().any(|e| {
            e.and_then(|e| e.basis)
                .is_some_and(|b| b == basis || b == Basis::ProgressAndHistory)
        })
    };
    let basis = remaining_ms.and(match (used(Basis::Progress), used(Basis::History)) {
        (true, true) => Some(Basis::ProgressAndHistory),
        (true, false) => Some(Basis::Progress),
        (false, true) => Some(Basis::History),
        (false, false) => None,
    });
    // Runs of each workflow count once, however many members run it.
    let mut runs_by_workflow: BTreeMap<&str, u32> = BTreeMap::new();
    for (m, e) in active.iter().zip(&own) {
        if let Some(e) = e.filter(|e| e.history_runs > 0) {
            let runs = runs_by_workflow.entry(m.workflow_id).or_default();
            *runs = (*runs).max(e.history_runs);
        }
    }
    Some(Estimate {
        progress: Some(progress),
        remaining_ms,
        completion_ms: remaining_ms.map(|r| now_ms.saturating_add(r)),
        basis,
        history_runs: if basis.is_some() {
            runs_by_workflow.values().sum()
        } else {
            0
        },
    })
}

/// When the last of these is done, ms from now: `running` each hold a
/// worker for their time; `queued`, in order, each take the first of
/// `workers` workers to free up.
fn schedule(
    running: impl Iterator<Item = i64>,
    queued: impl Iterator<Item = i64>,
    workers: usize,
) -> i64 {
    let mut free_at: BinaryHeap<Reverse<i64>> = running.map(Reverse).collect();
    let mut last = free_at.iter().map(|Reverse(t)| *t).max().unwrap_or(0);
    while free_at.len() < workers.max(1) {
        free_at.push(Reverse(0));
    }
    for needs in queued {
        let Reverse(start) = free_at.pop().expect("at least one worker");
        let end = start.saturating_add(needs);
        last = last.max(end);
        free_at.push(Reverse(end));
    }
    last
}
