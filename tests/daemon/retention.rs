//! History retention: executions that ended longer ago than the retention
//! are deleted with their log, artifacts and kept working directory;
//! running and queued ones stay, however old.

use std::time::{Duration, Instant};

use tonic::Code;

use crate::helper::*;

/// Whether GetExecution says `execution_id` is gone.
async fn is_deleted(daemon: &Daemon, execution_id: &str) -> bool {
    match daemon
        .client()
        .get_execution(pb::GetExecutionRequest {
            execution_id: execution_id.to_string(),
        })
        .await
    {
        Ok(_) => false,
        Err(status) if status.code() == Code::NotFound => true,
        Err(status) => panic!("GetExecution {execution_id}: {status:?}"),
    }
}

/// Waits until retention has deleted `execution_id` (it runs every second
/// at the retentions used here).
async fn wait_deleted(daemon: &Daemon, execution_id: &str) {
    let asked = Instant::now();
    while !is_deleted(daemon, execution_id).await {
        assert!(
            asked.elapsed() < DEADLINE,
            "execution {execution_id} was not deleted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn expired_executions_are_deleted_and_active_ones_kept() {
    // 1e-8 days is under a millisecond: every execution expires as soon as
    // it ends, and the pruner runs every second at this retention.
    let daemon = Daemon::builder()
        .max_jobs(1)
        .flag("--history-retention-days", 1e-8)
        .start()
        .await;
    let retention = daemon.status().await.history_retention.expect("retention");
    assert_eq!((retention.seconds, retention.nanos), (0, 864_000));
    let ended = daemon.execute("sleeper", &[("seconds", num(30.0))]).await;
    daemon.wait_output(&ended.id, "sleeping 30 s").await;
    // A file in its working directory, so the directory is kept at its end.
    let work_dir = daemon.data_dir().join("runs").join(&ended.id);
    std::fs::write(work_dir.join("report.txt"), "left behind\n").unwrap();
    let running = daemon.execute("sleeper", &[("seconds", num(30.0))]).await;
    daemon.cancel(&ended.id, None, true).await;
    daemon.wait_output(&running.id, "sleeping 30 s").await;
    let queued = daemon.execute("hello", &[("name", text("later"))]).await;
    assert_eq!(queued.state(), ExecutionState::Queued);

    wait_deleted(&daemon, &ended.id).await;
    assert!(!work_dir.exists(), "its working directory is deleted too");
    let err = daemon
        .client()
        .stream_logs(pb::StreamLogsRequest {
            execution_id: ended.id.clone(),
            from_sequence: 1,
            follow: false,
        })
        .await
        .expect_err("its log is gone");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");

    // The active ones stay, and the queued one still runs.
    assert_eq!(
        daemon.get(&running.id).await.state(),
        ExecutionState::Running
    );
    assert_eq!(daemon.get(&queued.id).await.state(), ExecutionState::Queued);
    let listed: Vec<String> = daemon
        .list_executions(pb::ListExecutionsRequest::default())
        .await
        .executions
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(listed, [queued.id.clone(), running.id.clone()]);
    let follow_queued = daemon.open_stream(&queued.id, 1, true).await;
    daemon.cancel(&running.id, None, true).await;
    let events = drain(follow_queued).await;
    assert_eq!(finished(&events).state(), ExecutionState::Succeeded);
}

#[tokio::test]
async fn a_log_deleted_while_it_is_streamed_ends_with_not_found_never_a_gap() {
    let daemon = Daemon::builder()
        .flag("--history-retention-days", 1e-8)
        .start()
        .await;
    // Enough events that, from either place the streams below start, far
    // more is left than a stream sends before its client reads on (the
    // HTTP/2 window: 2 MiB, some 50,000 events). Being the newest
    // execution, it is kept until a newer one exists.
    const LINES: u64 = 300_000;
    const FIRST_STEPS: u64 = 150_000;
    let chatty = daemon
        .execute("chatty", &[("lines", num(LINES as f64))])
        .await;
    daemon
        .client()
        .wait_execution(pb::WaitExecutionRequest {
            execution_id: chatty.id.clone(),
        })
        .await
        .expect("wait");

    // Retention deletes a log from the front, 20,000 events a step. A stream
    // that has not reached where the steps got to must not skip to what is
    // left: the steps are made here, with the statement retention uses,
    // while the stream waits for its client.
    let mut behind_a_step = daemon.open_stream(&chatty.id, 1, false).await;
    let mut next = first_sequence(&mut behind_a_step).await;
    let deleted = daemon.history_execute(
        "DELETE FROM log_events WHERE seq < ?2 AND execution = \
         (SELECT rowid FROM executions WHERE id = ?1)",
        &[(&chatty.id).into(), FIRST_STEPS.into()],
    );
    assert_eq!(deleted, FIRST_STEPS - 1);
    let err = read_until_error(&mut behind_a_step, &mut next).await;
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert!(err.message().contains(&chatty.id), "{err:?}");
    assert!(
        next < FIRST_STEPS,
        "it stopped where the deleted events began"
    );

    // Once a newer execution exists, retention deletes the rest; a stream
    // that was reading it ends the same way.
    let mut deleted_whole = daemon.open_stream(&chatty.id, FIRST_STEPS, false).await;
    let mut next = first_sequence(&mut deleted_whole).await;
    daemon.execute("hello", &[]).await;
    wait_deleted(&daemon, &chatty.id).await;
    let err = read_until_error(&mut deleted_whole, &mut next).await;
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert!(next < LINES, "it never reached the end of the log");
}

/// Reads a stream's first event; returns the sequence expected next.
async fn first_sequence(stream: &mut tonic::Streaming<pb::StreamLogsResponse>) -> u64 {
    let first = stream
        .message()
        .await
        .expect("first event")
        .and_then(|m| m.event)
        .expect("an event");
    first.sequence + 1
}

/// Reads on, checking each event follows the one before, until the stream
/// fails; returns the failure.
async fn read_until_error(
    stream: &mut tonic::Streaming<pb::StreamLogsResponse>,
    next: &mut u64,
) -> tonic::Status {
    loop {
        match stream.message().await {
            Ok(Some(message)) => {
                let event = message.event.expect("an event");
                assert_eq!(event.sequence, *next, "no gap, no repeat");
                *next += 1;
            }
            Ok(None) => panic!("the stream ended at {next} without an error"),
            Err(status) => return status,
        }
    }
}
