//! Durability: the history survives restarts; SIGTERM stops running
//! executions and keeps queued ones; after kill -9 the next start marks running
//! executions INTERRUPTED (and those it was starting), kills their orphaned
//! process groups and runs the queue. The optional Unix socket serves the same API, is replaced after a
//! crash and removed at a graceful stop, and never replaces anything else.

use std::time::{Duration, Instant};

use crate::helper::*;

/// Whether an error text says the daemon shut down.
fn mentions_shutdown(error: &str) -> bool {
    let error = error.to_lowercase();
    error.contains("shutdown") || error.contains("shut down")
}

#[tokio::test]
async fn history_survives_a_graceful_restart() {
    let mut daemon = Daemon::start().await;
    let exec = daemon
        .execute("research_pipeline", &[("topic", text("persist"))])
        .await;
    let events = daemon.run_to_end(&exec.id).await;
    let before = daemon.get(&exec.id).await;

    let status = daemon.terminate().await;
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM is a clean shutdown: {status:?}"
    );
    assert!(
        history_in_postgres() || daemon.data_dir().join("history.sqlite3").is_file(),
        "the history file"
    );
    daemon.restart().await;

    let after = daemon.get(&exec.id).await;
    assert_eq!(after.state(), ExecutionState::Succeeded);
    assert_eq!(after.phases.len(), 3);
    assert_eq!(after, before, "the execution reads back as it was");
    assert_eq!(
        daemon.logs(&exec.id, 0, false).await,
        events,
        "the log replays as it was"
    );
    assert_eq!(daemon.logs(&exec.id, 0, true).await, events);

    let status = daemon.status().await;
    assert_eq!(status.total_executions, 1);
    assert_eq!(status.totals_by_state.get("SUCCEEDED"), Some(&1));
}

#[tokio::test]
async fn sigterm_interrupts_running_executions_and_keeps_queued_ones() {
    let mut daemon = Daemon::builder()
        .max_jobs(1)
        .shutdown_grace(5)
        .start()
        .await;
    let running = daemon.execute("sleeper", &[("seconds", num(30.0))]).await;
    daemon.wait_output(&running.id, "sleeping 30 s").await;
    let queued = daemon.execute("hello", &[("name", text("later"))]).await;
    assert_eq!(queued.state(), ExecutionState::Queued);
    // Waiters on both: the running one ends INTERRUPTED; the queued one
    // outlives this daemon, so its waiter is told the daemon went away.
    let wait = |id: &str| {
        let mut client = daemon.client();
        let request = pb::WaitExecutionRequest {
            execution_id: id.to_string(),
        };
        tokio::spawn(async move { client.wait_execution(request).await })
    };
    let mut running_waiter = wait(&running.id);
    let queued_waiter = wait(&queued.id);
    assert!(
        tokio::time::timeout(Duration::from_millis(200), &mut running_waiter)
            .await
            .is_err(),
        "WaitExecution returned while the execution was running"
    );

    let asked = Instant::now();
    let status = daemon.terminate().await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "sleeper stops on SIGTERM, the daemon need not wait out the grace period"
    );
    let interrupted = running_waiter
        .await
        .expect("waiter")
        .expect("WaitExecution of the running execution")
        .into_inner()
        .execution
        .expect("execution");
    assert_eq!(interrupted.state(), ExecutionState::Interrupted);
    let err = queued_waiter
        .await
        .expect("waiter")
        .expect_err("the queued execution did not end");
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert!(
        err.message().contains(&queued.id) && err.message().contains("still queued"),
        "{err:?}"
    );
    daemon.restart().await;

    let events = daemon.run_to_end(&running.id).await;
    let done = finished(&events);
    assert_eq!(done.state(), ExecutionState::Interrupted);
    assert!(mentions_shutdown(&done.error), "{done:?}");
    let without_interrupted: Vec<&str> = lifecycle(&events)
        .into_iter()
        .filter(|k| *k != "interrupted")
        .collect();
    assert_eq!(
        without_interrupted,
        [
            "queued",
            "started",
            "cancel_requested",
            "exited",
            "finished"
        ]
    );
    assert_eq!(of!(events, CancelRequested)[0].reason, "shutdown");
    let exec = daemon.get(&running.id).await;
    assert_eq!(exec.state(), ExecutionState::Interrupted);
    assert!(mentions_shutdown(&exec.error), "{:?}", exec.error);

    // The queued execution was kept and runs after the restart.
    let events = daemon.run_to_end(&queued.id).await;
    assert_eq!(finished(&events).state(), ExecutionState::Succeeded);
    assert_eq!(
        output_texts(&events, workflow_manager::pb::OutputStream::Stdout),
        ["hello, later"]
    );
}

#[tokio::test]
async fn after_kill_9_the_next_start_interrupts_reaps_and_runs_the_queue() {
    // Without the guardian, which would kill the programs with the daemon
    // (tests/daemon/limits.rs): the next start must find them.
    let mut daemon = Daemon::builder()
        .program("stubborn.sh", stubborn_program())
        .config_file("no-guardian.toml", "kill_programs_with_daemon = false\n")
        .max_jobs(1)
        .start()
        .await;
    let (running, started, grandchild) = daemon.start_with_grandchild("stubborn").await;
    let queued = daemon.execute("hello", &[("name", text("survivor"))]).await;
    assert_eq!(queued.state(), ExecutionState::Queued);

    daemon.kill9().await;
    assert!(
        !process_gone(started.pid),
        "the program outlives the killed daemon"
    );
    assert!(!process_gone(grandchild), "so does its grandchild");
    daemon.restart().await;

    let events = daemon.run_to_end(&running.id).await;
    let tail: Vec<&str> = kinds(&events).into_iter().rev().take(2).collect();
    assert_eq!(tail, ["finished", "interrupted"], "{:?}", kinds(&events));
    assert!(!of!(events, Interrupted)[0].reason.is_empty());
    assert_eq!(finished(&events).state(), ExecutionState::Interrupted);
    let exec = daemon.get(&running.id).await;
    assert_eq!(exec.state(), ExecutionState::Interrupted);
    assert!(!exec.error.is_empty());
    assert!(exec.end_time.is_some());
    assert_eq!(exec.pid, 0);

    // The orphaned process group is killed at start.
    wait_process_gone(started.pid, "the orphaned program").await;
    wait_process_gone(grandchild, "the orphaned grandchild").await;

    // The queued execution runs after the restart.
    let events = daemon.run_to_end(&queued.id).await;
    assert_eq!(finished(&events).state(), ExecutionState::Succeeded);
    assert_eq!(
        output_texts(&events, workflow_manager::pb::OutputStream::Stdout),
        ["hello, survivor"]
    );
}

/// A SQLite daemon killed while it started a program, before the start
/// was committed, leaves the execution QUEUED with its run directory made:
/// the next start marks it INTERRUPTED rather than run it a second time,
/// and runs the rest of the queue. The moment is stood in for by making
/// the run directory of a queued execution while the daemon is down.
#[tokio::test]
async fn an_execution_killed_while_starting_is_interrupted_not_run_again() {
    if skip_on_postgres("the run directory a SQLite daemon leaves (PostgreSQL: three_daemons.rs)") {
        return;
    }
    let mut daemon = Daemon::builder()
        .program("gate.sh", gate_program("gate"))
        .max_jobs(1)
        .start()
        .await;
    let (running, _gate) = daemon.start_gate().await;
    let starting = daemon.execute("hello", &[("name", text("once"))]).await;
    let queued = daemon.execute("hello", &[("name", text("later"))]).await;
    assert_eq!(starting.state(), ExecutionState::Queued);

    daemon.kill9().await;
    std::fs::create_dir_all(daemon.data_dir().join("runs").join(&starting.id)).unwrap();
    daemon.restart().await;

    for id in [&running.id, &starting.id] {
        assert_eq!(
            daemon.wait_end(id).await.state(),
            ExecutionState::Interrupted
        );
    }
    let interrupted = daemon.get(&starting.id).await;
    assert!(
        interrupted
            .error
            .contains("the daemon stopped while the execution was starting"),
        "{:?}",
        interrupted.error
    );
    let events = daemon.run_to_end(&starting.id).await;
    assert!(!kinds(&events).contains(&"started"), "{:?}", kinds(&events));
    let events = daemon.run_to_end(&queued.id).await;
    assert_eq!(finished(&events).state(), ExecutionState::Succeeded);
}

/// After a host restart the pids the history kept may be anybody's:
/// recovery marks the executions INTERRUPTED and signals nothing. The
/// restart is stood in for by another boot id in the data directory; the
/// program left running by the killed daemon stands for a stranger that
/// got its pid, and must survive.
#[tokio::test]
async fn after_a_host_restart_recovery_signals_no_process() {
    let mut daemon = Daemon::builder()
        .program("stubborn.sh", stubborn_program())
        .config_file("no-guardian.toml", "kill_programs_with_daemon = false\n")
        .start()
        .await;
    let (running, started, grandchild) = daemon.start_with_grandchild("stubborn").await;
    daemon.kill9().await;
    let boot_id = daemon.data_dir().join("boot-id");
    assert!(boot_id.exists(), "the start kept the host's boot id");
    std::fs::write(&boot_id, "00000000-0000-0000-0000-000000000000\n").unwrap();
    daemon.restart().await;

    let events = daemon.run_to_end(&running.id).await;
    assert_eq!(
        of!(events, Interrupted)[0].reason,
        "the host restarted while the execution was running"
    );
    assert!(!process_gone(started.pid), "the stand-in stranger lives");
    assert!(!process_gone(grandchild), "so does its grandchild");
    assert_ne!(
        std::fs::read_to_string(&boot_id).unwrap().trim(),
        "00000000-0000-0000-0000-000000000000",
        "this boot's id is kept for the next start"
    );
    // The test's own cleanup: the group recovery left alone.
    workflow_manager::process::kill_group(started.pid, rustix::process::Signal::KILL);
    wait_process_gone(started.pid, "the program").await;
    wait_process_gone(grandchild, "its grandchild").await;
}

#[tokio::test]
async fn execute_is_unavailable_while_shutting_down() {
    let mut daemon = Daemon::builder()
        .program("stubborn.sh", stubborn_program())
        .shutdown_grace(3)
        .start()
        .await;
    let (running, started, grandchild) = daemon.start_with_grandchild("stubborn").await;
    let mut follower = daemon.open_stream(&running.id, 0, true).await;

    // The program ignores SIGTERM, so the shutdown lasts the grace period:
    // Execute is refused while it runs.
    daemon.send_sigterm();
    let mut log = Vec::new();
    loop {
        let event = tokio::time::timeout(DEADLINE, follower.message())
            .await
            .expect("event in time")
            .expect("stream ok")
            .unwrap_or_else(|| panic!("log ended before the shutdown: {:?}", kinds(&log)))
            .event
            .expect("event");
        let shutdown =
            matches!(&event.payload, Some(Payload::CancelRequested(c)) if c.reason == "shutdown");
        log.push(event);
        if shutdown {
            break;
        }
    }
    let err = daemon
        .client()
        .execute(request("hello", &[]))
        .await
        .expect_err("Execute during shutdown");
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert!(
        !process_gone(started.pid),
        "the shutdown was still under way"
    );

    // Followers get the final events before the daemon exits.
    log.extend(drain(follower).await);
    assert_contiguous(&log, 1);
    assert_eq!(finished(&log).state(), ExecutionState::Interrupted);
    let status = daemon.wait_exit().await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    wait_process_gone(started.pid, "the program").await;
    wait_process_gone(grandchild, "the grandchild").await;

    daemon.restart().await;
    let events = daemon.run_to_end(&running.id).await;
    assert_eq!(finished(&events).state(), ExecutionState::Interrupted);
    assert!(
        lifecycle(&events).contains(&"killed"),
        "SIGKILL after the shutdown grace: {:?}",
        kinds(&events)
    );
    let all = daemon.list_executions(Default::default()).await.executions;
    assert_eq!(all.len(), 1, "the refused Execute left nothing behind");
}

#[tokio::test]
async fn sigint_shuts_down_gracefully_like_sigterm() {
    let mut daemon = Daemon::start().await;
    let running = daemon.execute("sleeper", &[("seconds", num(30.0))]).await;
    daemon.wait_output(&running.id, "sleeping 30 s").await;

    daemon.send_signal(rustix::process::Signal::INT);
    let status = daemon.wait_exit().await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    daemon.restart().await;
    let ended = daemon.get(&running.id).await;
    assert_eq!(ended.state(), ExecutionState::Interrupted);
    assert!(mentions_shutdown(&ended.error), "{:?}", ended.error);
}

/// A client of the daemon's Unix socket.
async fn unix_client(socket: &std::path::Path) -> Client {
    let channel = tonic::transport::Endpoint::from_shared(format!("unix:{}", socket.display()))
        .expect("valid unix uri")
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect to {}: {e}", socket.display()));
    Client::new(channel)
}

#[tokio::test]
async fn the_unix_socket_serves_the_api_is_replaced_after_a_crash_and_removed_at_a_stop() {
    let socket_dir = tempfile::tempdir().unwrap();
    let socket = socket_dir.path().join("workflowd.sock");
    let with_socket = || Daemon::builder().flag("--unix-socket", socket.display());
    let mut daemon = with_socket().start().await;

    let mut client = unix_client(&socket).await;
    let started = client
        .execute(request("hello", &[("name", text("socket"))]))
        .await
        .expect("Execute over the socket")
        .into_inner();
    let id = started.execution.expect("execution").id;
    let ended = client
        .wait_execution(pb::WaitExecutionRequest {
            execution_id: id.clone(),
        })
        .await
        .expect("WaitExecution over the socket")
        .into_inner()
        .execution
        .expect("execution");
    assert_eq!(ended.state(), ExecutionState::Succeeded);
    assert_eq!(daemon.get(&id).await.id, id, "the same daemon over TCP");

    // A second daemon must not take the socket of a live one.
    let (status, stderr) = with_socket().start_expecting_failure().await;
    assert!(!status.success());
    assert!(
        stderr.contains(&socket.display().to_string())
            && stderr.contains("another daemon is serving on this socket"),
        "{stderr}"
    );
    client
        .get_status(pb::GetStatusRequest::default())
        .await
        .expect("the first daemon still serves on its socket");

    // kill -9 leaves the socket file behind; the next start replaces it.
    daemon.kill9().await;
    assert!(socket.exists(), "nothing removed it");
    daemon.restart().await;
    let status = unix_client(&socket)
        .await
        .get_status(pb::GetStatusRequest::default())
        .await
        .expect("GetStatus over the replaced socket")
        .into_inner();
    assert_eq!(status.total_executions, 1);

    assert!(daemon.terminate().await.success());
    assert!(!socket.exists(), "a graceful stop removes the socket");
}

#[tokio::test]
async fn a_file_in_the_way_of_the_unix_socket_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "keep me\n").unwrap();
    let (status, stderr) = Daemon::builder()
        .flag("--unix-socket", notes.display())
        .start_expecting_failure()
        .await;
    assert!(!status.success());
    assert!(
        stderr.contains(&notes.display().to_string()) && stderr.contains("not a socket"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "keep me\n");
}
