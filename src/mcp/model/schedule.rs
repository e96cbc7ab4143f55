//! What the schedule tools return: a schedule with its next fire times
//! and recent runs, a run, and the results of list, trigger and delete,
//! built from the gRPC messages.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::execution::{non_empty, rfc3339, sorted};
use crate::pb::{self, schedule_action::Action, schedule_manifest::Source};

/// What a schedule does when it falls due: execute a workflow.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ScheduleExecuteInfo {
    /// The workflow it runs.
    pub(crate) workflow_id: String,
    /// The inputs of each run.
    pub(crate) inputs: serde_json::Map<String, serde_json::Value>,
    /// Wall-clock limit of each run, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) timeout_seconds: Option<f64>,
}

/// What a schedule does when it falls due: submit a manifest.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ScheduleManifestInfo {
    /// The manifest file read again at each run, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) template_path: Option<String>,
    /// The manifest stored with the schedule, when it has no template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) content: Option<String>,
    /// The output directory of each run's VMs (absent: the daemon's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) output_dir: Option<String>,
}

/// One time a schedule fell due (or was triggered), and what became of it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ScheduleRunInfo {
    /// When it fell due (RFC 3339); for a trigger, the time of the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scheduled_time: Option<String>,
    /// When the daemon acted on it (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) action_time: Option<String>,
    /// STARTED, SKIPPED (the previous run still went), BUFFERED (starts
    /// when the previous run ends), MISSED (the daemon was down) or FAILED
    /// (see error).
    pub(crate) outcome: String,
    /// The executions it started: pass them to get_workflow_status.
    pub(crate) execution_ids: Vec<String>,
    /// The batch it started, for a batch manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) batch_id: Option<String>,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// True when trigger_schedule started it, false when its time did.
    pub(crate) triggered: bool,
}

/// A schedule, as create_schedule, get_schedule, pause_schedule and
/// list_schedules return it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ScheduleInfo {
    /// Schedule id.
    pub(crate) schedule_id: String,
    /// Its cron expressions.
    pub(crate) cron: Vec<String>,
    /// The time zone they are read in.
    pub(crate) time_zone: String,
    /// Each run starts up to this many seconds after its time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) jitter_seconds: Option<f64>,
    /// Not due before this time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) start_time: Option<String>,
    /// Not due after this time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) end_time: Option<String>,
    /// The workflow it executes, when that is its action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) execute: Option<ScheduleExecuteInfo>,
    /// The manifest it submits, when that is its action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) manifest: Option<ScheduleManifestInfo>,
    /// Labels of each execution it starts (besides `schedule`).
    pub(crate) labels: BTreeMap<String, String>,
    /// SKIP, BUFFER_ONE, ALLOW_ALL or CANCEL_PREVIOUS.
    pub(crate) overlap_policy: String,
    /// START_ONE or SKIP.
    pub(crate) catch_up_policy: String,
    /// With START_ONE: how old a missed time may be and still start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) catch_up_window_seconds: Option<f64>,
    /// True while paused: nothing runs.
    pub(crate) paused: bool,
    /// Why it was (un)paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
    /// Free text for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    /// The namespace its executions run in.
    pub(crate) namespace: String,
    /// When it was created (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) create_time: Option<String>,
    /// When it was last changed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) update_time: Option<String>,
    /// The next times it falls due (RFC 3339, jitter applied); empty while
    /// paused or past its end time.
    pub(crate) next_fire_times: Vec<String>,
    /// Its latest runs, newest first (get_schedule only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) recent_runs: Vec<ScheduleRunInfo>,
}

/// Result of list_schedules.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ListSchedulesOutput {
    /// The schedules of this page, by id, each with its next fire time.
    pub(crate) schedules: Vec<ScheduleInfo>,
    /// Pass as `page_token` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_page_token: Option<String>,
}

/// Result of trigger_schedule.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct TriggerScheduleOutput {
    /// Schedule id.
    pub(crate) schedule_id: String,
    /// True when the run started executions (outcome STARTED).
    pub(crate) started: bool,
    /// The run.
    pub(crate) run: ScheduleRunInfo,
    /// What to do next.
    pub(crate) hint: String,
}

/// Result of delete_schedule.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct DeleteScheduleOutput {
    /// The schedule that was deleted (its executions stay).
    pub(crate) schedule_id: String,
    /// True: it is gone.
    pub(crate) deleted: bool,
}

/// An enum value's name without its prefix: `BUFFER_ONE`.
fn short(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_string()
}

fn seconds(d: &prost_types::Duration) -> f64 {
    d.seconds as f64 + f64::from(d.nanos) / 1e9
}

impl From<&pb::ScheduleRun> for ScheduleRunInfo {
    fn from(r: &pb::ScheduleRun) -> ScheduleRunInfo {
        ScheduleRunInfo {
            scheduled_time: rfc3339(r.scheduled_time.as_ref()),
            action_time: rfc3339(r.action_time.as_ref()),
            outcome: short(r.outcome().as_str_name(), "SCHEDULE_RUN_OUTCOME_"),
            execution_ids: r.execution_ids.clone(),
            batch_id: non_empty(&r.batch_id),
            error: non_empty(&r.error),
            triggered: r.triggered,
        }
    }
}

impl From<&pb::Schedule> for ScheduleInfo {
    fn from(s: &pb::Schedule) -> ScheduleInfo {
        let spec = s.spec.clone().unwrap_or_default();
        let (execute, manifest, labels) = match s.action.as_ref().and_then(|a| a.action.as_ref()) {
            Some(Action::Execute(e)) => (
                Some(ScheduleExecuteInfo {
                    workflow_id: e.workflow_id.clone(),
                    inputs: e
                        .inputs
                        .iter()
                        .map(|(k, v)| (k.clone(), crate::proto_value::to_json(v)))
                        .collect(),
                    timeout_seconds: e.timeout.as_ref().map(seconds),
                }),
                None,
                sorted(&e.labels),
            ),
            Some(Action::Manifest(m)) => (
                None,
                Some(ScheduleManifestInfo {
                    template_path: match &m.source {
                        Some(Source::TemplatePath(path)) => Some(path.clone()),
                        _ => None,
                    },
                    content: match &m.source {
                        Some(Source::Content(content)) => {
                            Some(String::from_utf8_lossy(content).into_owned())
                        }
                        _ => None,
                    },
                    output_dir: non_empty(&m.output_dir),
                }),
                sorted(&m.labels),
            ),
            None => (None, None, BTreeMap::new()),
        };
        ScheduleInfo {
            schedule_id: s.id.clone(),
            cron: spec.cron,
            time_zone: non_empty(&spec.time_zone).unwrap_or_else(|| "UTC".to_string()),
            jitter_seconds: spec.jitter.as_ref().map(seconds),
            start_time: rfc3339(spec.start_time.as_ref()),
            end_time: rfc3339(spec.end_time.as_ref()),
            execute,
            manifest,
            labels,
            overlap_policy: match s.overlap_policy() {
                pb::ScheduleOverlapPolicy::Unspecified => "SKIP".to_string(),
                p => short(p.as_str_name(), "SCHEDULE_OVERLAP_POLICY_"),
            },
            catch_up_policy: match s.catch_up_policy() {
                pb::ScheduleCatchUpPolicy::Unspecified => "START_ONE".to_string(),
                p => short(p.as_str_name(), "SCHEDULE_CATCH_UP_POLICY_"),
            },
            catch_up_window_seconds: s.catch_up_window.as_ref().map(seconds),
            paused: s.paused,
            note: non_empty(&s.note),
            description: non_empty(&s.description),
            namespace: s.namespace.clone(),
            create_time: rfc3339(s.create_time.as_ref()),
            update_time: rfc3339(s.update_time.as_ref()),
            next_fire_times: s
                .next_fire_times
                .iter()
                .filter_map(|t| rfc3339(Some(t)))
                .collect(),
            recent_runs: s.recent_runs.iter().map(ScheduleRunInfo::from).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_goes_out_with_short_names() {
        let schedule = pb::Schedule {
            id: "nightly".into(),
            spec: Some(pb::ScheduleSpec {
                cron: vec!["0 2 * * *".into()],
                ..Default::default()
            }),
            action: Some(pb::ScheduleAction {
                action: Some(Action::Manifest(pb::ScheduleManifest {
                    source: Some(Source::TemplatePath("/t.json".into())),
                    output_dir: "nightly".into(),
                    ..Default::default()
                })),
            }),
            overlap_policy: pb::ScheduleOverlapPolicy::BufferOne as i32,
            recent_runs: vec![pb::ScheduleRun {
                outcome: pb::ScheduleRunOutcome::Started as i32,
                execution_ids: vec!["e1".into()],
                triggered: true,
                ..Default::default()
            }],
            ..Default::default()
        };
        let value = serde_json::to_value(ScheduleInfo::from(&schedule)).unwrap();
        assert_eq!(value["time_zone"], "UTC");
        assert_eq!(value["overlap_policy"], "BUFFER_ONE");
        assert_eq!(value["catch_up_policy"], "START_ONE");
        assert_eq!(
            value["manifest"],
            serde_json::json!({"template_path": "/t.json", "output_dir": "nightly"})
        );
        assert!(value.get("execute").is_none());
        assert_eq!(
            value["recent_runs"][0],
            serde_json::json!({"outcome": "STARTED", "execution_ids": ["e1"], "triggered": true})
        );
    }
}
