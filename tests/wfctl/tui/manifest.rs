//! The manifest builder (screens/manifest/): a real raw disk through
//! Source, Pipeline, Output and Review, submitted and converted.

use workflow_manager::pb::ExecutionState;

use super::cursor_to;
use crate::helper::*;

/// Whether a line of `screen` says `valid` as a word (not `invalid`, not
/// `validate`).
fn says_valid(screen: &str) -> bool {
    screen.lines().any(|l| {
        l.split(|c: char| !c.is_alphanumeric() && c != '-')
            .any(|w| w == "valid")
    })
}

/// Every file under `dir`.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn manifest_builder_converts_a_real_raw_disk() {
    // The daemon's own workflows: the real vm_pipeline.
    let daemon = Daemon::builder().default_dirs().start().await;
    let disk = make_disk(&daemon.staging_dir(), "web.raw", "raw");
    let tui = Tui::start(&daemon.addr).await;
    tui.send_keys(&["m"]).await;

    // Source: the type under the cursor, checked with Space; the path.
    tui.wait_for("Source").await;
    cursor_to(&tui, "raw").await;
    tui.send_keys(&["Space"]).await;
    tui.wait_until("raw checked", |s| {
        s.lines().any(|l| l.contains("raw") && l.contains('✓'))
    })
    .await;
    // The path field takes letters once the cursor is on it.
    cursor_to(&tui, "Path:").await;
    tui.type_text(disk.to_str().unwrap()).await;
    tui.wait_for("web.raw").await;

    // Pipeline (hyperctl's default stages), Output: qcow2.
    tui.send_keys(&["Enter"]).await;
    tui.wait_for("Step 2/4").await;
    tui.send_keys(&["Enter"]).await;
    // Output: hyperctl's default format, qcow2.
    let screen = tui.wait_for("Step 3/4").await;
    assert!(screen.contains("qcow2"), "{screen}");
    tui.send_keys(&["Enter"]).await;

    // Review: ValidateManifest says valid; `s` submits and opens the run.
    tui.wait_for("Step 4/4").await;
    tui.wait_until("the manifest valid", says_valid).await;
    tui.send_keys(&["s"]).await;
    tui.wait_for("vm_pipeline  SUCCEEDED").await;

    let executions = daemon.list_executions(Default::default()).await.executions;
    assert_eq!(executions.len(), 1, "{executions:?}");
    assert_eq!(executions[0].workflow_id, "vm_pipeline");
    assert_eq!(executions[0].state(), ExecutionState::Succeeded);
    let converted: Vec<_> = files_under(&daemon.output_dir())
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "qcow2"))
        .collect();
    assert_eq!(converted.len(), 1, "one converted disk: {converted:?}");
    assert_eq!(image_format(&converted[0]), "qcow2");
    assert!(same_content(&disk, &converted[0]));
}
