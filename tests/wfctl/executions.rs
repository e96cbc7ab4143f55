//! The execution verbs against a live daemon: workflows list/describe,
//! run (waiting or following, through retries), get (with its attempt
//! lines), cancel, logs, list, and their exit codes for unknown ids and
//! invalid inputs.

use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, BufReader, Lines},
    process::ChildStderr,
};
use workflow_manager::pb::ExecutionState;

use crate::helper::*;

#[tokio::test]
async fn workflows_list_and_describe() {
    let daemon = Daemon::start().await;
    let list = wfctl(&daemon.addr, &["workflows", "list"]).await.expect(0);
    assert!(list.stdout.starts_with("ID"), "{list:?}");
    for id in ["hello", "research_pipeline", "sleeper"] {
        assert!(
            list.stdout.lines().any(|l| l.starts_with(id)),
            "{id} listed: {list:?}"
        );
    }
    let json = wfctl(&daemon.addr, &["workflows", "list", "-o", "json"])
        .await
        .expect(0)
        .json();
    let ids: Vec<&str> = json["workflows"]
        .as_array()
        .expect("workflows array")
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"research_pipeline"), "{ids:?}");

    let describe = wfctl(
        &daemon.addr,
        &["workflows", "describe", "research_pipeline"],
    )
    .await
    .expect(0);
    let header = describe
        .stdout
        .lines()
        .find(|l| l.starts_with("NAME"))
        .unwrap_or_else(|| panic!("inputs table: {describe:?}"));
    for column in ["TYPE", "DEFAULT", "REQ", "DESCRIPTION"] {
        assert!(header.contains(column), "{header}");
    }
    let row = |name: &str| -> String {
        describe
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("row {name}: {describe:?}"))
            .to_string()
    };
    let topic = row("topic");
    assert!(
        topic.contains('*') && topic.contains("What to research"),
        "{topic}"
    );
    let depth = row("depth");
    assert!(
        depth.contains("number [1..5]") && depth.contains(" 2 "),
        "{depth}"
    );
    assert!(!depth.contains('*'), "depth is optional: {depth}");
    assert!(row("format").contains("markdown|json"));

    let yaml = wfctl(
        &daemon.addr,
        &["-o", "yaml", "workflows", "describe", "hello"],
    )
    .await
    .expect(0);
    let parsed: Value = workflow_manager::yaml::from_str(&yaml.stdout).expect("YAML output");
    assert_eq!(parsed["id"], "hello");
    assert_eq!(parsed["fields"][0]["name"], "name");
}

#[tokio::test]
async fn run_wait_prints_the_finished_execution_as_json() {
    let daemon = Daemon::start().await;
    let run = wfctl(
        &daemon.addr,
        &[
            "run",
            "hello",
            "--input",
            "name=tester",
            "--label",
            "suite=wfctl",
            "--wait",
            "-o",
            "json",
        ],
    )
    .await
    .expect(0);
    let execution = run.json();
    assert_eq!(
        execution["state"], "EXECUTION_STATE_SUCCEEDED",
        "{execution}"
    );
    assert_eq!(execution["inputs"]["name"], "tester");
    assert_eq!(execution["labels"]["suite"], "wfctl");
    assert_eq!(execution["exitCode"], 0);
    let id = execution["id"].as_str().expect("id").to_string();
    assert!(run.stderr.contains(&id), "notices go to stderr: {run:?}");

    let listed = wfctl(
        &daemon.addr,
        &["list", "--label", "suite=wfctl", "-o", "json"],
    )
    .await
    .expect(0)
    .json();
    assert_eq!(listed["executions"][0]["id"], id.as_str(), "{listed}");
    let none = wfctl(&daemon.addr, &["list", "--state", "failed", "-o", "json"])
        .await
        .expect(0)
        .json();
    // An empty list is left out, as protojson leaves out every default.
    assert_eq!(none, serde_json::json!({}));

    let logs = wfctl(&daemon.addr, &["logs", &id]).await.expect(0);
    assert_eq!(logs.stdout.trim(), "hello, tester", "{logs:?}");
    assert!(logs.stderr.contains("finished SUCCEEDED"), "{logs:?}");
}

#[tokio::test]
async fn run_follow_streams_the_run_and_exits_1_when_it_fails() {
    let daemon = Daemon::start().await;
    let run = wfctl(
        &daemon.addr,
        &[
            "run",
            "sleeper",
            "--input",
            "seconds=0",
            "--input",
            "exit_code=3",
            "--follow",
        ],
    )
    .await
    .expect(1);
    assert!(
        run.stdout.contains("sleeping 0 s"),
        "output on stdout: {run:?}"
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with('[') && l.contains("] phase_started 0 sleep")),
        "{run:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("] exited code 3")),
        "{run:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("] finished FAILED")),
        "{run:?}"
    );

    // The same as JSON lines on stdout, the last one the `finished` event.
    let json = wfctl(
        &daemon.addr,
        &[
            "run",
            "sleeper",
            "-i",
            "seconds=0",
            "--follow",
            "-o",
            "json",
        ],
    )
    .await
    .expect(0);
    let events: Vec<Value> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect();
    // uint64 is a string in the proto3 JSON mapping.
    assert_eq!(events[0]["sequence"], "1");
    assert_eq!(
        events.last().unwrap()["finished"]["state"],
        "EXECUTION_STATE_SUCCEEDED"
    );
}

#[tokio::test]
async fn get_shows_the_phase_task_agent_tree() {
    let daemon = Daemon::start().await;
    let run = wfctl(
        &daemon.addr,
        &["run", "research_pipeline", "-i", "topic=owls", "--wait"],
    )
    .await
    .expect(0);
    let id = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Execution:"))
        .expect("execution id line")
        .trim()
        .to_string();
    let get = wfctl(&daemon.addr, &["get", &id]).await.expect(0);
    for expected in [
        "SUCCEEDED",
        "topic=owls",
        "✓ phase 0 plan",
        "✓ phase 1 research",
        "✓ research-1",
        "✓ agent-2",
        "Artifacts:",
    ] {
        assert!(get.stdout.contains(expected), "{expected:?} in {get:?}");
    }
    let json = wfctl(&daemon.addr, &["get", &id, "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(json["phases"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        json["phases"][1]["tasks"][0]["agents"][0]["status"],
        "NODE_STATUS_COMPLETED"
    );
}

#[tokio::test]
async fn cancel_stops_a_running_execution() {
    let daemon = Daemon::start().await;
    let started = wfctl(&daemon.addr, &["run", "sleeper", "-i", "seconds=60"])
        .await
        .expect(0);
    let id = started.stdout.trim().to_string();
    daemon.wait_output(&id, "sleeping 60 s").await;

    wfctl(&daemon.addr, &["cancel", &id, "--grace", "5"])
        .await
        .expect(0)
        .stdout_has("cancel requested");
    let follow = wfctl(&daemon.addr, &["logs", &id, "-f"]).await.expect(1);
    assert!(follow.stderr.contains("finished CANCELLED"), "{follow:?}");
    daemon.wait_state(&id, ExecutionState::Cancelled).await;

    let again = wfctl(&daemon.addr, &["cancel", &id]).await.expect(6);
    assert!(again.stderr.starts_with("wfctl: "), "{again:?}");
}

#[tokio::test]
async fn unknown_ids_exit_4() {
    let daemon = Daemon::start().await;
    let missing = uuid::Uuid::new_v4().to_string();
    let get = wfctl(&daemon.addr, &["get", &missing]).await.expect(4);
    assert!(get.stderr.starts_with("wfctl: "), "{get:?}");
    assert!(get.stdout.is_empty());
    wfctl(&daemon.addr, &["workflows", "describe", "no_such_workflow"])
        .await
        .expect(4);
    wfctl(&daemon.addr, &["run", "no_such_workflow"])
        .await
        .expect(4);
}

#[tokio::test]
async fn invalid_inputs_exit_5_naming_each_field() {
    let daemon = Daemon::start().await;
    let run = wfctl(
        &daemon.addr,
        &["run", "research_pipeline", "--input", "depth=9"],
    )
    .await
    .expect(5);
    let fields: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.split_once(": ").map(|(field, _)| field))
        .collect();
    assert!(fields.iter().any(|f| f.ends_with("depth")), "{run:?}");
    assert!(fields.iter().any(|f| f.ends_with("topic")), "{run:?}");
    assert!(run.stdout.is_empty());
}

/// `wfctl run flaky` counting its runs in the file `counter`, with up to
/// `attempts` attempts 100 ms apart (and doubling), and `more` flags.
async fn run_flaky(daemon: &Daemon, counter: &str, attempts: &str, more: &[&str]) -> Run {
    let counter = format!("counter={}", daemon.file(counter).display());
    let mut args = vec![
        "run",
        "flaky",
        "-i",
        &counter,
        "--retry-max-attempts",
        attempts,
        "--retry-initial-interval",
        "100ms",
    ];
    args.extend(more);
    wfctl(&daemon.addr, &args).await
}

#[tokio::test]
async fn run_retries_and_get_shows_the_attempts() {
    let daemon = Daemon::builder()
        .program("flaky", flaky_program(1, 3))
        .start()
        .await;
    let first = run_flaky(&daemon, "started", "3", &[]).await.expect(0);
    let first = first.stdout.trim().to_string();
    let second = eventually("the second attempt", DEADLINE, || async {
        let e = daemon.get(&first).await;
        (!e.next_attempt_id.is_empty()).then_some(e.next_attempt_id)
    })
    .await;
    let get = wfctl(&daemon.addr, &["get", &first]).await.expect(0);
    assert_eq!(get.field("State"), Some("FAILED"), "{get:?}");
    assert_eq!(get.field("Attempt"), Some("1 of 3"), "{get:?}");
    assert_eq!(get.field("Next attempt"), Some(second.as_str()));
    let get = wfctl(&daemon.addr, &["get", &second]).await.expect(0);
    assert_eq!(
        get.field("Attempt"),
        Some(format!("2 of 3 (first: {first})").as_str()),
        "{get:?}"
    );

    // --follow: each attempt's log in turn, exit 0 with the third.
    let followed = run_flaky(&daemon, "followed", "3", &["--follow"])
        .await
        .expect(0)
        .stderr_has("wfctl: attempt 1 of 3 ended FAILED")
        .stderr_has("wfctl: attempt 2 of 3 started: execution ")
        .stderr_has("wfctl: attempt 3 of 3 started: execution ");
    assert_eq!(
        followed.stdout.lines().collect::<Vec<_>>(),
        ["attempt 1", "attempt 2", "attempt 3"],
        "{followed:?}"
    );
    // --wait prints the last attempt; two attempts are not enough: exit 1.
    let waited = run_flaky(&daemon, "waited", "2", &["--wait"])
        .await
        .expect(1);
    let attempt = waited
        .field("Attempt")
        .unwrap_or_else(|| panic!("{waited:?}"));
    assert!(attempt.starts_with("2 of 2 (first: "), "{attempt}");
    assert_eq!(waited.field("State"), Some("FAILED"));
    assert_eq!(waited.field("Next attempt"), None, "{waited:?}");
}

/// The next line a running wfctl writes on stderr.
async fn next_note(notes: &mut Lines<BufReader<ChildStderr>>) -> String {
    tokio::time::timeout(DEADLINE, notes.next_line())
        .await
        .expect("a note of wfctl in time")
        .expect("read wfctl's stderr")
        .expect("wfctl goes on")
}

#[tokio::test]
async fn a_waiting_retry_shows_its_time_and_cancel_calls_it_off() {
    let daemon = Daemon::builder()
        .program("flaky", flaky_program(1, 100))
        .start()
        .await;
    let counter = format!("counter={}", daemon.file("counter").display());
    let mut follower = wfctl_spawn(
        &daemon.addr,
        &[
            "run",
            "flaky",
            "-i",
            &counter,
            "--retry-max-attempts",
            "5",
            "--retry-initial-interval",
            "1h",
            "--retry-non-retryable-exit-code",
            "2",
            "--follow",
        ],
    );
    // Its notes, read as they come, until it says that the retry waits.
    let mut notes = BufReader::new(follower.stderr.take().unwrap()).lines();
    let mut id = None;
    loop {
        let note = next_note(&mut notes).await;
        if let Some(rest) = note.strip_prefix("wfctl: started execution ") {
            id = rest.split_whitespace().next().map(str::to_string);
        }
        let waits = "wfctl: attempt 1 of 5 ended FAILED (exited with code 1); attempt 2 starts at ";
        if note.starts_with(waits) {
            break;
        }
    }
    let id = id.expect("the started execution's id");
    let get = wfctl(&daemon.addr, &["get", &id]).await.expect(0);
    assert_eq!(get.field("Attempt"), Some("1 of 5"), "{get:?}");
    let due = get
        .field("Next attempt at")
        .unwrap_or_else(|| panic!("{get:?}"));
    assert!(due.len() == "2026-01-01 00:00:00".len(), "{due}");
    let json = wfctl(&daemon.addr, &["get", &id, "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(json["retryPolicy"]["nonRetryableExitCodes"][0], 2, "{json}");
    assert_eq!(json["retryPolicy"]["initialInterval"], "3600s");

    // The follower sees the retry called off and exits with the attempt.
    wfctl(&daemon.addr, &["cancel", &id]).await.expect(0);
    assert_eq!(
        next_note(&mut notes).await,
        "wfctl: the retry of attempt 1 was called off"
    );
    let followed = tokio::time::timeout(DEADLINE, follower.wait_with_output())
        .await
        .expect("wfctl run --follow ends")
        .expect("wait for wfctl");
    assert_eq!(followed.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&followed.stdout), "attempt 1\n");
    let get = wfctl(&daemon.addr, &["get", &id]).await.expect(0);
    assert_eq!(get.field("Attempt"), Some("1 of 5"));
    assert_eq!(get.field("Next attempt at"), None, "{get:?}");

    // A policy the daemon refuses is named.
    let bad = wfctl(
        &daemon.addr,
        &[
            "run",
            "flaky",
            "-i",
            &counter,
            "--retry-max-attempts",
            "101",
        ],
    )
    .await
    .expect(5);
    assert!(
        bad.stderr
            .lines()
            .any(|line| line.starts_with("retry_policy.max_attempts: ")),
        "{bad:?}"
    );
    // The other flags need --retry-max-attempts.
    wfctl(
        &daemon.addr,
        &["run", "flaky", "-i", &counter, "--retry-backoff", "2"],
    )
    .await
    .expect(2);
}
