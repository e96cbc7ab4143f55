//! A full disk under the history: writes wait and are retried, GetStatus
//! says why, nothing is lost once there is room again, and a shutdown still
//! ends.

use std::io::Write;
use std::path::{Path, PathBuf};

use workflow_manager::pb::OutputStream;

use crate::helper::*;

/// Lines the program prints once released, while the disk is full.
const LINES: usize = 2_000;

fn lines_after_gate_program() -> String {
    workflow_script(
        r#"{"id":"lines_after_gate","name":"Lines after a gate","description":"Waits for a file, then prints numbered lines.","fields":[{"name":"gate","label":"Gate","description":"File to wait for","cli_arg":"--gate","required":true,"default":null,"field_type":{"type":"text"}}]}"#,
        &format!(
            r#"gate="$2"
echo waiting
while [ ! -e "$gate" ]; do sleep 0.02; done
i=1; while [ $i -le {LINES} ]; do echo "line $i"; i=$((i+1)); done"#
        ),
    )
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
/// printing its lines, the file filling the disk and the failure reported.
struct FullDisk {
    daemon: Daemon,
    execution: pb::Execution,
    filler: PathBuf,
    failure: pb::HistoryWriteFailure,
}

/// Starts a daemon whose data directory is a small tmpfs, fills the tmpfs
/// while a program waits at its gate, releases the program and waits until
/// GetStatus reports that the history cannot be written.
async fn print_onto_a_full_disk() -> FullDisk {
    let daemon = Daemon::builder()
        .program("lines_after_gate.sh", lines_after_gate_program())
        .data_on_tmpfs(16 << 20)
        .start()
        .await;
    let gate = daemon.file("gate");
    let execution = daemon
        .execute(
            "lines_after_gate",
            &[("gate", text(gate.to_str().unwrap()))],
        )
        .await;
    daemon.wait_output(&execution.id, "waiting").await;
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
        filler,
        failure,
    }
}

#[tokio::test]
async fn a_full_disk_holds_writes_back_until_there_is_room_and_loses_nothing() {
    let FullDisk {
        daemon,
        execution: exec,
        filler,
        failure,
    } = print_onto_a_full_disk().await;
    assert!(failure.error.contains("full"), "{failure:?}");
    assert!(failure.since.is_some());
    let refused = daemon
        .client()
        .execute(request("hello", &[]))
        .await
        .expect_err("no new execution while the history cannot be written");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert!(refused.message().contains("full"), "{refused:?}");
    let status = crate::wfctl::wfctl(&daemon.addr, &["status"])
        .await
        .expect(0);
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

#[tokio::test]
async fn a_shutdown_ends_although_the_disk_stays_full() {
    let FullDisk { mut daemon, .. } = print_onto_a_full_disk().await;

    // The shutdown grace (2 s) for the program, then as long again for the
    // history before the writer gives up: the daemon must end on its own.
    let status = daemon.terminate().await;
    assert!(status.code().is_some(), "exited, not killed: {status:?}");
}
