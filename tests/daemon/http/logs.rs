//! Log streams over HTTP: SSE resumed with `Last-Event-ID` after a dropped
//! connection, NDJSON read by the real curl, and curl over the Unix socket.

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::daemon::metrics::{grpc, scrape};
use crate::helper::*;

/// Opens the followed log as SSE, after `last_event_id` when given.
async fn open_sse(
    daemon: &Daemon,
    execution_id: &str,
    last_event_id: Option<&str>,
) -> reqwest::Response {
    let mut request =
        http_client().get(daemon.url(&format!("/v1/executions/{execution_id}/logs?follow=true")));
    if let Some(last) = last_event_id {
        request = request.header("last-event-id", last);
    }
    request.send().await.expect("GET the log")
}

/// An SSE event's id, which must be its message's sequence.
fn checked_id(event: &SseEvent) -> (String, Value) {
    assert!(event.event.is_none(), "an error event: {event:?}");
    let message: Value = serde_json::from_str(&event.data).expect("JSON data");
    let id = event.id.clone().expect("every log event has an id");
    assert_eq!(message["event"]["sequence"], id.as_str(), "{event:?}");
    (id, message)
}

/// Prints `before 1..200`, waits for the file given with `--gate`, then
/// prints `after 1..200`: a log that is half history, half live.
fn halves_program() -> String {
    workflow_script(
        r#"{"id":"halves","name":"Halves","description":"Prints, waits for a file, prints.","fields":[{"name":"gate","label":"Gate","description":"File to wait for","cli_arg":"--gate","required":true,"default":null,"field_type":{"type":"text"}}]}"#,
        r#"gate="$2"
i=1; while [ $i -le 200 ]; do echo "before $i"; i=$((i+1)); done
while [ ! -e "$gate" ]; do sleep 0.02; done
i=1; while [ $i -le 200 ]; do echo "after $i"; i=$((i+1)); done"#,
    )
}

#[tokio::test]
async fn sse_resumes_after_a_dropped_connection_without_gap_or_duplicate() {
    let daemon = Daemon::builder()
        .program("halves.sh", halves_program())
        .start()
        .await;
    let gate = daemon.file("gate");
    let exec = daemon
        .execute("halves", &[("gate", text(gate.to_str().unwrap()))])
        .await;

    let mut received = Vec::new();
    let mut last_id = String::new();
    {
        let response = open_sse(&daemon, &exec.id, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let mut events = SseReader::new(response);
        while received.len() < 50 {
            let event = events.next().await.expect("more than 50 events");
            let (id, message) = checked_id(&event);
            last_id = id;
            received.push(message);
        }
        // Dropping the reader drops the response and its connection.
    }
    let response = open_sse(&daemon, &exec.id, Some(&last_id)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut events = SseReader::new(response);
    let mut gate_open = false;
    while let Some(event) = events.next().await {
        let (id, message) = checked_id(&event);
        last_id = id;
        // The program waits at its last line before the gate: open it,
        // so the rest of the resumed stream is live.
        if message["event"]["output"]["text"] == "before 200" {
            std::fs::write(&gate, "").expect("open the gate");
            gate_open = true;
        }
        received.push(message);
    }
    assert!(gate_open, "the resumed stream reached the gate");

    let expected = daemon.grpc_log_json(&exec.id).await;
    assert!(expected.len() > 400);
    assert_eq!(received.len(), expected.len());
    assert!(
        received == expected,
        "the resumed SSE log differs from StreamLogs"
    );
    assert!(received.last().unwrap()["event"]["finished"].is_object());

    // After `finished` there is nothing left: 204 tells EventSource to stop.
    let response = open_sse(&daemon, &exec.id, Some(&last_id)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

/// A reader that stops reading must not slow the program: its stream waits
/// in the socket while the program runs to its end, and then delivers
/// everything, from the history.
#[tokio::test]
async fn a_reader_that_stops_reading_does_not_hold_the_program_up() {
    let daemon = Daemon::builder()
        .program(
            "many.sh",
            workflow_script(
                r#"{"id":"many","name":"Many","description":"Prints 150000 lines.","fields":[]}"#,
                "seq 1 150000",
            ),
        )
        .start()
        .await;
    let exec = daemon.execute("many", &[]).await;
    // A client without the tests' overall deadline: 150,000 events read
    // in a debug build on a loaded machine may take longer.
    let response = reqwest::Client::builder()
        .http1_only()
        .build()
        .expect("an HTTP client")
        .get(daemon.url(&format!("/v1/executions/{}/logs?follow=true", exec.id)))
        .send()
        .await
        .expect("GET the log");
    assert_eq!(response.status(), StatusCode::OK);
    let mut events = SseReader::new(response);
    let (first, _) = checked_id(&events.next().await.expect("a first event"));
    assert_eq!(first, "1");
    // About 16 MB of events, more than loopback's socket buffers hold even
    // when autotuned (a few MB each way): had the stalled reader held the
    // program up, this would never end.
    let ended = daemon.wait_state(&exec.id, ExecutionState::Succeeded).await;
    assert_eq!(ended.state, ExecutionState::Succeeded as i32);
    let mut count = 1;
    while let Some(event) = events.next().await {
        let (id, _) = checked_id(&event);
        count += 1;
        assert_eq!(id, count.to_string(), "gap-free after the stall");
    }
    assert_eq!(count, daemon.grpc_log_json(&exec.id).await.len());
}

/// A resumed stream of a quiet execution (nothing new to send) gets its
/// headers at once and then waits: a proxy never times out on a stream
/// that has not answered, and EventSource sees it open.
#[tokio::test]
async fn a_quiet_resumed_stream_answers_before_its_next_event() {
    let daemon = Daemon::builder()
        .program("gate.sh", gate_program("gate"))
        .start()
        .await;
    let (exec, gate) = daemon.start_gate().await;
    // Its last line before the gate, so nothing new follows the history.
    daemon.wait_output(&exec.id, "waiting").await;
    let history = daemon.logs(&exec.id, 0, false).await;
    let last = history.last().expect("some history").sequence.to_string();
    let response = open_sse(&daemon, &exec.id, Some(&last)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        daemon.get(&exec.id).await.state(),
        ExecutionState::Running,
        "the headers came while nothing new happened"
    );
    std::fs::write(gate, "").expect("open the gate");
    let mut events = SseReader::new(response);
    let mut next = history.len() as u64 + 1;
    let mut finished = false;
    while let Some(event) = events.next().await {
        let (id, message) = checked_id(&event);
        assert_eq!(id, next.to_string(), "resumed after {last}");
        next += 1;
        finished = message["event"]["finished"].is_object();
    }
    assert!(finished, "the stream ends with finished");
}

/// A client leaving a quiet stream ends the RPC behind it at once, not at
/// the stream's next event or keep-alive (15 s): nothing is left reading
/// the log for nobody.
#[tokio::test]
async fn a_client_leaving_a_quiet_stream_ends_its_rpc() {
    let daemon = Daemon::builder()
        .program("gate.sh", gate_program("gate"))
        .start()
        .await;
    let gate = daemon.file("gate");
    let exec = daemon
        .execute("gate", &[("gate", text(gate.to_str().unwrap()))])
        .await;
    // Waited for without following the log: a followed log left behind is
    // counted CANCELLED when the daemon notices, maybe after `before`.
    eventually("the program at its gate", DEADLINE, || async {
        let events = daemon.logs(&exec.id, 0, false).await;
        output_texts(&events, pb::OutputStream::Stdout)
            .contains(&"waiting".to_string())
            .then_some(())
    })
    .await;
    let before = abandoned_streams(&daemon).await;
    let response = open_sse(&daemon, &exec.id, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut events = SseReader::new(response);
    checked_id(&events.next().await.expect("a first event"));
    drop(events);
    eventually(
        "the abandoned stream counted",
        Duration::from_secs(5),
        || async { (abandoned_streams(&daemon).await == before + 1.0).then_some(()) },
    )
    .await;
    std::fs::write(gate, "").expect("open the gate");
    daemon.wait_state(&exec.id, ExecutionState::Succeeded).await;
}

/// How many StreamLogs calls the daemon counted as abandoned by their
/// client (`/metrics`).
async fn abandoned_streams(daemon: &Daemon) -> f64 {
    grpc(&scrape(daemon).await, "StreamLogs", "CANCELLED")
}

/// Runs curl with `args` and returns its stdout, expecting success.
async fn curl(args: &[&str]) -> String {
    let output = tokio::time::timeout(
        DEADLINE,
        tokio::process::Command::new("curl")
            .args(["-sS", "--fail-with-body", "--max-time", "60"])
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("curl ends within the deadline")
    .expect("curl is installed");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    assert!(
        output.status.success(),
        "curl {args:?}: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test]
async fn curl_reads_the_log_as_ndjson() {
    let daemon = Daemon::start().await;
    // Started by curl as a user types it: -d without a content type (sent
    // as form data, read as the JSON it is), the number as a JSON number.
    let started = curl(&[
        "-d",
        r#"{"workflowId": "chatty", "inputs": {"lines": 500}}"#,
        &daemon.url("/v1/executions"),
    ])
    .await;
    let started: Value = serde_json::from_str(&started).expect("JSON");
    assert_eq!(started["execution"]["inputs"]["lines"], "500", "{started}");
    let id = started["execution"]["id"].as_str().expect("an id");
    let url = daemon.url(&format!("/v1/executions/{id}/logs?follow=true"));
    let text = curl(&["-N", "-H", "Accept: application/x-ndjson", &url]).await;

    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?} is JSON: {e}")))
        .collect();
    for (index, line) in lines.iter().enumerate() {
        assert_eq!(
            line["event"]["sequence"],
            (index + 1).to_string().as_str(),
            "gap-free from 1"
        );
    }
    assert!(lines.last().unwrap()["event"]["finished"].is_object());
    assert_eq!(lines, daemon.grpc_log_json(id).await);
}

#[tokio::test]
async fn curl_reaches_the_routes_over_the_unix_socket() {
    let daemon = Daemon::builder().unix_socket_only().start().await;
    let socket = daemon.unix_socket();
    let text = curl(&[
        "--unix-socket",
        socket.to_str().unwrap(),
        "http://localhost/v1/status",
    ])
    .await;
    let status: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(status["version"], daemon.status().await.version.as_str());
    let database = status["databasePath"].as_str().unwrap();
    assert!(
        Path::new(database).is_absolute()
            || (history_in_postgres() && database.starts_with("postgres://")),
        "{database}"
    );
}
