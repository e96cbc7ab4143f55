//! The pipeline as an ordinary execution of a real daemon: its tree and
//! artifacts, failures with their reason, and cancel mid-convert.

use std::{fs, time::Duration};

use serde_json::json;

use crate::helper::*;

use super::images::*;
use super::run::*;

#[tokio::test]
async fn the_daemon_runs_the_pipeline_as_an_ordinary_execution() {
    let (daemon, _dir) = pipeline_daemon().await;
    let base = raw_image(&daemon.file("base.raw"), 8);
    let vmdk = image_as(&base, "vmdk", &daemon.file("web.vmdk"));
    let m = vm_manifest(
        &daemon.file("web.json"),
        "vmdk",
        &vmdk,
        json!({"output_format": "qcow2", "compress": true, "output_path": "web.qcow2"}),
        json!({}),
    );
    let out_dir = daemon.output_dir().join("out");
    let exec = daemon
        .execute(
            "vm_pipeline",
            &[("manifest", text(s(&m))), ("output_dir", text(s(&out_dir)))],
        )
        .await;
    let exec = daemon.wait_state(&exec.id, ExecutionState::Succeeded).await;

    let phases: Vec<(&str, pb::NodeStatus)> = exec
        .phases
        .iter()
        .map(|p| (p.name.as_str(), p.status()))
        .collect();
    assert_eq!(
        phases,
        ["load", "inspect", "fix", "convert", "validate"].map(|n| (n, pb::NodeStatus::Completed))
    );
    assert!(exec.phases.iter().all(|p| p.total_phases == 5));
    let convert = &exec.phases[3].tasks[0];
    assert_eq!(convert.task_id, "convert");
    assert_eq!(convert.percent, 100);
    assert!(exec.phases[2].tasks[0].result.starts_with("SKIPPED: "));

    let report = execution_report(&exec);
    assert_eq!(report["pipeline"]["success"], true);
    assert_eq!(report["pipeline"]["stages"]["fix"]["status"], "skipped");
    let output = out_dir.join("web.qcow2");
    assert_eq!(report["artifacts"][0]["path"], json!(output));
    assert_eq!(image_format(&output), "qcow2");
    assert_eq!(compare(&base, &output), 0);
}

#[tokio::test]
async fn the_daemon_reports_failed_pipelines_with_their_reason() {
    let (daemon, _dir) = pipeline_daemon().await;
    let base = raw_image(&daemon.file("base.raw"), 2);
    let missing = daemon.file("gone.vhd");
    let ghost = qcow2_manifest(&daemon.file("ghost.json"), "vhd", &missing);
    let strict = qcow2_manifest(&daemon.file("strict.json"), "raw", &base);
    let ghost = daemon
        .execute("vm_pipeline", &[("manifest", text(s(&ghost)))])
        .await;
    let strict = daemon
        .execute(
            "vm_pipeline",
            &[
                ("manifest", text(s(&strict))),
                ("require_fix", text("true")),
            ],
        )
        .await;

    let ghost = daemon.wait_state(&ghost.id, ExecutionState::Failed).await;
    let expected = format!("source {} does not exist", missing.display());
    assert!(
        ghost.error.contains("load") && ghost.error.contains(&expected),
        "{}",
        ghost.error
    );
    assert_eq!(ghost.phases.len(), 1);
    assert_eq!(ghost.phases[0].status(), pb::NodeStatus::Failed);
    let report = execution_report(&ghost);
    assert_eq!(report["errors"], json!([format!("load: {expected}")]));

    let strict = daemon.wait_state(&strict.id, ExecutionState::Failed).await;
    assert!(
        strict.error.contains("phase fix failed") && strict.error.contains("require_fix"),
        "{}",
        strict.error
    );
    let report = execution_report(&strict);
    assert_eq!(report["pipeline"]["stages"]["fix"]["status"], "failed");
    assert_eq!(report["pipeline"]["stages"]["convert"]["status"], "not_run");
}

#[tokio::test]
async fn cancel_mid_convert_stops_qemu_img_and_leaves_no_partial_output() {
    let (daemon, _dir) = pipeline_daemon().await;
    let big = slow_to_convert_image(&daemon.file("big.raw"));
    let m = vm_manifest(
        &daemon.file("big.json"),
        "raw",
        &big,
        json!({"output_format": "qcow2", "compress": true}),
        json!({}),
    );
    let out_dir = daemon.output_dir().join("big-out");
    let exec = start_converting(&daemon, &m, &out_dir).await;
    daemon
        .cancel(&exec.id, Some(Duration::from_secs(10)), false)
        .await;
    let exec = daemon.wait_state(&exec.id, ExecutionState::Cancelled).await;
    assert_eq!(exec.phases[3].name, "convert");
    assert_eq!(exec.phases[3].status(), pb::NodeStatus::Failed);
    assert!(
        exec.signal.is_none(),
        "the program exited by itself on SIGTERM: {exec:?}"
    );
    assert!(
        !out_dir.exists(),
        "no partial output (not even the directories made for it) is left: {:?}",
        fs::read_dir(&out_dir).map(|d| d.count())
    );
    let report = execution_report(&exec);
    assert_eq!(report["pipeline"]["cancelled"], true);
    assert_eq!(report["pipeline"]["stages"]["convert"]["status"], "failed");
    assert_eq!(report["artifacts"], json!([]));
}
