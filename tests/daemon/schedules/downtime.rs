//! A daemon that stops or dies while its schedules fall due: catch-up
//! after a stop, and kill -9 the moment a run appears, with no time lost
//! or doubled.

use super::{assert_each_time_once, schedule, seconds, with_overlap};
use crate::helper::*;

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
    // Every time up to this second fell due while the daemon was down.
    let restarting = chrono::Utc::now().timestamp();
    daemon.restart().await;
    let restarted = chrono::Utc::now().timestamp();

    // The record of the missed times, then (a write later) the start of
    // the latest of them.
    let runs = daemon
        .wait_runs("tick", "the catch-up", |runs| {
            runs.iter()
                .position(|r| r.outcome() == pb::ScheduleRunOutcome::Missed)
                .is_some_and(|missed| runs.len() > missed + 1)
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
            seconds(next.scheduled_time.as_ref().unwrap()) > restarting,
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
    let executions = daemon.scheduled_executions("tick").await;
    assert_each_time_once(&executions, &runs);
}
