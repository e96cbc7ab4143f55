//! The worker pool and the queue: --max-concurrent-jobs and --max-queue.

use std::time::Duration;

use tokio::task::JoinSet;
use tonic::Code;

use crate::helper::*;

/// The largest number of executions whose [start_time, end_time) overlap.
fn max_overlap(intervals: &[(i128, i128)]) -> usize {
    let mut edges: Vec<(i128, i32)> = Vec::new();
    for (start, end) in intervals {
        edges.push((*start, 1));
        edges.push((*end, -1));
    }
    // At equal times an end frees the worker before the next start takes it.
    edges.sort();
    let mut running = 0;
    let mut max = 0;
    for (_, delta) in edges {
        running += delta;
        max = max.max(running);
    }
    max as usize
}

#[tokio::test]
async fn never_more_than_max_concurrent_jobs_run() {
    let daemon = Daemon::builder().max_jobs(2).start().await;
    // Worker threads start as work needs them.
    assert_eq!(daemon.worker_threads(), 0);
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(daemon.execute("sleeper", &[("seconds", num(1.0))]).await.id);
    }
    let mut runs = JoinSet::new();
    for id in &ids {
        runs.spawn(drain(daemon.open_stream(id, 0, true).await));
    }
    // Sample the pool while they run.
    let mut samples = Vec::new();
    let mut workers = Vec::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(50));
    while !runs.is_empty() {
        tokio::select! {
            done = runs.join_next() => {
                let events = done.expect("a run").expect("run task");
                assert_eq!(finished(&events).state(), ExecutionState::Succeeded);
            }
            _ = ticker.tick() => {
                let status = daemon.status().await;
                samples.push((status.running, status.queued));
                workers.push(daemon.worker_threads());
            }
        }
    }
    assert!(
        samples.iter().all(|(running, _)| *running <= 2),
        "{samples:?}"
    );
    assert!(
        samples.iter().any(|(running, _)| *running == 2),
        "the pool was used: {samples:?}"
    );
    assert!(samples.iter().all(|(r, q)| r + q <= 6), "{samples:?}");

    let mut intervals = Vec::new();
    for id in &ids {
        let exec = daemon.get(id).await;
        assert_eq!(exec.state(), ExecutionState::Succeeded);
        intervals.push((
            nanos(exec.start_time.as_ref().expect("start_time")),
            nanos(exec.end_time.as_ref().expect("end_time")),
        ));
    }
    assert_eq!(
        max_overlap(&intervals),
        2,
        "executions overlapped: {intervals:?}"
    );
    let status = daemon.status().await;
    assert_eq!(status.max_workers, 2);
    assert_eq!((status.running, status.queued), (0, 0));
    // One thread per worker, reused from one execution to the next.
    assert!(
        workers.iter().all(|&n| n <= 2),
        "worker threads: {workers:?}"
    );
    assert_eq!(daemon.worker_threads(), 2);
}

#[tokio::test]
async fn a_full_queue_rejects_execute_and_loses_nothing() {
    let daemon = Daemon::builder()
        .program("gate.sh", gate_program("gate"))
        .max_jobs(1)
        .max_queue(2)
        .start()
        .await;
    let (blocker, gate) = daemon.start_gate().await;
    let first = daemon.execute("hello", &[("name", text("first"))]).await;
    let second = daemon.execute("hello", &[("name", text("second"))]).await;
    assert_eq!(first.state(), ExecutionState::Queued);
    assert_eq!(second.state(), ExecutionState::Queued);

    let status = daemon.status().await;
    assert_eq!(
        (
            status.running,
            status.queued,
            status.max_workers,
            status.max_queue
        ),
        (1, 2, 1, 2)
    );
    let err = daemon
        .client()
        .execute(request("hello", &[("name", text("third"))]))
        .await
        .expect_err("the queue is full");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");

    std::fs::write(&gate, "go").unwrap();
    let mut positions = Vec::new();
    for exec in [&blocker, &first, &second] {
        let events = daemon.run_to_end(&exec.id).await;
        assert_eq!(finished(&events).state(), ExecutionState::Succeeded);
        positions.push(of!(events, Queued)[0].queue_position);
    }
    assert_eq!(positions, [0, 0, 1], "queue positions when accepted");
    let first = daemon.get(&first.id).await;
    let second = daemon.get(&second.id).await;
    assert!(
        nanos(first.start_time.as_ref().unwrap()) <= nanos(second.start_time.as_ref().unwrap()),
        "the queue is first in, first out"
    );
    let all = daemon.list_executions(Default::default()).await.executions;
    assert_eq!(
        all.len(),
        3,
        "the rejected Execute left no execution behind"
    );
    assert!(all.iter().all(|e| e.state() == ExecutionState::Succeeded));
}
