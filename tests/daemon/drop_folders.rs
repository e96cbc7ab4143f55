//! Drop folders (hyper2kvm's 3-directory pattern): files dropped into
//! `to_be_processed/` run as `vm_pipeline` executions and end in
//! `processed/DATE/` or `failed/DATE/` with their sidecar, exactly once:
//! good and bad manifests (one the daemon may not read), disks and job
//! configs, files still being written, kill -9 in the middle of a batch,
//! and 200 files at once.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helper::*;

/// A `vm_pipeline` that does nothing but write its report: for volume.
fn fast_pipeline() -> String {
    workflow_script(
        r#"{"id":"vm_pipeline","name":"VM pipeline (fast fixture)","description":"Writes a report.","fields":[{"name":"manifest","label":"Manifest","description":"Pipeline document","cli_arg":"--manifest","required":true,"default":null,"field_type":{"type":"text"}},{"name":"output_dir","label":"Output","description":"Output directory","cli_arg":"--output-dir","required":false,"default":"","field_type":{"type":"text"}}]}"#,
        r#"echo '{"pipeline":{"success":true}}' > vm.report.json
echo '__WF_EVENT__:{"type":"state_file_created","phase":0,"file_path":"vm.report.json","description":"pipeline report"}' >&2"#,
    )
}

/// A daemon with [`fast_pipeline`] as `vm_pipeline` and a manifest drop
/// folder `drop`, whose manifests name made-up sources under /d (the
/// fixture reads none).
async fn fast_manifest_daemon() -> Daemon {
    Daemon::builder()
        .program("vm-pipeline.sh", fast_pipeline())
        .flag("--manifest-dir", "drop")
        .flag("--source-root", "/d")
        .start()
        .await
}

/// The files of a drop folder, by subdirectory: `to_be_processed`,
/// `processing`, `processed`, `failed` (dated subdirectories flattened),
/// each a sorted list of names.
fn contents(root: &Path) -> BTreeMap<&'static str, Vec<String>> {
    let list = |dir: &Path| -> Vec<std::fs::DirEntry> {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .collect()
    };
    let mut out = BTreeMap::new();
    for dir in ["to_be_processed", "processing", "processed", "failed"] {
        let dated = matches!(dir, "processed" | "failed");
        let mut names = Vec::new();
        for entry in list(&root.join(dir)) {
            if dated && entry.file_type().unwrap().is_dir() {
                names.extend(
                    list(&entry.path())
                        .iter()
                        .map(|e| e.file_name().to_string_lossy().into_owned()),
                );
            } else {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        out.insert(dir, names);
    }
    out
}

/// The dated directory of today under `processed/` or `failed/`.
fn today(root: &Path, dir: &str) -> PathBuf {
    root.join(dir)
        .join(chrono::Local::now().format("%Y-%m-%d").to_string())
}

/// Waits until nothing waits or is processing and `done` files (sidecars
/// not counted) reached processed/ or failed/.
async fn wait_settled(root: &Path, done: usize) -> BTreeMap<&'static str, Vec<String>> {
    let root = root.to_path_buf();
    eventually(
        &format!("{done} files processed in {}", root.display()),
        DEADLINE,
        || {
            let root = root.clone();
            async move {
                let c = contents(&root);
                let finished = c["processed"]
                    .iter()
                    .chain(&c["failed"])
                    .filter(|n| {
                        !n.ends_with(".report.json")
                            && !n.ends_with(".meta.json")
                            && !n.ends_with(".error.json")
                    })
                    .count();
                (c["to_be_processed"].is_empty() && c["processing"].is_empty() && finished >= done)
                    .then_some(c)
            }
        },
    )
    .await
}

fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} is JSON: {e}", path.display()))
}

/// Writes a file under a hidden name and renames it in, the way a careful
/// copier drops a file.
fn drop_file(dir: &Path, name: &str, content: &[u8]) {
    let hidden = dir.join(format!(".{name}.part"));
    std::fs::write(&hidden, content).unwrap();
    std::fs::rename(hidden, dir.join(name)).unwrap();
}

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
    let all = daemon
        .list_executions(pb::ListExecutionsRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .executions;
    let mut runs: BTreeMap<String, Vec<ExecutionState>> = BTreeMap::new();
    for execution in &all {
        runs.entry(execution.labels["vm"].clone())
            .or_default()
            .push(execution.state());
    }
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
