//! What the engine records into the metrics, in process: real programs on
//! a real history, each way an execution can end, its output lines, and
//! the queue and worker gauges while executions wait and run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::testing::{gate_program, workflow_script, TestEngine};

/// The final state of an execution, once it has ended.
async fn end(engine: &Engine, record: &ExecutionRecord) -> ExecutionState {
    super::testing::end(engine, record).await.state
}
use super::{CancelRequest, Engine, ExecuteRequest};
use crate::events::ExecutionState;
use crate::metrics::Metrics;
use crate::store::ExecutionRecord;

/// A workflow without inputs that prints three lines (one on stderr) and
/// exits with `code`.
fn printing_program(id: &str, code: i32) -> String {
    let metadata = json!({"id": id, "name": id, "description": "Prints.", "fields": []});
    workflow_script(
        &metadata.to_string(),
        &format!("echo one\necho two\necho three >&2\nexit {code}"),
    )
}

async fn engine(workers: usize, queue: usize) -> TestEngine {
    TestEngine::start(
        workers,
        queue,
        &[
            ("gate.sh", gate_program("gate")),
            ("ok.sh", printing_program("ok", 0)),
            ("bad.sh", printing_program("bad", 3)),
            // Fails discovery: no metadata.
            ("broken.sh", "#!/bin/sh\nexit 1\n".to_string()),
        ],
    )
    .await
}

async fn execute(
    engine: &Arc<Engine>,
    workflow: &str,
    gate: Option<&std::path::Path>,
    timeout: Option<Duration>,
) -> ExecutionRecord {
    let inputs = gate
        .map(|gate| BTreeMap::from([("gate".to_string(), json!(gate))]))
        .unwrap_or_default();
    engine
        .execute(ExecuteRequest {
            workflow_id: workflow.into(),
            inputs,
            timeout,
            ..ExecuteRequest::default()
        })
        .await
        .expect("accepted")
        .0
}

/// The value of a series, 0 when the exposition does not have it yet.
fn value(metrics: &Metrics, series: &str) -> f64 {
    metrics.value(series).unwrap_or(0.0)
}

fn ended(metrics: &Metrics, workflow: &str, state: &str) -> f64 {
    value(
        metrics,
        &format!("workflowd_executions_ended_total{{workflow=\"{workflow}\",state=\"{state}\"}}"),
    )
}

fn started(metrics: &Metrics, workflow: &str) -> f64 {
    value(
        metrics,
        &format!("workflowd_executions_started_total{{workflow=\"{workflow}\"}}"),
    )
}

fn durations(metrics: &Metrics, workflow: &str) -> f64 {
    value(
        metrics,
        &format!("workflowd_execution_duration_seconds_count{{workflow=\"{workflow}\"}}"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_end_is_counted_by_workflow_and_state_with_its_lines() {
    let t = engine(2, 10).await;
    let m = &t.metrics;
    assert_eq!(value(m, "workflowd_log_lines_ingested_total"), 0.0);

    let ok = execute(&t.engine, "ok", None, None).await;
    assert_eq!(end(&t.engine, &ok).await, ExecutionState::Succeeded);
    let bad = execute(&t.engine, "bad", None, None).await;
    assert_eq!(end(&t.engine, &bad).await, ExecutionState::Failed);
    assert_eq!((started(m, "ok"), ended(m, "ok", "succeeded")), (1.0, 1.0));
    assert_eq!((started(m, "bad"), ended(m, "bad", "failed")), (1.0, 1.0));
    assert_eq!((durations(m, "ok"), durations(m, "bad")), (1.0, 1.0));
    assert_eq!(value(m, "workflowd_log_lines_ingested_total"), 6.0);

    let timed_out = execute(
        &t.engine,
        "gate",
        Some(&t.path("never")),
        Some(Duration::from_millis(200)),
    )
    .await;
    assert_eq!(end(&t.engine, &timed_out).await, ExecutionState::TimedOut);
    assert_eq!(ended(m, "gate", "timed_out"), 1.0);

    let cancelled = execute(&t.engine, "gate", Some(&t.path("never")), None).await;
    // Cancelled once running: a cancel that wins the race against the
    // start ends it unstarted, with no duration (counted apart below).
    let started_in_time = tokio::time::timeout(Duration::from_secs(10), async {
        while started(m, "gate") < 2.0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(started_in_time.is_ok(), "the second gate never started");
    let cancel = CancelRequest {
        grace_period: None,
        force: true,
    };
    t.engine
        .cancel(&cancelled.id.to_string(), cancel)
        .await
        .expect("cancelled");
    assert_eq!(end(&t.engine, &cancelled).await, ExecutionState::Cancelled);
    assert_eq!(ended(m, "gate", "cancelled"), 1.0);
    assert_eq!((started(m, "gate"), durations(m, "gate")), (2.0, 2.0));

    // Shutdown interrupts what still runs.
    let interrupted = execute(&t.engine, "gate", Some(&t.path("never")), None).await;
    let engine = t.engine.clone();
    let metrics = t.metrics.clone();
    tokio::time::timeout(Duration::from_secs(10), async {
        while started(&metrics, "gate") < 3.0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the third gate started");
    t.stop().await;
    let state = engine.execution(&interrupted.id.to_string()).await;
    assert_eq!(state.expect("readable").state, ExecutionState::Interrupted);
    assert_eq!(ended(&metrics, "gate", "interrupted"), 1.0);
    // Five executions, five ends, each counted once.
    let all_ended: f64 = [
        "succeeded",
        "failed",
        "timed_out",
        "cancelled",
        "interrupted",
    ]
    .iter()
    .map(|s| ended(&metrics, "gate", s) + ended(&metrics, "ok", s) + ended(&metrics, "bad", s))
    .sum();
    assert_eq!(all_ended, 5.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_and_worker_gauges_follow_the_scheduler() {
    let t = engine(1, 5).await;
    let m = &t.metrics;
    assert_eq!(value(m, "workflowd_workers_max"), 1.0);
    let gates: Vec<_> = (0..3).map(|i| t.path(&format!("gate{i}"))).collect();
    let mut executions = Vec::new();
    for gate in &gates {
        executions.push(execute(&t.engine, "gate", Some(gate), None).await);
    }
    assert_eq!(value(m, "workflowd_executions_running"), 1.0);
    assert_eq!(value(m, "workflowd_executions_queued"), 2.0);
    assert_eq!(value(m, "workflowd_workers"), 1.0);

    // A queued one cancelled ends without having started: counted as
    // ended, but no duration.
    let cancel = CancelRequest {
        grace_period: None,
        force: false,
    };
    t.engine
        .cancel(&executions[2].id.to_string(), cancel)
        .await
        .expect("cancelled");
    assert_eq!(value(m, "workflowd_executions_queued"), 1.0);
    assert_eq!(ended(m, "gate", "cancelled"), 1.0);

    for (gate, execution) in gates.iter().zip(&executions).take(2) {
        std::fs::write(gate, "").expect("open the gate");
        assert_eq!(end(&t.engine, execution).await, ExecutionState::Succeeded);
    }
    assert_eq!(value(m, "workflowd_executions_running"), 0.0);
    assert_eq!(value(m, "workflowd_executions_queued"), 0.0);
    assert_eq!((started(m, "gate"), durations(m, "gate")), (2.0, 2.0));
    assert_eq!(ended(m, "gate", "succeeded"), 2.0);
    // The worker thread stays for the next execution, idle.
    assert_eq!(value(m, "workflowd_workers"), 1.0);
    assert_eq!(value(m, "workflowd_history_write_failing"), 0.0);
    assert_eq!(value(m, "workflowd_discovery_errors"), 1.0);
    t.stop().await;
}
