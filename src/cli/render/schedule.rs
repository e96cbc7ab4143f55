//! Schedules as text: the list as a table, one schedule with its next fire
//! times and recent runs, a triggered run, and the short names of the
//! schedule enums (`buffer-one`, `STARTED`) tables use.

use std::collections::HashMap;

use super::print::{
    duration_secs, human_secs, pairs_text, print_fields, print_line, print_message, print_table,
    timestamp_text, PrintFormat,
};
use crate::pb::{self, schedule_action::Action, schedule_manifest::Source};

/// Prints a schedule just created or updated: its id, or the message.
pub(crate) fn print_created(format: PrintFormat, schedule: &pb::Schedule) {
    match format {
        PrintFormat::Table => print_line(&schedule.id),
        format => print_message(format, schedule),
    }
}

/// Prints a schedule just paused or unpaused: its id and whether it is
/// paused (with the note), or the message.
pub(crate) fn print_schedule_state(format: PrintFormat, schedule: &pb::Schedule) {
    match format {
        PrintFormat::Table => print_line(&format!("{}  {}", schedule.id, state_text(schedule))),
        format => print_message(format, schedule),
    }
}

/// Prints every schedule as a table (id, cron, time zone, next fire time,
/// paused, action), or the ListSchedulesResponse.
pub(crate) fn print_schedules(format: PrintFormat, all: &pb::ListSchedulesResponse) {
    if format != PrintFormat::Table {
        print_message(format, all);
        return;
    }
    let rows: Vec<Vec<String>> = all
        .schedules
        .iter()
        .map(|s| {
            let spec = s.spec.clone().unwrap_or_default();
            vec![
                s.id.clone(),
                spec.cron.join(" | "),
                zone_text(&spec.time_zone).to_string(),
                timestamp_text(s.next_fire_times.first()),
                if s.paused { "yes" } else { "no" }.to_string(),
                action_text(s.action.as_ref()),
            ]
        })
        .collect();
    print_table(&["ID", "CRON", "TZ", "NEXT", "PAUSED", "ACTION"], &rows);
}

/// Prints one schedule: its fields, then its next fire times and its
/// recent runs as a table; or the message.
pub(crate) fn print_schedule(format: PrintFormat, schedule: &pb::Schedule) {
    if format != PrintFormat::Table {
        print_message(format, schedule);
        return;
    }
    let spec = schedule.spec.clone().unwrap_or_default();
    let mut fields = vec![
        ("Schedule", schedule.id.clone()),
        ("State", state_text(schedule)),
        ("Cron", spec.cron.join(" | ")),
        ("Time zone", zone_text(&spec.time_zone).to_string()),
    ];
    if let Some(jitter) = &spec.jitter {
        fields.push((
            "Jitter",
            format!("up to {}", human_secs(duration_secs(jitter))),
        ));
    }
    if spec.start_time.is_some() {
        fields.push(("Not before", timestamp_text(spec.start_time.as_ref())));
    }
    if spec.end_time.is_some() {
        fields.push(("Not after", timestamp_text(spec.end_time.as_ref())));
    }
    fields.push(("Action", action_text(schedule.action.as_ref())));
    fields.push(("Labels", labels_text(schedule.action.as_ref())));
    fields.push(("Overlap", overlap_text(schedule.overlap_policy())));
    let mut catch_up = catch_up_text(schedule.catch_up_policy());
    // The window only bounds what START_ONE starts.
    let starts_one = schedule.catch_up_policy() != pb::ScheduleCatchUpPolicy::Skip;
    if let Some(window) = schedule.catch_up_window.as_ref().filter(|_| starts_one) {
        catch_up.push_str(&format!(" (window {})", human_secs(duration_secs(window))));
    }
    fields.push(("Catch-up", catch_up));
    if !schedule.description.is_empty() {
        fields.push(("Description", schedule.description.clone()));
    }
    fields.push(("Created", timestamp_text(schedule.create_time.as_ref())));
    fields.push(("Updated", timestamp_text(schedule.update_time.as_ref())));
    print_fields(&fields);
    print_line("");
    if schedule.next_fire_times.is_empty() {
        let why = if schedule.paused {
            "none while paused"
        } else {
            "none (past its end time)"
        };
        print_line(&format!("Next fire times: {why}"));
    } else {
        print_line("Next fire times:");
        for time in &schedule.next_fire_times {
            print_line(&format!("  {}", timestamp_text(Some(time))));
        }
    }
    print_line("");
    if schedule.recent_runs.is_empty() {
        print_line("Recent runs: none yet");
    } else {
        print_line("Recent runs (newest first):");
        print_runs(&schedule.recent_runs);
    }
}

/// Prints a triggered run as a one-row runs table, or the message.
pub(crate) fn print_run(format: PrintFormat, run: &pb::ScheduleRun) {
    match format {
        PrintFormat::Table => print_runs(std::slice::from_ref(run)),
        format => print_message(format, run),
    }
}

/// Runs as a table: when each fell due, its outcome, whether the cron or a
/// trigger started it, its executions (and batch), its error.
fn print_runs(runs: &[pb::ScheduleRun]) {
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let mut executions = r.execution_ids.join(", ");
            if !r.batch_id.is_empty() {
                executions = format!("batch {}: {executions}", r.batch_id);
            }
            vec![
                timestamp_text(r.scheduled_time.as_ref()),
                outcome_text(r.outcome()).to_string(),
                if r.triggered { "trigger" } else { "cron" }.to_string(),
                if executions.is_empty() {
                    "-".to_string()
                } else {
                    executions
                },
                r.error.clone(),
            ]
        })
        .collect();
    print_table(
        &["SCHEDULED", "OUTCOME", "BY", "EXECUTIONS", "ERROR"],
        &rows,
    );
}

/// `active` or `paused`, with the note when there is one.
fn state_text(schedule: &pb::Schedule) -> String {
    let state = if schedule.paused { "paused" } else { "active" };
    if schedule.note.is_empty() {
        state.to_string()
    } else {
        format!("{state} ({})", schedule.note)
    }
}

fn zone_text(time_zone: &str) -> &str {
    if time_zone.is_empty() {
        "UTC"
    } else {
        time_zone
    }
}

/// What a schedule does, on one line: `workflow hello (name=x; timeout
/// 1h00m)`, `manifest template /t.json -> nightly`, `manifest (812 bytes)`.
fn action_text(action: Option<&pb::ScheduleAction>) -> String {
    match action.and_then(|a| a.action.as_ref()) {
        None => "-".to_string(),
        Some(Action::Execute(execute)) => {
            let mut details = Vec::new();
            if !execute.inputs.is_empty() {
                let inputs: HashMap<String, String> = execute
                    .inputs
                    .iter()
                    .map(|(name, value)| (name.clone(), value_text(value)))
                    .collect();
                details.push(pairs_text(&inputs));
            }
            if let Some(timeout) = &execute.timeout {
                details.push(format!("timeout {}", human_secs(duration_secs(timeout))));
            }
            if details.is_empty() {
                format!("workflow {}", execute.workflow_id)
            } else {
                format!("workflow {} ({})", execute.workflow_id, details.join("; "))
            }
        }
        Some(Action::Manifest(manifest)) => {
            let mut text = match &manifest.source {
                Some(Source::TemplatePath(path)) => format!("manifest template {path}"),
                Some(Source::Content(content)) => format!("manifest ({} bytes)", content.len()),
                None => "manifest".to_string(),
            };
            if !manifest.output_dir.is_empty() {
                text.push_str(&format!(" -> {}", manifest.output_dir));
            }
            text
        }
    }
}

/// The labels a schedule's action gives its executions, `k=v, ...`.
fn labels_text(action: Option<&pb::ScheduleAction>) -> String {
    match action.and_then(|a| a.action.as_ref()) {
        Some(Action::Execute(execute)) => pairs_text(&execute.labels),
        Some(Action::Manifest(manifest)) => pairs_text(&manifest.labels),
        None => "-".to_string(),
    }
}

/// An input value as text: a string as it is, anything else as JSON.
fn value_text(value: &prost_types::Value) -> String {
    match crate::proto_value::to_json(value) {
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    }
}

/// An enum value's name without its prefix, in lower case with dashes, as
/// the flags take it: `buffer-one` for
/// `SCHEDULE_OVERLAP_POLICY_BUFFER_ONE`.
fn flag_name(full: &str, prefix: &str) -> String {
    full.strip_prefix(prefix)
        .unwrap_or(full)
        .to_ascii_lowercase()
        .replace('_', "-")
}

/// The overlap policy as `--overlap` takes it (`skip` when unspecified,
/// the daemon's default).
pub(crate) fn overlap_text(policy: pb::ScheduleOverlapPolicy) -> String {
    match policy {
        pb::ScheduleOverlapPolicy::Unspecified => "skip".to_string(),
        policy => flag_name(policy.as_str_name(), "SCHEDULE_OVERLAP_POLICY_"),
    }
}

/// The catch-up policy as `--catch-up` takes it (`start-one` when
/// unspecified, the daemon's default).
pub(crate) fn catch_up_text(policy: pb::ScheduleCatchUpPolicy) -> String {
    match policy {
        pb::ScheduleCatchUpPolicy::Unspecified => "start-one".to_string(),
        policy => flag_name(policy.as_str_name(), "SCHEDULE_CATCH_UP_POLICY_"),
    }
}

/// `STARTED` for `SCHEDULE_RUN_OUTCOME_STARTED`.
pub(crate) fn outcome_text(outcome: pb::ScheduleRunOutcome) -> &'static str {
    outcome
        .as_str_name()
        .strip_prefix("SCHEDULE_RUN_OUTCOME_")
        .unwrap_or("UNSPECIFIED")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_read_as_their_flags_take_them() {
        assert_eq!(
            overlap_text(pb::ScheduleOverlapPolicy::CancelPrevious),
            "cancel-previous"
        );
        assert_eq!(overlap_text(pb::ScheduleOverlapPolicy::Unspecified), "skip");
        assert_eq!(
            catch_up_text(pb::ScheduleCatchUpPolicy::StartOne),
            "start-one"
        );
        assert_eq!(outcome_text(pb::ScheduleRunOutcome::Buffered), "BUFFERED");
    }

    #[test]
    fn actions_read_on_one_line() {
        let execute = pb::ScheduleAction {
            action: Some(Action::Execute(pb::ScheduleExecute {
                workflow_id: "hello".into(),
                inputs: [
                    ("name".to_string(), prost_types::Value::from("x")),
                    ("depth".to_string(), prost_types::Value::from(2.0)),
                ]
                .into(),
                timeout: Some(prost_types::Duration {
                    seconds: 3600,
                    nanos: 0,
                }),
                labels: HashMap::new(),
                ..Default::default()
            })),
        };
        assert_eq!(
            action_text(Some(&execute)),
            "workflow hello (depth=2.0, name=x; timeout 1h00m)"
        );
        let template = pb::ScheduleAction {
            action: Some(Action::Manifest(pb::ScheduleManifest {
                source: Some(Source::TemplatePath("/t/nightly.json".into())),
                output_dir: "nightly".into(),
                ..Default::default()
            })),
        };
        assert_eq!(
            action_text(Some(&template)),
            "manifest template /t/nightly.json -> nightly"
        );
    }
}
