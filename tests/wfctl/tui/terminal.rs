//! What `wfctl tui` does to the terminal: restored on `q` and on SIGTERM,
//! SIGINT and SIGHUP, no colours under NO_COLOR, redrawn to fit a resized
//! window, and the `?` key map.

use rustix::process::Signal;

use super::short;
use crate::helper::*;

/// Asserts the line of terminal modes the pane printed after wfctl says
/// the terminal is back in cooked mode with echo and signals.
fn assert_restored(modes: &str) {
    for mode in ["icanon", "echo", "isig"] {
        assert!(
            modes.split_whitespace().any(|m| m == mode),
            "{mode} restored after wfctl: {modes:?}"
        );
    }
}

/// Waits for wfctl to exit and asserts it left cleanly: status 0, cooked
/// mode, the main screen, the cursor shown, nothing of the TUI left.
async fn assert_left_cleanly(tui: &Tui) {
    let (code, modes) = tui.wait_exit().await;
    assert_eq!(code, 0);
    assert_restored(&modes);
    assert_eq!(tui.pane_format("#{alternate_on}").await, "0");
    assert_eq!(tui.pane_format("#{cursor_flag}").await, "1", "cursor shown");
    let screen = tui.capture().await;
    assert!(
        !screen.contains("Dashboard") && !screen.contains('┌'),
        "nothing of the TUI is left on the screen:\n{screen}"
    );
}

#[tokio::test]
async fn q_exits_with_status_0_and_restores_the_terminal() {
    let daemon = Daemon::start().await;
    let tui = Tui::start(&daemon.addr).await;
    tui.wait_for("Status: running").await;
    assert_eq!(tui.pane_format("#{alternate_on}").await, "1");
    tui.send_keys(&["q"]).await;
    assert_left_cleanly(&tui).await;
}

#[tokio::test]
async fn sigterm_sigint_and_sighup_end_wfctl_tui_cleanly_and_restore_the_terminal() {
    let daemon = Daemon::start().await;
    for signal in [Signal::TERM, Signal::INT, Signal::HUP] {
        let tui = Tui::start(&daemon.addr).await;
        tui.wait_for("Status: running").await;
        tui.signal_wfctl(signal).await;
        assert_left_cleanly(&tui).await;
    }
}

/// The colour parameters (30-38, 40-48, 90-97, 100-107) of the SGR
/// sequences in `styled` text; 39 and 49 (default colours) are not colours.
fn colour_codes(styled: &str) -> Vec<String> {
    let mut codes = Vec::new();
    for sequence in styled.split("\x1b[").skip(1) {
        let Some(end) = sequence.find('m') else {
            continue;
        };
        let params = &sequence[..end];
        if !params.chars().all(|c| c.is_ascii_digit() || c == ';') {
            continue;
        }
        let colour = params.split(';').any(|p| {
            p.parse::<u16>()
                .is_ok_and(|n| matches!(n, 30..=38 | 40..=48 | 90..=97 | 100..=107))
        });
        if colour {
            codes.push(params.to_string());
        }
    }
    codes
}

#[tokio::test]
async fn no_color_draws_without_colours() {
    let daemon = Daemon::start().await;
    let coloured = Tui::start_with(
        &daemon.addr,
        TuiOptions {
            no_color: false,
            ..TuiOptions::default()
        },
    )
    .await;
    coloured.wait_for("Status: running").await;
    let styled = coloured.capture_styled().await;
    assert!(
        !colour_codes(&styled).is_empty(),
        "colours without NO_COLOR:\n{styled:?}"
    );

    let plain = Tui::start(&daemon.addr).await;
    plain.wait_for("Status: running").await;
    let styled = plain.capture_styled().await;
    assert_eq!(
        colour_codes(&styled),
        Vec::<String>::new(),
        "no colours under NO_COLOR:\n{styled:?}"
    );
    // Bold and reverse video still mark titles and the tab shown.
    assert!(
        styled.contains("\x1b[7m") || styled.contains(";7m"),
        "{styled:?}"
    );
}

/// The width in columns of the dashboard's top border, the rows shown.
fn drawn_size(screen: &str) -> (usize, usize) {
    let width = screen
        .lines()
        .find(|l| l.starts_with("┌ Workflow daemon"))
        .map_or(0, |l| l.chars().count());
    (width, screen.lines().count())
}

#[tokio::test]
async fn the_screen_redraws_to_fit_a_resized_window() {
    let daemon = Daemon::start().await;
    let tui = Tui::start(&daemon.addr).await;
    let screen = tui.wait_for("Status: running").await;
    assert_eq!(drawn_size(&screen), (80, 24), "{screen}");

    tui.resize(120, 40).await;
    let screen = tui
        .wait_until("the dashboard drawn 120 wide", |s| drawn_size(s).0 == 120)
        .await;
    assert_eq!(drawn_size(&screen), (120, 40), "{screen}");
    assert!(screen.contains("q: Quit"), "{screen}");
    assert!(
        screen
            .lines()
            .last()
            .is_some_and(|l| l.contains("r: Refresh")),
        "the hint on the last row:\n{screen}"
    );

    tui.resize(80, 24).await;
    let screen = tui
        .wait_until("the dashboard drawn 80 wide", |s| drawn_size(s).0 == 80)
        .await;
    assert_eq!(drawn_size(&screen), (80, 24), "{screen}");
    assert!(screen.contains("Status: running"), "{screen}");
}

#[tokio::test]
async fn an_execution_tab_survives_a_very_small_window() {
    let daemon = Daemon::start().await;
    let tui = Tui::start(&daemon.addr).await;
    let sleeper = daemon.execute("sleeper", &[("seconds", num(60.0))]).await;
    tui.wait_for(&format!("[{}] sleeper", short(&sleeper.id)))
        .await;
    tui.send_keys(&["Enter"]).await;
    tui.wait_for("sleeper  RUNNING").await;

    tui.resize(60, 8).await;
    let screen = tui
        .wait_until("the tab drawn 60 wide, or wfctl gone", |s| {
            s.contains("EXITED")
                || s.lines()
                    .any(|l| l.starts_with('┌') && l.chars().count() == 60)
        })
        .await;
    assert!(!screen.contains("EXITED"), "wfctl ended:\n{screen}");
    tui.resize(80, 24).await;
    // A frame can be drawn for a size between the two (tmux resizes the
    // window, then the pane): wait for the whole tab, header included.
    let screen = tui
        .wait_until("the tab drawn 80 wide again, with its header", |s| {
            s.contains("sleeper  RUNNING")
                && s.lines()
                    .any(|l| l.starts_with('┌') && l.chars().count() == 80)
        })
        .await;
    assert!(
        !screen.contains("EXITED"),
        "wfctl ended:
{screen}"
    );
}

#[tokio::test]
async fn help_shows_the_keys_at_80x24_and_any_key_closes_it() {
    let daemon = Daemon::start().await;
    let sleeper = daemon.execute("sleeper", &[("seconds", num(60.0))]).await;
    let tui = Tui::start(&daemon.addr).await;
    tui.wait_for(&format!("[{}] sleeper", short(&sleeper.id)))
        .await;
    tui.send_keys(&["?"]).await;
    let screen = tui.wait_for("┌ Keys ").await;
    for key in ["job monitor", "quit", "any key closes"] {
        assert!(screen.contains(key), "{key:?} in the key map:\n{screen}");
    }
    // The key that closes the overlay does nothing else.
    tui.send_keys(&["j"]).await;
    let screen = tui.wait_gone("┌ Keys ").await;
    assert!(screen.contains("Active jobs (1)"), "{screen}");

    // In an execution tab: its own keys.
    tui.send_keys(&["Enter"]).await;
    tui.wait_for("sleeper  RUNNING").await;
    tui.send_keys(&["?"]).await;
    let screen = tui.wait_for("┌ Keys ").await;
    for key in ["kill (asks first)", "any key closes"] {
        assert!(screen.contains(key), "{key:?} in the key map:\n{screen}");
    }
}
