//! Estimates over the API (docs/estimates.md): an execution's progress,
//! running phase and remaining time from its phases and the workflow's
//! earlier runs; batches at a glance in GetStatus, ListExecutions and
//! GetExecution.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::helper::*;

/// Phases of the `phased` workflow, ~300 ms each.
const PHASES: [&str; 4] = ["fetch", "build", "test", "ship"];

/// Four phases of ~300 ms, total announced; with `--hold FILE` the third
/// waits for FILE to exist before its 300 ms, so a test can look at it
/// there without racing it.
fn phased_program() -> String {
    let names = PHASES.join(" ");
    workflow_script(
        r#"{"id":"phased","name":"Phased","description":"Four timed phases.","fields":[{"name":"hold","label":"Hold","description":"File the third phase waits for","cli_arg":"--hold","required":false,"default":null,"field_type":{"type":"text"}}]}"#,
        &format!(
            r#"hold=""
[ "$1" = "--hold" ] && hold="$2"
ev() {{ echo "__WF_EVENT__:$1" >&2; }}
i=0
for name in {names}; do
  ev "{{\"type\":\"phase_started\",\"phase\":$i,\"name\":\"$name\",\"total_phases\":4}}"
  if [ $i -eq 2 ] && [ -n "$hold" ]; then
    while [ ! -e "$hold" ]; do sleep 0.01; done
  fi
  sleep 0.3
  ev "{{\"type\":\"phase_completed\",\"phase\":$i,\"name\":\"$name\"}}"
  i=$((i + 1))
done"#
        ),
    )
}

fn millis(d: &prost_types::Duration) -> i64 {
    d.seconds * 1000 + i64::from(d.nanos) / 1_000_000
}

fn ts_millis(t: &prost_types::Timestamp) -> i64 {
    t.seconds * 1000 + i64::from(t.nanos) / 1_000_000
}

impl Daemon {
    /// Follows an execution's log until its phase `index` has started.
    async fn wait_phase_started(&self, execution_id: &str, index: i32) {
        self.wait_for_event(
            execution_id,
            &format!("phase {index} started"),
            |e| matches!(&e.payload, Some(Payload::PhaseStarted(p)) if p.phase == index),
        )
        .await;
    }

    /// GetExecution's whole response.
    async fn get_response(&self, execution_id: &str) -> pb::GetExecutionResponse {
        self.client()
            .get_execution(pb::GetExecutionRequest {
                execution_id: execution_id.to_string(),
            })
            .await
            .unwrap_or_else(|s| panic!("GetExecution {execution_id}: {s:?}"))
            .into_inner()
    }
}

#[tokio::test]
async fn a_running_execution_is_estimated_from_its_phases_and_earlier_runs() {
    let mut daemon = Daemon::builder()
        .program("phased.sh", phased_program())
        .start()
        .await;

    // Two runs to completion make the history; the first has none to go on.
    let first = daemon.execute("phased", &[]).await;
    assert_eq!(first.estimate, None, "no progress and no earlier run yet");
    daemon.wait_end(&first.id).await;
    let second = daemon.execute("phased", &[]).await;
    let queued_or_starting = second.estimate.expect("an earlier run to go on");
    assert_eq!(queued_or_starting.basis(), pb::EstimateBasis::History);
    assert_eq!(queued_or_starting.history_runs, 1);
    let second = daemon.wait_end(&second.id).await;
    assert_eq!(second.state(), ExecutionState::Succeeded);

    // The third, held in phase 3 of 4.
    let hold = daemon.file("hold");
    let third = daemon
        .execute("phased", &[("hold", text(hold.to_str().unwrap()))])
        .await;
    daemon.wait_phase_started(&third.id, 2).await;
    let got = daemon.get(&third.id).await;
    assert_eq!(got.state(), ExecutionState::Running);
    assert_eq!(got.current_phase, "test");
    let estimate = got.estimate.expect("a running execution's estimate");
    let progress = estimate.progress.expect("progress from the phases");
    assert!(
        (progress - 0.5).abs() < 0.01,
        "2 of 4 phases done: {progress}"
    );
    assert_eq!(estimate.basis(), pb::EstimateBasis::ProgressAndHistory);
    assert_eq!(estimate.history_runs, 2);
    let remaining = millis(estimate.remaining.as_ref().expect("remaining"));
    let completion = ts_millis(estimate.completion_time.as_ref().expect("completion_time"));

    // ListExecutions shows the same, without the tree.
    let listed = daemon
        .list_executions(pb::ListExecutionsRequest {
            workflow_id: "phased".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(listed.executions.len(), 3);
    assert_eq!(listed.batch, None, "not filtered by batch");
    let row = &listed.executions[0];
    assert_eq!(row.id, third.id);
    assert!(row.phases.is_empty(), "the tree is left out of lists");
    assert_eq!(row.current_phase, "test");
    let listed_estimate = row.estimate.expect("the listed estimate");
    assert_eq!(listed_estimate.progress, estimate.progress);
    assert_eq!(listed_estimate.basis, estimate.basis);
    assert_eq!(listed_estimate.history_runs, 2);
    let listed_remaining = millis(listed_estimate.remaining.as_ref().unwrap());
    assert!(
        (listed_remaining - remaining).abs() < 1000,
        "{listed_remaining} ms listed vs {remaining} ms got"
    );
    for finished in &listed.executions[1..] {
        assert_eq!(finished.estimate, None);
        assert_eq!(finished.current_phase, "");
    }

    // wfctl shows them: columns in `list`, lines in `get`; JSON has the fields.
    let table = wfctl(&daemon.addr, &["list", "--workflow", "phased"])
        .await
        .expect(0);
    let header = table.stdout.lines().next().unwrap_or_default();
    for column in ["PHASE", "PROGRESS", "ETA"] {
        assert!(header.contains(column), "{header}");
    }
    let row = table
        .stdout
        .lines()
        .find(|l| l.starts_with(&third.id))
        .unwrap_or_else(|| panic!("{table:?}"));
    assert!(row.contains(" test ") && row.contains("50%"), "{row}");
    let view = wfctl(&daemon.addr, &["get", &third.id]).await.expect(0);
    for line in [
        "Phase:",
        "Progress:",
        "Remaining:",
        "from progress and 2 earlier runs",
    ] {
        assert!(view.stdout.contains(line), "{line} in {view:?}");
    }
    let json = wfctl(&daemon.addr, &["get", &third.id, "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(json["currentPhase"], "test");
    assert_eq!(
        json["estimate"]["basis"],
        "ESTIMATE_BASIS_PROGRESS_AND_HISTORY"
    );
    assert_eq!(json["estimate"]["historyRuns"], 2);

    // Let it go; what it really took from here is the truth.
    std::fs::write(&hold, "").unwrap();
    let done = daemon.wait_end(&third.id).await;
    assert_eq!(done.state(), ExecutionState::Succeeded);
    let end = ts_millis(done.end_time.as_ref().unwrap());
    let truth = end - (completion - remaining);
    assert!(
        remaining > 0 && remaining >= truth / 3 && remaining <= truth * 3,
        "estimated {remaining} ms left, it took {truth} ms"
    );
    assert_eq!(done.estimate, None, "finished: no estimate");
    assert_eq!(done.current_phase, "");
    let got = daemon.get(&third.id).await;
    assert_eq!((got.estimate, got.current_phase), (None, String::new()));
    let listed = daemon
        .list_executions(pb::ListExecutionsRequest {
            workflow_id: "phased".into(),
            ..Default::default()
        })
        .await;
    assert!(listed.executions.iter().all(|e| e.estimate.is_none()));

    // A new daemon reads the workflow's runs back from the history.
    daemon.terminate().await;
    daemon.restart().await;
    let fourth = daemon.execute("phased", &[]).await;
    let estimate = fourth.estimate.expect("earlier runs from the history");
    assert_eq!(estimate.basis(), pb::EstimateBasis::History);
    assert_eq!(estimate.history_runs, 3);
    daemon.wait_end(&fourth.id).await;
}

/// A `vm_pipeline` stand-in in two phases that holds each VM in the first
/// until `OUTPUT_DIR/go-<name>` exists.
fn gated_pipeline() -> String {
    workflow_script(
        r#"{"id":"vm_pipeline","name":"VM pipeline (gated)","description":"Waits for a file per VM.","fields":[{"name":"manifest","label":"Manifest","description":"Pipeline document","cli_arg":"--manifest","required":true,"default":null,"field_type":{"type":"file_path","pattern":"*.json"}},{"name":"output_dir","label":"Output","description":"Output directory","cli_arg":"--output-dir","required":false,"default":"","field_type":{"type":"text"}}]}"#,
        r#"while [ $# -gt 0 ]; do
  case "$1" in
    --manifest) manifest="$2"; shift 2 ;;
    --output-dir) out="$2"; shift 2 ;;
    *) shift ;;
  esac
done
ev() { echo "__WF_EVENT__:$1" >&2; }
name=$(sed -n 's/^ *"name": *"\([^"]*\)".*/\1/p' "$manifest" | head -n 1)
ev '{"type":"phase_started","phase":0,"name":"convert","total_phases":2}'
while [ ! -e "$out/go-$name" ]; do sleep 0.01; done
ev '{"type":"phase_completed","phase":0,"name":"convert"}'
ev '{"type":"phase_started","phase":1,"name":"report","total_phases":2}'
ev '{"type":"phase_completed","phase":1,"name":"report"}'"#,
    )
}

/// The counts of a summary: (total, queued, running, succeeded, failed).
fn counts(b: &pb::BatchSummary) -> (u32, u32, u32, u32, u32) {
    (b.total, b.queued, b.running, b.succeeded, b.failed)
}

/// A daemon with one worker and the gated VM pipeline, running a batch of
/// two VMs, `a` and `b` (b waits for the worker): the daemon, its output
/// directory, the batch id and the two execution ids.
async fn start_gated_pair() -> (Daemon, PathBuf, String, Vec<String>) {
    let daemon = Daemon::builder()
        .program("vm-pipeline.sh", gated_pipeline())
        .flag("--output-dir", "out")
        .max_jobs(1)
        .start()
        .await;
    let out = daemon.file("out");
    let vm = |name: &str| {
        let disk = make_disk(&daemon.staging_dir(), &format!("{name}.raw"), "raw");
        json!({"name": name, "pipeline": {
            "load": {"source_type": "raw", "source_path": disk},
            "convert": {"output_format": "raw"}}})
    };
    let manifest = json!({"version": "1.0", "batch": true, "vms": [vm("a"), vm("b")]});
    let response = daemon
        .submit_manifest(&manifest.to_string(), "pair.json", "")
        .await;
    assert!(!response.batch_id.is_empty());
    let ids = response
        .vms
        .iter()
        .map(|v| v.execution.as_ref().unwrap().id.clone())
        .collect();
    (daemon, out, response.batch_id, ids)
}

#[tokio::test]
async fn batches_are_summarized_while_active_and_after() {
    let (daemon, out, batch_id, ids) = start_gated_pair().await;
    let (a, b) = (&ids[0], &ids[1]);

    // One worker: a runs (in its first phase), b waits.
    daemon
        .wait_for_event(a, "a's first phase", is_phase_started)
        .await;
    let status = daemon.status().await;
    assert_eq!(
        status.active_batches.len(),
        1,
        "{:?}",
        status.active_batches
    );
    let active = &status.active_batches[0];
    assert_eq!(active.batch_id, batch_id);
    assert_eq!(counts(active), (2, 1, 1, 0, 0));
    assert!(active.create_time.is_some());
    assert_eq!(active.end_time, None);
    let estimate = active.estimate.expect("an active batch's estimate");
    assert_eq!(estimate.progress, Some(0.0), "a at 0 of 2 phases, b queued");
    assert_eq!(estimate.remaining, None, "nothing to base a time on yet");
    assert_eq!(estimate.basis(), pb::EstimateBasis::Unspecified);

    // Every page of ListExecutions(batch_id) carries the batch.
    let page = |token: String| pb::ListExecutionsRequest {
        batch_id: batch_id.clone(),
        page_size: 1,
        page_token: token,
        ..Default::default()
    };
    let first_page = daemon.list_executions(page(String::new())).await;
    assert!(!first_page.next_page_token.is_empty());
    let second_page = daemon
        .list_executions(page(first_page.next_page_token.clone()))
        .await;
    for listed in [&first_page, &second_page] {
        assert_eq!(
            counts(listed.batch.as_ref().expect("the batch")),
            (2, 1, 1, 0, 0)
        );
    }
    let unknown = daemon
        .list_executions(pb::ListExecutionsRequest {
            batch_id: "no-such-batch".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(unknown.batch, None);
    let got = daemon.get_response(b).await;
    assert_eq!(
        counts(got.batch.as_ref().expect("b's batch")),
        (2, 1, 1, 0, 0)
    );
    let status = wfctl(&daemon.addr, &["status"]).await.expect(0);
    let wanted = format!("{batch_id}: 0/2 done, 1 running, 1 queued, 0%, ETA -");
    assert!(
        status
            .stdout
            .lines()
            .any(|l| l.starts_with("Batch:") && l.ends_with(&wanted)),
        "{wanted} in {status:?}"
    );
    let listed = wfctl(&daemon.addr, &["list", "--batch", &batch_id, "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(listed["batch"]["total"], 2);
    let b_now = got.execution.unwrap();
    assert_eq!(b_now.state(), ExecutionState::Queued);
    assert_eq!(b_now.estimate, None, "queued, no earlier run");

    // a succeeds, b runs: half the batch done, and a's run to go on.
    open_gate(&out, "a");
    daemon.wait_end(a).await;
    daemon
        .wait_for_event(b, "b's first phase", is_phase_started)
        .await;
    let batch = daemon.get_response(a).await.batch.expect("a's batch");
    assert_eq!(counts(&batch), (2, 0, 1, 1, 0));
    let estimate = batch.estimate.expect("still active");
    assert_eq!(estimate.progress, Some(0.5));
    assert_eq!(estimate.basis(), pb::EstimateBasis::History);
    assert_eq!(estimate.history_runs, 1);
    assert!(estimate.remaining.is_some() && estimate.completion_time.is_some());

    // All done: no active batch, the summary keeps the counts and an end.
    open_gate(&out, "b");
    daemon.wait_end(b).await;
    assert_eq!(daemon.status().await.active_batches, vec![]);
    let listed = daemon.list_executions(page(String::new())).await;
    let batch = listed.batch.expect("a finished batch is still summarized");
    assert_eq!(counts(&batch), (2, 0, 0, 2, 0));
    assert_eq!(batch.estimate, None);
    let end = batch.end_time.expect("the last end");
    let b_end = daemon.get(b).await.end_time.unwrap();
    assert_eq!(end, b_end);
}

#[tokio::test]
async fn a_cancelled_member_counts_as_finished_but_not_succeeded() {
    let (daemon, out, batch_id, ids) = start_gated_pair().await;
    let (a, b) = (&ids[0], &ids[1]);
    daemon
        .wait_for_event(a, "a's first phase", is_phase_started)
        .await;

    // b is cancelled while queued: it has ended, as a failure.
    daemon.cancel(b, None, false).await;
    let b_end = daemon.wait_end(b).await;
    assert_eq!(b_end.state(), ExecutionState::Cancelled);
    let status = daemon.status().await;
    assert_eq!(status.active_batches.len(), 1);
    let active = &status.active_batches[0];
    assert_eq!(counts(active), (2, 0, 1, 0, 1));
    assert_eq!(active.end_time, None, "a still runs");
    let estimate = active.estimate.expect("a is active");
    assert_eq!(
        estimate.progress,
        Some(0.5),
        "b counts 1 (finished), a 0 (0 of 2 phases)"
    );
    let got = daemon.get_response(b).await;
    assert_eq!(
        counts(got.batch.as_ref().expect("b's batch")),
        (2, 0, 1, 0, 1)
    );

    // a succeeds after b's end: the batch ends with a.
    open_gate(&out, "a");
    let a_end = daemon.wait_end(a).await;
    assert_eq!(daemon.status().await.active_batches, vec![]);
    let listed = daemon
        .list_executions(pb::ListExecutionsRequest {
            batch_id: batch_id.clone(),
            ..Default::default()
        })
        .await;
    let batch = listed.batch.expect("the finished batch");
    assert_eq!(counts(&batch), (2, 0, 0, 1, 1));
    assert_eq!(batch.estimate, None);
    assert_eq!(batch.end_time, a_end.end_time);
}

#[tokio::test]
async fn a_batch_that_cannot_be_read_leaves_the_rest_of_the_response() {
    if skip_on_postgres("a row corrupted in the SQLite file") {
        return;
    }
    let daemon = Daemon::builder()
        .program(
            "quick.sh",
            workflow_script(
                r#"{"id":"quick","name":"Quick","description":"Ends at once.","fields":[]}"#,
                "exit 0",
            ),
        )
        .start()
        .await;
    let execution = daemon.execute("quick", &[]).await;
    daemon.wait_end(&execution.id).await;

    // Put it in a batch whose other member's row the counts cannot read
    // (a create time that is not a number), and that looks running.
    let history = rusqlite::Connection::open(daemon.data_dir().join("history.sqlite3")).unwrap();
    history
        .execute(
            "UPDATE executions SET batch_id = 'broken' WHERE id = ?1",
            [&execution.id],
        )
        .unwrap();
    history
        .execute(
            "INSERT INTO executions (id, workflow_id, workflow_name, state, create_ms, argv_json, batch_id) \
             VALUES ('not-an-id', 'quick', 'Quick', 'RUNNING', 'not a time', '[]', 'broken')",
            [],
        )
        .unwrap();
    drop(history);

    let got = daemon.get_response(&execution.id).await;
    assert_eq!(got.execution.expect("the execution").id, execution.id);
    assert_eq!(got.batch, None, "no summary rather than no answer");
    let status = daemon.status().await;
    assert_eq!(status.active_batches, vec![]);
    assert!(
        daemon.log().contains("no batch summary"),
        "the failure is logged"
    );
}

fn is_phase_started(e: &LogEvent) -> bool {
    matches!(&e.payload, Some(Payload::PhaseStarted(_)))
}

fn open_gate(out: &Path, name: &str) {
    std::fs::create_dir_all(out).unwrap();
    std::fs::write(out.join(format!("go-{name}")), "").unwrap();
}
