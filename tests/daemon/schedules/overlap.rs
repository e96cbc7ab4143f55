//! The overlap policies: what a schedule does when it falls due while its
//! previous run (a gate that holds until the test releases it) still runs.

use super::{count, schedule, with_overlap};
use crate::helper::*;

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
    let buffered_time = runs[1].scheduled_time;

    std::fs::write(&gate, "").unwrap();
    let runs = daemon
        .wait_runs("gated", "the buffered time started", |runs| {
            runs.iter().any(|r| {
                r.scheduled_time == buffered_time && r.outcome() == pb::ScheduleRunOutcome::Started
            })
        })
        .await;
    let of_that_time: Vec<_> = runs
        .iter()
        .filter(|r| r.scheduled_time == buffered_time)
        .collect();
    assert_eq!(
        of_that_time.len(),
        1,
        "the buffered run became the started one: {runs:?}"
    );
    let buffered = of_that_time[0];
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
