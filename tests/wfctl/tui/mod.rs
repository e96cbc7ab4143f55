//! End-to-end tests of `wfctl tui`: the real binary in a tmux session of
//! its own (`helper/tmux.rs`) against a real daemon, driven by keys and
//! checked on the screen tmux captures, and on the daemon by gRPC. By what
//! they show: the dashboard, job monitor and execution tabs (`screens`),
//! cancel and kill (`cancel`), the daemon going away and coming back
//! (`reconnect`), what wfctl does to the terminal (`terminal`), the run
//! form (`form`), the manifest builder (`manifest`) and the lists of
//! `--namespace` (`namespaces`).

mod cancel;
mod form;
mod manifest;
mod namespaces;
mod reconnect;
mod screens;
mod terminal;

use crate::helper::Tui;

/// The last 8 characters of an execution id, as the TUI's rows show it.
fn short(id: &str) -> &str {
    &id[id.len() - 8..]
}

/// The row of the job list area that shows execution `id`.
fn row<'a>(screen: &'a str, id: &str) -> Option<&'a str> {
    let tag = format!("[{}]", short(id));
    screen.lines().find(|l| l.contains(&tag))
}

/// The row the `▶` cursor is on.
fn cursor_row(screen: &str) -> Option<&str> {
    screen.lines().find(|l| l.contains('▶'))
}

/// Presses Down until the `▶` cursor's row contains `text`; fails when
/// the cursor stops moving first.
async fn cursor_to(tui: &Tui, text: &str) -> String {
    let mut screen = tui.capture().await;
    loop {
        let row = cursor_row(&screen).map(str::to_string);
        if row.as_deref().is_some_and(|r| r.contains(text)) {
            return screen;
        }
        tui.send_keys(&["Down"]).await;
        screen = tui
            .wait_until(&format!("the cursor to move down towards {text:?}"), |s| {
                cursor_row(s).map(str::to_string) != row
            })
            .await;
    }
}
