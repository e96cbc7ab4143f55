//! The drop-folder job's planning and sidecar format, without a daemon:
//! files laid out in a temporary drop folder, sidecars built from a given
//! outcome.

use std::path::{Path, PathBuf};

use chrono::{Local, TimeZone};
use serde_json::json;

use super::super::layout::Layout;
use super::super::DropMode;
use super::plan::{plan, Rejection};
use super::{sidecar, FileOutcome};
use crate::manifest::{Kind, Problem, Validation};
use crate::policy::WorkflowPolicy;
use crate::store::{DropFileRecord, DropFileState};

struct TestFolder {
    _dir: tempfile::TempDir,
    layout: Layout,
    policy: WorkflowPolicy,
}

fn folder() -> TestFolder {
    let dir = tempfile::tempdir().unwrap();
    // Canonical, as the watcher makes it: links are compared against it.
    let root = dir.path().canonicalize().unwrap().join("drop");
    let layout = Layout::new(&root);
    layout.create().unwrap();
    let policy = WorkflowPolicy {
        output_dir: root.join("out"),
        source_roots: vec![root.clone()],
        fix_tools: Default::default(),
    };
    TestFolder {
        _dir: dir,
        layout,
        policy,
    }
}

/// The ledger row of a file taken into `processing/` as `name`.
fn record(layout: &Layout, name: &str) -> DropFileRecord {
    DropFileRecord {
        id: "drop-1".into(),
        folder: layout.root.clone(),
        mode: "manifest".into(),
        original_name: name.into(),
        processing_path: layout.processing.join(name),
        state: DropFileState::Processing,
        batch_id: Some("batch-1".into()),
        execution_ids: Vec::new(),
        taken_ms: 0,
        final_path: None,
        final_state: None,
        finished_ms: None,
        error: String::new(),
    }
}

/// A file of `bytes` in `processing/`, planned in `mode`.
fn plan_file(
    folder: &TestFolder,
    mode: DropMode,
    name: &str,
    bytes: &[u8],
) -> Result<Validation, Rejection> {
    std::fs::write(folder.layout.processing.join(name), bytes).unwrap();
    plan(
        &folder.layout,
        mode,
        &folder.policy,
        &record(&folder.layout, name),
    )
}

/// What is at `name` in `processing/`, planned as a manifest.
fn plan_manifest(folder: &TestFolder, name: &str) -> Result<Validation, Rejection> {
    let record = record(&folder.layout, name);
    plan(&folder.layout, DropMode::Manifest, &folder.policy, &record)
}

fn disk(folder: &TestFolder, name: &str) -> PathBuf {
    let path = folder.layout.root.join(name);
    std::fs::write(&path, b"not really a disk").unwrap();
    path
}

fn single_manifest(source: &Path) -> Vec<u8> {
    json!({"version": "1.0", "pipeline": {
        "load": {"source_type": "raw", "source_path": source},
        "convert": {"output_format": "qcow2"}}})
    .to_string()
    .into_bytes()
}

fn rejection(planned: Result<Validation, Rejection>) -> Rejection {
    match planned {
        Ok(validation) => panic!("planned {} VMs", validation.vms.len()),
        Err(rejection) => rejection,
    }
}

#[test]
fn a_valid_manifest_plans_its_vm() {
    let f = folder();
    let source = disk(&f, "a.raw");
    let validation = plan_file(
        &f,
        DropMode::Manifest,
        "web.json",
        &single_manifest(&source),
    )
    .ok();
    let validation = validation.expect("a plan");
    assert_eq!(validation.kind, Some(Kind::Single));
    assert_eq!(validation.vms.len(), 1);
}

#[test]
fn an_invalid_manifest_is_rejected_with_its_problems() {
    let f = folder();
    let planned = plan_file(
        &f,
        DropMode::Manifest,
        "bad.json",
        br#"{"version": "1.0", "vms": [{"name": "x", "pipeline": {"load": {"source_path": "/d/x.iso"}, "convert": {"output_format": "qcow3"}}}]}"#,
    );
    let rejected = rejection(planned);
    assert!(
        rejected.error.starts_with("invalid manifest: "),
        "{}",
        rejected.error
    );
    assert!(!rejected.problems.is_empty());
}

#[test]
fn empty_files_directories_and_foreign_links_are_rejected() {
    let f = folder();
    let empty = rejection(plan_file(&f, DropMode::Manifest, "empty.json", b""));
    assert_eq!(empty.error, "the file is empty");

    std::fs::create_dir(f.layout.processing.join("dir")).unwrap();
    let dir = rejection(plan_manifest(&f, "dir"));
    assert!(
        dir.error.starts_with("this is a directory"),
        "{}",
        dir.error
    );

    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), b"{}").unwrap();
    std::os::unix::fs::symlink(outside.path(), f.layout.processing.join("link.json")).unwrap();
    let link = rejection(plan_manifest(&f, "link.json"));
    assert!(
        link.error.contains("outside the drop folder"),
        "{}",
        link.error
    );
}

#[test]
fn a_relative_link_is_followed_from_the_drop_zone() {
    let f = folder();
    let source = disk(&f, "a.raw");
    std::fs::write(f.layout.root.join("real.json"), single_manifest(&source)).unwrap();
    // Made in to_be_processed/, so relative to it, then moved.
    std::os::unix::fs::symlink("../real.json", f.layout.processing.join("link.json")).unwrap();
    let planned = plan_manifest(&f, "link.json");
    assert_eq!(planned.ok().expect("a plan").vms.len(), 1);
}

#[test]
fn disk_mode_takes_disk_images_and_nothing_else() {
    let f = folder();
    let planned = plan_file(&f, DropMode::Disk, "web 01.raw", b"a disk");
    let validation = planned.ok().expect("a plan");
    assert_eq!(validation.vms.len(), 1);
    assert_eq!(validation.vms[0].name, "web 01");

    let other = rejection(plan_file(&f, DropMode::Disk, "notes.txt", b"text"));
    assert!(
        other.error.starts_with("not a disk image (.vmdk"),
        "{}",
        other.error
    );
}

fn at_noon() -> chrono::DateTime<Local> {
    Local.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

#[test]
fn sidecar_names_follow_the_end_and_the_mode() {
    use DropFileState::{Failed, Processed};
    assert_eq!(
        sidecar::suffix(Processed, DropMode::Manifest),
        ".report.json"
    );
    assert_eq!(sidecar::suffix(Processed, DropMode::Disk), ".meta.json");
    assert_eq!(sidecar::suffix(Failed, DropMode::Manifest), ".error.json");
    assert_eq!(sidecar::suffix(Failed, DropMode::Disk), ".error.json");
}

#[test]
fn a_single_vm_report_is_the_files_report() {
    let layout = Layout::new(Path::new("/drop"));
    let record = record(&layout, "web.json");
    let vm = json!({"name": "web", "state": "SUCCEEDED",
        "report": {"pipeline": {"success": true}, "status": "from the report"}});
    let outcome = FileOutcome::Done {
        kind: Some(Kind::Single),
        runs: Vec::new(),
    };
    let content = sidecar::content(
        &record,
        DropMode::Manifest,
        &outcome,
        vec![vm.clone()],
        at_noon(),
    );
    assert_eq!(
        content,
        json!({
            "job_id": "web",
            "original_name": "web.json",
            "manifest": "web.json",
            // The daemon's keys win over the report's.
            "status": "completed",
            "completed_at": at_noon().to_rfc3339(),
            "pipeline": {"success": true},
            "drop_id": "drop-1",
            "mode": "manifest",
            "vms": [vm],
        })
    );
}

#[test]
fn a_batch_names_its_batch_and_disk_mode_says_success() {
    let layout = Layout::new(Path::new("/drop"));
    let record = record(&layout, "batch.yaml");
    let outcome = FileOutcome::Done {
        kind: Some(Kind::Batch),
        runs: Vec::new(),
    };
    let vms = vec![json!({"name": "a"}), json!({"name": "b"})];
    let content = sidecar::content(&record, DropMode::Disk, &outcome, vms, at_noon());
    assert_eq!(content["status"], "success");
    assert_eq!(content["batch_id"], "batch-1");
    assert_eq!(content["job_id"], "batch");
    assert_eq!(content.get("manifest"), None);
    assert_eq!(content["vms"].as_array().map(Vec::len), Some(2));
}

#[test]
fn a_failure_lists_its_error_and_problems() {
    let layout = Layout::new(Path::new("/drop"));
    let record = record(&layout, "bad.json");
    let outcome = FileOutcome::Failed {
        error: "invalid manifest: 1 problem".into(),
        details: "invalid manifest: 1 problem\nversion: is required".into(),
        problems: vec![Problem {
            path: "version".into(),
            message: "is required".into(),
        }],
        runs: Vec::new(),
    };
    let content = sidecar::content(&record, DropMode::Manifest, &outcome, Vec::new(), at_noon());
    assert_eq!(
        content,
        json!({
            "job_id": "bad",
            "original_name": "bad.json",
            "failed_at": at_noon().to_rfc3339(),
            "error": "invalid manifest: 1 problem",
            "exception": "invalid manifest: 1 problem\nversion: is required",
            "status": "failed",
            "problems": [{"path": "version", "message": "is required"}],
            "drop_id": "drop-1",
            "mode": "manifest",
        })
    );
}
