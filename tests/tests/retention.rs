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

    let asked = Instant::now();
    while !is_deleted(&daemon, &ended.id).await {
        assert!(
            asked.elapsed() < DEADLINE,
            "execution {} was not deleted",
            ended.id
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
