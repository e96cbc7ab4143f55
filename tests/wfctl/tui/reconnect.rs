//! The daemon goes away and comes back on the same port: the banner,
//! then the dashboard and the execution tabs recover.

use workflow_manager::pb::ExecutionState;

use super::{row, short};
use crate::helper::*;

/// A TCP port nothing listens on now, so a daemon can be started on it
/// again after it stopped.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

#[tokio::test]
async fn the_banner_shows_while_the_daemon_is_away_and_the_screen_recovers() {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut daemon = Daemon::builder().listen(&listen).start().await;
    assert_eq!(daemon.addr, listen);
    let tui = Tui::start(&daemon.addr).await;
    tui.wait_for("Status: running").await;
    let sleeper = daemon.execute("sleeper", &[("seconds", num(60.0))]).await;
    daemon.wait_output(&sleeper.id, "sleeping 60 s").await;
    tui.wait_for(&format!("[{}] sleeper", short(&sleeper.id)))
        .await;
    // Its tab follows the log across the restart.
    tui.send_keys(&["Enter"]).await;
    tui.wait_for("sleeper  RUNNING").await;
    tui.send_keys(&["w"]).await;
    tui.wait_for("Workflow daemon").await;

    daemon.kill9().await;
    let banner = format!("daemon at {listen} unreachable, reconnecting");
    let screen = tui.wait_for(&banner).await;
    let screen = if screen.contains("Status: stopped") {
        screen
    } else {
        tui.wait_for("Status: stopped").await
    };
    assert!(!screen.contains("Status: running"), "{screen}");

    daemon.restart().await;
    assert_eq!(daemon.addr, listen, "the same port again");
    let screen = tui.wait_gone("unreachable, reconnecting").await;
    let screen = if screen.contains("Status: running") {
        screen
    } else {
        tui.wait_for("Status: running").await
    };
    assert!(screen.contains("Workflow daemon"), "{screen}");
    // The restarted daemon reaped the sleeper it lost; the dashboard shows
    // the jobs of the new one.
    let lost = daemon.wait_end(&sleeper.id).await;
    let again = daemon.execute("sleeper", &[("seconds", num(60.0))]).await;
    let screen = tui
        .wait_for(&format!("[{}] sleeper", short(&again.id)))
        .await;
    assert!(row(&screen, &sleeper.id).is_none(), "{screen}");
    // The tab, followed across the restart, shows how the lost run ended.
    tui.send_keys(&["1"]).await;
    let state = state_name(lost.state());
    let lines = ["] queued", "] started pid", "sleeping 60 s", "] finished"];
    // A capture can catch a frame half drawn: wait for one with the state
    // and every line, then count them.
    let screen = tui
        .wait_until("the ended tab with its whole log", |screen| {
            screen.contains(&format!("sleeper  {state}"))
                && lines.iter().all(|line| screen.contains(line))
        })
        .await;
    // Resumed from the sequence after the last event shown: every line of
    // the log once, none lost (the start, the output, the end).
    for line in lines {
        let count = screen.lines().filter(|l| l.contains(line)).count();
        assert_eq!(count, 1, "{line:?} once in the log:\n{screen}");
    }
}

/// The name of a state as the TUI prints it (`SUCCEEDED`).
fn state_name(state: ExecutionState) -> &'static str {
    state
        .as_str_name()
        .strip_prefix("EXECUTION_STATE_")
        .expect("a state name")
}
