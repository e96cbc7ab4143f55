//! `GET /metrics` on the daemon's port, scraped over real HTTP on
//! loopback: the exposition's format and types, and the counters moving
//! as executions run, gRPC calls are answered and a dropped file is
//! processed.

use std::time::Duration;

use serde_json::json;
use tonic::Code;

use super::drop_folders::{drop_file, fast_pipeline, wait_settled};
use crate::helper::*;

/// The families the daemon exports, with their types.
const FAMILIES: [(&str, &str); 15] = [
    ("workflowd_executions_started", "counter"),
    ("workflowd_executions_ended", "counter"),
    ("workflowd_execution_duration_seconds", "histogram"),
    ("workflowd_log_lines_ingested", "counter"),
    ("workflowd_drop_folder_files", "counter"),
    ("workflowd_grpc_requests", "counter"),
    ("workflowd_http_requests", "counter"),
    ("workflowd_executions_queued", "gauge"),
    ("workflowd_executions_running", "gauge"),
    ("workflowd_workers", "gauge"),
    ("workflowd_workers_max", "gauge"),
    ("workflowd_history_write_queue", "gauge"),
    ("workflowd_history_commit_seconds", "gauge"),
    ("workflowd_history_write_failing", "gauge"),
    ("workflowd_discovery_errors", "gauge"),
];

/// A workflow without inputs that prints three lines and exits `code`.
fn printing_program(id: &str, code: i32) -> String {
    workflow_script(
        &json!({"id": id, "name": id, "description": "Prints.", "fields": []}).to_string(),
        &format!("echo one\necho two\necho three >&2\nexit {code}"),
    )
}

/// One scrape: the exposition's text, after checking its content type.
pub(super) async fn scrape(daemon: &Daemon) -> String {
    // Plain HTTP/1.1, as Prometheus scrapes.
    let response = reqwest::Client::new()
        .get(format!("http://{}/metrics", daemon.addr))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    response.text().await.expect("the exposition")
}

/// The value of a series (`name{labels}` as the daemon writes it), 0 when
/// it has not appeared yet.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.parse().expect("a sample value"))
}

fn ended(text: &str, workflow: &str, state: &str) -> f64 {
    value(
        text,
        &format!("workflowd_executions_ended_total{{workflow=\"{workflow}\",state=\"{state}\"}}"),
    )
}

/// The count of `method`'s calls that ended with `code`.
pub(super) fn grpc(text: &str, method: &str, code: &str) -> f64 {
    value(
        text,
        &format!("workflowd_grpc_requests_total{{method=\"{method}\",code=\"{code}\"}}"),
    )
}

#[tokio::test]
async fn metrics_move_with_executions_grpc_calls_and_dropped_files() {
    let daemon = Daemon::builder()
        .program("vm-pipeline.sh", fast_pipeline())
        .program("ok.sh", printing_program("ok", 0))
        .program("bad.sh", printing_program("bad", 2))
        .flag("--manifest-dir", "drop")
        .flag("--source-root", "/d")
        .start()
        .await;
    let before = scrape(&daemon).await;
    assert!(before.ends_with("# EOF\n"), "{before}");
    let parsed =
        prometheus_parse::Scrape::parse(before.lines().map(|l| Ok(l.to_string()))).expect("parses");
    assert!(parsed
        .samples
        .iter()
        .any(|s| s.metric == "workflowd_log_lines_ingested_total"));
    assert_eq!(value(&before, "workflowd_workers_max"), 2.0);
    assert_eq!(value(&before, "workflowd_history_write_failing"), 0.0);

    for (workflow, state) in [
        ("ok", ExecutionState::Succeeded),
        ("bad", ExecutionState::Failed),
    ] {
        let execution = daemon.execute(workflow, &[]).await;
        daemon.run_to_end(&execution.id).await;
        assert_eq!(daemon.get(&execution.id).await.state(), state);
    }
    let unknown = daemon
        .client()
        .get_execution(pb::GetExecutionRequest {
            execution_id: "01900000-0000-7000-8000-000000000000".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    let root = daemon.file("drop");
    let manifest = json!({"version": "1.0", "pipeline": {
        "load": {"source_type": "raw", "source_path": "/d/a.raw"},
        "convert": {"output_format": "qcow2"}}});
    drop_file(
        &root.join("to_be_processed"),
        "a.json",
        manifest.to_string().as_bytes(),
    );
    // Not a manifest: fails validation without running anything.
    drop_file(&root.join("to_be_processed"), "b.json", b"{}");
    wait_settled(&root, 2).await;
    let files = |text: &str, outcome: &str| {
        value(
            text,
            &format!(
                "workflowd_drop_folder_files_total{{kind=\"manifest\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    // Counted just after the moves the wait saw.
    let after = eventually("the settled files counted", Duration::from_secs(10), || {
        let daemon = &daemon;
        async move {
            let text = scrape(daemon).await;
            (files(&text, "processed") == 1.0 && files(&text, "failed") == 1.0).then_some(text)
        }
    })
    .await;

    for (name, kind) in FAMILIES {
        let declared = format!("# TYPE {name} {kind}\n");
        let appears = after.contains(&declared);
        // The HTTP/JSON routes count into their family; without them it has no series.
        assert!(
            appears || name == "workflowd_http_requests",
            "{declared}in\n{after}"
        );
    }
    assert!(after.ends_with("# EOF\n"));
    assert_eq!(ended(&after, "ok", "succeeded"), 1.0);
    assert_eq!(ended(&after, "bad", "failed"), 1.0);
    assert_eq!(ended(&after, "vm_pipeline", "succeeded"), 1.0);
    assert_eq!(
        value(
            &after,
            "workflowd_executions_started_total{workflow=\"ok\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "workflowd_execution_duration_seconds_count{workflow=\"bad\"}"
        ),
        1.0
    );
    // Three lines each from ok and bad, and the pipeline's one event line.
    assert_eq!(value(&after, "workflowd_log_lines_ingested_total"), 7.0);
    assert_eq!(
        value(
            &after,
            "workflowd_drop_folder_files_total{kind=\"manifest\",outcome=\"taken\"}"
        ),
        2.0
    );
    assert_eq!(grpc(&after, "GetExecution", "NOT_FOUND"), 1.0);
    assert_eq!(grpc(&before, "GetExecution", "NOT_FOUND"), 0.0);
    assert_eq!(grpc(&after, "Execute", "OK"), 2.0);
    // run_to_end streamed each log to its end.
    assert_eq!(grpc(&after, "StreamLogs", "OK"), 2.0);
    assert_eq!(value(&after, "workflowd_executions_running"), 0.0);
    assert_eq!(value(&after, "workflowd_executions_queued"), 0.0);
}

#[tokio::test]
async fn a_stream_the_client_drops_counts_as_cancelled() {
    let daemon = Daemon::builder()
        .program("gate.sh", gate_program("gate"))
        .start()
        .await;
    let gate = daemon.file("gate");
    let execution = daemon
        .execute("gate", &[("gate", text(gate.to_str().unwrap()))])
        .await;
    // The only stream of the test: followed live, then dropped midway.
    let mut stream = daemon.open_stream(&execution.id, 0, true).await;
    stream
        .message()
        .await
        .expect("a first page")
        .expect("not ended");
    drop(stream);
    let text = eventually(
        "the dropped stream counted",
        Duration::from_secs(10),
        || {
            let daemon = &daemon;
            async move {
                let text = scrape(daemon).await;
                (grpc(&text, "StreamLogs", "CANCELLED") == 1.0).then_some(text)
            }
        },
    )
    .await;
    assert_eq!(grpc(&text, "StreamLogs", "OK"), 0.0);
    assert_eq!(value(&text, "workflowd_executions_running"), 1.0);
    std::fs::write(gate, "").unwrap();
    daemon.run_to_end(&execution.id).await;
}

/// Fills the file system holding `dir` with one file; returns its path.
fn fill(dir: &std::path::Path) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("create the filler");
    let block = vec![0u8; 64 * 1024];
    while file.write_all(&block).is_ok() {}
    // What is left is smaller than a block; take it too.
    while file.write_all(&block[..512]).is_ok() {}
    let _ = file.sync_all();
    path
}

#[tokio::test]
async fn a_full_disk_shows_in_the_history_gauges_until_there_is_room() {
    if skip_on_postgres("the disk under the SQLite file") {
        return;
    }
    let daemon = Daemon::builder()
        .program("gate.sh", gate_program("gate"))
        .data_on_tmpfs(16 << 20)
        .start()
        .await;
    let healthy = scrape(&daemon).await;
    assert_eq!(value(&healthy, "workflowd_history_write_failing"), 0.0);
    assert_eq!(value(&healthy, "workflowd_history_commit_seconds"), 0.0);

    let gate = daemon.file("gate");
    let execution = daemon
        .execute("gate", &[("gate", text(gate.to_str().unwrap()))])
        .await;
    daemon.wait_output(&execution.id, "waiting").await;
    let filler = fill(&daemon.data_dir_as_seen_by_daemon());
    // Its `released` line and its end cannot be committed now.
    std::fs::write(&gate, "").unwrap();
    let failing = eventually("the write failure in the gauges", POLL_DEADLINE, || {
        let daemon = &daemon;
        async move {
            let text = scrape(daemon).await;
            // The group being retried ages while the disk stays full.
            let stuck = value(&text, "workflowd_history_commit_seconds") >= 0.1;
            (value(&text, "workflowd_history_write_failing") == 1.0 && stuck).then_some(text)
        }
    })
    .await;
    // Its end is queued, not committed: it has not ended for the history.
    assert_eq!(
        ended(&failing, "gate", "succeeded"),
        1.0,
        "counted when queued"
    );
    assert!(daemon.status().await.history_write_failure.is_some());

    std::fs::remove_file(&filler).unwrap();
    daemon.run_to_end(&execution.id).await;
    let recovered = eventually("the gauges back to normal", POLL_DEADLINE, || {
        let daemon = &daemon;
        async move {
            let text = scrape(daemon).await;
            (value(&text, "workflowd_history_write_failing") == 0.0).then_some(text)
        }
    })
    .await;
    assert_eq!(value(&recovered, "workflowd_history_write_queue"), 0.0);
    assert_eq!(ended(&recovered, "gate", "succeeded"), 1.0);
}

fn http(text: &str, route: &str, method: &str, status: u16) -> f64 {
    value(
        text,
        &format!(
            "workflowd_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}}"
        ),
    )
}

#[tokio::test]
async fn http_requests_are_counted_by_route_template_not_by_path() {
    let daemon = Daemon::builder().start().await;
    let before = scrape(&daemon).await;
    daemon.http_get("/v1/status").await;
    daemon.http_get("/v1/status").await;
    let unknown = "/v1/executions/0190c4b0-0000-7000-8000-000000000000";
    let (code, _) = daemon.http_get(unknown).await;
    assert_eq!(code, 404);
    daemon.http_get("/v1/no/such/route").await;
    let after = scrape(&daemon).await;
    assert_eq!(
        http(&after, "/v1/status", "GET", 200) - http(&before, "/v1/status", "GET", 200),
        2.0
    );
    assert_eq!(
        http(&after, "/v1/executions/{execution_id}", "GET", 404),
        1.0,
        "{after}"
    );
    assert_eq!(http(&after, "unmatched", "GET", 404), 1.0, "{after}");
    // The route's in-process call is an RPC call too.
    assert!(grpc(&after, "GetStatus", "OK") >= 2.0, "{after}");
    assert!(!after.contains("0190c4b0"), "an id became a label value");
}
