//! Leftovers of killed runs: a forced cancel leaves no partial output or
//! scratch directory, and the next start removes what a crash left.

use std::{
    fs,
    path::{Path, PathBuf},
};

use serde_json::json;
use tempfile::TempDir;

use crate::helper::*;

use super::images::*;
use super::run::*;

/// Entries below `dir` named as partials (`.<name>.partial-<pid>`).
fn partial_leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(".partial-") {
            found.push(entry.path());
        } else if entry.file_type().unwrap().is_dir() {
            found.extend(partial_leftovers(&entry.path()));
        }
    }
    found
}

/// A daemon running the pipeline whose configured output directory is
/// `out`.
async fn pipeline_daemon_writing_to(out: &Path) -> (Daemon, TempDir) {
    let dir = pipeline_dir();
    // Without the guardian, which would kill a run with its daemon: the
    // crash test needs an orphan for the next start to find.
    let daemon = Daemon::builder()
        .workflow_dir(dir.path())
        .flag("--output-dir", s(out))
        .config_file("no-guardian.toml", "kill_programs_with_daemon = false\n")
        .start()
        .await;
    (daemon, dir)
}

/// Starts a pipeline run of a 256 MiB image packed in an OVA (so it has
/// a scratch directory too) that writes into `out`, and waits until it
/// is converting.
async fn start_slow_ova_run(daemon: &Daemon, out: &Path) -> pb::Execution {
    let big = slow_to_convert_image(&daemon.file("big.raw"));
    let ovf = daemon.file("big.ovf");
    fs::write(
        &ovf,
        r#"<Envelope><References><File id="f" href="big.raw"/></References></Envelope>"#,
    )
    .unwrap();
    let ova = daemon.file("big.ova");
    let mut tar = tar::Builder::new(fs::File::create(&ova).unwrap());
    tar.append_path_with_name(&ovf, "big.ovf").unwrap();
    tar.append_path_with_name(&big, "big.raw").unwrap();
    tar.finish().unwrap();
    drop(tar);
    let m = vm_manifest(
        &daemon.file("big.json"),
        "ova",
        &ova,
        json!({"output_format": "qcow2", "compress": true}),
        json!({}),
    );
    start_converting(daemon, &m, out).await
}

#[tokio::test]
async fn a_forced_cancel_mid_convert_leaves_no_partial_anything() {
    let out = TempDir::new().unwrap();
    let (daemon, _dir) = pipeline_daemon_writing_to(out.path()).await;
    let exec = start_slow_ova_run(&daemon, out.path()).await;
    let runs = daemon.data_dir().join("runs");
    assert_eq!(
        partial_leftovers(out.path()).len(),
        1,
        "mid-convert, the output is a partial in a dated folder"
    );
    assert_eq!(
        partial_leftovers(&runs).len(),
        1,
        "and the OVA is unpacked in scratch"
    );

    daemon.cancel(&exec.id, None, true).await;
    let exec = daemon.wait_state(&exec.id, ExecutionState::Cancelled).await;
    assert_eq!(exec.signal, Some(9), "the program was killed: {exec:?}");
    assert_eq!(partial_leftovers(out.path()), Vec::<PathBuf>::new());
    assert_eq!(partial_leftovers(&runs), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn leftovers_of_a_run_orphaned_by_a_daemon_crash_are_removed_at_the_next_start() {
    let out = TempDir::new().unwrap();
    let (mut daemon, _dir) = pipeline_daemon_writing_to(out.path()).await;
    let exec = start_slow_ova_run(&daemon, out.path()).await;
    let pid = daemon.wait_started(&exec.id).await.pid;
    let runs = daemon.data_dir().join("runs");
    assert_eq!(partial_leftovers(out.path()).len(), 1);
    assert_eq!(partial_leftovers(&runs).len(), 1);

    daemon.kill9().await;
    // The orphan would finish the conversion while no daemon runs; stopped,
    // it is still mid-convert when the next daemon starts.
    let group = rustix::process::Pid::from_raw(pid).expect("a pid is positive");
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::STOP);
    daemon.restart().await;

    // Recovery is done before the daemon serves.
    assert_eq!(partial_leftovers(out.path()), Vec::<PathBuf>::new());
    assert_eq!(partial_leftovers(&runs), Vec::<PathBuf>::new());
    daemon
        .wait_state(&exec.id, ExecutionState::Interrupted)
        .await;
    wait_process_gone(pid, "the orphaned pipeline").await;
}
