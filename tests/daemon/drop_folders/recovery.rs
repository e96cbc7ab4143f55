//! Exactly once under stress: files still being written, kill -9 in the
//! middle of a batch, and 200 files dropped at once.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;

use crate::helper::*;

use super::*;

#[tokio::test]
async fn a_file_still_being_written_is_taken_only_once_closed() {
    use std::io::Write;
    let daemon = fast_manifest_daemon().await;
    let root = daemon.file("drop");
    let path = root.join("to_be_processed/slow copy.json");
    let content = json!({"version": "1.0", "pipeline": {
        "load": {"source_type": "raw", "source_path": "/d/a.raw"},
        "convert": {"output_format": "qcow2"}}})
    .to_string();
    let (head, tail) = content.split_at(content.len() / 2);
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(head.as_bytes()).unwrap();
    file.flush().unwrap();
    // Well past the settle time: the open writer keeps it waiting.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(path.exists(), "a file open for writing is not taken");
    file.write_all(tail.as_bytes()).unwrap();
    drop(file);
    let done = wait_settled(&root, 1).await;
    assert_eq!(
        done["processed"],
        ["slow copy.json", "slow copy.json.report.json"],
        "{done:?}"
    );
}

#[tokio::test]
async fn kill_9_mid_batch_then_restart_finishes_every_file_exactly_once() {
    let mut daemon = Daemon::builder()
        .program("vm-pipeline.sh", fixture_pipeline())
        .flag("--manifest-dir", "drop")
        .flag("--output-dir", "out")
        .max_jobs(2)
        .start()
        .await;
    let root = daemon.file("drop");
    let incoming = root.join("to_be_processed");
    let out = daemon.file("out");
    std::fs::create_dir_all(&out).unwrap();
    let raw = make_disk(&daemon.staging_dir(), "a.raw", "raw");
    for name in ["slow-1", "slow-2"] {
        std::fs::write(out.join(format!("hold-{name}")), "").unwrap();
    }
    let vm = |name: &str| json!({"name": name, "pipeline": {"load": {"source_path": raw}}});
    let batch = json!({"version": "1.0", "batch": true,
                       "vms": [vm("fast-1"), vm("slow-1"), vm("slow-2"), vm("fast-2")]});
    drop_file(&incoming, "batch.json", batch.to_string().as_bytes());
    let single = json!({"version": "1.0", "name": "fast-3", "pipeline": {
        "load": {"source_type": "raw", "source_path": raw}, "convert": {"output_format": "qcow2"}}});
    drop_file(&incoming, "single.json", single.to_string().as_bytes());

    // Wait until the fast VMs are done and both slow ones hold the workers.
    eventually(
        "the slow VMs running, the fast ones done",
        DEADLINE,
        || async {
            let all = daemon.list_executions(Default::default()).await.executions;
            let state = |vm: &str| {
                all.iter()
                    .find(|e| e.labels.get("vm").map(String::as_str) == Some(vm))
                    .map(|e| e.state())
            };
            (state("fast-1") == Some(ExecutionState::Succeeded)
                && state("slow-1") == Some(ExecutionState::Running)
                && state("slow-2") == Some(ExecutionState::Running))
            .then_some(())
        },
    )
    .await;
    daemon.kill9().await;

    // A crash right after a take: a file in processing/ the ledger never saw.
    let orphan = json!({"version": "1.0", "name": "orphan", "pipeline": {
        "load": {"source_type": "raw", "source_path": raw}, "convert": {"output_format": "raw"}}});
    std::fs::write(root.join("processing/orphan.json"), orphan.to_string()).unwrap();
    for name in ["slow-1", "slow-2"] {
        std::fs::remove_file(out.join(format!("hold-{name}"))).unwrap();
    }
    daemon.restart().await;

    let done = wait_settled(&root, 3).await;
    assert_eq!(
        done["processed"],
        [
            "batch.json",
            "batch.json.report.json",
            "orphan.json",
            "orphan.json.report.json",
            "single.json",
            "single.json.report.json",
        ]
    );
    assert!(done["failed"].is_empty(), "{done:?}");

    // Work finished before the crash was not redone; interrupted work ran
    // once more.
    let runs = states_by_label(&daemon, "vm").await;
    for vm in ["fast-1", "fast-3", "orphan"] {
        assert_eq!(runs[vm], [ExecutionState::Succeeded], "{vm}: {runs:?}");
    }
    for vm in ["slow-1", "slow-2"] {
        let states: BTreeSet<ExecutionState> = runs[vm].iter().copied().collect();
        assert_eq!(
            states,
            [ExecutionState::Succeeded, ExecutionState::Interrupted].into(),
            "{vm}: {runs:?}"
        );
    }
    assert_eq!(
        runs["fast-2"]
            .iter()
            .filter(|s| **s == ExecutionState::Succeeded)
            .count(),
        1,
        "{runs:?}"
    );
    let report = read_json(&today(&root, "processed").join("batch.json.report.json"));
    let attempts: Vec<u64> = report["vms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["attempts"].as_u64().unwrap())
        .collect();
    assert_eq!(attempts, [1, 2, 2, 1], "{report}");
}

#[tokio::test]
async fn two_hundred_files_dropped_at_once_are_each_processed_once() {
    let daemon = fast_manifest_daemon().await;
    let root = daemon.file("drop");
    let staging = daemon.staging_dir();
    let count = 200;
    for i in 0..count {
        let manifest = json!({"version": "1.0", "pipeline": {
            "load": {"source_type": "raw", "source_path": format!("/d/vm-{i}.raw")},
            "convert": {"output_format": "qcow2"}}});
        std::fs::write(
            staging.join(format!("vm-{i:03}.json")),
            manifest.to_string(),
        )
        .unwrap();
    }
    // All at once: one rename each into the watched folder.
    for i in 0..count {
        let name = format!("vm-{i:03}.json");
        std::fs::rename(
            staging.join(&name),
            root.join("to_be_processed").join(&name),
        )
        .unwrap();
    }
    let done = wait_settled(&root, count).await;
    assert!(done["failed"].is_empty(), "{:?}", done["failed"]);
    assert_eq!(done["processed"].len(), 2 * count);
    let executions = daemon
        .list_executions(pb::ListExecutionsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .executions;
    assert_eq!(executions.len(), count, "one execution per file");
    let files: BTreeSet<&str> = executions
        .iter()
        .map(|e| e.labels["drop_file"].as_str())
        .collect();
    assert_eq!(files.len(), count, "no file ran twice");
    assert!(executions
        .iter()
        .all(|e| e.state() == ExecutionState::Succeeded));
    // The ledger follows the moves by up to a commit (see
    // manifests_and_bad_files_each_get_one_clear_outcome).
    eventually(
        &format!("the status to count {count} processed files"),
        DEADLINE,
        || async {
            let status = daemon.status().await;
            (status.drop_folders[0].processed_today == count as u64).then_some(())
        },
    )
    .await;
}
