//! `wfctl schedule ...` and hyperctl's `wfctl schedules ...` against a
//! live daemon: a schedule that falls due every second runs, is described
//! with its next fire times and runs, paused with a note, triggered and
//! deleted; bad definitions exit 5 naming the field, bad flags exit 2; and
//! HyperSDK's `schedules create nightly '0 2 * * *' -workflow-mode
//! manifest -manifest-template F -output DIR` stores the template and the
//! output directory.

use std::time::Duration;

use serde_json::{json, Value};
use workflow_manager::pb::{schedule_action::Action, schedule_manifest::Source};

use crate::helper::*;

/// GetSchedule with its latest 100 runs, expected to succeed.
async fn fetch_schedule(daemon: &Daemon, id: &str) -> pb::Schedule {
    daemon
        .client()
        .get_schedule(pb::GetScheduleRequest {
            schedule_id: id.to_string(),
            next_fire_times: 0,
            recent_runs: 100,
        })
        .await
        .unwrap_or_else(|s| panic!("GetSchedule {id}: {s:?}"))
        .into_inner()
        .schedule
        .expect("GetSchedule returns the schedule")
}

/// Polls GetSchedule until one of its runs matches; returns that run.
async fn wait_for_run(
    daemon: &Daemon,
    id: &str,
    what: &str,
    matches: impl Fn(&pb::ScheduleRun) -> bool,
) -> pb::ScheduleRun {
    eventually(what, POLL_DEADLINE, || async {
        fetch_schedule(daemon, id)
            .await
            .recent_runs
            .into_iter()
            .find(|run| matches(run))
    })
    .await
}

/// The value of a `Key:  value` line of `describe`.
fn field<'a>(run: &'a Run, key: &str) -> &'a str {
    run.stdout
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{key}:")))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {key} line: {run:?}"))
}

/// The lines of a section of `describe` (after `title`, up to a blank line).
fn section<'a>(run: &'a Run, title: &str) -> Vec<&'a str> {
    run.stdout
        .lines()
        .skip_while(|line| !line.starts_with(title))
        .skip(1)
        .take_while(|line| !line.is_empty())
        .collect()
}

#[tokio::test]
async fn a_schedule_runs_is_described_paused_triggered_and_deleted() {
    let daemon = Daemon::start().await;
    let id = "every-second";
    let created = wfctl(
        &daemon.addr,
        &[
            "schedule",
            "create",
            id,
            "--cron",
            "* * * * * *",
            "--workflow",
            "hello",
            "--input",
            "name=cron",
            "--timeout",
            "1m",
            "--overlap",
            "allow-all",
            "--label",
            "team=ops",
            "--description",
            "greets every second",
        ],
    )
    .await
    .expect(0)
    .stderr_has(&format!("wfctl: created schedule {id} (next fire time "));
    assert_eq!(created.stdout, format!("{id}\n"));

    let describe = wfctl(&daemon.addr, &["schedule", "describe", id, "--next", "3"])
        .await
        .expect(0);
    assert_eq!(field(&describe, "State"), "active", "{describe:?}");
    assert_eq!(field(&describe, "Cron"), "* * * * * *");
    assert_eq!(field(&describe, "Time zone"), "UTC");
    assert_eq!(
        field(&describe, "Action"),
        "workflow hello (name=cron; timeout 1m00s)"
    );
    assert_eq!(field(&describe, "Labels"), "team=ops");
    assert_eq!(field(&describe, "Overlap"), "allow-all");
    assert_eq!(field(&describe, "Catch-up"), "start-one (window 1h00m)");
    let next = section(&describe, "Next fire times:");
    assert_eq!(next.len(), 3, "{describe:?}");
    assert!(next[0] < next[1] && next[1] < next[2], "{next:?}");

    // A time falls due within a second or two and starts hello.
    let run = wait_for_run(&daemon, id, "a STARTED run", |run| {
        run.outcome() == pb::ScheduleRunOutcome::Started && !run.triggered
    })
    .await;
    let execution_id = run.execution_ids[0].clone();
    let execution = daemon.wait_end(&execution_id).await;
    assert_eq!(execution.state(), ExecutionState::Succeeded);
    assert_eq!(execution.schedule_id, id);
    assert_eq!(execution.labels["schedule"], id);
    assert_eq!(execution.labels["team"], "ops");

    let describe = wfctl(&daemon.addr, &["schedule", "describe", id])
        .await
        .expect(0);
    let runs = section(&describe, "Recent runs (newest first):");
    assert!(
        runs[0].starts_with("SCHEDULED") && runs[0].contains("OUTCOME"),
        "{describe:?}"
    );
    let row = runs
        .iter()
        .find(|line| line.contains(&execution_id))
        .unwrap_or_else(|| panic!("a row with {execution_id}: {describe:?}"));
    assert!(row.contains("STARTED") && row.contains("cron"), "{row}");
    let got = wfctl(&daemon.addr, &["get", &execution_id]).await.expect(0);
    assert!(
        field(&got, "Schedule").starts_with(&format!("{id} (fell due ")),
        "{got:?}"
    );
    let listed = wfctl(&daemon.addr, &["list", "--schedule", id, "-o", "json"])
        .await
        .expect(0)
        .json();
    let listed: Vec<&str> = listed["executions"]
        .as_array()
        .expect("executions")
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&execution_id.as_str()), "{listed:?}");

    let list = wfctl(&daemon.addr, &["schedule", "list"]).await.expect(0);
    let header: Vec<&str> = list
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(header, ["ID", "CRON", "TZ", "NEXT", "PAUSED", "ACTION"]);
    let row = list.stdout.lines().nth(1).expect("one schedule");
    assert!(row.starts_with(id), "{list:?}");
    assert!(row.contains("* * * * * *  UTC"), "{row}");
    assert!(
        row.contains(" no ") && row.ends_with("  workflow hello (name=cron; timeout 1m00s)"),
        "{row}"
    );

    // Paused: described with its note, no next fire times, no more runs.
    wfctl(
        &daemon.addr,
        &["schedule", "pause", id, "--note", "maintenance window"],
    )
    .await
    .expect(0)
    .stdout_has(&format!("{id}  paused (maintenance window)"));
    let describe = wfctl(&daemon.addr, &["schedule", "describe", id])
        .await
        .expect(0);
    assert_eq!(field(&describe, "State"), "paused (maintenance window)");
    assert_eq!(field(&describe, "Next fire times"), "none while paused");
    let json = wfctl(&daemon.addr, &["schedule", "describe", id, "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(json["paused"], true, "{json}");
    assert_eq!(json["note"], "maintenance window");
    assert_eq!(json["overlapPolicy"], "SCHEDULE_OVERLAP_POLICY_ALLOW_ALL");
    assert!(json.get("nextFireTimes").is_none(), "{json}");
    // A run the timer was acting on as the pause came may still land.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let before = fetch_schedule(&daemon, id).await.recent_runs.len();
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(
        fetch_schedule(&daemon, id).await.recent_runs.len(),
        before,
        "a paused schedule records no runs"
    );

    // Triggered while paused: a STARTED run by trigger.
    let trigger = wfctl(&daemon.addr, &["schedule", "trigger", id])
        .await
        .expect(0);
    let rows: Vec<&str> = trigger.stdout.lines().collect();
    assert_eq!(rows.len(), 2, "{trigger:?}");
    assert!(rows[0].starts_with("SCHEDULED"), "{trigger:?}");
    // SCHEDULED (a date and a time), OUTCOME, BY, EXECUTIONS.
    let cells: Vec<&str> = rows[1].split_whitespace().collect();
    assert_eq!(&cells[2..4], ["STARTED", "trigger"], "{trigger:?}");
    let triggered = daemon.wait_end(cells[4]).await;
    assert_eq!(triggered.state(), ExecutionState::Succeeded);
    let json = wfctl(&daemon.addr, &["schedule", "trigger", id, "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(json["outcome"], "SCHEDULE_RUN_OUTCOME_STARTED", "{json}");
    assert_eq!(json["triggered"], true);
    // A retried trigger (same request id) is the first one's run.
    let once = [
        "schedule",
        "trigger",
        id,
        "--request-id",
        "retry-1",
        "-o",
        "json",
    ];
    let first = wfctl(&daemon.addr, &once).await.expect(0).json();
    let again = wfctl(&daemon.addr, &once).await.expect(0).json();
    assert_eq!(
        first["executionIds"], again["executionIds"],
        "{first} {again}"
    );
    daemon
        .wait_end(first["executionIds"][0].as_str().unwrap())
        .await;

    // Update replaces the definition; the pause and its note stay.
    wfctl(
        &daemon.addr,
        &[
            "schedule",
            "update",
            id,
            "--cron",
            "*/2 * * * * *",
            "--workflow",
            "hello",
        ],
    )
    .await
    .expect(0)
    .stderr_has(&format!("wfctl: updated schedule {id} (paused)"));
    let describe = wfctl(&daemon.addr, &["schedule", "describe", id])
        .await
        .expect(0);
    assert_eq!(field(&describe, "Cron"), "*/2 * * * * *");
    assert_eq!(field(&describe, "Action"), "workflow hello");
    assert_eq!(field(&describe, "Overlap"), "skip");
    assert_eq!(field(&describe, "State"), "paused (maintenance window)");

    wfctl(&daemon.addr, &["schedule", "unpause", id, "--note", "done"])
        .await
        .expect(0)
        .stdout_has(&format!("{id}  active (done)"));

    wfctl(&daemon.addr, &["schedule", "delete", id])
        .await
        .expect(0)
        .stderr_has(&format!("wfctl: deleted schedule {id}"));
    wfctl(&daemon.addr, &["schedule", "describe", id])
        .await
        .expect(4)
        .stderr_has(id);
    wfctl(&daemon.addr, &["schedule", "list"])
        .await
        .expect(0)
        .stdout_has("ID");
    // Its executions stay.
    daemon.get(&execution_id).await;
}

#[tokio::test]
async fn bad_schedules_exit_5_naming_the_field_and_bad_flags_exit_2() {
    let daemon = Daemon::start().await;
    let create = |extra: &[&str]| {
        let mut args = vec!["schedule", "create", "bad"];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| {
        let addr = daemon.addr.clone();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            wfctl(&addr, &args).await
        }
    };

    let bad_cron = run(create(&["--cron", "not a cron", "--workflow", "hello"]))
        .await
        .expect(5)
        .stderr_has("wfctl: invalid argument (1 field violation):");
    assert!(
        bad_cron
            .stderr
            .lines()
            .any(|l| l.starts_with("schedule.spec.cron[0]: ")),
        "{bad_cron:?}"
    );
    let several = run(create(&[
        "--cron",
        "0 2 * * *",
        "--cron",
        "61 * * * *",
        "--timezone",
        "Mars/Olympus",
        "--workflow",
        "research_pipeline",
        "--input",
        "depth=9",
    ]))
    .await
    .expect(5);
    for field in ["schedule.spec.cron[1]: ", "schedule.spec.time_zone: "] {
        assert!(
            several.stderr.lines().any(|l| l.starts_with(field)),
            "{field}: {several:?}"
        );
    }
    let bad_manifest = daemon.file("bad.json");
    std::fs::write(&bad_manifest, r#"{"version": "1.0"}"#).unwrap();
    let manifest = run(create(&[
        "--cron",
        "@daily",
        "--manifest",
        bad_manifest.to_str().unwrap(),
    ]))
    .await
    .expect(5);
    assert!(
        manifest
            .stderr
            .lines()
            .any(|l| l.starts_with("schedule.action.manifest.content")),
        "{manifest:?}"
    );
    run(create(&[
        "--cron",
        "@daily",
        "--workflow",
        "no_such_workflow",
    ]))
    .await
    .expect(5)
    .stderr_has("schedule.action.execute.workflow_id: ");
    // Nothing of these was stored.
    let list = wfctl(&daemon.addr, &["schedule", "list", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(list, json!({}));

    // The command line's own mistakes, daemon or not.
    for (extra, says) in [
        (
            &["--cron", "@daily"][..],
            "give one of --workflow ID, --manifest FILE or --manifest-template PATH",
        ),
        (
            &[
                "--cron",
                "@daily",
                "--workflow",
                "hello",
                "--jitter",
                "soon",
            ],
            "--jitter \"soon\" is not a duration",
        ),
        (
            &[
                "--cron",
                "@daily",
                "--workflow",
                "hello",
                "--start",
                "tomorrow",
            ],
            "--start \"tomorrow\" is not an RFC 3339 time",
        ),
        (
            &[
                "--cron",
                "@daily",
                "--workflow",
                "hello",
                "--output-dir",
                "x",
            ],
            "--output-dir goes with --manifest or --manifest-template",
        ),
        (
            &[
                "--cron",
                "@daily",
                "--workflow",
                "hello",
                "--overlap",
                "queue",
            ],
            "invalid value 'queue' for '--overlap <POLICY>'",
        ),
        (&["--workflow", "hello"][..], "--cron <EXPR>"),
    ] {
        run(create(extra)).await.expect(2).stderr_has(says);
    }

    // Taken ids and unknown ones.
    run(create(&["--cron", "@daily", "--workflow", "hello"]))
        .await
        .expect(0);
    run(create(&["--cron", "@daily", "--workflow", "hello"]))
        .await
        .expect(6)
        .stderr_has("already exists");
    for verb in ["describe", "pause", "trigger", "delete"] {
        wfctl(&daemon.addr, &["schedule", verb, "nope"])
            .await
            .expect(4);
    }
}

#[tokio::test]
async fn hyperctl_schedules_create_with_a_manifest_template() {
    let daemon = Daemon::builder()
        .program("vm-pipeline.sh", fixture_pipeline())
        .start()
        .await;
    // The template is in a source root (the staging directory), and so is
    // the disk it converts; each run's VMs go to DIR.
    let disk = make_disk(&daemon.staging_dir(), "web.raw", "raw");
    let template = daemon.staging_dir().join("backup-template.json");
    let manifest = json!({"version": "1.0", "pipeline": {
        "load": {"source_type": "raw", "source_path": disk},
        "convert": {"output_format": "qcow2"}}});
    std::fs::write(&template, manifest.to_string()).unwrap();
    let dir = daemon.output_dir().join("nightly");
    let (template, dir) = (template.to_str().unwrap(), dir.to_str().unwrap());

    wfctl(
        &daemon.addr,
        &[
            "schedules",
            "create",
            "nightly",
            "0 2 * * *",
            "-workflow-mode",
            "manifest",
            "-manifest-template",
            template,
            "-output",
            dir,
        ],
    )
    .await
    .expect(0)
    .stdout_has("nightly\n");
    let stored = fetch_schedule(&daemon, "nightly").await;
    assert_eq!(stored.spec.clone().unwrap().cron, ["0 2 * * *"]);
    let Some(Action::Manifest(action)) = stored.action.clone().unwrap().action else {
        panic!("a manifest action: {:?}", stored.action);
    };
    assert_eq!(action.source, Some(Source::TemplatePath(template.into())));
    assert_eq!(action.output_dir, dir);

    let listed = wfctl(&daemon.addr, &["schedules", "list", "-json"])
        .await
        .expect(0)
        .json();
    assert_eq!(listed["schedules"][0]["id"], "nightly", "{listed}");
    assert_eq!(
        listed["schedules"][0]["action"]["manifest"]["templatePath"],
        template
    );
    let describe = wfctl(&daemon.addr, &["schedules", "get", "nightly"])
        .await
        .expect(0);
    assert_eq!(
        field(&describe, "Action"),
        format!("manifest template {template} -> {dir}")
    );
    wfctl(
        &daemon.addr,
        &["schedules", "disable", "nightly", "-note", "not tonight"],
    )
    .await
    .expect(0)
    .stdout_has("nightly  paused (not tonight)");

    // Triggered, the template is read and its VM converted into DIR.
    let run: Value = wfctl(&daemon.addr, &["schedules", "trigger", "nightly", "-json"])
        .await
        .expect(0)
        .json();
    assert_eq!(run["outcome"], "SCHEDULE_RUN_OUTCOME_STARTED", "{run}");
    let execution_id = run["executionIds"][0].as_str().expect("an execution");
    let execution = daemon.wait_end(execution_id).await;
    assert_eq!(
        execution.state(),
        ExecutionState::Succeeded,
        "{execution:?}"
    );
    assert_eq!(
        image_format(&std::path::Path::new(dir).join("backup-template.qcow2")),
        "qcow2"
    );

    // hyperctl's usage errors, before any call.
    for (args, says) in [
        (
            &[
                "schedules",
                "create",
                "n",
                "@daily",
                "-workflow-mode",
                "manifest",
            ][..],
            "-workflow-mode manifest needs -manifest-template",
        ),
        (
            &["schedules", "create", "n"][..],
            "create needs NAME and CRON",
        ),
        (&["schedules", "pause"][..], "pause needs exactly one NAME"),
        (
            &["schedules", "rename", "n"][..],
            "unknown schedules verb \"rename\"",
        ),
        (
            &[
                "schedules",
                "create",
                "n",
                "@daily",
                "-workflow",
                "hello",
                "-overlap",
                "x",
            ][..],
            "invalid value \"x\" for -overlap",
        ),
    ] {
        wfctl(&daemon.addr, args).await.expect(2).stderr_has(says);
    }

    wfctl(&daemon.addr, &["schedules", "delete", "nightly"])
        .await
        .expect(0);
    wfctl(&daemon.addr, &["schedules", "describe", "nightly"])
        .await
        .expect(4);
}
