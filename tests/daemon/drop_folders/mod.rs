//! Drop folders (hyper2kvm's 3-directory pattern): files dropped into
//! `to_be_processed/` run as `vm_pipeline` executions and end in
//! `processed/DATE/` or `failed/DATE/` with their sidecar, exactly once:
//! good and bad manifests (one the daemon may not read), disks and job
//! configs, files still being written, kill -9 in the middle of a batch,
//! and 200 files at once.
//!
//! The folder's helpers are here; the tests by topic in `outcomes.rs`,
//! `recovery.rs` and `policy.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::helper::*;

mod outcomes;
mod policy;
mod recovery;

/// A `vm_pipeline` that does nothing but write its report: for volume.
pub(super) fn fast_pipeline() -> String {
    report_pipeline("")
}

/// A `vm_pipeline` that runs `first` (a shell line, e.g. a pause), then
/// writes its report.
pub(super) fn report_pipeline(first: &str) -> String {
    workflow_script(
        r#"{"id":"vm_pipeline","name":"VM pipeline (fast fixture)","description":"Writes a report.","fields":[{"name":"manifest","label":"Manifest","description":"Pipeline document","cli_arg":"--manifest","required":true,"default":null,"field_type":{"type":"text"}},{"name":"output_dir","label":"Output","description":"Output directory","cli_arg":"--output-dir","required":false,"default":"","field_type":{"type":"text"}}]}"#,
        &format!(
            r#"{first}
echo '{{"pipeline":{{"success":true}}}}' > vm.report.json
echo '__WF_EVENT__:{{"type":"state_file_created","phase":0,"file_path":"vm.report.json","description":"pipeline report"}}' >&2"#
        ),
    )
}

/// The states of the daemon's executions (up to 1,000), grouped by the
/// value of their label `label`, oldest first within a group as listed.
pub(super) async fn states_by_label(
    daemon: &Daemon,
    label: &str,
) -> BTreeMap<String, Vec<ExecutionState>> {
    let executions = daemon
        .list_executions(pb::ListExecutionsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .executions;
    let mut runs: BTreeMap<String, Vec<ExecutionState>> = BTreeMap::new();
    for execution in &executions {
        runs.entry(execution.labels[label].clone())
            .or_default()
            .push(execution.state());
    }
    runs
}

/// A daemon with [`fast_pipeline`] as `vm_pipeline` and a manifest drop
/// folder `drop`, whose manifests name made-up sources under /d (the
/// fixture reads none).
pub(super) async fn fast_manifest_daemon() -> Daemon {
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
pub(super) fn contents(root: &Path) -> BTreeMap<&'static str, Vec<String>> {
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
pub(super) fn today(root: &Path, dir: &str) -> PathBuf {
    root.join(dir)
        .join(chrono::Local::now().format("%Y-%m-%d").to_string())
}

/// Waits until nothing waits or is processing and `done` files (sidecars
/// not counted) reached processed/ or failed/.
pub(super) async fn wait_settled(root: &Path, done: usize) -> BTreeMap<&'static str, Vec<String>> {
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

pub(super) fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} is JSON: {e}", path.display()))
}

/// Writes a file under a hidden name and renames it in, the way a careful
/// copier drops a file.
pub(super) fn drop_file(dir: &Path, name: &str, content: &[u8]) {
    let hidden = dir.join(format!(".{name}.part"));
    std::fs::write(&hidden, content).unwrap();
    std::fs::rename(hidden, dir.join(name)).unwrap();
}
