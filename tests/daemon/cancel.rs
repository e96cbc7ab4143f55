//! Cancel and timeouts: graceful SIGTERM, force, SIGKILL after the grace
//! period (process group, grandchildren included), queued executions,
//! idempotency and errors.

use std::time::{Duration, Instant};

use tonic::Code;
use workflow_manager::pb::{self, OutputStream};

use crate::helper::*;

/// The lifecycle of a run that a cancel had to kill.
const KILLED_AFTER_CANCEL: [&str; 6] = [
    "queued",
    "started",
    "cancel_requested",
    "killed",
    "exited",
    "finished",
];

/// Starts sleeper for `seconds` and waits until it installed its SIGTERM trap
/// (it prints "sleeping N s" right before).
async fn running_sleeper(daemon: &Daemon, seconds: u32) -> pb::Execution {
    let exec = daemon
        .execute("sleeper", &[("seconds", num(seconds as f64))])
        .await;
    daemon
        .wait_output(&exec.id, &format!("sleeping {seconds} s"))
        .await;
    exec
}

#[tokio::test]
async fn graceful_cancel_stops_the_program_with_sigterm() {
    let daemon = Daemon::start().await;
    let exec = running_sleeper(&daemon, 30).await;
    let asked = Instant::now();
    let resp = daemon
        .cancel(&exec.id, Some(Duration::from_secs(10)), false)
        .await;
    assert!(!resp.already_requested);
    let state = resp.execution.expect("execution").state();
    assert!(
        matches!(state, ExecutionState::Running | ExecutionState::Cancelled),
        "{state:?}"
    );

    let events = daemon.run_to_end(&exec.id).await;
    assert!(
        asked.elapsed() < Duration::from_secs(8),
        "the program stopped on SIGTERM, not at the end of the grace period"
    );
    assert_eq!(
        lifecycle(&events),
        [
            "queued",
            "started",
            "cancel_requested",
            "exited",
            "finished"
        ]
    );
    let request = of!(events, CancelRequested)[0];
    assert_eq!(request.reason, "client");
    assert!(!request.force);
    assert_eq!(
        request.grace_period,
        Some(duration(Duration::from_secs(10)))
    );
    let exited = of!(events, Exited)[0];
    assert!(
        exited.exit_code == Some(143) || exited.signal == Some(15),
        "ended by SIGTERM: {exited:?}"
    );
    let done = finished(&events);
    assert_eq!(done.state(), ExecutionState::Cancelled);

    let exec = daemon.get(&exec.id).await;
    assert_eq!(exec.state(), ExecutionState::Cancelled);
    assert!(
        !exec.error.is_empty(),
        "the execution says it was cancelled"
    );
    assert!(exec.end_time.is_some());
    assert_eq!(exec.pid, 0);

    // Cancelling a finished execution is refused.
    let err = daemon
        .client()
        .cancel(cancel_request(&exec.id, None, false))
        .await
        .expect_err("already finished");
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
}

#[tokio::test]
async fn force_cancel_kills_at_once() {
    let daemon = Daemon::start().await;
    let exec = running_sleeper(&daemon, 30).await;
    let asked = Instant::now();
    let resp = daemon
        .cancel(&exec.id, Some(Duration::from_secs(30)), true)
        .await;
    assert!(!resp.already_requested);
    let events = daemon.run_to_end(&exec.id).await;
    assert!(
        asked.elapsed() < Duration::from_secs(8),
        "no grace period with force"
    );
    assert!(of!(events, CancelRequested)[0].force);
    assert_eq!(
        of!(events, Exited)[0].signal,
        Some(9),
        "{:?}",
        of!(events, Exited)
    );
    assert_eq!(finished(&events).state(), ExecutionState::Cancelled);
    assert_eq!(daemon.get(&exec.id).await.signal, Some(9));
}

#[tokio::test]
async fn a_program_ignoring_sigterm_is_killed_with_its_grandchild() {
    let daemon = Daemon::builder()
        .program("stubborn.sh", stubborn_program())
        .start()
        .await;
    let (exec, started, grandchild) = daemon.start_with_grandchild("stubborn").await;
    assert!(!process_gone(grandchild), "the grandchild runs");
    assert_eq!(
        daemon.get(&exec.id).await.pid,
        started.pid,
        "pid is set while running"
    );

    let first = daemon
        .cancel(&exec.id, Some(Duration::from_secs(1)), false)
        .await;
    assert!(!first.already_requested);
    // Asking again while it is stopping is idempotent.
    let second = daemon
        .cancel(&exec.id, Some(Duration::from_secs(1)), false)
        .await;
    assert!(
        second.already_requested,
        "the second cancel reports the first"
    );
    assert_eq!(
        second.execution.expect("execution").state(),
        ExecutionState::Running
    );

    let events = daemon.run_to_end(&exec.id).await;
    assert_eq!(lifecycle(&events), KILLED_AFTER_CANCEL);
    let requested = events
        .iter()
        .find(|e| kind(e) == "cancel_requested")
        .unwrap();
    let killed = events.iter().find(|e| kind(e) == "killed").unwrap();
    let waited = nanos(killed.time.as_ref().unwrap()) - nanos(requested.time.as_ref().unwrap());
    assert!(
        waited >= 900_000_000,
        "SIGKILL came after the 1 s grace period, not after {waited} ns"
    );
    assert_eq!(*of!(events, Killed)[0], pb::Killed { signal: 9 });
    assert_eq!(of!(events, Exited)[0].signal, Some(9));
    assert_eq!(finished(&events).state(), ExecutionState::Cancelled);
    assert!(
        output_texts(&events, OutputStream::Stdout)
            .contains(&"got SIGTERM, ignoring it".to_string()),
        "SIGTERM was sent first"
    );

    wait_process_gone(started.pid, "the program").await;
    wait_process_gone(grandchild, "the grandchild").await;
}

#[tokio::test]
async fn cancelling_a_queued_execution_is_immediate() {
    let daemon = Daemon::builder()
        .program("gate.sh", gate_program("gate"))
        .max_jobs(1)
        .start()
        .await;
    let (blocker, gate) = daemon.start_gate().await;
    let queued = daemon.execute("hello", &[]).await;
    assert_eq!(queued.state(), ExecutionState::Queued);
    assert_eq!(daemon.status().await.queued, 1);

    let resp = daemon.cancel(&queued.id, None, false).await;
    assert!(!resp.already_requested);
    let cancelled = resp.execution.expect("execution");
    assert_eq!(
        cancelled.state(),
        ExecutionState::Cancelled,
        "a queued execution is cancelled at once"
    );
    assert!(cancelled.end_time.is_some());
    assert_eq!(daemon.status().await.queued, 0);
    let events = daemon.run_to_end(&queued.id).await;
    assert_eq!(finished(&events).state(), ExecutionState::Cancelled);
    assert!(
        !lifecycle(&events).contains(&"started"),
        "{:?}",
        kinds(&events)
    );

    let err = daemon
        .client()
        .cancel(cancel_request(&queued.id, None, false))
        .await
        .expect_err("already cancelled");
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");

    // Once the worker is free, the cancelled execution still does not run.
    std::fs::write(&gate, "go").unwrap();
    daemon
        .wait_state(&blocker.id, ExecutionState::Succeeded)
        .await;
    let next = daemon.execute("hello", &[]).await;
    daemon.wait_state(&next.id, ExecutionState::Succeeded).await;
    let after = daemon.get(&queued.id).await;
    assert_eq!(after.state(), ExecutionState::Cancelled);
    assert!(after.start_time.is_none(), "it never started");
}

#[tokio::test]
async fn timeout_cancels_and_ends_timed_out() {
    let daemon = Daemon::start().await;
    let mut req = request("sleeper", &[("seconds", num(30.0))]);
    req.timeout = Some(duration(Duration::from_secs(1)));
    let exec = daemon.execute_request(req).await;
    assert_eq!(exec.timeout, Some(duration(Duration::from_secs(1))));
    let events = daemon.run_to_end(&exec.id).await;
    assert_eq!(
        lifecycle(&events),
        [
            "queued",
            "started",
            "timed_out",
            "cancel_requested",
            "exited",
            "finished"
        ]
    );
    assert_eq!(
        of!(events, TimedOut)[0].timeout,
        Some(duration(Duration::from_secs(1)))
    );
    assert_eq!(of!(events, CancelRequested)[0].reason, "timeout");
    assert_eq!(finished(&events).state(), ExecutionState::TimedOut);

    let exec = daemon.get(&exec.id).await;
    assert_eq!(exec.state(), ExecutionState::TimedOut);
    assert!(!exec.error.is_empty());
    let ran = nanos(exec.end_time.as_ref().unwrap()) - nanos(exec.start_time.as_ref().unwrap());
    assert!(
        (900_000_000..10_000_000_000).contains(&ran),
        "ran about the 1 s timeout, not {ran} ns"
    );
}

#[tokio::test]
async fn ignore_sigterm_example_needs_sigkill() {
    let daemon = Daemon::start().await;
    let (exec, _started, grandchild) = daemon.start_with_grandchild("ignore_sigterm").await;
    daemon
        .cancel(&exec.id, Some(Duration::from_secs(1)), false)
        .await;
    let events = daemon.run_to_end(&exec.id).await;
    assert_eq!(
        lifecycle(&events),
        KILLED_AFTER_CANCEL,
        "the example ignores SIGTERM, so only SIGKILL after the grace period stops it"
    );
    assert_eq!(finished(&events).state(), ExecutionState::Cancelled);
    wait_process_gone(grandchild, "the grandchild").await;
}
