//! Estimates as text (docs/estimates.md): the PHASE, PROGRESS and ETA
//! columns of execution tables, the lines of `wfctl get`, and batches in
//! `wfctl status` and `wfctl list --batch`.

use super::print::{duration_secs, human_secs, timestamp_text};
use crate::pb;

/// `37%`, or `-` without progress.
pub(crate) fn progress_text(estimate: Option<&pb::Estimate>) -> String {
    match estimate.and_then(|e| e.progress) {
        Some(p) => format!("{:.0}%", p * 100.0),
        None => "-".to_string(),
    }
}

/// The remaining time, `4m05s`, or `-` when unknown.
pub(crate) fn eta_text(estimate: Option<&pb::Estimate>) -> String {
    match estimate.and_then(|e| e.remaining.as_ref()) {
        Some(remaining) => human_secs(duration_secs(remaining)),
        None => "-".to_string(),
    }
}

/// What the remaining time rests on, in words.
fn basis_text(estimate: &pb::Estimate) -> String {
    let runs = match estimate.history_runs {
        1 => "1 earlier run".to_string(),
        n => format!("{n} earlier runs"),
    };
    match estimate.basis() {
        pb::EstimateBasis::Progress => "from progress".to_string(),
        pb::EstimateBasis::History => format!("from {runs}"),
        pb::EstimateBasis::ProgressAndHistory => format!("from progress and {runs}"),
        pb::EstimateBasis::Unspecified => "unknown".to_string(),
    }
}

/// The `Phase`, `Progress` and `Remaining` lines of one execution's view,
/// those it has.
pub(crate) fn execution_fields(execution: &pb::Execution) -> Vec<(&'static str, String)> {
    let mut fields = Vec::new();
    if !execution.current_phase.is_empty() {
        fields.push(("Phase", execution.current_phase.clone()));
    }
    if let Some(estimate) = &execution.estimate {
        fields.extend(estimate_fields(estimate));
    }
    fields
}

fn estimate_fields(estimate: &pb::Estimate) -> Vec<(&'static str, String)> {
    let mut fields = Vec::new();
    if estimate.progress.is_some() {
        fields.push(("Progress", progress_text(Some(estimate))));
    }
    if estimate.remaining.is_some() {
        fields.push((
            "Remaining",
            format!(
                "{} (done about {}; {})",
                eta_text(Some(estimate)),
                timestamp_text(estimate.completion_time.as_ref()),
                basis_text(estimate)
            ),
        ));
    }
    fields
}

/// A batch on one line: `<id>: 2/5 done (1 failed), 1 running, 2 queued, 40%, ETA 3m10s`.
pub(crate) fn batch_text(batch: &pb::BatchSummary) -> String {
    let done = batch.succeeded + batch.failed;
    let mut text = format!("{}: {done}/{} done", batch.batch_id, batch.total);
    if batch.failed > 0 {
        text.push_str(&format!(" ({} failed)", batch.failed));
    }
    if batch.running + batch.queued > 0 {
        text.push_str(&format!(
            ", {} running, {} queued, {}, ETA {}",
            batch.running,
            batch.queued,
            progress_text(batch.estimate.as_ref()),
            eta_text(batch.estimate.as_ref())
        ));
    } else {
        text.push_str(&format!(
            ", ended {}",
            timestamp_text(batch.end_time.as_ref())
        ));
    }
    text
}
