//! End-to-end tests of `wfctl tui`: the real binary in a tmux session of
//! its own (`helper/tmux.rs`) against a real daemon, driven by keys and
//! checked on the screen tmux captures, and on the daemon by gRPC.

use rustix::process::Signal;
use workflow_manager::pb::ExecutionState;

use crate::helper::*;

/// The last 8 characters of an execution id, as the TUI's rows show it.
fn short(id: &str) -> &str {
    &id[id.len() - 8..]
}

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

/// The row of the job list area that shows execution `id`.
fn row<'a>(screen: &'a str, id: &str) -> Option<&'a str> {
    let tag = format!("[{}]", short(id));
    screen.lines().find(|l| l.contains(&tag))
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

/// Opens the only active job from the dashboard and waits until its tab
/// shows it running.
async fn open_the_active_job(tui: &Tui, exec: &pb::Execution) {
    tui.wait_for(&format!("[{}] {}", short(&exec.id), exec.workflow_id))
        .await;
    tui.send_keys(&["Enter"]).await;
    tui.wait_for(&format!("{}  RUNNING", exec.workflow_id))
        .await;
    tui.wait_for("running with grandchild").await;
}

#[tokio::test]
async fn cancel_waits_for_a_program_that_ignores_sigterm_and_kill_ends_it() {
    // A grace period longer than the test: only the kill can end it.
    let daemon = Daemon::builder()
        .flag("--default-grace-period", 120)
        .start()
        .await;
    let tui = Tui::start(&daemon.addr).await;
    let (exec, _, grandchild) = daemon.start_with_grandchild("ignore_sigterm").await;
    open_the_active_job(&tui, &exec).await;

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
    let daemon = Daemon::builder()
        .flag("--default-grace-period", 1)
        .start()
        .await;
    let tui = Tui::start(&daemon.addr).await;
    let (exec, _, grandchild) = daemon.start_with_grandchild("ignore_sigterm").await;
    open_the_active_job(&tui, &exec).await;
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
    tui.wait_for(&format!("sleeper  {state}")).await;
}

/// The name of a state as the TUI prints it (`SUCCEEDED`).
fn state_name(state: ExecutionState) -> &'static str {
    state
        .as_str_name()
        .strip_prefix("EXECUTION_STATE_")
        .expect("a state name")
}

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

#[tokio::test]
async fn q_exits_with_status_0_and_restores_the_terminal() {
    let daemon = Daemon::start().await;
    let tui = Tui::start(&daemon.addr).await;
    tui.wait_for("Status: running").await;
    assert_eq!(tui.pane_format("#{alternate_on}").await, "1");
    tui.send_keys(&["q"]).await;
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
async fn sigterm_ends_wfctl_tui_cleanly_and_restores_the_terminal() {
    let daemon = Daemon::start().await;
    let tui = Tui::start(&daemon.addr).await;
    tui.wait_for("Status: running").await;
    tui.signal_wfctl(Signal::TERM).await;
    let (code, modes) = tui.wait_exit().await;
    assert_eq!(code, 0);
    assert_restored(&modes);
    assert_eq!(tui.pane_format("#{alternate_on}").await, "0");
    assert_eq!(tui.pane_format("#{cursor_flag}").await, "1", "cursor shown");
    let screen = tui.capture().await;
    assert!(!screen.contains('┌'), "{screen}");
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
    // The key hint is cut at 80 columns and whole at 120.
    assert!(!screen.contains("q: Quit"), "{screen}");

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
    assert!(!screen.contains("q: Quit"), "{screen}");
    assert!(screen.contains("Status: running"), "{screen}");
}

#[tokio::test]
#[ignore = "TUI bug: the execution tab panics in a window under 9 rows (clamp min > max)"]
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
    let screen = tui
        .wait_until("the tab drawn 80 wide again", |s| {
            s.lines()
                .any(|l| l.starts_with('┌') && l.chars().count() == 80)
        })
        .await;
    assert!(screen.contains("sleeper  RUNNING"), "{screen}");
}

#[tokio::test]
#[ignore = "TUI bug: at 80x24 the ? overlay is cut after the Forms keys"]
async fn help_shows_the_keys_at_80x24_and_any_key_closes_it() {
    let daemon = Daemon::start().await;
    let sleeper = daemon.execute("sleeper", &[("seconds", num(60.0))]).await;
    let tui = Tui::start(&daemon.addr).await;
    tui.wait_for(&format!("[{}] sleeper", short(&sleeper.id)))
        .await;
    tui.send_keys(&["?"]).await;
    let screen = tui.wait_for("┌ Keys ").await;
    for key in ["job monitor", "quit", "any key closes this"] {
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
    for key in ["force kill", "any key closes this"] {
        assert!(screen.contains(key), "{key:?} in the key map:\n{screen}");
    }
}

// The run form and the manifest builder (screens/form.rs, manifest.rs)
// land next: these two tests are written against the behaviour asked of
// them and are ignored until then. The key sequences are a best guess.

/// A workflow with a required text field and a bounded number field.
fn greet_program() -> String {
    workflow_script(
        r#"{"id":"greet","name":"Greet","description":"Greets someone.","fields":[{"name":"name","label":"Name","description":"Who to greet","cli_arg":"--name","required":true,"default":null,"field_type":{"type":"text"}},{"name":"times","label":"Times","description":"How often","cli_arg":"--times","required":false,"default":"2","field_type":{"type":"number","min":1,"max":3}}]}"#,
        r#"name="" times=""
while [ $# -gt 0 ]; do
  case "$1" in --name) name="$2"; shift 2 ;; --times) times="$2"; shift 2 ;; *) shift ;; esac
done
echo '__WF_EVENT__:{"type":"phase_started","phase":0,"name":"greet","total_phases":1}' >&2
echo "hello, $name ($times times)"
echo '__WF_EVENT__:{"type":"phase_completed","phase":0,"name":"greet"}' >&2"#,
    )
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

#[tokio::test]
#[ignore = "form/manifest screens land next"]
async fn run_form_shows_the_daemons_violation_at_its_field_then_runs() {
    let daemon = Daemon::builder()
        .program("greet.sh", greet_program())
        .start()
        .await;
    let tui = Tui::start(&daemon.addr).await;
    tui.send_keys(&["l"]).await;
    tui.wait_for("Greet  (2 fields)").await;
    cursor_to(&tui, "greet ").await;
    tui.send_keys(&["Enter"]).await;
    // A field per input.
    let screen = tui.wait_for("Name").await;
    let screen = if screen.contains("Times") {
        screen
    } else {
        tui.wait_for("Times").await
    };
    assert!(screen.contains("Who to greet"), "{screen}");

    // The required field left empty: the daemon's violation at its field,
    // and nothing run.
    tui.send_keys(&["C-s"]).await;
    let screen = tui.wait_for("is required").await;
    let lines: Vec<&str> = screen.lines().collect();
    let field = lines
        .iter()
        .position(|l| l.contains("Name"))
        .expect("the Name field");
    let violation = lines
        .iter()
        .position(|l| l.contains("is required"))
        .expect("the violation");
    assert!(
        (field..=field + 2).contains(&violation),
        "the violation at the Name field:\n{screen}"
    );
    assert!(
        daemon
            .list_executions(Default::default())
            .await
            .executions
            .is_empty(),
        "an invalid form starts nothing"
    );

    // A value, Ctrl-S: the execution opens in a tab and succeeds.
    tui.type_text("otters").await;
    tui.wait_for("otters").await;
    tui.send_keys(&["C-s"]).await;
    let screen = tui.wait_for("greet  SUCCEEDED").await;
    let screen = if screen.contains("hello, otters") {
        screen
    } else {
        tui.wait_for("hello, otters").await
    };
    assert!(screen.contains("✓ Phase 1/1 greet"), "{screen}");
    let executions = daemon.list_executions(Default::default()).await.executions;
    assert_eq!(executions.len(), 1, "{executions:?}");
    let run = &executions[0];
    assert!(screen.contains(short(&run.id)), "its tab:\n{screen}");
    assert_eq!(run.state(), ExecutionState::Succeeded, "{run:?}");
    assert_eq!(
        run.inputs.get("name").map(String::as_str),
        Some("otters"),
        "{run:?}"
    );
}

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
#[ignore = "form/manifest screens land next"]
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
    tui.send_keys(&["Tab"]).await;
    tui.type_text(disk.to_str().unwrap()).await;
    tui.wait_for("web.raw").await;

    // Pipeline (hyperctl's default stages), Output: qcow2.
    tui.send_keys(&["Enter"]).await;
    tui.wait_for("Step 2/4").await;
    tui.send_keys(&["Enter"]).await;
    tui.wait_for("Step 3/4").await;
    cursor_to(&tui, "qcow2").await;
    tui.send_keys(&["Space"]).await;
    tui.send_keys(&["Enter"]).await;

    // Review: ValidateManifest says valid; `s` submits and opens the run.
    tui.wait_for("Step 4/4").await;
    let screen = tui.wait_until("the manifest valid", says_valid).await;
    assert!(screen.contains("qcow2"), "{screen}");
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
