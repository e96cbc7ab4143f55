//! [`Tui`]: the real `wfctl tui` in a detached tmux session of its own,
//! driven by keys (`send-keys`) and read back from the screen
//! (`capture-pane`), the only signal a full-screen program gives.
//!
//! Each session runs on a private tmux server (`-S`, a socket in a temp
//! dir of the test's own, no config file), so tests never touch the user's
//! tmux, run in parallel and leave no socket behind. The pane runs `wfctl
//! tui`, then prints `EXITED <code>` and the terminal's modes, then idles,
//! so a test can see how wfctl ended and what it left behind. Dropping the
//! [`Tui`] kills its server.

use std::{
    fs,
    path::PathBuf,
    process::Output,
    time::{Duration, Instant},
};

use rustix::process::{kill_process, Pid, Signal};
use tempfile::TempDir;
use workflow_manager::process;

/// How often [`Tui::wait_for`] reads the screen.
const POLL_EVERY: Duration = Duration::from_millis(25);

/// Upper bound for one change of the screen: the TUI polls the daemon
/// once a second, so anything it learns shows within a few seconds.
pub const SCREEN_DEADLINE: Duration = Duration::from_secs(15);

/// How a [`Tui`] starts.
pub struct TuiOptions {
    /// Columns and rows of the window.
    pub size: (u16, u16),
    /// Whether NO_COLOR=1 is set (wfctl draws without colours).
    pub no_color: bool,
    /// Flags after `wfctl tui`.
    pub args: Vec<String>,
}

impl Default for TuiOptions {
    fn default() -> Self {
        TuiOptions {
            size: (80, 24),
            no_color: true,
            args: Vec::new(),
        }
    }
}

/// `wfctl tui` running in a detached tmux session.
pub struct Tui {
    /// The server's socket, in `_dir`.
    socket: PathBuf,
    _dir: TempDir,
}

/// The session's name on its private server.
const SESSION: &str = "tui";

impl Tui {
    /// Starts `wfctl tui` against the daemon at `addr` in an 80x24 window
    /// without colours.
    pub async fn start(addr: &str) -> Tui {
        Tui::start_with(addr, TuiOptions::default()).await
    }

    /// Starts `wfctl tui` against `addr` as `options` say, and waits until
    /// it has drawn its first screen (the tab bar).
    pub async fn start_with(addr: &str, options: TuiOptions) -> Tui {
        // A short path: a Unix socket's is limited to 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("wfctl-tui-")
            .tempdir_in("/tmp")
            .expect("create the tmux dir");
        let tui = Tui {
            socket: dir.path().join("tmux.sock"),
            _dir: dir,
        };
        let wfctl = env!("CARGO_BIN_EXE_wfctl");
        // tmux sets TERM in the pane itself; the rest is set here so that
        // nothing of the test's own environment configures wfctl.
        let no_color = if options.no_color {
            "NO_COLOR=1"
        } else {
            "-u NO_COLOR"
        };
        let args: String = options
            .args
            .iter()
            .map(|a| format!(" {}", shell_quote(a)))
            .collect();
        let script = format!(
            "env -u WFCTL_ADDR {no_color} WORKFLOWD_ADDR={addr} TERM=xterm-256color {wfctl} tui{args}\n\
             echo \"EXITED $?\"\n\
             stty -a | tr ' ;' '\\n\\n' | grep -E '^-?(icanon|echo|isig)$' | tr '\\n' ' '\n\
             echo\n\
             exec sleep 86400",
            addr = shell_quote(addr),
            wfctl = shell_quote(wfctl),
        );
        let (width, height) = options.size;
        let (width, height) = (width.to_string(), height.to_string());
        tui.tmux(&[
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            &width,
            "-y",
            &height,
            "/bin/sh",
            "-c",
            &script,
        ])
        .await;
        tui.wait_for(" w Dashboard ").await;
        tui
    }

    /// Runs tmux on this session's server and expects success.
    async fn tmux(&self, args: &[&str]) -> Output {
        let output = tokio::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .kill_on_drop(true)
            .output()
            .await
            .expect("tmux is installed (apt-get install tmux)");
        assert!(
            output.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Sends keys, as tmux names them (`j`, `Tab`, `Enter`, `Down`, `C-s`).
    pub async fn send_keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        self.tmux(&args).await;
    }

    /// Types `text` literally, character by character.
    pub async fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", SESSION, "-l", text]).await;
    }

    /// The screen as text, one line per row.
    pub async fn capture(&self) -> String {
        let output = self.tmux(&["capture-pane", "-p", "-t", SESSION]).await;
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The screen with its colours and attributes as escape sequences.
    pub async fn capture_styled(&self) -> String {
        let output = self
            .tmux(&["capture-pane", "-e", "-p", "-t", SESSION])
            .await;
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A tmux format of the pane, e.g. `#{alternate_on}`.
    pub async fn pane_format(&self, format: &str) -> String {
        let output = self
            .tmux(&["display-message", "-p", "-t", SESSION, format])
            .await;
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// Waits until the screen contains `text`; returns the screen.
    pub async fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?} on the screen"), |screen| {
            screen.contains(text)
        })
        .await
    }

    /// Waits until the screen no longer contains `text`; returns the screen.
    pub async fn wait_gone(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?} gone from the screen"), |screen| {
            !screen.contains(text)
        })
        .await
    }

    /// Waits until `check` holds for the screen, reading it every 25 ms;
    /// fails after [`SCREEN_DEADLINE`] with the last screen.
    pub async fn wait_until(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + SCREEN_DEADLINE;
        loop {
            let screen = self.capture().await;
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {SCREEN_DEADLINE:?} waiting for {what}; the screen:\n{screen}"
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Resizes the window (and its one pane).
    pub async fn resize(&self, width: u16, height: u16) {
        let (width, height) = (width.to_string(), height.to_string());
        self.tmux(&["resize-window", "-t", SESSION, "-x", &width, "-y", &height])
            .await;
    }

    /// The pid of the `wfctl tui` process: the child of the pane's shell.
    pub async fn wfctl_pid(&self) -> i32 {
        let shell: i32 = self
            .pane_format("#{pane_pid}")
            .await
            .parse()
            .expect("a pane pid");
        children(shell)
            .into_iter()
            .find(|&pid| {
                fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.trim_end() == "wfctl")
            })
            .unwrap_or_else(|| panic!("no wfctl process under the pane's shell {shell}"))
    }

    /// Sends `signal` to the `wfctl tui` process.
    pub async fn signal_wfctl(&self, signal: Signal) {
        let pid = Pid::from_raw(self.wfctl_pid().await).expect("a positive pid");
        kill_process(pid, signal).unwrap_or_else(|e| panic!("send {signal:?} to wfctl: {e}"));
    }

    /// Waits until wfctl has exited; returns its exit code and the line
    /// of terminal modes (`icanon echo isig` when restored) printed after.
    pub async fn wait_exit(&self) -> (i32, String) {
        let screen = self
            .wait_until("wfctl to exit (EXITED and the terminal modes)", |s| {
                exit_lines(s).is_some()
            })
            .await;
        exit_lines(&screen).expect("checked above")
    }
}

/// The exit code and the terminal modes the pane printed after wfctl.
fn exit_lines(screen: &str) -> Option<(i32, String)> {
    let mut lines = screen.lines().skip_while(|l| !l.starts_with("EXITED "));
    let code = lines.next()?.strip_prefix("EXITED ")?.trim().parse().ok()?;
    let modes = lines.next()?.trim().to_string();
    (!modes.is_empty()).then_some((code, modes))
}

/// The pids whose parent is `parent`.
fn children(parent: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            process::stat_from_state(pid).is_some_and(|stat| {
                stat.split_whitespace().nth(1).and_then(|p| p.parse().ok()) == Some(parent)
            })
        })
        .collect()
}

/// `text` in single quotes for sh.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

impl Drop for Tui {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Ok(output) = std::process::Command::new("tmux")
                .arg("-S")
                .arg(&self.socket)
                .args(["capture-pane", "-p", "-t", SESSION])
                .output()
            {
                eprintln!(
                    "---- wfctl tui screen ----\n{}",
                    String::from_utf8_lossy(&output.stdout)
                );
            }
        }
        // The server's end hangs up the pane: wfctl and the shell go too.
        let _ = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .env_remove("TMUX")
            .output();
    }
}
