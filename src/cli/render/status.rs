//! The daemon's status as `Key: value` lines.

use super::estimate::batch_text;
use super::print::{
    duration_secs, human_secs, print_fields, print_message, timestamp_text, PrintFormat,
};
use crate::pb;

/// Prints the status as text or as the GetStatusResponse message.
pub(crate) fn print_status(format: PrintFormat, s: &pb::GetStatusResponse) {
    if format != PrintFormat::Table {
        print_message(format, s);
        return;
    }
    let mut totals: Vec<_> = s.totals_by_state.iter().collect();
    totals.sort();
    let totals = totals
        .iter()
        .map(|(state, n)| format!("{state} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut fields = vec![
        ("Version", s.version.clone()),
        ("Started", timestamp_text(s.start_time.as_ref())),
        ("Uptime", human_secs(s.uptime_seconds as f64)),
        (
            "Workers",
            format!("{} running of {}", s.running, s.max_workers),
        ),
        (
            "Queue",
            format!("{} queued of {} allowed", s.queued, s.max_queue),
        ),
        (
            "Today",
            format!("{} succeeded, {} failed", s.succeeded_today, s.failed_today),
        ),
        (
            "History",
            if totals.is_empty() {
                format!("{} executions", s.total_executions)
            } else {
                format!("{} executions ({totals})", s.total_executions)
            },
        ),
        (
            "Workflows",
            format!(
                "{} discovered, {} discovery errors",
                s.workflows_discovered, s.discovery_errors
            ),
        ),
        ("Database", s.database_path.clone()),
        (
            "Retention",
            match &s.history_retention {
                Some(d) => format!(
                    "finished executions kept {} days",
                    duration_secs(d) / 86_400.0
                ),
                None => "finished executions kept forever".to_string(),
            },
        ),
    ];
    if let Some(failure) = &s.history_write_failure {
        fields.push((
            "Writes",
            format!(
                "FAILING since {}: {} (writes wait and are retried)",
                timestamp_text(failure.since.as_ref()),
                failure.error
            ),
        ));
    }
    if !s.output_dir.is_empty() {
        fields.push(("Output", s.output_dir.clone()));
    }
    for d in &s.drop_folders {
        let mode = match d.mode() {
            pb::DropFolderMode::Manifest => "manifest",
            pb::DropFolderMode::Disk => "disk",
            pb::DropFolderMode::Unspecified => "?",
        };
        fields.push((
            "Drop folder",
            format!(
                "{} ({mode}{}): {} waiting, {} processing, today {} processed, {} failed",
                d.path,
                if d.watching { "" } else { ", not watched" },
                d.files_waiting,
                d.files_processing,
                d.processed_today,
                d.failed_today
            ),
        ));
    }
    for batch in &s.active_batches {
        fields.push(("Batch", batch_text(batch)));
    }
    for d in &s.daemons {
        fields.push(("Daemon", daemon_text(d)));
    }
    for d in &s.workflow_directories {
        let state = if d.exists { "" } else { " (missing)" };
        fields.push((
            "Directory",
            format!(
                "{}{state}: {} workflows, {} errors",
                d.path, d.workflows, d.discovery_errors
            ),
        ));
    }
    print_fields(&fields);
}

/// One daemon on the history: `ID role on HOST (pid N): R running of S,
/// last heard T[, draining][, NOT HEARD FROM]`.
fn daemon_text(d: &pb::DaemonStatus) -> String {
    let role = match d.role() {
        pb::DaemonRole::Writer => "writer",
        pb::DaemonRole::Standby => "standby",
        pb::DaemonRole::Unspecified => "?",
    };
    format!(
        "{} {role} on {} (pid {}): {} running of {}, last heard {}{}{}",
        d.id,
        d.host,
        d.pid,
        d.running,
        d.slots,
        timestamp_text(d.last_heartbeat.as_ref()),
        if d.draining { ", draining" } else { "" },
        if d.alive { "" } else { ", NOT HEARD FROM" },
    )
}

/// What DrainDaemon answered, as text or as the message.
pub(crate) fn print_drained(format: PrintFormat, drained: &pb::DrainDaemonResponse) {
    if format != PrintFormat::Table {
        print_message(format, drained);
        return;
    }
    if let Some(d) = &drained.daemon {
        println!(
            "draining {}: it starts nothing more and stops once its {} running execution(s) end",
            daemon_text(d),
            d.running
        );
    }
}
