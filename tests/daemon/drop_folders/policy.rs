//! Dropped manifests and job configs can neither write nor read outside
//! the operator's policy.

use serde_json::{json, Value};

use crate::helper::*;

use super::*;

#[tokio::test]
async fn dropped_manifests_and_job_configs_cannot_write_or_read_outside_the_policy() {
    let daemon = Daemon::builder()
        .program("vm-pipeline.sh", fast_pipeline())
        .flag("--manifest-dir", "drop")
        .flag("--disk-dir", "disks")
        .start()
        .await;
    let root = daemon.file("drop");
    let raw = make_disk(&daemon.staging_dir(), "a.raw", "raw");
    // Stands for /etc/cron.d, and for files no manifest may read.
    let elsewhere = tempfile::Builder::new()
        .prefix("drop-cron.d-")
        .tempdir()
        .unwrap();
    let secret = make_disk(elsewhere.path(), "shadow.raw", "raw");
    let manifest = |output_path: String| {
        json!({"version": "1.0", "pipeline": {
            "load": {"source_type": "raw", "source_path": raw},
            "convert": {"output_format": "raw", "output_path": output_path}}})
        .to_string()
    };
    let incoming = root.join("to_be_processed");
    let absolute = elsewhere.path().join("job");
    drop_file(
        &incoming,
        "absolute.json",
        manifest(absolute.display().to_string()).as_bytes(),
    );
    drop_file(
        &incoming,
        "climbing.json",
        manifest(format!("../../../../..{}", absolute.display())).as_bytes(),
    );
    let done = wait_settled(&root, 2).await;
    assert_eq!(
        done["failed"],
        [
            "absolute.json",
            "absolute.json.error.json",
            "climbing.json",
            "climbing.json.error.json"
        ]
    );
    for name in ["absolute", "climbing"] {
        let error: Value = serde_json::from_slice(
            &std::fs::read(today(&root, "failed").join(format!("{name}.json.error.json"))).unwrap(),
        )
        .unwrap();
        let text = error.to_string();
        assert!(
            text.contains("pipeline.convert.output_path")
                && text.contains("outside the output directory")
                && text.contains("setting output_dir"),
            "{name}: {text}"
        );
    }

    // A disk job config naming a file outside the source roots.
    let disks = daemon.file("disks");
    drop_file(
        &disks.join("to_be_processed"),
        "steal.yaml",
        format!("input: '{}'\n", secret.display()).as_bytes(),
    );
    let done = wait_settled(&disks, 1).await;
    assert_eq!(done["failed"], ["steal.yaml", "steal.yaml.error.json"]);
    let error =
        std::fs::read_to_string(today(&disks, "failed").join("steal.yaml.error.json")).unwrap();
    assert!(
        error.contains("input") && error.contains("setting source_roots"),
        "{error}"
    );
    let left: Vec<_> = std::fs::read_dir(elsewhere.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["shadow.raw"], "nothing was written there");
    let listed = daemon
        .list_executions(pb::ListExecutionsRequest::default())
        .await;
    assert!(listed.executions.is_empty(), "nothing ran");
}
