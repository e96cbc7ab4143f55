//! A full disk under the history: writes wait and are retried, GetStatus
//! says why, nothing is lost once there is room again, and a shutdown still
//! ends.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use workflow_manager::pb::OutputStream;

use crate::helper::*;

/// Lines the program prints once released, while the disk is full.
const LINES: usize = 2_000;

/// A program that prints `waiting`, waits for the file given as `--gate`,
/// then runs `after_gate`.
fn program_after_gate(id: &str, after_gate: &str) -> String {
    workflow_script(
        &format!(
            r#"{{"id":"{id}","name":"{id}","description":"Waits for a file, then prints.","fields":[{{"name":"gate","label":"Gate","description":"File to wait for","cli_arg":"--gate","required":true,"default":null,"field_type":{{"type":"text"}}}}]}}"#
        ),
        &format!(
            r#"gate="$2"
echo waiting
while [ ! -e "$gate" ]; do sleep 0.02; done
{after_gate}"#
        ),
    )
}

/// Prints [`LINES`] numbered lines.
fn numbered_lines() -> String {
    format!(r#"i=1; while [ $i -le {LINES} ]; do echo "line $i"; i=$((i+1)); done"#)
}

/// Fills the file system holding `dir` with one file; returns its path.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("create the filler");
    let block = vec![0u8; 64 * 1024];
    loop {
        if let Err(e) = file.write_all(&block) {
            assert_eq!(e.raw_os_error(), Some(28), "ENOSPC, not {e}");
            break;
        }
    }
    // What is left is smaller than a block; take it too.
    while file.write_all(&block[..512]).is_ok() {}
    let _ = file.sync_all();
    path
}

/// What [`print_onto_a_full_disk`] leaves: the daemon, the execution
/// printing its lines, one queued behind it, the file filling the disk and
/// the failure reported.
struct FullDisk {
    daemon: Daemon,
    execution: pb::Execution,
    queued: pb::Execution,
    filler: PathBuf,
    failure: pb::HistoryWriteFailure,
}

/// Starts a daemon with one worker whose data directory is a tmpfs of
/// `tmpfs_bytes`; queues a `hello` behind a program waiting at its gate,
/// fills the tmpfs, releases the program (to run `after_gate`) and waits
/// until GetStatus reports that the history cannot be written.
async fn print_onto_a_full_disk(after_gate: &str, tmpfs_bytes: u64) -> FullDisk {
    let daemon = Daemon::builder()
        .program(
            "after_gate.sh",
            program_after_gate("after_gate", after_gate),
        )
        .max_jobs(1)
        .data_on_tmpfs(tmpfs_bytes)
        .start()
        .await;
    let gate = daemon.file("gate");
    let execution = daemon
        .execute("after_gate", &[("gate", text(gate.to_str().unwrap()))])
        .await;
    daemon.wait_output(&execution.id, "waiting").await;
    let queued = daemon.execute("hello", &[]).await;
    assert_eq!(queued.state(), ExecutionState::Queued);
    let filler = fill(&daemon.data_dir_as_seen_by_daemon());
    std::fs::write(&gate, "go").unwrap();
    let failure = eventually(
        "GetStatus to report failing writes",
        POLL_DEADLINE,
        || async { daemon.status().await.history_write_failure },
    )
    .await;
    FullDisk {
        daemon,
        execution,
        queued,
        filler,
        failure,
    }
}

#[tokio::test]
async fn a_full_disk_holds_writes_back_until_there_is_room_and_loses_nothing() {
    if skip_on_postgres("the disk under the SQLite file") {
        return;
    }
    let FullDisk {
        daemon,
        execution: exec,
        queued,
        filler,
        failure,
    } = print_onto_a_full_disk(&numbered_lines(), 16 << 20).await;
    assert!(failure.error.contains("full"), "{failure:?}");
    assert!(failure.since.is_some());
    let refused = daemon
        .client()
        .execute(request("hello", &[]))
        .await
        .expect_err("no new execution while the history cannot be written");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert!(refused.message().contains("full"), "{refused:?}");
    let status = wfctl(&daemon.addr, &["status"]).await.expect(0);
    let writes = status
        .stdout
        .lines()
        .find(|line| line.starts_with("Writes:"))
        .unwrap_or_else(|| panic!("a Writes line in {status:?}"));
    assert!(
        writes.contains("FAILING since") && writes.contains("full"),
        "{writes}"
    );

    std::fs::remove_file(&filler).unwrap();
    let events = daemon.run_to_end(&exec.id).await;
    assert_eq!(finished(&events).state(), ExecutionState::Succeeded);
    assert_contiguous(&events, 1);
    let expected: Vec<String> = std::iter::once("waiting".to_string())
        .chain((1..=LINES).map(|i| format!("line {i}")))
        .collect();
    assert_eq!(output_texts(&events, OutputStream::Stdout), expected);
    daemon
        .wait_state(&queued.id, ExecutionState::Succeeded)
        .await;
    assert_eq!(daemon.status().await.history_write_failure, None);
    let later = daemon.execute("hello", &[]).await;
    daemon
        .wait_state(&later.id, ExecutionState::Succeeded)
        .await;
    assert_eq!(
        daemon.get(&exec.id).await.state(),
        ExecutionState::Succeeded
    );
}

/// How long a read may take while the disk is full: none of them may wait
/// for the history.
const ANSWERS_AT_ONCE: Duration = Duration::from_secs(10);

/// GetExecution, which must answer while the disk is full.
async fn get_at_once(daemon: &Daemon, id: &str) -> pb::Execution {
    tokio::time::timeout(ANSWERS_AT_ONCE, daemon.get(id))
        .await
        .expect("GetExecution answers while the disk is full")
}

/// Waits until the writer's queue is full and the daemon has stopped
/// reading the program's output: its count of lines stands still.
async fn wait_for_output_to_stall(daemon: &Daemon, id: &str) {
    let deadline = tokio::time::Instant::now() + POLL_DEADLINE;
    let (mut lines, mut unchanged) = (0, 0);
    while unchanged < 5 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the count of lines never stood still ({lines})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = get_at_once(daemon, id)
            .await
            .log_counts
            .expect("counts")
            .stdout_lines;
        unchanged = if now == lines { unchanged + 1 } else { 0 };
        lines = now;
    }
}

#[tokio::test]
async fn a_shutdown_ends_although_the_disk_stays_full() {
    if skip_on_postgres("the disk under the SQLite file") {
        return;
    }
    // `yes` floods until the daemon stops reading it: then the program's
    // output waits for room in the writer's queue that never comes.
    let FullDisk {
        mut daemon,
        execution,
        ..
    } = print_onto_a_full_disk("exec yes", 16 << 20).await;
    wait_for_output_to_stall(&daemon, &execution.id).await;

    let asked = std::time::Instant::now();
    let status = daemon.terminate().await;
    assert!(status.code().is_some(), "exited, not killed: {status:?}");
    // The shutdown grace (2 s) for the program, then as long again for the
    // history before the writer gives up; not, on top, the 10 s a runner
    // gets for its clean-up: once the program is gone nothing is left to
    // stop, and waiting for the history's room is what the second grace
    // is for. The daemon says when it waited the deadline out; that, not
    // the time taken, is the check, since a loaded machine can take 12 s
    // without it (the bound below only catches a shutdown that hangs).
    let took = asked.elapsed();
    let log = daemon.log();
    assert!(
        !log.contains("executions still running at the end of shutdown"),
        "shutdown waited out the runners' deadline ({took:?}):\n{log}"
    );
    assert!(
        took < Duration::from_secs(30),
        "shutdown took {took:?}:\n{log}"
    );
}

#[tokio::test]
async fn while_the_disk_is_full_executions_can_be_read_and_cancelled() {
    if skip_on_postgres("the disk under the SQLite file") {
        return;
    }
    // `yes` floods until the writer's queue is full and the daemon stops
    // reading its pipe. 64 MiB leave room for the flood once the filler is
    // gone.
    let FullDisk {
        daemon,
        execution,
        queued,
        filler,
        ..
    } = print_onto_a_full_disk("exec yes", 64 << 20).await;
    // None of these may wait for the history.
    wait_for_output_to_stall(&daemon, &execution.id).await;
    let got = get_at_once(&daemon, &execution.id).await;
    assert_eq!(got.state(), ExecutionState::Running);
    let pid = got.pid;
    let listed = tokio::time::timeout(
        ANSWERS_AT_ONCE,
        daemon.list_executions(pb::ListExecutionsRequest::default()),
    )
    .await
    .expect("ListExecutions answers while the disk is full");
    assert_eq!(listed.executions[0].id, queued.id);
    assert_eq!(listed.executions[1].id, execution.id);
    // The queued execution ends without ever starting, before its end can
    // be stored.
    let cancelled = tokio::time::timeout(ANSWERS_AT_ONCE, daemon.cancel(&queued.id, None, false))
        .await
        .expect("Cancel of a queued execution answers while the disk is full");
    let cancelled = cancelled.execution.expect("the execution");
    assert_eq!(cancelled.state(), ExecutionState::Cancelled);
    assert!(cancelled.end_time.is_some(), "{cancelled:?}");
    assert_eq!(cancelled.error, "cancelled while queued");
    tokio::time::timeout(ANSWERS_AT_ONCE, daemon.cancel(&execution.id, None, false))
        .await
        .expect("Cancel answers while the disk is full");
    wait_process_gone(pid, "the cancelled program").await;

    std::fs::remove_file(&filler).unwrap();
    let events = daemon.run_to_end(&execution.id).await;
    assert_eq!(finished(&events).state(), ExecutionState::Cancelled);
    assert_contiguous(&events, 1);
    let kinds = lifecycle(&events);
    let cancel_at = kinds.iter().position(|k| *k == "cancel_requested");
    let exited_at = kinds.iter().position(|k| *k == "exited");
    assert!(cancel_at.is_some() && cancel_at < exited_at, "{kinds:?}");
    let lines = output_texts(&events, OutputStream::Stdout);
    assert_eq!(lines[0], "waiting");
    assert!(
        lines[1..].iter().all(|line| line == "y"),
        "only yes's lines"
    );

    // Stored as it was answered, and never started.
    let events = daemon.run_to_end(&queued.id).await;
    assert_contiguous(&events, 1);
    assert_eq!(
        lifecycle(&events),
        ["queued", "cancel_requested", "finished"]
    );
    let stored = daemon.get(&queued.id).await;
    assert_eq!(stored.state(), ExecutionState::Cancelled);
    assert_eq!(stored.end_time, cancelled.end_time);
    assert_eq!(stored.error, cancelled.error);
}
