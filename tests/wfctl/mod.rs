//! End-to-end tests of the `wfctl` binary: each runs the real CLI against a
//! real daemon on loopback and checks its stdout, stderr and exit code.

use std::net::TcpListener;

use serde_json::Value;
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

    let cancel = wfctl(&daemon.addr, &["cancel", &id, "--grace", "5"])
        .await
        .expect(0);
    assert!(cancel.stdout.contains("cancel requested"), "{cancel:?}");
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

#[tokio::test]
async fn a_daemon_that_is_down_gives_one_line_and_exit_3() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        listener.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let run = wfctl(&addr, &["status"]).await.expect(3);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{run:?}");
    assert!(
        lines[0].starts_with(&format!(
            "wfctl: cannot reach the workflow daemon at {addr}: "
        )),
        "{run:?}"
    );
    // --addr wins over WFCTL_ADDR; hyperctl forms fail the same way.
    let run = wfctl("127.0.0.1:1", &["--addr", &addr, "workflow", "-op", "list"])
        .await
        .expect(3);
    assert!(run.stderr.contains(&addr), "{run:?}");
}

#[tokio::test]
async fn a_daemon_lost_mid_follow_exits_3_and_one_shutting_down_says_so() {
    let mut daemon = Daemon::start().await;
    let addr = daemon.addr.clone();
    let follow = tokio::spawn(async move {
        wfctl(
            &addr,
            &["run", "sleeper", "--input", "seconds=30", "--follow"],
        )
        .await
    });
    let running = eventually("the followed sleeper to start", POLL_DEADLINE, || async {
        daemon
            .list_executions(Default::default())
            .await
            .executions
            .into_iter()
            .next()
    })
    .await;
    daemon.wait_output(&running.id, "sleeping 30 s").await;
    daemon.kill9().await;
    let run = follow.await.expect("wfctl task").expect(3);
    assert!(
        run.stderr.contains(&format!(
            "wfctl: cannot reach the workflow daemon at {}: ",
            daemon.addr
        )),
        "{run:?}"
    );

    // The restart reaps the orphaned sleeper. A daemon that answers
    // UNAVAILABLE itself is not "unreachable": it says why. A program that
    // ignores SIGTERM keeps it shutting down for the grace period.
    daemon.restart().await;
    let stubborn = daemon.execute("ignore_sigterm", &[]).await;
    daemon
        .wait_for_event(&stubborn.id, "phase_started", |e| {
            matches!(e.payload, Some(Payload::PhaseStarted(_)))
        })
        .await;
    daemon.send_sigterm();
    let refused = eventually("the daemon to refuse new work", POLL_DEADLINE, || async {
        let run = wfctl(&daemon.addr, &["run", "hello"]).await;
        run.stderr.contains("shutting down").then_some(run)
    })
    .await
    .expect(3);
    assert!(
        refused.stderr.contains(&format!(
            "the workflow daemon at {} cannot take this now: the daemon is shutting down",
            daemon.addr
        )),
        "{refused:?}"
    );
}

#[tokio::test]
async fn hyperctl_forms() {
    let daemon = Daemon::start().await;
    let status = wfctl(&daemon.addr, &["workflow", "-op", "status", "-json"])
        .await
        .expect(0)
        .json();
    assert!(status["maxWorkers"].as_u64().unwrap() > 0, "{status}");
    assert_eq!(status["workflowsDiscovered"], 5);

    let job = daemon.file("job.yaml");
    std::fs::write(&job, "workflow: hello\ninputs:\n  name: hyperctl\n").unwrap();
    let submit = wfctl(
        &daemon.addr,
        &["workflow", "-op", "submit", "-file", job.to_str().unwrap()],
    )
    .await
    .expect(0);
    let id = submit.stdout.trim().to_string();
    daemon.wait_state(&id, ExecutionState::Succeeded).await;

    let list = wfctl(&daemon.addr, &["workflow", "-op", "list"])
        .await
        .expect(0);
    assert!(
        list.stdout
            .lines()
            .any(|l| l.starts_with(&id) && l.contains("SUCCEEDED")),
        "{list:?}"
    );
    let queue = wfctl(&daemon.addr, &["workflow", "-op", "queue", "-json"])
        .await
        .expect(0)
        .json();
    assert_eq!(queue, serde_json::json!({}));

    let manifest = wfctl(&daemon.addr, &["manifest", "status", "-id", &id])
        .await
        .expect(0);
    assert!(manifest.stdout.contains(&id), "{manifest:?}");
    assert!(manifest.stdout.contains("name=hyperctl"), "{manifest:?}");
    let json = wfctl(&daemon.addr, &["manifest", "status", "-id", &id, "-json"])
        .await
        .expect(0)
        .json();
    assert_eq!(json["state"], "EXECUTION_STATE_SUCCEEDED");

    let missing = wfctl(&daemon.addr, &["manifest", "validate", "-file", "m.json"])
        .await
        .expect(2);
    assert!(missing.stderr.contains("cannot read m.json"), "{missing:?}");
    let bad_flag = wfctl(&daemon.addr, &["workflow", "-op", "list", "-nope"])
        .await
        .expect(2);
    assert!(
        bad_flag
            .stderr
            .contains("flag provided but not defined: -nope"),
        "{bad_flag:?}"
    );
}

#[tokio::test]
async fn help_documents_exit_codes_and_usage_errors_exit_2() {
    let help = wfctl("127.0.0.1:1", &["--help"]).await.expect(0);
    assert!(help.stdout.contains("Exit codes:"), "{help:?}");
    assert!(help.stdout.contains("workflow -op"), "{help:?}");
    wfctl("127.0.0.1:1", &["run"]).await.expect(2);
    wfctl("127.0.0.1:1", &["list", "--state", "sleepy"])
        .await
        .expect(2);
    let completions = wfctl("127.0.0.1:1", &["completions", "bash"])
        .await
        .expect(0);
    assert!(completions.stdout.contains("wfctl"));
}

/// Runs `wfctl` without input in the daemon's staging directory.
async fn at(daemon: &Daemon, args: &[&str]) -> Run {
    wfctl_in(&daemon.addr, args, Some(&daemon.staging_dir()), "").await
}

/// The answers to `manifest create`'s prompts, one per line.
fn answers(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[tokio::test]
async fn manifest_create_walks_four_steps_with_back_and_submits() {
    let daemon = Daemon::builder().default_dirs().start().await;
    let dir = daemon.staging_dir();
    let disk = make_disk(&dir, "web.raw", "raw");
    // Outputs go only inside the daemon's output directory.
    let output = daemon.output_dir().join("web01.qcow2");
    let script = answers(&[
        // Step 1, Source: path, type (inferred raw), name (the stem).
        "web.raw",
        "",
        "",
        // Step 2, Pipeline: inspect, then back to Source.
        "y",
        "back",
        // Step 1 again: the path and type kept, a new name.
        "",
        "",
        "web01",
        // Step 2: inspect on, fix off.
        "",
        "n",
        // Step 3, Output: raw, no output file, validate on.
        "2",
        "",
        "",
        // Step 4, Review: back to Output.
        "back",
        // Step 3 again: qcow2 uncompressed into the output directory,
        // validate on.
        "qcow2",
        "n",
        output.to_str().unwrap(),
        "y",
        // Step 4: save and submit, to web01.yaml.
        "2",
        "web01.yaml",
    ]);
    let run = wfctl_in(
        &daemon.addr,
        &["manifest", "create", "-interactive", "-wait", "-json"],
        Some(&dir),
        &script,
    )
    .await
    .expect(0);
    for step in [
        "Step 1/4: Source",
        "Step 2/4: Pipeline",
        "Step 3/4: Output",
        "Step 4/4: Review",
    ] {
        assert_eq!(run.stderr.matches(step).count(), 2, "{step}: {run:?}");
    }
    let submitted = run.json();
    assert_eq!(submitted["vms"][0]["name"], "web01", "{submitted}");
    assert_eq!(
        submitted["vms"][0]["execution"]["state"],
        "EXECUTION_STATE_SUCCEEDED"
    );

    let written: Value =
        workflow_manager::yaml::from_str(&std::fs::read_to_string(dir.join("web01.yaml")).unwrap())
            .unwrap();
    assert_eq!(written["version"], "1.0");
    assert_eq!(written["name"], "web01");
    let pipeline = &written["pipeline"];
    assert_eq!(pipeline["load"]["source_type"], "raw");
    assert_eq!(pipeline["load"]["source_path"], disk.to_str().unwrap());
    assert_eq!(pipeline["inspect"]["enabled"], true);
    assert_eq!(pipeline["fix"]["enabled"], false);
    assert_eq!(pipeline["convert"]["output_format"], "qcow2");
    assert_eq!(pipeline["convert"]["compress"], false);
    assert_eq!(pipeline["convert"]["output_path"], output.to_str().unwrap());
    assert_eq!(pipeline["validate"]["enabled"], true);
    assert_eq!(image_format(&output), "qcow2");
    assert!(same_content(&disk, &output));
}

#[tokio::test]
async fn manifest_create_from_flags_and_generate_from_a_disk() {
    let daemon = Daemon::start().await;
    let dir = daemon.staging_dir();

    // Without a terminal (or -interactive) the flags are all there is.
    let no_source = at(&daemon, &["manifest", "create"]).await.expect(2);
    assert!(
        no_source.stderr.contains("needs -source-path"),
        "{no_source:?}"
    );
    let bad_format = at(
        &daemon,
        &[
            "manifest",
            "create",
            "-source-path",
            "a.vmdk",
            "-output-format",
            "qcow3",
        ],
    )
    .await
    .expect(2);
    assert!(
        bad_format.stderr.contains("for -output-format"),
        "{bad_format:?}"
    );
    let ami = at(&daemon, &["manifest", "create", "-source-path", "img.ami"])
        .await
        .expect(5);
    assert!(
        ami.stderr.contains("pipeline.load.ami_id: is required"),
        "{ami:?}"
    );
    let printed = at(
        &daemon,
        &[
            "manifest",
            "create",
            "-source-path",
            "web.vmdk",
            "-output-format",
            "raw",
            "-fix=false",
            "-format",
            "yaml",
        ],
    )
    .await
    .expect(0);
    let printed: Value = workflow_manager::yaml::from_str(&printed.stdout).unwrap();
    let pipeline = &printed["pipeline"];
    assert_eq!(pipeline["load"]["source_type"], "vmdk");
    assert_eq!(
        pipeline["load"]["source_path"],
        dir.join("web.vmdk").to_str().unwrap()
    );
    assert_eq!(pipeline["fix"]["enabled"], false);
    assert_eq!(
        pipeline["convert"]["compress"], false,
        "only qcow2 compresses"
    );

    let file = [
        "manifest",
        "create",
        "-source-path",
        "web.vmdk",
        "-file",
        "m.json",
    ];
    let written = at(&daemon, &file).await.expect(0);
    assert_eq!(written.stdout.trim(), "m.json");
    let again = at(&daemon, &file).await.expect(2);
    assert!(
        again.stderr.contains("already exists; give -force"),
        "{again:?}"
    );
    at(
        &daemon,
        &[
            "manifest",
            "create",
            "-source-path",
            "web.vmdk",
            "-file",
            "m.json",
            "-force",
        ],
    )
    .await
    .expect(0);
    let valid = at(&daemon, &["manifest", "validate", "-file", "m.json"])
        .await
        .expect(0);
    assert!(
        valid.stdout.contains("valid single-VM manifest"),
        "{valid:?}"
    );

    // Interactive: cancel writes nothing; input that ends early is an error.
    let cancelled = wfctl_in(
        &daemon.addr,
        &["manifest", "create", "-interactive", "-file", "c.json"],
        Some(&dir),
        &answers(&["web.vmdk", "cancel"]),
    )
    .await
    .expect(0);
    assert!(cancelled.stderr.contains("cancelled"), "{cancelled:?}");
    assert!(!dir.join("c.json").exists());
    let ended = wfctl_in(
        &daemon.addr,
        &["manifest", "create", "-interactive"],
        Some(&dir),
        &answers(&["web.vmdk", ""]),
    )
    .await
    .expect(2);
    assert!(
        ended
            .stderr
            .contains("standard input ended during the Source step"),
        "{ended:?}"
    );

    // generate: hyperctl's defaults for one disk, in OUT_DIR.
    let disk = make_disk(&dir, "legacy.vmdk", "vmdk");
    let generated = at(&daemon, &["manifest", "generate", "legacy.vmdk", "out"])
        .await
        .expect(0);
    assert_eq!(generated.stdout.trim(), "out/legacy-manifest.json");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("out/legacy-manifest.json")).unwrap(),
    )
    .unwrap();
    let pipeline = &manifest["pipeline"];
    assert_eq!(manifest["name"], "legacy");
    assert_eq!(pipeline["load"]["source_type"], "vmdk");
    assert_eq!(pipeline["load"]["source_path"], disk.to_str().unwrap());
    assert_eq!(pipeline["inspect"]["detect_os"], true);
    assert_eq!(pipeline["fix"]["fstab"]["mode"], "stabilize-all");
    assert_eq!(pipeline["fix"]["initramfs"]["regenerate"], true);
    assert_eq!(pipeline["fix"]["network"]["fix_level"], "full");
    assert_eq!(pipeline["convert"]["output_format"], "qcow2");
    assert_eq!(pipeline["convert"]["compress"], true);
    assert_eq!(pipeline["validate"]["boot_test"], false);
    at(
        &daemon,
        &["manifest", "validate", "-file", "out/legacy-manifest.json"],
    )
    .await
    .expect(0);
    let exists = at(&daemon, &["manifest", "generate", "legacy.vmdk", "out"])
        .await
        .expect(2);
    assert!(exists.stderr.contains("already exists"), "{exists:?}");
    let missing = at(&daemon, &["manifest", "generate", "gone.vmdk", "out"])
        .await
        .expect(2);
    assert!(
        missing.stderr.contains("cannot read gone.vmdk"),
        "{missing:?}"
    );
    std::fs::write(dir.join("disk.bin"), b"data").unwrap();
    let unknown = at(&daemon, &["manifest", "generate", "disk.bin", "out"])
        .await
        .expect(2);
    assert!(unknown.stderr.contains("give -source-type"), "{unknown:?}");
    at(&daemon, &["manifest", "generate", "legacy.vmdk"])
        .await
        .expect(2);
}

#[tokio::test]
async fn the_address_comes_from_workflowd_addr_and_wfctl_addr_still_works_with_a_warning() {
    let daemon = Daemon::start().await;
    let down = closed_port_addr();
    let status = ["status"];

    // WORKFLOWD_ADDR alone: no warning.
    let run = wfctl_env(&[("WORKFLOWD_ADDR", &daemon.addr)], &status, None, "")
        .await
        .expect(0);
    assert!(!run.stderr.contains("deprecated"), "{run:?}");
    // The old variable alone still works, and says it is deprecated.
    let run = wfctl_env(&[("WFCTL_ADDR", &daemon.addr)], &status, None, "")
        .await
        .expect(0);
    assert!(
        run.stderr.contains(
            "wfctl: warning: WFCTL_ADDR is deprecated and will be ignored in the next release; \
             set WORKFLOWD_ADDR instead"
        ),
        "{run:?}"
    );
    // The new one wins over the old one, and --addr over both.
    let both = [
        ("WORKFLOWD_ADDR", daemon.addr.as_str()),
        ("WFCTL_ADDR", &down),
    ];
    let run = wfctl_env(&both, &status, None, "").await.expect(0);
    assert!(!run.stderr.contains("deprecated"), "{run:?}");
    let flag = ["--addr", down.as_str(), "status"];
    wfctl_env(&both, &flag, None, "").await.expect(3);
    // A malformed address is a usage error naming it.
    let run = wfctl(&daemon.addr, &["--addr", "unix:relative.sock", "status"])
        .await
        .expect(2);
    assert!(
        run.stderr
            .contains("invalid daemon address \"unix:relative.sock\""),
        "{run:?}"
    );
}

/// `host:port` of a loopback port nothing listens on.
fn closed_port_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

#[tokio::test]
async fn a_unix_socket_address_reaches_the_daemon() {
    let socket_dir = tempfile::tempdir().unwrap();
    let socket = socket_dir.path().join("workflowd.sock");
    let daemon = Daemon::builder()
        .flag("--unix-socket", socket.display())
        .start()
        .await;
    for addr in [
        format!("unix:{}", socket.display()),
        format!("unix://{}", socket.display()),
    ] {
        let run = wfctl(
            &addr,
            &["run", "hello", "-i", "name=socket", "--wait", "-o", "json"],
        )
        .await
        .expect(0);
        let id = run.json()["id"].as_str().expect("id").to_string();
        assert_eq!(daemon.get(&id).await.state(), ExecutionState::Succeeded);
    }
}

/// A workflow program whose metadata, output and events carry terminal
/// escape sequences: ESC (CSI, OSC title), BEL, CR, backspace, a C1 CSI,
/// bidi overrides and isolates.
fn program_with_escape_sequences() -> String {
    workflow_script(
        r#"{"id":"escapes","name":"Esc\u001b]0;pwned\u0007apes","description":"clears\u001b[2J the screen\rFAKE \u202eevil\u009b31m","fields":[{"name":"word","label":"W\u001b[31m","description":"a\bb","cli_arg":"--word","required":false,"default":null,"field_type":{"type":"text"}}]}"#,
        r#"printf '\033[2Jcleared\033]0;title\007 over\rprinted \342\200\256hs.live \342\201\246iso\342\201\251\n'
printf '__WF_EVENT__:{"type":"phase_started","phase":0,"name":"p\\u001b[31m","total_phases":1}\n' >&2
printf '__WF_EVENT__:{"type":"task_started","phase":0,"task_id":"t1","description":"d\\u202eevil","total_tasks":1}\n' >&2
printf '__WF_EVENT__:{"type":"task_progress","task_id":"t1","message":"m\\u001b[1A\\u001b[2K"}\n' >&2
printf '__WF_EVENT__:{"type":"phase_failed","phase":0,"name":"p","error":"e\\u001b]52;c;aGk=\\u0007"}\n' >&2
exit 3"#,
    )
}

/// Whether `text` holds a character a terminal would act on (other than
/// the newlines that end lines and tabs): a control or a bidi control.
fn has_raw_control(text: &str) -> bool {
    text.chars().any(|c| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(
                c,
                '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            )
    })
}

#[tokio::test]
async fn program_text_reaches_the_terminal_only_as_visible_escapes() {
    let daemon = Daemon::builder()
        .program("escapes.sh", program_with_escape_sequences())
        .start()
        .await;
    let addr = &daemon.addr;
    let run = wfctl(addr, &["run", "escapes", "--follow"]).await.expect(1);
    assert!(
        run.stdout.contains(
            "\\x1b[2Jcleared\\x1b]0;title\\x07 over\\x0dprinted \\u202ehs.live \\u2066iso\\u2069"
        ),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("phase_failed 0 p: e\\x1b]52;c;aGk=\\x07"),
        "{run:?}"
    );
    let id = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("wfctl: started execution "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the started note names the execution")
        .to_string();

    let mut outputs = vec![run];
    for args in [
        vec!["workflows", "list"],
        vec!["workflows", "describe", "escapes"],
        vec!["logs", &id],
        vec!["get", &id],
        vec!["list"],
        vec!["workflow", "-op", "watch", "-id", &id],
        vec!["manifest", "status", "-id", &id],
    ] {
        outputs.push(wfctl(addr, &args).await);
    }
    // JSON and YAML escape control characters themselves; JSON also the
    // C1 and bidi ones serde_json leaves alone, YAML shows the bidi ones
    // as text.
    for args in [
        vec!["-o", "json", "get", &id],
        vec!["-o", "json", "logs", &id],
        vec!["-o", "yaml", "get", &id],
        vec!["-o", "yaml", "logs", &id],
        vec!["-o", "yaml", "workflows", "describe", "escapes"],
    ] {
        outputs.push(wfctl(addr, &args).await.expect(0));
    }
    for run in &outputs {
        assert!(
            !has_raw_control(&run.stdout),
            "raw control on stdout: {run:?}"
        );
        assert!(
            !has_raw_control(&run.stderr),
            "raw control on stderr: {run:?}"
        );
    }
    let describe = &outputs[2];
    assert!(
        describe.stdout.contains("Esc\\x1b]0;pwned\\x07apes"),
        "{describe:?}"
    );
    assert!(
        describe
            .stdout
            .contains("clears\\x1b[2J the screen\\x0dFAKE \\u202eevil\\x9b31m"),
        "{describe:?}"
    );
    let get = &outputs[4];
    assert!(get.stdout.contains("d\\u202eevil"), "{get:?}");
    let json: Value = serde_json::from_str(&outputs[8].stdout).unwrap();
    assert_eq!(
        json["phases"][0]["tasks"][0]["description"],
        "d\u{202e}evil"
    );
    let yaml: Value = workflow_manager::yaml::from_str(&outputs[10].stdout).unwrap();
    assert_eq!(yaml["phases"][0]["tasks"][0]["description"], "d\\u202eevil");
    // The bidi controls read back as the text of their escapes.
    let printed = outputs[11]
        .stdout
        .split("---\n")
        .filter(|document| !document.trim().is_empty())
        .map(|document| workflow_manager::yaml::from_str::<Value>(document).unwrap())
        .find_map(|event| event["output"]["text"].as_str().map(str::to_string))
        .expect("the program's output line");
    assert_eq!(
        printed,
        "\x1b[2Jcleared\x1b]0;title\x07 over\rprinted \\u202ehs.live \\u2066iso\\u2069"
    );
    let describe: Value = workflow_manager::yaml::from_str(&outputs[12].stdout).unwrap();
    assert_eq!(
        describe["description"],
        "clears\x1b[2J the screen\rFAKE \\u202eevil\u{9b}31m"
    );
}
