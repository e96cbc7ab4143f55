//! Cancel (`c`) and force kill (`K`) of a program that ignores SIGTERM,
//! each asked first, checked on the screen and by gRPC.

use workflow_manager::pb::ExecutionState;

use super::short;
use crate::helper::*;

/// A daemon with this cancel grace period running `ignore_sigterm`, and
/// the TUI with that job's tab open and showing it running; the
/// execution and the pid of the program's grandchild.
async fn ignoring_job_open(grace_seconds: u64) -> (Daemon, Tui, pb::Execution, i32) {
    let daemon = Daemon::builder()
        .flag("--default-grace-period", grace_seconds)
        .start()
        .await;
    let tui = Tui::start(&daemon.addr).await;
    let (exec, _, grandchild) = daemon.start_with_grandchild("ignore_sigterm").await;
    tui.wait_for(&format!("[{}] {}", short(&exec.id), exec.workflow_id))
        .await;
    tui.send_keys(&["Enter"]).await;
    tui.wait_for(&format!("{}  RUNNING", exec.workflow_id))
        .await;
    tui.wait_for("running with grandchild").await;
    (daemon, tui, exec, grandchild)
}

#[tokio::test]
async fn cancel_waits_for_a_program_that_ignores_sigterm_and_kill_ends_it() {
    // A grace period longer than the test: only the kill can end it.
    let (daemon, tui, exec, grandchild) = ignoring_job_open(120).await;

    // `c` asks first; `n` says no and nothing is sent.
    tui.send_keys(&["c"]).await;
    tui.wait_for(&format!("Cancel execution {}?", short(&exec.id)))
        .await;
    tui.send_keys(&["n"]).await;
    tui.wait_gone("Cancel execution").await;
    tui.send_keys(&["c"]).await;
    tui.wait_for("SIGTERM now, SIGKILL after the grace period")
        .await;
    tui.send_keys(&["y"]).await;
    tui.wait_for(&format!("cancel of {} requested", exec.id))
        .await;
    let screen = tui.wait_for("got SIGTERM, ignoring it").await;
    assert!(screen.contains("ignore_sigterm  RUNNING"), "{screen}");
    let running = daemon.get(&exec.id).await;
    assert_eq!(running.state(), ExecutionState::Running, "{running:?}");
    assert!(!process_gone(grandchild), "the grandchild ignores SIGTERM");

    tui.send_keys(&["K"]).await;
    tui.wait_for(&format!("Force kill execution {}?", short(&exec.id)))
        .await;
    tui.send_keys(&["y"]).await;
    let screen = tui.wait_for("ignore_sigterm  CANCELLED").await;
    assert!(!screen.contains("Force kill execution"), "{screen}");
    let ended = daemon.wait_end(&exec.id).await;
    assert_eq!(ended.state(), ExecutionState::Cancelled, "{ended:?}");
    wait_process_gone(grandchild, "the grandchild").await;

    // An ended execution cannot be cancelled again.
    tui.send_keys(&["c"]).await;
    tui.wait_for("the execution has already ended").await;
}

#[tokio::test]
async fn cancel_of_a_program_that_ignores_sigterm_ends_after_the_grace_period() {
    let (daemon, tui, exec, grandchild) = ignoring_job_open(1).await;
    tui.send_keys(&["c"]).await;
    tui.wait_for("SIGTERM now, SIGKILL after the grace period")
        .await;
    tui.send_keys(&["y"]).await;
    tui.wait_for("got SIGTERM, ignoring it").await;
    tui.wait_for("ignore_sigterm  CANCELLED").await;
    let ended = daemon.wait_end(&exec.id).await;
    assert_eq!(ended.state(), ExecutionState::Cancelled, "{ended:?}");
    wait_process_gone(grandchild, "the grandchild").await;
}
