//! What becomes of each dropped file: good and bad manifests (one the
//! daemon may not read), disks and job configs, each with one clear
//! outcome and its sidecar.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::json;

use crate::helper::*;

use super::*;

#[tokio::test]
async fn manifests_and_bad_files_each_get_one_clear_outcome() {
    let daemon = Daemon::builder()
        .program("vm-pipeline.sh", fixture_pipeline())
        .flag("--manifest-dir", "drop")
        .flag("--output-dir", "out")
        // Where invalid.json's made-up source is.
        .flag("--source-root", "/d")
        .without_permission_override()
        .start()
        .await;
    let root = daemon.file("drop");
    let incoming = root.join("to_be_processed");
    let disks = daemon.staging_dir();
    let out = daemon.file("out");
    let raw = make_disk(&disks, "a.raw", "raw");
    let vmdk = make_disk(&disks, "b.vmdk", "vmdk");

    let single = json!({"version": "1.0", "pipeline": {
        "load": {"source_type": "raw", "source_path": raw},
        "convert": {"output_format": "qcow2"}}});
    drop_file(
        &incoming,
        "web 01 ünïcode.json",
        single.to_string().as_bytes(),
    );
    let batch = format!(
        "version: '1.0'\nbatch: true\nvms:\n  - name: b1\n    pipeline: {{load: {{source_path: '{}'}}}}\n  - name: b2\n    pipeline: {{load: {{source_path: '{}'}}, convert: {{output_format: vdi}}}}\n",
        vmdk.display(),
        raw.display()
    );
    drop_file(&incoming, "batch.yaml", batch.as_bytes());
    let broken_run = json!({"version": "1.0", "batch": true, "vms": [
        {"name": "ok", "pipeline": {"load": {"source_path": raw}}},
        {"name": "gone", "pipeline": {"load": {"source_path": disks.join("missing.raw")}}}]});
    drop_file(&incoming, "half.json", broken_run.to_string().as_bytes());
    drop_file(
        &incoming,
        "invalid.json",
        br#"{"version": "1.0", "vms": [{"name": "x", "pipeline": {"load": {"source_path": "/d/x.iso"}, "convert": {"output_format": "qcow3"}}}]}"#,
    );
    drop_file(&incoming, "empty.yaml", b"");
    let locked = incoming.join(".locked.json.part");
    std::fs::write(&locked, single.to_string()).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::rename(&locked, incoming.join("locked.json")).unwrap();
    drop_file(&incoming, "junk.bin", &[0u8, 159, 146, 150, 255, 1, 2, 3]);
    drop_file(&incoming, "huge.json", &vec![b' '; (16 << 20) + 1]);
    std::os::unix::fs::symlink("/etc/hostname", incoming.join("outside.json")).unwrap();
    std::fs::write(root.join("kept-inside.json"), single.to_string()).unwrap();
    std::os::unix::fs::symlink("../kept-inside.json", incoming.join("inside.json")).unwrap();
    std::fs::create_dir(incoming.join("a directory")).unwrap();
    std::fs::write(incoming.join(".hidden-partial"), "ignored").unwrap();

    let done = wait_settled(&root, 11).await;
    let processed = today(&root, "processed");
    let failed = today(&root, "failed");
    assert_eq!(
        done["processed"],
        [
            "batch.yaml",
            "batch.yaml.report.json",
            "inside.json",
            "inside.json.report.json",
            "web 01 ünïcode.json",
            "web 01 ünïcode.json.report.json",
        ]
    );
    assert_eq!(
        done["failed"],
        [
            "a directory",
            "a directory.error.json",
            "empty.yaml",
            "empty.yaml.error.json",
            "half.json",
            "half.json.error.json",
            "huge.json",
            "huge.json.error.json",
            "invalid.json",
            "invalid.json.error.json",
            "junk.bin",
            "junk.bin.error.json",
            "locked.json",
            "locked.json.error.json",
            "outside.json",
            "outside.json.error.json",
        ]
    );
    assert_eq!(
        std::fs::read_dir(&incoming).unwrap().count(),
        1,
        "only the hidden file is left"
    );

    // Reports: the pipeline's report, the manifest, each VM.
    let report = read_json(&processed.join("web 01 ünïcode.json.report.json"));
    assert_eq!(report["status"], "completed");
    assert_eq!(report["manifest"], "web 01 ünïcode.json");
    assert_eq!(report["job_id"], "web 01 ünïcode");
    assert_eq!(report["pipeline"]["success"], true, "{report}");
    assert!(report["completed_at"].is_string());
    assert!(same_content(&raw, &out.join("web 01 ünïcode.qcow2")));
    let report = read_json(&processed.join("batch.yaml.report.json"));
    let batch_id = report["batch_id"].as_str().expect("batch id").to_string();
    let vms = report["vms"].as_array().unwrap();
    assert_eq!(vms.len(), 2);
    assert_eq!(vms[0]["name"], "b1");
    assert_eq!(vms[1]["state"], "SUCCEEDED");
    assert_eq!(vms[1]["report"]["pipeline"]["success"], true);
    assert_eq!(image_format(&out.join("b2.vdi")), "vdi");
    let listed = daemon
        .list_executions(pb::ListExecutionsRequest {
            batch_id,
            ..Default::default()
        })
        .await;
    assert_eq!(listed.executions.len(), 2);

    // Errors: upstream's keys, every validation problem with its path, each
    // VM of a failed batch (moved only after all of them finished).
    let error = read_json(&failed.join("invalid.json.error.json"));
    for key in ["job_id", "original_name", "failed_at", "error", "exception"] {
        assert!(error.get(key).is_some(), "{key} in {error}");
    }
    assert_eq!(error["status"], "failed");
    let paths: Vec<&str> = error["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "vms[0].pipeline.convert.output_format",
            "vms[0].pipeline.load.source_type"
        ]
    );
    let error = read_json(&failed.join("half.json.error.json"));
    let states: Vec<&str> = error["vms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["SUCCEEDED", "FAILED"], "{error}");
    assert!(error["error"].as_str().unwrap().contains("gone"), "{error}");
    let reasons = [
        ("empty.yaml", "empty"),
        ("junk.bin", "not UTF-8"),
        ("locked.json", "cannot read the file: Permission denied"),
        ("huge.json", "at most 16 MiB"),
        ("outside.json", "outside the drop folder"),
        ("a directory", "directory"),
    ];
    for (name, reason) in reasons {
        let error = read_json(&failed.join(format!("{name}.error.json")));
        let text = format!("{} {}", error["error"], error["exception"]);
        assert!(text.contains(reason), "{name}: {error}");
    }
    assert!(
        std::fs::symlink_metadata(failed.join("outside.json"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link itself moved, its target untouched"
    );

    // A name that is taken in processed/ gets a timestamp suffix.
    drop_file(&incoming, "batch.yaml", batch.as_bytes());
    let done = wait_settled(&root, 12).await;
    let renamed: Vec<&String> = done["processed"]
        .iter()
        .filter(|n| n.starts_with("batch_") && n.ends_with(".yaml"))
        .collect();
    assert_eq!(renamed.len(), 1, "{done:?}");

    // A file is moved before its ledger row says so (a crash in between
    // finishes the move at the next start), so the counts follow the
    // directories by up to a commit.
    let status = eventually(
        "the status to count 4 processed and 8 failed files",
        DEADLINE,
        || async {
            let status = daemon.status().await;
            let folder = &status.drop_folders[0];
            let counts = (
                folder.files_waiting,
                folder.files_processing,
                folder.processed_today,
                folder.failed_today,
            );
            (counts == (0, 0, 4, 8)).then_some(status)
        },
    )
    .await;
    assert_eq!(status.drop_folders.len(), 1);
    let folder = &status.drop_folders[0];
    assert_eq!(folder.mode(), pb::DropFolderMode::Manifest);
    assert_eq!(Path::new(&folder.path), root.canonicalize().unwrap());
    assert!(folder.watching);
    assert_eq!(Path::new(&status.output_dir), out);
}

#[tokio::test]
async fn disk_folder_converts_dropped_disks_and_job_configs() {
    let daemon = Daemon::builder()
        .program("vm-pipeline.sh", fixture_pipeline())
        .flag("--disk-dir", "disks")
        .flag("--output-dir", "out")
        .start()
        .await;
    let root = daemon.file("disks");
    let incoming = root.join("to_be_processed");
    let out = daemon.file("out");
    let staging = daemon.staging_dir();

    // A disk image dropped as it is: qcow2, compressed, named by its stem.
    let vhdx = make_disk(&staging, "legacy db.vhdx", "vhdx");
    std::fs::rename(&vhdx, incoming.join("legacy db.vhdx")).unwrap();
    // A job config with a batch of two, one relative to the folder.
    let first = make_disk(&root, "first.vmdk", "vmdk");
    let second = make_disk(&staging, "second.img", "raw");
    drop_file(
        &incoming,
        "jobs.yaml",
        format!(
            "jobs:\n  - input: first.vmdk\n    output_format: raw\n  - input: '{}'\n    compress: false\n    fix_network: true\n",
            second.display()
        )
        .as_bytes(),
    );
    drop_file(
        &incoming,
        "bad-job.json",
        br#"{"input": "x.iso", "flatten": false, "speed": 3}"#,
    );
    drop_file(&incoming, "notes.txt", b"not a disk");

    let done = wait_settled(&root, 4).await;
    assert_eq!(
        done["processed"],
        [
            "jobs.yaml",
            "jobs.yaml.meta.json",
            "legacy db.vhdx",
            "legacy db.vhdx.meta.json",
        ]
    );
    assert_eq!(
        done["failed"],
        [
            "bad-job.json",
            "bad-job.json.error.json",
            "notes.txt",
            "notes.txt.error.json"
        ]
    );
    let processed = today(&root, "processed");
    let meta = read_json(&processed.join("legacy db.vhdx.meta.json"));
    assert_eq!(meta["status"], "success");
    assert_eq!(meta["job_id"], "legacy db");
    assert_eq!(meta["original_name"], "legacy db.vhdx");
    let converted = out.join("legacy db.qcow2");
    assert_eq!(image_format(&converted), "qcow2");
    assert!(same_content(&processed.join("legacy db.vhdx"), &converted));
    let meta = read_json(&processed.join("jobs.yaml.meta.json"));
    assert_eq!(meta["vms"].as_array().unwrap().len(), 2);
    assert!(same_content(&first, &out.join("first.raw")));
    assert!(same_content(&second, &out.join("second.qcow2")));
    let error = read_json(&today(&root, "failed").join("bad-job.json.error.json"));
    let paths: Vec<&str> = error["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["flatten", "input", "speed"]);

    // The pipeline document of the dropped disk: hyper2kvm's disk defaults.
    let runs = daemon
        .list_executions(pb::ListExecutionsRequest {
            labels: labels(&[("drop_file", "legacy db.vhdx")]),
            ..Default::default()
        })
        .await;
    let document = read_json(Path::new(&runs.executions[0].inputs["manifest"]));
    let pipeline = &document["pipeline"];
    assert_eq!(pipeline["load"]["source_type"], "vhdx");
    assert_eq!(pipeline["convert"]["compress"], true);
    assert_eq!(pipeline["fix"]["fstab"]["mode"], "stabilize-all");
    assert_eq!(pipeline["fix"]["initramfs"]["regenerate"], true);
    assert_eq!(pipeline["fix"]["grub"]["enabled"], false);
}
