//! Schedules through the API with real time: 6-field cron expressions that
//! fall due every second, a real daemon stopped, killed with SIGKILL and
//! restarted. The rules that need minutes or days (catch-up windows, the
//! crash between a start and its record) are checked with a controlled
//! clock in src/schedules/tests.rs.

use std::collections::BTreeSet;

use serde_json::json;
use tonic::Code;

use crate::helper::*;

const EVERY_SECOND: &str = "* * * * * *";

fn schedule(id: &str, workflow: &str, inputs: &[(&str, prost_types::Value)]) -> pb::Schedule {
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

fn with_overlap(mut schedule: pb::Schedule, overlap: pb::ScheduleOverlapPolicy) -> pb::Schedule {
    schedule.overlap_policy = overlap as i32;
    schedule
}

impl Daemon {
    async fn create_schedule(&self, schedule: pb::Schedule) -> pb::Schedule {
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

    async fn schedule(&self, id: &str) -> pb::Schedule {
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
    async fn runs(&self, id: &str) -> Vec<pb::ScheduleRun> {
        let mut runs = self.schedule(id).await.recent_runs;
        runs.reverse();
        runs
    }

    /// Polls the runs (time passing is what is waited on) until `done`.
    async fn wait_runs(
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

    async fn scheduled_executions(&self, id: &str) -> Vec<pb::Execution> {
        self.list_executions(pb::ListExecutionsRequest {
            schedule_id: id.to_string(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .executions
    }

    async fn delete_schedule(&self, id: &str) {
        self.client()
            .delete_schedule(pb::DeleteScheduleRequest {
                schedule_id: id.to_string(),
            })
            .await
            .unwrap_or_else(|s| panic!("DeleteSchedule: {s:?}"));
    }
}

fn count(runs: &[pb::ScheduleRun], outcome: pb::ScheduleRunOutcome) -> usize {
    runs.iter().filter(|r| r.outcome() == outcome).count()
}

fn seconds(t: &prost_types::Timestamp) -> i64 {
    t.seconds
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
        .list_schedules(pb::ListSchedulesRequest {})
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

/// A daemon with the gate program, and a schedule of it every second under
/// `overlap`; returns the daemon and the file that releases the gate.
async fn gated(overlap: pb::ScheduleOverlapPolicy) -> (Daemon, std::path::PathBuf) {
    let daemon = Daemon::builder()
        .program("gate", gate_program("gate"))
        .max_jobs(4)
        .start()
        .await;
    let gate = daemon.file("gate");
    let schedule = schedule("gated", "gate", &[("gate", text(gate.to_str().unwrap()))]);
    daemon
        .create_schedule(with_overlap(schedule, overlap))
        .await;
    (daemon, gate)
}

#[tokio::test]
async fn skip_records_the_times_the_previous_run_was_still_going() {
    let (daemon, gate) = gated(pb::ScheduleOverlapPolicy::Skip).await;
    let runs = daemon
        .wait_runs("gated", "a started run, then two skipped", |runs| {
            count(runs, pb::ScheduleRunOutcome::Skipped) >= 2
        })
        .await;
    assert_eq!(runs[0].outcome(), pb::ScheduleRunOutcome::Started);
    let first = runs[0].execution_ids[0].clone();
    assert!(runs[1..]
        .iter()
        .all(|r| r.outcome() == pb::ScheduleRunOutcome::Skipped && r.error.contains(&first)));
    assert_eq!(daemon.scheduled_executions("gated").await.len(), 1);

    std::fs::write(&gate, "").unwrap();
    daemon.wait_end(&first).await;
    daemon
        .wait_runs("gated", "a second start once the first ended", |runs| {
            count(runs, pb::ScheduleRunOutcome::Started) >= 2
        })
        .await;
    daemon.delete_schedule("gated").await;
}

#[tokio::test]
async fn buffer_one_starts_the_buffered_time_when_the_previous_run_ends() {
    let (daemon, gate) = gated(pb::ScheduleOverlapPolicy::BufferOne).await;
    let runs = daemon
        .wait_runs("gated", "started, buffered, then skipped", |runs| {
            count(runs, pb::ScheduleRunOutcome::Skipped) >= 1
        })
        .await;
    assert_eq!(runs[0].outcome(), pb::ScheduleRunOutcome::Started);
    assert_eq!(runs[1].outcome(), pb::ScheduleRunOutcome::Buffered);
    assert!(runs[2..]
        .iter()
        .all(|r| r.outcome() == pb::ScheduleRunOutcome::Skipped));
    let buffered_time = runs[1].scheduled_time.clone();

    std::fs::write(&gate, "").unwrap();
    let runs = daemon
        .wait_runs("gated", "the buffered time started", |runs| {
            runs.iter().any(|r| {
                r.scheduled_time == buffered_time && r.outcome() == pb::ScheduleRunOutcome::Started
            })
        })
        .await;
    let buffered = runs
        .iter()
        .find(|r| r.scheduled_time == buffered_time)
        .unwrap();
    let execution = daemon.wait_end(&buffered.execution_ids[0]).await;
    assert_eq!(execution.state(), ExecutionState::Succeeded);
    assert_eq!(execution.scheduled_time, buffered_time);
    daemon.delete_schedule("gated").await;
}

#[tokio::test]
async fn cancel_previous_cancels_the_running_one_then_starts() {
    let (daemon, _gate) = gated(pb::ScheduleOverlapPolicy::CancelPrevious).await;
    let runs = daemon
        .wait_runs("gated", "two started runs", |runs| {
            count(runs, pb::ScheduleRunOutcome::Started) >= 2
        })
        .await;
    daemon.delete_schedule("gated").await;
    let first = daemon.wait_end(&runs[0].execution_ids[0]).await;
    assert_eq!(first.state(), ExecutionState::Cancelled);
    let second = daemon.get(&runs[1].execution_ids[0]).await;
    assert_ne!(second.state(), ExecutionState::Queued, "{second:?}");
}

#[tokio::test]
async fn allow_all_starts_alongside_the_running_ones() {
    let (daemon, gate) = gated(pb::ScheduleOverlapPolicy::AllowAll).await;
    let runs = daemon
        .wait_runs("gated", "three started runs", |runs| {
            count(runs, pb::ScheduleRunOutcome::Started) >= 3
        })
        .await;
    daemon.delete_schedule("gated").await;
    for run in &runs[..3] {
        let execution = daemon.get(&run.execution_ids[0]).await;
        assert!(!execution.state.eq(&(ExecutionState::Cancelled as i32)));
    }
    std::fs::write(&gate, "").unwrap();
    for run in &runs {
        for id in &run.execution_ids {
            assert_eq!(daemon.wait_end(id).await.state(), ExecutionState::Succeeded);
        }
    }
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

    // A trigger runs a paused schedule once, now.
    let run = daemon
        .client()
        .trigger_schedule(pb::TriggerScheduleRequest {
            schedule_id: "tick".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .run
        .unwrap();
    assert_eq!(run.outcome(), pb::ScheduleRunOutcome::Started);
    assert!(run.triggered);
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

/// Waits until the wall clock has passed `seconds` more whole seconds:
/// the times a schedule falls due while the daemon is down.
async fn let_seconds_pass(seconds: i64) {
    let until = chrono::Utc::now().timestamp() + seconds + 1;
    eventually("time to pass", DEADLINE, || async {
        (chrono::Utc::now().timestamp() >= until).then_some(())
    })
    .await;
}

#[tokio::test]
async fn after_a_stop_the_latest_missed_time_starts_once_and_the_rest_are_recorded() {
    let mut daemon = Daemon::start().await;
    let mut skip = schedule("skip", "hello", &[("name", text("s"))]);
    skip.catch_up_policy = pb::ScheduleCatchUpPolicy::Skip as i32;
    daemon.create_schedule(skip).await;
    daemon
        .create_schedule(schedule("tick", "hello", &[("name", text("t"))]))
        .await;
    daemon
        .wait_runs("tick", "a first run", |runs| !runs.is_empty())
        .await;
    daemon.terminate().await;
    let stopped = chrono::Utc::now().timestamp();
    let_seconds_pass(3).await;
    daemon.restart().await;
    let restarted = chrono::Utc::now().timestamp();

    let runs = daemon
        .wait_runs("tick", "the catch-up", |runs| {
            runs.iter()
                .any(|r| r.outcome() == pb::ScheduleRunOutcome::Missed)
        })
        .await;
    let missed = runs
        .iter()
        .position(|r| r.outcome() == pb::ScheduleRunOutcome::Missed)
        .unwrap();
    assert!(runs[missed]
        .error
        .contains("while the daemon was not running"));
    let caught_up = &runs[missed + 1];
    assert_eq!(caught_up.outcome(), pb::ScheduleRunOutcome::Started);
    let time = seconds(caught_up.scheduled_time.as_ref().unwrap());
    assert!(
        (stopped..=restarted).contains(&time),
        "the latest time of the downtime: {time} in {stopped}..{restarted}"
    );

    let runs = daemon
        .wait_runs("skip", "the catch-up", |runs| {
            runs.iter()
                .any(|r| r.outcome() == pb::ScheduleRunOutcome::Missed)
        })
        .await;
    let missed = runs
        .iter()
        .position(|r| r.outcome() == pb::ScheduleRunOutcome::Missed)
        .unwrap();
    if let Some(next) = runs.get(missed + 1) {
        assert!(
            seconds(next.scheduled_time.as_ref().unwrap()) > restarted - 1,
            "with SKIP nothing of the downtime starts: {runs:?}"
        );
    }
    daemon.delete_schedule("tick").await;
    daemon.delete_schedule("skip").await;
}

#[tokio::test]
async fn kill9_while_runs_fall_due_neither_loses_nor_doubles_a_time() {
    let mut daemon = Daemon::start().await;
    daemon
        .create_schedule(with_overlap(
            schedule("tick", "hello", &[("name", text("k"))]),
            pb::ScheduleOverlapPolicy::AllowAll,
        ))
        .await;
    for round in 0..3 {
        // Killed the moment a new execution appears: the daemon is then
        // between a start and its record, or just past it.
        let before = daemon.scheduled_executions("tick").await.len();
        eventually(&format!("round {round}: a new run"), DEADLINE, || async {
            (daemon.scheduled_executions("tick").await.len() > before).then_some(())
        })
        .await;
        daemon.kill9().await;
        daemon.restart().await;
    }
    let runs = daemon
        .wait_runs("tick", "a run after the last restart", |runs| {
            runs.len() >= 4
        })
        .await;
    daemon.delete_schedule("tick").await;

    // Never doubled: one execution per time, and each is its run's.
    let executions = daemon.scheduled_executions("tick").await;
    let mut times = BTreeSet::new();
    for execution in &executions {
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
    // Never lost: a time is either run or inside a stretch recorded as
    // missed, which ends where the next recorded time begins.
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
