//! The dashboard, the job monitor and an execution tab: what they list,
//! Tab through the monitor's tabs, Enter into a tab, the live tree, the
//! log pane and its search.

use workflow_manager::pb::ExecutionState;

use super::{row, short};
use crate::helper::*;

/// A workflow whose run is in two phases (tasks, an agent), held in its
/// first phase until the file given with `--gate` exists; then it prints
/// a `needle` line and 60 more lines, so the needle scrolls out of the
/// log pane, and succeeds.
fn staged_program() -> String {
    workflow_script(
        r#"{"id":"staged","name":"Staged","description":"Two phases, held until a file exists.","fields":[{"name":"gate","label":"Gate","description":"File to wait for","cli_arg":"--gate","required":true,"default":null,"field_type":{"type":"text"}}]}"#,
        r#"gate="$2"
ev() { echo "__WF_EVENT__:$1" >&2; }
ev '{"type":"phase_started","phase":0,"name":"gather","total_phases":2}'
ev '{"type":"task_started","phase":0,"task_id":"t1","description":"fetch sources","total_tasks":1}'
ev '{"type":"agent_started","task_id":"t1","agent_name":"fetcher","description":"fetches"}'
echo "waiting for the gate"
while [ ! -e "$gate" ]; do sleep 0.02; done
ev '{"type":"agent_completed","task_id":"t1","agent_name":"fetcher","result":"ok"}'
ev '{"type":"task_completed","task_id":"t1","result":"3 sources"}'
ev '{"type":"phase_completed","phase":0,"name":"gather"}'
ev '{"type":"phase_started","phase":1,"name":"report","total_phases":2}'
echo "needle: the report is written"
i=1
while [ $i -le 60 ]; do echo "filler line $i"; i=$((i + 1)); done
ev '{"type":"phase_completed","phase":1,"name":"report"}'"#,
    )
}

#[tokio::test]
async fn dashboard_and_job_monitor_list_jobs_and_open_one() {
    let daemon = Daemon::builder().max_jobs(2).start().await;
    let hello = daemon.execute("hello", &[("name", text("tui"))]).await;
    assert_eq!(
        daemon.wait_end(&hello.id).await.state(),
        ExecutionState::Succeeded
    );
    let failed = daemon
        .execute("sleeper", &[("seconds", num(0.0)), ("exit_code", num(3.0))])
        .await;
    assert_eq!(
        daemon.wait_end(&failed.id).await.state(),
        ExecutionState::Failed
    );

    let tui = Tui::start(&daemon.addr).await;
    let screen = tui.wait_for("Workers: 0/2").await;
    assert!(screen.contains("Status: running"), "{screen}");
    // The job list comes after the status, in the same round of polls.
    let screen = tui.wait_for("no jobs running").await;
    assert!(screen.contains("Active jobs (0)"), "{screen}");

    let sleeper = daemon.execute("sleeper", &[("seconds", num(60.0))]).await;
    daemon.wait_output(&sleeper.id, "sleeping 60 s").await;
    let screen = tui
        .wait_for(&format!("[{}] sleeper - sleep - ", short(&sleeper.id)))
        .await;
    assert!(screen.contains("Active jobs (1)"), "{screen}");
    assert!(screen.contains("Workers: 1/2"), "{screen}");
    assert!(
        row(&screen, &sleeper.id).is_some_and(|r| r.contains('▶')),
        "the cursor is on the one active job:\n{screen}"
    );

    // The job monitor: Active, then Tab through Pending, Completed and
    // Failed, and around to Active again.
    tui.send_keys(&["j"]).await;
    let screen = tui.wait_for("Active jobs ─").await;
    assert!(row(&screen, &sleeper.id).is_some(), "{screen}");
    tui.send_keys(&["Tab"]).await;
    tui.wait_for("no pending jobs").await;
    tui.send_keys(&["Tab"]).await;
    let screen = tui.wait_for(&format!("[{}] hello", short(&hello.id))).await;
    assert!(screen.contains("Completed jobs ─"), "{screen}");
    assert!(
        row(&screen, &hello.id).is_some_and(|r| r.contains("SUCCEEDED")),
        "{screen}"
    );
    assert!(row(&screen, &failed.id).is_none(), "{screen}");
    tui.send_keys(&["Tab"]).await;
    let screen = tui
        .wait_for(&format!("[{}] sleeper", short(&failed.id)))
        .await;
    assert!(screen.contains("Failed jobs ─"), "{screen}");
    assert!(
        row(&screen, &failed.id).is_some_and(|r| r.contains("FAILED")),
        "{screen}"
    );
    assert!(row(&screen, &hello.id).is_none(), "{screen}");
    tui.send_keys(&["Tab"]).await;
    tui.wait_for("Active jobs ─").await;

    // Enter opens the execution under the cursor in tab 1.
    tui.send_keys(&["Enter"]).await;
    let screen = tui
        .wait_for(&format!("1 sleeper {}", short(&sleeper.id)))
        .await;
    let screen = if screen.contains("sleeping 60 s") {
        screen
    } else {
        tui.wait_for("sleeping 60 s").await
    };
    assert!(screen.contains(&sleeper.id), "the header: {screen}");
    assert!(screen.contains("sleeper  RUNNING"), "{screen}");
    // Its phase event comes on stderr, maybe after the stdout line.
    tui.wait_for("… Phase 1/1 sleep").await;

    // The dashboard again, and back to the tab with its number.
    tui.send_keys(&["w"]).await;
    tui.wait_for("Workflow daemon").await;
    tui.send_keys(&["1"]).await;
    tui.wait_for("sleeper  RUNNING").await;
}

#[tokio::test]
async fn execution_tab_shows_the_tree_complete_the_log_and_finds_a_line() {
    let daemon = Daemon::builder()
        .program("staged.sh", staged_program())
        .start()
        .await;
    let tui = Tui::start(&daemon.addr).await;
    tui.wait_for("Status: running").await;
    let gate = daemon.file("gate");
    let exec = daemon
        .execute("staged", &[("gate", text(gate.to_str().unwrap()))])
        .await;
    daemon.wait_output(&exec.id, "waiting for the gate").await;

    // Open it from the dashboard's active jobs while it runs.
    tui.wait_for(&format!("[{}] staged", short(&exec.id))).await;
    tui.send_keys(&["Enter"]).await;
    let screen = tui.wait_for("waiting for the gate").await;
    let screen = if screen.contains("… fetcher") {
        screen
    } else {
        tui.wait_for("… fetcher").await
    };
    assert!(screen.contains("staged  RUNNING"), "{screen}");
    assert!(screen.contains("… Phase 1/2 gather"), "{screen}");
    assert!(screen.contains("… fetch sources"), "{screen}");

    std::fs::write(&gate, "").expect("open the gate");
    let screen = tui.wait_for("staged  SUCCEEDED").await;
    let screen = if screen.contains("finished SUCCEEDED") {
        screen
    } else {
        tui.wait_for("finished SUCCEEDED").await
    };
    for done in [
        "✓ Phase 1/2 gather",
        "✓ fetch sources",
        "✓ fetcher",
        "✓ Phase 2/2 report",
    ] {
        assert!(screen.contains(done), "{done:?} in the tree:\n{screen}");
    }
    assert!(!screen.contains('…'), "nothing still running:\n{screen}");
    assert!(
        screen.contains("filler line 60"),
        "the log follows:\n{screen}"
    );
    assert!(
        screen.contains("following"),
        "the log pane follows the end:\n{screen}"
    );
    assert!(
        !screen.contains("needle"),
        "the needle has scrolled out of view:\n{screen}"
    );
    assert_eq!(
        daemon.get(&exec.id).await.state(),
        ExecutionState::Succeeded
    );

    // `/` searches the log: the match scrolls into view, the log pauses.
    tui.send_keys(&["/"]).await;
    tui.wait_for("Enter: search").await;
    tui.type_text("needle").await;
    tui.wait_for("/needle").await;
    tui.send_keys(&["Enter"]).await;
    let screen = tui.wait_for("needle: the report is written").await;
    assert!(screen.contains("n: next"), "{screen}");
    assert!(screen.contains("paused"), "{screen}");
    // A query nothing matches says so.
    tui.send_keys(&["Escape"]).await;
    tui.wait_gone("/needle").await;
    tui.send_keys(&["/"]).await;
    tui.wait_for("Enter: search").await;
    tui.type_text("no such line").await;
    tui.send_keys(&["Enter"]).await;
    tui.wait_for("no match").await;
}
