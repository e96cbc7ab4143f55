//! Schedules through the API with real time: 6-field cron expressions that
//! fall due every second, a real daemon stopped, killed with SIGKILL and
//! restarted. The rules that need minutes or days (catch-up windows, the
//! crash between a start and its record) are checked with a controlled
//! clock in src/schedules/tests.rs.

use std::collections::BTreeSet;

use serde_json::json;
use tonic::Code;

use crate::helper::*;

mod downtime;
mod overlap;

pub(super) const EVERY_SECOND: &str = "* * * * * *";

pub(super) fn schedule(
    id: &str,
    workflow: &str,
    inputs: &[(&str, prost_types::Value)],
) -> pb::Schedule {
    pb::Schedule {
        id: id.to_string(),
        spec: Some(pb::ScheduleSpec {
            cron: vec![EVERY_SECOND.to_string()],
            ..Default::default()
        }),
        action: Some(pb::ScheduleAction {
            action: Some(pb::schedule_action::Action::Execute(pb::ScheduleExecute {
                workflow_id: workflow.to_string(),
                inputs: input_map(inputs),
                ..Default::default()
            })),
        }),
        ..Default::default()
    }
}

pub(super) fn with_overlap(
    mut schedule: pb::Schedule,
    overlap: pb::ScheduleOverlapPolicy,
) -> pb::Schedule {
    schedule.overlap_policy = overlap as i32;
    schedule
}

impl Daemon {
    pub(super) async fn create_schedule(&self, schedule: pb::Schedule) -> pb::Schedule {
        self.client()
            .create_schedule(pb::CreateScheduleRequest {
                schedule: Some(schedule),
            })
            .await
            .unwrap_or_else(|s| panic!("CreateSchedule: {s:?}"))
            .into_inner()
            .schedule
            .unwrap()
    }

    pub(super) async fn schedule(&self, id: &str) -> pb::Schedule {
        self.client()
            .get_schedule(pb::GetScheduleRequest {
                schedule_id: id.to_string(),
                next_fire_times: 3,
                recent_runs: 1000,
            })
            .await
            .unwrap_or_else(|s| panic!("GetSchedule: {s:?}"))
            .into_inner()
            .schedule
            .unwrap()
    }

    /// The schedule's runs, oldest first.
    pub(super) async fn runs(&self, id: &str) -> Vec<pb::ScheduleRun> {
        let mut runs = self.schedule(id).await.recent_runs;
        runs.reverse();
        runs
    }

    /// Polls the runs (time passing is what is waited on) until `done`.
    pub(super) async fn wait_runs(
        &self,
        id: &str,
        what: &str,
        done: impl Fn(&[pb::ScheduleRun]) -> bool,
    ) -> Vec<pb::ScheduleRun> {
        eventually(what, DEADLINE, || async {
            let runs = self.runs(id).await;
            done(&runs).then_some(runs)
        })
        .await
    }

    pub(super) async fn scheduled_executions(&self, id: &str) -> Vec<pb::Execution> {
        self.list_executions(pb::ListExecutionsRequest {
            schedule_id: id.to_string(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .executions
    }

    pub(super) async fn delete_schedule(&self, id: &str) {
        self.client()
            .delete_schedule(pb::DeleteScheduleRequest {
                schedule_id: id.to_string(),
            })
            .await
            .unwrap_or_else(|s| panic!("DeleteSchedule: {s:?}"));
    }
}

pub(super) fn count(runs: &[pb::ScheduleRun], outcome: pb::ScheduleRunOutcome) -> usize {
    runs.iter().filter(|r| r.outcome() == outcome).count()
}

pub(super) fn seconds(t: &prost_types::Timestamp) -> i64 {
    t.seconds
}

/// A schedule's times each ran once at most, and none was lost: one
/// execution per time, each recorded as its run's start, and between two
/// recorded times either no time or a stretch recorded as missed.
/// `executions` are the schedule's, `runs` its runs oldest first.
pub(super) fn assert_each_time_once(executions: &[pb::Execution], runs: &[pb::ScheduleRun]) {
    let mut times = BTreeSet::new();
    for execution in executions {
        let time = seconds(execution.scheduled_time.as_ref().unwrap());
        assert!(
            times.insert(time),
            "two executions for {time}: {executions:#?}"
        );
    }
    let started: BTreeSet<i64> = runs
        .iter()
        .filter(|r| r.outcome() == pb::ScheduleRunOutcome::Started)
        .map(|r| seconds(r.scheduled_time.as_ref().unwrap()))
        .collect();
    assert!(
        times.is_subset(&started) || times.len() == started.len() + 1,
        "every start is recorded (the last may still be on its way): {times:?} vs {started:?}"
    );
    for pair in runs.windows(2) {
        let (a, b) = (
            seconds(pair[0].scheduled_time.as_ref().unwrap()),
            seconds(pair[1].scheduled_time.as_ref().unwrap()),
        );
        assert!(
            b == a + 1 || pair[0].outcome() == pb::ScheduleRunOutcome::Missed,
            "a gap after {a} that no run records: {runs:#?}"
        );
    }
}

/// The fields of a status's google.rpc.BadRequest violations, in order.
fn bad_request_fields(status: &tonic::Status) -> Vec<String> {
    violations(status)
        .into_iter()
        .map(|(field, _)| field)
        .collect()
}

#[tokio::test]
async fn a_schedule_runs_each_time_it_falls_due_and_its_executions_say_so() {
    let daemon = Daemon::start().await;
    let created = daemon
        .create_schedule(schedule("tick", "hello", &[("name", text("cron"))]))
        .await;
    assert_eq!(created.next_fire_times.len(), 5, "{created:?}");
    assert_eq!(created.overlap_policy(), pb::ScheduleOverlapPolicy::Skip);
    assert_eq!(
        created.catch_up_policy(),
        pb::ScheduleCatchUpPolicy::StartOne
    );

    let runs = daemon
        .wait_runs("tick", "three started runs", |runs| {
            count(runs, pb::ScheduleRunOutcome::Started) >= 3
        })
        .await;
    let times: Vec<i64> = runs
        .iter()
        .map(|r| seconds(r.scheduled_time.as_ref().unwrap()))
        .collect();
    assert!(
        times.windows(2).all(|w| w[1] > w[0]),
        "one run per second, in order: {times:?}"
    );
    daemon.delete_schedule("tick").await;

    let executions = daemon.scheduled_executions("tick").await;
    assert!(executions.len() >= 3);
    for run in runs
        .iter()
        .filter(|r| r.outcome() == pb::ScheduleRunOutcome::Started)
    {
        let [id] = &run.execution_ids[..] else {
            panic!("one execution per run: {run:?}")
        };
        let execution = daemon.wait_end(id).await;
        assert_eq!(execution.state(), ExecutionState::Succeeded);
        assert_eq!(execution.schedule_id, "tick");
        assert_eq!(execution.scheduled_time, run.scheduled_time);
        assert_eq!(execution.labels["schedule"], "tick");
        assert!(executions.iter().any(|e| &e.id == id));
    }
    let status = daemon
        .client()
        .get_schedule(pb::GetScheduleRequest {
            schedule_id: "tick".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "deleted: {status:?}");
}

#[tokio::test]
async fn a_bad_schedule_names_each_field_and_nothing_is_stored() {
    let daemon = Daemon::builder()
        .program("gate", gate_program("gate"))
        .start()
        .await;
    let mut bad = schedule("Nightly!", "nope", &[]);
    bad.spec = Some(pb::ScheduleSpec {
        cron: vec!["61 * * * *".into(), "* * *".into()],
        time_zone: "Mars/Olympus".into(),
        ..Default::default()
    });
    let status = daemon
        .client()
        .create_schedule(pb::CreateScheduleRequest {
            schedule: Some(bad),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        bad_request_fields(&status),
        [
            "schedule.id",
            "schedule.spec.cron[0]",
            "schedule.spec.cron[1]",
            "schedule.spec.time_zone",
            "schedule.action.execute.workflow_id",
        ]
    );

    // The workflow's own input check, under the schedule's field.
    let status = daemon
        .client()
        .create_schedule(pb::CreateScheduleRequest {
            schedule: Some(schedule("gated", "gate", &[])),
        })
        .await
        .unwrap_err();
    assert_eq!(
        bad_request_fields(&status),
        ["schedule.action.execute.inputs.gate"]
    );

    // A template outside the source roots is not read.
    let mut outside = schedule("outside", "gate", &[]);
    outside.action = Some(pb::ScheduleAction {
        action: Some(pb::schedule_action::Action::Manifest(
            pb::ScheduleManifest {
                source: Some(pb::schedule_manifest::Source::TemplatePath(
                    "/etc/passwd".into(),
                )),
                ..Default::default()
            },
        )),
    });
    let status = daemon
        .client()
        .create_schedule(pb::CreateScheduleRequest {
            schedule: Some(outside),
        })
        .await
        .unwrap_err();
    assert_eq!(
        bad_request_fields(&status),
        ["schedule.action.manifest.template_path"]
    );

    let listed = daemon
        .client()
        .list_schedules(pb::ListSchedulesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.schedules.is_empty(), "nothing stored: {listed:?}");

    let gate = daemon.file("gate");
    let good = schedule("gated", "gate", &[("gate", text(gate.to_str().unwrap()))]);
    daemon.create_schedule(good.clone()).await;
    let status = daemon
        .client()
        .create_schedule(pb::CreateScheduleRequest {
            schedule: Some(good),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    daemon.delete_schedule("gated").await;
}

#[tokio::test]
async fn a_paused_schedule_starts_nothing_until_unpaused_or_triggered() {
    let daemon = Daemon::start().await;
    let mut tick = schedule("tick", "hello", &[("name", text("cron"))]);
    tick.paused = true;
    tick.note = "maintenance".into();
    let created = daemon.create_schedule(tick).await;
    assert!(created.paused);
    assert!(created.next_fire_times.is_empty(), "{created:?}");

    // A trigger runs a paused schedule once, now; the same request id
    // again returns that run.
    let trigger = || async {
        daemon
            .client()
            .trigger_schedule(pb::TriggerScheduleRequest {
                schedule_id: "tick".into(),
                request_id: "once".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .run
            .unwrap()
    };
    let run = trigger().await;
    assert_eq!(run.outcome(), pb::ScheduleRunOutcome::Started);
    assert!(run.triggered);
    assert_eq!(trigger().await, run, "idempotent by request id");
    assert_eq!(daemon.scheduled_executions("tick").await.len(), 1);
    daemon.wait_end(&run.execution_ids[0]).await;
    // Two seconds in which it would have fallen due twice.
    let later = std::time::Instant::now() + std::time::Duration::from_secs(2);
    eventually("two seconds", DEADLINE, || async {
        (std::time::Instant::now() >= later).then_some(())
    })
    .await;
    assert_eq!(daemon.runs("tick").await.len(), 1, "only the trigger");

    let unpaused = daemon
        .client()
        .pause_schedule(pb::PauseScheduleRequest {
            schedule_id: "tick".into(),
            paused: false,
            note: "back".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .schedule
        .unwrap();
    assert!(!unpaused.paused);
    assert_eq!(unpaused.note, "back");
    let runs = daemon
        .wait_runs("tick", "a run after unpausing", |runs| runs.len() >= 2)
        .await;
    assert_eq!(runs[1].outcome(), pb::ScheduleRunOutcome::Started);
    assert!(!runs[1].triggered);
    assert_eq!(
        count(&runs, pb::ScheduleRunOutcome::Missed),
        0,
        "the paused times are not caught up: {runs:?}"
    );
    daemon.delete_schedule("tick").await;
}

#[tokio::test]
async fn a_template_that_stopped_validating_fails_its_run_and_the_schedule_goes_on() {
    let daemon = Daemon::builder()
        .program("vm-pipeline.sh", fixture_pipeline())
        .flag("--output-dir", "out")
        .start()
        .await;
    let disks = daemon.staging_dir();
    let raw = make_disk(&disks, "nightly.raw", "raw");
    let template = disks.join("nightly.json");
    let manifest = json!({"version": "1.0", "pipeline": {
        "load": {"source_type": "raw", "source_path": raw},
        "convert": {"output_format": "qcow2"}}});
    std::fs::write(&template, manifest.to_string()).unwrap();
    let mut nightly = schedule("nightly", "vm_pipeline", &[]);
    nightly.spec = Some(pb::ScheduleSpec {
        cron: vec!["0 2 * * *".into()],
        time_zone: "Europe/Paris".into(),
        ..Default::default()
    });
    nightly.action = Some(pb::ScheduleAction {
        action: Some(pb::schedule_action::Action::Manifest(
            pb::ScheduleManifest {
                source: Some(pb::schedule_manifest::Source::TemplatePath(
                    template.to_string_lossy().into_owned(),
                )),
                output_dir: "nightly".into(),
                ..Default::default()
            },
        )),
    });
    let created = daemon.create_schedule(nightly).await;
    let next = created.next_fire_times[0].seconds;
    let at = chrono::DateTime::from_timestamp(next, 0).unwrap();
    let paris = at.with_timezone(&chrono_tz::Europe::Paris);
    assert_eq!(paris.format("%H:%M:%S").to_string(), "02:00:00", "{at}");

    let trigger = || async {
        daemon
            .client()
            .trigger_schedule(pb::TriggerScheduleRequest {
                schedule_id: "nightly".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .run
            .unwrap()
    };
    std::fs::write(&template, r#"{"version": "1.0", "pipeline": {}}"#).unwrap();
    let failed = trigger().await;
    assert_eq!(failed.outcome(), pb::ScheduleRunOutcome::Failed);
    assert!(
        failed
            .error
            .contains("schedule.action.manifest.template_path"),
        "{failed:?}"
    );
    assert!(failed.error.contains("nightly.json"), "{failed:?}");

    std::fs::write(&template, manifest.to_string()).unwrap();
    let started = trigger().await;
    assert_eq!(
        started.outcome(),
        pb::ScheduleRunOutcome::Started,
        "{started:?}"
    );
    let execution = daemon
        .wait_state(&started.execution_ids[0], ExecutionState::Succeeded)
        .await;
    assert_eq!(execution.schedule_id, "nightly");
    assert_eq!(execution.labels["manifest"], "nightly.json");
    assert!(
        std::path::Path::new(&execution.inputs["output_dir"]).ends_with("out/nightly"),
        "{execution:?}"
    );
    let runs = daemon.runs("nightly").await;
    assert_eq!(runs.len(), 2, "both kept: {runs:?}");
    daemon.delete_schedule("nightly").await;
}
