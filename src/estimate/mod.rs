//! Estimates of how far an active execution or batch is and how long it
//! still needs (docs/estimates.md). Pure functions of what the engine
//! knows, with the time passed in, so the tests fix the clock.
//!
//! [`progress`] reads the fraction done from an execution's tree;
//! [`execution_estimate`] combines it with the durations of earlier
//! successful runs ([`PastRuns`]); [`batch`] does the same for a batch.

pub(crate) mod batch;
mod progress;
#[cfg(test)]
mod tests;

pub(crate) use progress::{current_phase, progress};

/// How many of a workflow's latest successful runs its history estimate
/// looks at: enough for a stable median, few enough to follow a workflow
/// that got faster or slower.
pub(crate) const HISTORY_RUNS: usize = 20;

/// The longest remaining time reported (100 years, in ms): a tiny progress
/// fraction would otherwise extrapolate past what a Timestamp can hold.
const MAX_REMAINING_MS: f64 = 100.0 * 365.25 * 86_400_000.0;

/// What an estimate's remaining time rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Basis {
    /// The program's progress events alone.
    Progress,
    /// Earlier successful runs alone.
    History,
    /// Both, blended by the fraction done.
    ProgressAndHistory,
}

/// How far an execution or batch is and how long it still needs, as of
/// the time it was computed at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Estimate {
    /// Fraction done, 0 to 1; None when the program reported no progress.
    pub(crate) progress: Option<f64>,
    /// Time still needed, ms; None when unknown.
    pub(crate) remaining_ms: Option<i64>,
    /// When it is expected to finish, ms since the epoch: the time it was
    /// computed at plus `remaining_ms`.
    pub(crate) completion_ms: Option<i64>,
    /// What `remaining_ms` rests on; None when it is unknown.
    pub(crate) basis: Option<Basis>,
    /// Earlier successful runs that went into `remaining_ms`.
    pub(crate) history_runs: u32,
}

/// What the durations of a workflow's latest successful runs say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PastRuns {
    /// Their median duration (start to end), ms.
    pub(crate) median_ms: i64,
    /// How many runs it is the median of.
    pub(crate) runs: u32,
}

impl PastRuns {
    /// The median of these durations (ms); None when there are none. The
    /// median, not the mean: one run that hung for an hour must not move
    /// the estimate of every later one.
    pub(crate) fn of(durations_ms: &[i64]) -> Option<PastRuns> {
        if durations_ms.is_empty() {
            return None;
        }
        let mut sorted = durations_ms.to_vec();
        sorted.sort_unstable();
        let mid = sorted.len() / 2;
        let median_ms = if sorted.len().is_multiple_of(2) {
            // In i128: the sum of two long durations must not overflow.
            ((i128::from(sorted[mid - 1]) + i128::from(sorted[mid])) / 2) as i64
        } else {
            sorted[mid]
        };
        Some(PastRuns {
            median_ms: median_ms.max(0),
            runs: sorted.len() as u32,
        })
    }
}

/// Where an active execution is, for its estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Stage {
    /// Waiting for a worker.
    Queued,
    /// Running since `start_ms`, with the fraction done its tree shows.
    Running {
        /// When its program started, ms since the epoch; None when the
        /// record has no start time (then its pace is unknown).
        start_ms: Option<i64>,
        /// From [`progress`].
        progress: Option<f64>,
    },
}

/// The estimate of an active execution at `now_ms`; None when there is
/// nothing to base one on (no progress and no earlier successful run).
///
/// - progress p alone (p > 0): remaining = elapsed * (1 - p) / p, the
///   rate so far extrapolated; not without a start time (no elapsed, no
///   pace: an elapsed of 0 would read as "due now");
/// - history alone: remaining = max(median - elapsed, 0); a queued
///   execution gets the whole median (its own run, not the wait for a
///   worker);
/// - both: p * by_progress + (1 - p) * by_history, so an execution that
///   has just begun leans on earlier runs and one near its end on its own
///   pace.
pub(crate) fn execution_estimate(
    stage: Stage,
    past: Option<PastRuns>,
    now_ms: i64,
) -> Option<Estimate> {
    let (progress, start_ms) = match stage {
        Stage::Queued => (None, None),
        Stage::Running { start_ms, progress } => (progress, start_ms),
    };
    let elapsed_ms = start_ms.map_or(0, |start_ms| (now_ms - start_ms).max(0));
    let elapsed = elapsed_ms as f64;
    // At 0 the pace is unknown: nothing done says nothing about the rest;
    // nor is it without a start time.
    let by_progress = progress
        .filter(|p| *p > 0.0 && start_ms.is_some())
        .map(|p| elapsed * (1.0 - p) / p);
    let by_history = past.map(|past| (past.median_ms as f64 - elapsed).max(0.0));
    let (remaining, basis, history_runs) = match (by_progress, by_history, past) {
        (Some(own), Some(earlier), Some(past)) => {
            let p = progress.unwrap_or(0.0);
            (
                Some(p * own + (1.0 - p) * earlier),
                Some(Basis::ProgressAndHistory),
                past.runs,
            )
        }
        (Some(own), _, _) => (Some(own), Some(Basis::Progress), 0),
        (None, Some(earlier), Some(past)) => (Some(earlier), Some(Basis::History), past.runs),
        _ => (None, None, 0),
    };
    if progress.is_none() && remaining.is_none() {
        return None;
    }
    let remaining_ms = remaining.map(|r| r.clamp(0.0, MAX_REMAINING_MS).round() as i64);
    Some(Estimate {
        progress,
        remaining_ms,
        completion_ms: remaining_ms.map(|r| now_ms.saturating_add(r)),
        basis,
        history_runs,
    })
}
