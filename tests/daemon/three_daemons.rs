//! Three daemons on one PostgreSQL history (docs/cluster.md): one writes,
//! two stand by. 1,000 executions are submitted; the writer is killed
//! with SIGKILL mid-run and started again (as a standby), then the daemon
//! that took over is killed too. Every execution ends exactly once: its
//! program ran at most once (a tally file shared by the daemons), each
//! run's log has every line once, in order, with no gap in its sequence,
//! and what was running at a kill is INTERRUPTED, the rest SUCCEEDED.
//! A drop folder the three share goes through a takeover the same way:
//! every file ends once, processed by one execution that succeeded (and
//! one interrupted by the kill, for the file the writer was running); and
//! a schedule firing every second neither doubles nor loses a time when
//! the writer dies the moment one of its runs appears.
//! The tests make their own databases, so they run once, in the SQLite
//! run.

use std::path::Path;

use serde_json::json;
use tokio::task::JoinHandle;

use super::drop_folders::{contents, drop_file, report_pipeline, states_by_label, wait_settled};
use super::schedules::{assert_each_time_once, schedule, with_overlap};
use super::standby::standby_from;
use crate::helper::*;

const EXECUTIONS: usize = 1_000;

/// A daemon on `url` with the shared workflow directory.
fn on_history(url: &str, workflows: &Path, jobs: u32) -> DaemonBuilder {
    Daemon::builder()
        .flag("--database", url)
        .workflow_dir(workflows)
        .max_jobs(jobs)
        .max_queue(EXECUTIONS as u32 * 2)
}

/// Whichever of two standbys takes over first, and the other one.
async fn first_to_take_over(
    mut a: JoinHandle<Daemon>,
    mut b: JoinHandle<Daemon>,
) -> (Daemon, JoinHandle<Daemon>) {
    tokio::select! {
        taken = &mut a => (taken.expect("a standby takes over"), b),
        taken = &mut b => (taken.expect("a standby takes over"), a),
    }
}

#[tokio::test]
async fn three_daemons_run_each_execution_once_through_two_kills() {
    if skip_on_postgres("three daemons on a database of their own (run once)") {
        return;
    }
    let url = fresh_postgres_database();
    let shared = tempfile::tempdir().expect("shared dir");
    let workflows = shared.path().join("workflows");
    std::fs::create_dir(&workflows).unwrap();
    write_program(&workflows, "tally.sh", &tally_program());
    let tally_file = shared.path().join("tally");
    let tally_arg = [("tally", text(tally_file.to_str().unwrap()))];

    let mut first = on_history(&url, &workflows, 1).start().await;
    let second = standby_from(on_history(&url, &workflows, 2)).await;
    let third = standby_from(on_history(&url, &workflows, 2)).await;

    let mut ids = Vec::with_capacity(EXECUTIONS);
    for _ in 0..EXECUTIONS {
        ids.push(first.execute("tally", &tally_arg).await.id);
    }

    // The writer dies mid-run; one standby takes over, and the killed
    // daemon comes back as a standby.
    wait_for_runs(&tally_file, EXECUTIONS / 5).await;
    first.kill9().await;
    let (mut writer, other) = first_to_take_over(second, third).await;
    let restarted = tokio::spawn(async move {
        first.restart_adding(&["--standby".to_string()]).await;
        first
    });
    eventually("the restarted daemon standing by", DEADLINE, || async {
        writer
            .status()
            .await
            .daemons
            .iter()
            .filter(|d| d.role() == pb::DaemonRole::Standby && d.alive)
            .count()
            .eq(&2)
            .then_some(())
    })
    .await;

    // The daemon that took over dies too; one of the two standbys left
    // takes over from it.
    wait_for_runs(&tally_file, EXECUTIONS / 2).await;
    writer.kill9().await;
    let (last, _still_standing_by) = first_to_take_over(restarted, other).await;

    let mut ended = Vec::with_capacity(EXECUTIONS);
    for id in &ids {
        ended.push(last.wait_end(id).await);
    }
    let runs = tally(&tally_file);
    let mut interrupted = 0;
    for (id, ended) in ids.iter().zip(ended) {
        let events = last.logs(id, 0, false).await;
        assert_contiguous(&events, 1);
        let lines = output_texts(&events, pb::OutputStream::Stdout);
        let expected = tally_lines();
        match ended.state() {
            ExecutionState::Succeeded => {
                assert_eq!(lines, expected, "the log of {id}");
                assert_eq!(runs.get(id), Some(&1), "{id} ran once");
            }
            ExecutionState::Interrupted => {
                interrupted += 1;
                assert!(
                    ended
                        .error
                        .contains("the daemon stopped while the execution was"),
                    "{id}: {:?}",
                    ended.error
                );
                assert!(
                    expected.starts_with(&lines),
                    "the log of {id} is a prefix of its lines: {lines:?}"
                );
                assert!(
                    runs.get(id).is_none_or(|&n| n == 1),
                    "{id} ran at most once"
                );
            }
            other => panic!("{id} ended {other:?}: {:?}", ended.error),
        }
    }
    // At most what the two killed writers were running (one and two slots).
    assert!(interrupted <= 3, "{interrupted} interrupted");
    assert_eq!(
        runs.len(),
        runs.values().sum::<usize>(),
        "no program ran twice"
    );
    assert!(
        runs.keys().all(|id| ids.contains(id)),
        "only the submitted executions ran"
    );
}

#[tokio::test]
async fn a_shared_drop_folder_is_processed_once_through_a_takeover() {
    if skip_on_postgres("three daemons on a database of their own (run once)") {
        return;
    }
    const FILES: usize = 60;
    let url = fresh_postgres_database();
    let shared = tempfile::tempdir().expect("shared dir");
    let workflows = shared.path().join("workflows");
    std::fs::create_dir(&workflows).unwrap();
    // A little while per file: they are still going through when the
    // writer dies.
    write_program(&workflows, "vm-pipeline.sh", &report_pipeline("sleep 0.05"));
    let folder = shared.path().join("drop");
    let sharing = |jobs| {
        on_history(&url, &workflows, jobs)
            .flag("--manifest-dir", folder.to_str().unwrap())
            .flag("--source-root", "/d")
    };
    let mut first = sharing(1).start().await;
    let second = standby_from(sharing(1)).await;
    let third = standby_from(sharing(1)).await;

    let incoming = folder.join("to_be_processed");
    for i in 0..FILES {
        let manifest = json!({"version": "1.0", "pipeline": {
            "load": {"source_type": "raw", "source_path": format!("/d/vm-{i}.raw")},
            "convert": {"output_format": "qcow2"}}});
        drop_file(
            &incoming,
            &format!("vm-{i:03}.json"),
            manifest.to_string().as_bytes(),
        );
    }
    eventually("a quarter of the files processed", DEADLINE, || async {
        let processed = contents(&folder)["processed"]
            .iter()
            .filter(|n| !n.ends_with(".report.json"))
            .count();
        (processed >= FILES / 4).then_some(())
    })
    .await;
    first.kill9().await;
    let (writer, _other) = first_to_take_over(second, third).await;

    let done = wait_settled(&folder, FILES).await;
    assert!(done["failed"].is_empty(), "{:?}", done["failed"]);
    assert_eq!(
        done["processed"].len(),
        2 * FILES,
        "each file and its report"
    );
    let runs = states_by_label(&writer, "drop_file").await;
    assert_eq!(runs.len(), FILES, "every file ran: {runs:?}");
    let mut interrupted = 0;
    for (file, states) in &runs {
        let succeeded = states
            .iter()
            .filter(|s| **s == ExecutionState::Succeeded)
            .count();
        assert_eq!(succeeded, 1, "{file} succeeded once: {states:?}");
        interrupted += states.len() - 1;
        assert!(
            states
                .iter()
                .all(|s| matches!(s, ExecutionState::Succeeded | ExecutionState::Interrupted)),
            "{file}: {states:?}"
        );
    }
    // At most the one file the killed writer (one slot) was running.
    assert!(interrupted <= 1, "{interrupted} interrupted: {runs:?}");
}

#[tokio::test]
async fn a_schedule_fires_once_across_a_takeover() {
    if skip_on_postgres("three daemons on a database of their own (run once)") {
        return;
    }
    let url = fresh_postgres_database();
    let on_history = || Daemon::builder().flag("--database", &url);
    let mut first = on_history().start().await;
    let second = standby_from(on_history()).await;
    let third = standby_from(on_history()).await;
    first
        .create_schedule(with_overlap(
            schedule("tick", "hello", &[("name", text("c"))]),
            pb::ScheduleOverlapPolicy::AllowAll,
        ))
        .await;
    // Killed the moment its second run appears: between a start and its
    // record, or just past it.
    eventually("two runs on the first writer", DEADLINE, || async {
        (first.scheduled_executions("tick").await.len() >= 2).then_some(())
    })
    .await;
    first.kill9().await;
    let (writer, _other) = first_to_take_over(second, third).await;
    let before = writer.runs("tick").await.len();
    let runs = writer
        .wait_runs("tick", "three runs on the daemon that took over", |runs| {
            runs.len() >= before + 3
        })
        .await;
    writer.delete_schedule("tick").await;
    let executions = writer.scheduled_executions("tick").await;
    assert_each_time_once(&executions, &runs);
}
