//! `wfctl tui` under load, the real binary in a real terminal (tmux):
//! - frame time (the hidden `--frame-times FILE` flag logs each frame's
//!   draw, terminal write included) with 1,000 executions in the job
//!   monitor and a program printing 10,000 lines/s followed in a tab, then
//!   with that tab shown, against the same key-driven redraws of the idle
//!   dashboard (the baseline);
//! - CPU of `wfctl tui` while nothing changes, against `wfctl status` run
//!   once a second (what a user would do without it), both for the same
//!   time.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{self, Daemon};

/// The terminal session the TUI runs in, on a private tmux server.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(address: &str, frame_log: &Path) -> Tmux {
        let socket = format!("wf-bench-tui-{}", std::process::id());
        let status = Command::new("tmux")
            .args(["-L", &socket, "new-session", "-d", "-x", "120", "-y", "40"])
            .args(["-e", &format!("WORKFLOWD_ADDR={address}")])
            .arg(env!("CARGO_BIN_EXE_wfctl"))
            .arg("tui")
            .arg("--frame-times")
            .arg(frame_log)
            .status()
            .expect("tmux (the test command installs it)");
        assert!(status.success(), "tmux new-session failed");
        let tmux = Tmux { socket };
        tmux.wait_for("Workers:", Duration::from_secs(10));
        tmux
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "0"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "0"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, text: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no {text:?} on the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The pid of `wfctl tui` (the pane's process: it is run without a
    /// shell).
    fn pid(&self) -> i32 {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "display-message",
                "-p",
                "-t",
                "0",
                "#{pane_pid}",
            ])
            .output()
            .expect("tmux display-message");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("pane pid")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// A program printing `rate` lines a second for `seconds`, in bursts of
/// one hundredth of a second.
const PACED: &str = r#"#!/bin/sh
if [ "$1" = "--workflow-metadata" ]; then
  echo '{"id":"paced","name":"Paced","description":"Prints lines at a steady rate.","fields":[{"name":"rate","label":"Rate","description":"lines/s","cli_arg":"--rate","required":true,"default":null,"field_type":{"type":"number"}},{"name":"seconds","label":"Seconds","description":"how long","cli_arg":"--seconds","required":true,"default":null,"field_type":{"type":"number"}}]}'
  exit 0
fi
exec python3 -c '
import sys, time
rate, seconds = int(sys.argv[2]), float(sys.argv[4])
burst = max(1, rate // 100)
start = time.monotonic(); n = 0
while time.monotonic() - start < seconds:
    for _ in range(burst):
        n += 1
        sys.stdout.write("line %d of a program printing %d lines a second\n" % (n, rate))
    sys.stdout.flush()
    time.sleep(max(0.0, start + n / rate - time.monotonic()))
' "$@"
"#;

/// Frame times logged since `from` lines into the log: p50, p99, max in ms
/// and the count.
fn frame_stats(log: &Path, from: usize) -> (f64, f64, f64, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut micros: Vec<u64> = text
        .lines()
        .skip(from)
        .filter_map(|l| l.parse().ok())
        .collect();
    micros.sort_unstable();
    assert!(!micros.is_empty(), "no frames logged in {}", log.display());
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
    (at(0.5), at(0.99), at(1.0), micros.len())
}

fn frames_logged(log: &Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |t| t.lines().count())
}

/// Presses Down `presses` times, 20 ms apart: the same redraws on every
/// screen measured, driven by keys.
fn press_down(tmux: &Tmux, presses: usize) {
    for _ in 0..presses {
        tmux.keys(&["Down"]);
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) async fn tui(executions: usize, rate: usize, seconds: u64) {
    let workflows = harness::tempdir::TempDir::new("tui-workflows");
    std::fs::copy(
        harness::examples_dir().join("hello.sh"),
        workflows.0.join("hello.sh"),
    )
    .expect("copy hello");
    let paced = workflows.0.join("paced.sh");
    std::fs::write(&paced, PACED).expect("write paced.sh");
    std::fs::set_permissions(&paced, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let data = harness::tempdir::TempDir::new("tui");
    let data_dir = data.0.clone();
    let daemon = Daemon::spawn(data, &data_dir, &workflows.0, &[]).await;
    let address = daemon.address.trim_start_matches("http://").to_string();
    let mut client = daemon.client().await;

    // 1,000 finished executions for the job monitor's Completed tab.
    let mut pending = futures_util::stream::FuturesUnordered::new();
    for _ in 0..executions {
        let mut client = client.clone();
        pending.push(async move {
            harness::run_and_wait(&mut client, "hello", &[("name", "bench")]).await
        });
        if pending.len() >= 32 {
            futures_util::StreamExt::next(&mut pending).await;
        }
    }
    while futures_util::StreamExt::next(&mut pending).await.is_some() {}

    let frame_log = workflows.0.join("frames.log");
    let tmux = Tmux::start(&address, &frame_log);
    let pid = tmux.pid();

    // Baseline: key-driven redraws of the idle dashboard.
    let from = frames_logged(&frame_log);
    press_down(&tmux, 200);
    let baseline = frame_stats(&frame_log, from);

    // The job monitor's Completed tab with every execution listed, while
    // a chatty program is followed in a tab (streamed, not drawn).
    let chatty = harness::execute(
        &mut client,
        "paced",
        &[
            ("rate", &rate.to_string()),
            ("seconds", &seconds.to_string()),
        ],
    )
    .await;
    tmux.keys(&["j"]);
    tmux.wait_for("Active", Duration::from_secs(5));
    tmux.keys(&["Tab", "Tab"]);
    tmux.wait_for(
        &format!("Completed ({executions})"),
        Duration::from_secs(10),
    );
    // Open the chatty one from the Active tab, then back to Completed.
    tmux.keys(&["BTab", "BTab"]);
    tmux.wait_for("paced", Duration::from_secs(10));
    tmux.keys(&["Enter"]);
    tmux.wait_for("following", Duration::from_secs(10));
    tmux.keys(&["j", "Tab", "Tab"]);
    tmux.wait_for(
        &format!("Completed ({executions})"),
        Duration::from_secs(10),
    );
    let from = frames_logged(&frame_log);
    press_down(&tmux, 200);
    let listed = frame_stats(&frame_log, from);

    // The chatty program's tab shown: frames driven by its log.
    tmux.keys(&["1"]);
    let from = frames_logged(&frame_log);
    let cpu_before = harness::process_cpu(pid);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds.saturating_sub(3).max(3))).await;
    let streaming_cpu = (harness::process_cpu(pid) - cpu_before) / started.elapsed().as_secs_f64();
    let streaming = frame_stats(&frame_log, from);
    let ended = client
        .wait_execution(workflow_manager::pb::WaitExecutionRequest {
            execution_id: chatty.id.clone(),
        })
        .await
        .expect("wait")
        .into_inner()
        .execution
        .expect("execution");
    let lines = ended.log_counts.map_or(0, |c| c.stdout_lines);

    // Idle: the dashboard with nothing changing.
    tmux.keys(&["w"]);
    tmux.wait_for("no jobs running", Duration::from_secs(10));
    let idle_for = Duration::from_secs(20);
    let before = harness::process_cpu(pid);
    let started = Instant::now();
    tokio::time::sleep(idle_for).await;
    let idle_cpu = (harness::process_cpu(pid) - before) / started.elapsed().as_secs_f64();

    // Baseline: `wfctl status` once a second for as long.
    let before = harness::reaped_children_cpu();
    let started = Instant::now();
    while started.elapsed() < idle_for {
        let tick = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_wfctl"))
            .args(["--addr", &address, "status"])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("wfctl status");
        assert!(status.success());
        std::thread::sleep(Duration::from_secs(1).saturating_sub(tick.elapsed()));
    }
    let status_cpu = (harness::reaped_children_cpu() - before) / started.elapsed().as_secs_f64();
    drop(tmux);
    daemon.stop().await;

    let ms = |(p50, p99, max, n): (f64, f64, f64, usize)| {
        format!("p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms ({n} frames)")
    };
    println!(
        "tui frame time, idle dashboard, 200 key presses (baseline): {}",
        ms(baseline)
    );
    println!(
        "tui frame time, job monitor with {executions} listed, a {rate} lines/s log followed: {} ({:.2}x the baseline's p99)",
        ms(listed),
        listed.1 / baseline.1
    );
    println!(
        "tui frame time, that log's tab shown ({lines} lines in {seconds} s): {} ({:.2}x the baseline's p99); wfctl CPU {:.1}% of a core",
        ms(streaming),
        streaming.1 / baseline.1,
        streaming_cpu * 100.0
    );
    println!(
        "tui CPU idle on the dashboard: {:.2}% of a core; `wfctl status` every second: {:.2}% ({:.2}x)",
        idle_cpu * 100.0,
        status_cpu * 100.0,
        idle_cpu / status_cpu
    );
}
