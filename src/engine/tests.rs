//! The scheduler, in process: FIFO order, the worker limit, the queue
//! limit (also for the places of several taken together), and cancel of
//! queued work, over a real history and real programs that wait for a
//! gate file; and idle worker threads ending.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::testing::{end, gate_program, TestEngine};
use super::{CancelRequest, CheckedStart, Engine, EngineError, ExecuteRequest};
use crate::events::{ExecutionState, Lifecycle, LogPayload};
use crate::namespaces::Visibility;
use crate::store::ExecutionRecord;

async fn engine(workers: usize, queue: usize) -> TestEngine {
    TestEngine::start(workers, queue, &[("gate.sh", gate_program("gate"))]).await
}

/// Starts the gate workflow, held until `gate` exists.
async fn execute_gated(engine: &Arc<Engine>, gate: &Path) -> Result<ExecutionRecord, EngineError> {
    let (record, started) = engine
        .execute(ExecuteRequest {
            workflow_id: "gate".into(),
            inputs: BTreeMap::from([("gate".to_string(), json!(gate))]),
            ..ExecuteRequest::default()
        })
        .await?;
    assert!(started, "a request without a request id always starts");
    Ok(record)
}

/// Starts `count` executions, each held by a gate of its own.
async fn execute_gated_many(t: &TestEngine, count: usize) -> (Vec<PathBuf>, Vec<ExecutionRecord>) {
    let gates: Vec<_> = (0..count).map(|i| t.path(&format!("gate{i}"))).collect();
    let mut executions = Vec::new();
    for gate in &gates {
        executions.push(execute_gated(&t.engine, gate).await.unwrap());
    }
    (gates, executions)
}

fn open(gate: &Path) {
    std::fs::write(gate, "").expect("open the gate");
}

async fn state(engine: &Engine, record: &ExecutionRecord) -> ExecutionState {
    engine
        .execution(&record.id.to_string())
        .await
        .expect("execution")
        .state
}

async fn wait_for_state(engine: &Engine, record: &ExecutionRecord, wanted: ExecutionState) {
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while state(engine, record).await != wanted {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "{} never became {wanted:?}", record.id);
}

/// Cancels with the default grace.
async fn cancel(
    engine: &Arc<Engine>,
    record: &ExecutionRecord,
) -> Result<(ExecutionRecord, bool), EngineError> {
    let request = CancelRequest {
        grace_period: None,
        force: false,
    };
    engine.cancel(&record.id.to_string(), request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_executions_start_in_the_order_they_came() {
    let t = engine(1, 5).await;
    let (gates, executions) = execute_gated_many(&t, 3).await;
    assert_eq!(executions[0].state, ExecutionState::Running);
    assert_eq!(executions[1].state, ExecutionState::Queued);
    assert_eq!(executions[2].state, ExecutionState::Queued);

    // The last one's gate is open, but it waits its turn.
    open(&gates[2]);
    open(&gates[0]);
    let first = end(&t.engine, &executions[0]).await;
    wait_for_state(&t.engine, &executions[1], ExecutionState::Running).await;
    assert_eq!(
        state(&t.engine, &executions[2]).await,
        ExecutionState::Queued
    );
    open(&gates[1]);
    let second = end(&t.engine, &executions[1]).await;
    let third = end(&t.engine, &executions[2]).await;
    for ended in [&first, &second, &third] {
        assert_eq!(ended.state, ExecutionState::Succeeded, "{}", ended.error);
    }
    assert!(first.end_ms <= second.start_ms);
    assert!(second.end_ms <= third.start_ms);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_run_at_once_than_the_worker_limit() {
    let t = engine(2, 10).await;
    let (gates, executions) = execute_gated_many(&t, 5).await;
    let status = t.engine.status(&Visibility::All).await.unwrap();
    assert_eq!((status.running, status.queued), (2, 3));
    assert_eq!((status.max_workers, status.max_queue), (2, 10));
    // All five are in the history (a start may not be committed yet).
    assert_eq!(status.totals_by_state.values().sum::<u64>(), 5);

    let mut ran = Vec::new();
    for (gate, execution) in gates.iter().zip(&executions) {
        open(gate);
        let ended = end(&t.engine, execution).await;
        assert_eq!(ended.state, ExecutionState::Succeeded, "{}", ended.error);
        ran.push((
            ended.start_ms.expect("it started"),
            ended.end_ms.expect("it ended"),
        ));
    }
    let status = t.engine.status(&Visibility::All).await.unwrap();
    assert_eq!((status.running, status.queued), (0, 0));
    // The counts read from the history while they ran are not kept past
    // the commits of their ends.
    assert_eq!(status.totals_by_state.get("SUCCEEDED"), Some(&5));
    assert_eq!(status.totals_by_state.get("QUEUED"), None);
    assert_eq!(status.succeeded_today, 5);
    // From the programs' own start and end times, not the counter that
    // enforces the limit: at no program's start were two others running.
    for &(start, _) in &ran {
        let at_once = ran
            .iter()
            .filter(|&&(s, e)| s <= start && start < e)
            .count();
        assert!(at_once <= 2, "{at_once} ran at once: {ran:?}");
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_turns_work_away() {
    let t = engine(1, 1).await;
    let (gate, later) = (t.path("gate"), t.path("later"));
    let running = execute_gated(&t.engine, &gate).await.unwrap();
    let queued = execute_gated(&t.engine, &later).await.unwrap();
    assert_eq!(queued.state, ExecutionState::Queued);
    let refused = execute_gated(&t.engine, &gate).await.unwrap_err();
    assert!(
        matches!(refused, EngineError::QueueFull { limit: 1 }),
        "{refused:?}"
    );

    // A place frees up once the running one ends and the queued one starts.
    open(&gate);
    end(&t.engine, &running).await;
    wait_for_state(&t.engine, &queued, ExecutionState::Running).await;
    let accepted = execute_gated(&t.engine, &gate).await.unwrap();
    open(&later);
    end(&t.engine, &queued).await;
    end(&t.engine, &accepted).await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_queued_execution_never_starts_and_frees_its_place() {
    let t = engine(1, 1).await;
    let gate = t.path("gate");
    let running = execute_gated(&t.engine, &gate).await.unwrap();
    let queued = execute_gated(&t.engine, &gate).await.unwrap();

    let (cancelled, already_requested) = cancel(&t.engine, &queued).await.unwrap();
    assert!(!already_requested);
    assert_eq!(cancelled.state, ExecutionState::Cancelled);
    let cancelled = end(&t.engine, &queued).await;
    assert_eq!(cancelled.state, ExecutionState::Cancelled);
    assert_eq!(cancelled.error, "cancelled while queued");
    assert_eq!(cancelled.start_ms, None);

    // Its place is free at once, while the first still runs.
    let next = execute_gated(&t.engine, &gate).await.unwrap();
    assert_eq!(next.state, ExecutionState::Queued);
    open(&gate);
    end(&t.engine, &running).await;
    assert_eq!(end(&t.engine, &next).await.state, ExecutionState::Succeeded);

    // The cancelled one never got a worker: no `started` in its log.
    let events = t
        .engine
        .reader()
        .events(queued.rowid, 0, 100)
        .expect("events")
        .0;
    assert!(!events.is_empty());
    assert!(events.iter().all(|event| !matches!(
        event.payload,
        LogPayload::Lifecycle(Lifecycle::Started { .. })
    )));
    let again = cancel(&t.engine, &queued).await.unwrap_err();
    assert!(
        matches!(
            again,
            EngineError::AlreadyFinished {
                state: ExecutionState::Cancelled,
                ..
            }
        ),
        "{again:?}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_of_a_running_execution_stops_it() {
    let t = engine(1, 1).await;
    let running = execute_gated(&t.engine, &t.path("never")).await.unwrap();
    wait_for_state(&t.engine, &running, ExecutionState::Running).await;
    let (_, already_requested) = cancel(&t.engine, &running).await.unwrap();
    assert!(!already_requested);
    let ended = end(&t.engine, &running).await;
    assert_eq!(ended.state, ExecutionState::Cancelled);
    assert_eq!(ended.error, "cancelled by a client");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn places_for_several_are_taken_all_or_none() {
    let t = engine(1, 1).await;
    let gate = t.path("gate");
    let checked = || async {
        let request = ExecuteRequest {
            workflow_id: "gate".into(),
            inputs: BTreeMap::from([("gate".to_string(), json!(gate))]),
            ..ExecuteRequest::default()
        };
        match t.engine.check_execute(request).await.expect("valid") {
            CheckedStart::New(start) => *start,
            CheckedStart::Existing(_) => unreachable!("no request id"),
        }
    };
    // More than a worker and the queue hold: never, whatever runs.
    let starts = vec![checked().await, checked().await, checked().await];
    let Err(never) = t.engine.reserve_all(starts) else {
        panic!("three places of two");
    };
    assert!(
        never
            .to_string()
            .contains("max_queue 1 waiting + max_concurrent_jobs 1"),
        "{never}"
    );

    // One runs: one place left of the two asked for, so none is taken.
    let running = execute_gated(&t.engine, &gate).await.unwrap();
    let starts = vec![checked().await, checked().await];
    let refused = t.engine.reserve_all(starts).err();
    assert!(
        matches!(refused, Some(EngineError::QueueFull { limit: 1 })),
        "{refused:?}"
    );
    let queued = execute_gated(&t.engine, &gate)
        .await
        .expect("the place given back");
    open(&gate);
    end(&t.engine, &running).await;
    end(&t.engine, &queued).await;
    t.stop().await;
}

/// A burst leaves no more idle worker threads than are kept: the others
/// end after their idle time, and later work still finds a worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_workers_beyond_those_kept_end() {
    let idle = super::IdleWorkers {
        timeout: Duration::from_millis(100),
        kept: 1,
    };
    let programs = [("gate.sh", gate_program("gate"))];
    let t = TestEngine::start_with_idle_workers(4, 10, &programs, idle).await;
    for round in 0..2 {
        let (gates, executions) = execute_gated_many(&t, 4).await;
        assert_eq!(
            t.engine.scheduler().running,
            4,
            "round {round}: a thread each"
        );
        for (gate, execution) in gates.iter().zip(&executions) {
            open(gate);
            let ended = end(&t.engine, execution).await;
            assert_eq!(ended.state, ExecutionState::Succeeded, "round {round}");
        }
        // The next round's gates have the same names.
        gates
            .iter()
            .for_each(|gate| std::fs::remove_file(gate).unwrap());
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            while t.engine.scheduler().idle_workers != 1 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        let left = t.engine.scheduler().idle_workers;
        assert!(waited.is_ok(), "round {round}: {left} idle workers left");
    }
    t.stop().await;
}
