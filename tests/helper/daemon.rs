//! [`Daemon`]: a running `workflowd` process on its own temp dir, its
//! paths and signals, and the clean-up when a test ends.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::{Duration, Instant},
};

use super::delegated_cgroup;
use super::*;
use rustix::process::{kill_process, kill_process_group, Pid, Signal};
use tempfile::TempDir;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};
use tonic::transport::{Channel, ClientTlsConfig};
use tonic_health::pb::health_client::HealthClient;
use workflow_manager::pb::workflow_service_client::WorkflowServiceClient;
use workflow_manager::process;

/// File name of the Unix socket in the daemon's temp dir
/// ([`DaemonBuilder::unix_socket_only`]).
pub(super) const UNIX_SOCKET_NAME: &str = "daemon.sock";

pub(super) fn path_arg(path: &Path) -> String {
    path.to_str().expect("utf-8 path").to_string()
}

/// A running `workflowd` process and a client connected to it. Dropping it
/// kills the daemon and its workflow programs and removes its temp dir; when
/// the test panicked, the tail of the daemon's log is printed first.
pub struct Daemon {
    pub(super) root: TempDir,
    pub(super) command_line: Vec<String>,
    pub(super) env: Vec<(String, String)>,
    pub(super) child: Option<Child>,
    pub(super) channel: Channel,
    pub(super) client: Client,
    /// How the harness's own connection does TLS, when the daemon serves it.
    pub(super) tls: Option<ClientTlsConfig>,
    /// `127.0.0.1:PORT` the daemon listens on (`unix:PATH` when it serves
    /// only its Unix socket).
    pub addr: String,
}

/// The daemon's command line `args` (program first) with `env`, its stderr
/// appended to the temp dir's `daemon.log`.
pub(super) fn command(root: &Path, args: &[String], env: &[(String, String)]) -> Command {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.join("daemon.log"))
        .expect("open daemon log");
    let (program, args) = args.split_first().expect("a command line");
    let mut command = Command::new(program);
    // Only what the test asks for configures the daemon under test.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("WORKFLOWD_") {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .envs(env.iter().map(|(name, value)| (name, value)))
        .current_dir(root.join("files"))
        .env("HOME", root.join("home"))
        .env("XDG_CONFIG_HOME", root.join("home/.config"))
        .env("XDG_DATA_HOME", root.join("home/.local/share"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true);
    if let Some(group) = delegated_cgroup::for_daemon(root) {
        delegated_cgroup::start_in(&mut command, &group);
    }
    command
}

/// Starts the daemon binary and waits for its `listening on ADDR` line;
/// connects over TLS with `tls` when given.
pub(super) async fn spawn(
    root: &Path,
    args: &[String],
    env: &[(String, String)],
    tls: Option<&ClientTlsConfig>,
) -> (Child, String, Channel) {
    let mut child = command(root, args, env).spawn().expect("spawn workflowd");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    // A standby says where it listens only once it takes over, which the
    // test decides: it gets longer.
    let within = if args.iter().any(|a| a == "--standby") {
        DEADLINE * 5
    } else {
        DEADLINE
    };
    let first = tokio::time::timeout(within, lines.next_line()).await;
    let line = match first {
        Ok(Ok(Some(line))) => line,
        other => {
            let _ = child.start_kill();
            panic!(
                "workflowd {args:?} did not print its address ({other:?}); log:\n{}",
                log_tail(root)
            );
        }
    };
    let addr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first stdout line {line:?}"))
        .trim()
        .replace("0.0.0.0:", "127.0.0.1:");
    assert!(
        (addr.starts_with("127.0.0.1:") && !addr.ends_with(":0")) || addr.starts_with("unix:/"),
        "bad address {addr:?}"
    );
    // Keep the pipe drained so the daemon can never block on stdout.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let uri = if addr.starts_with("unix:") {
        addr.clone()
    } else if tls.is_some() {
        format!("https://{addr}")
    } else {
        format!("http://{addr}")
    };
    let mut endpoint = tonic::transport::Endpoint::from_shared(uri).expect("valid uri");
    if let Some(tls) = tls {
        endpoint = endpoint
            .tls_config(tls.clone())
            .expect("a TLS configuration");
    }
    let channel = endpoint
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}; log:\n{}", log_tail(root)));
    (child, addr, channel)
}

/// The last lines of the daemon's stderr log.
fn log_tail(root: &Path) -> String {
    let text = fs::read_to_string(root.join("daemon.log")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(150)..].join("\n")
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SIGKILL, not SIGTERM: a graceful shutdown would wait for this
        // test's own gRPC connection, which nothing polls while Drop blocks.
        // Kill the workflow programs first so no test leaves any behind,
        // with the daemon stopped meanwhile: running, it could start a
        // queued execution between the kill of its programs and its own.
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                stop_and_wait(pid as i32);
                kill_child_groups(pid as i32);
            }
            let _ = child.start_kill();
            // Reap it, so no zombie outlives the test binary.
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            // A killed daemon cannot remove its control groups (runs with
            // limits get them): the next daemon on this data would, and
            // there is none, so the test does.
            if let Some(group) = delegated_cgroup::for_daemon(self.root.path()) {
                delegated_cgroup::remove(&group);
            } else if let Ok(cgroups) =
                workflow_manager::cgroups::Cgroups::for_daemon(&self.data_dir())
            {
                cgroups.remove_leftovers();
            }
        }
        if std::thread::panicking() {
            eprintln!(
                "---- workflowd log ({}) ----\n{}",
                self.root.path().display(),
                log_tail(self.root.path())
            );
        }
    }
}

/// SIGSTOPs `pid` and waits (up to 2 s) until every thread of it is
/// stopped, so it starts nothing more.
fn stop_and_wait(pid: i32) {
    let Some(process) = rustix::process::Pid::from_raw(pid) else {
        return;
    };
    if rustix::process::kill_process(process, rustix::process::Signal::STOP).is_err() {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
            return;
        };
        let all_stopped = tasks.flatten().all(|task| {
            fs::read_to_string(task.path().join("stat"))
                .ok()
                .and_then(|stat| {
                    let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
                    Some(matches!(state, "T" | "t" | "Z" | "X"))
                })
                .unwrap_or(true)
        });
        if all_stopped {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// SIGKILLs the children of `parent` and the process groups they lead (the
/// workflow programs run in their own groups), never the test's own group.
fn kill_child_groups(parent: i32) {
    let own_group = rustix::process::getpgrp().as_raw_pid();
    let Ok(entries) = fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Some(stat) = process::stat_from_state(pid) else {
            continue;
        };
        // State, ppid, pgrp, ...
        let fields: Vec<&str> = stat.split_whitespace().collect();
        if fields.get(1).and_then(|p| p.parse::<i32>().ok()) != Some(parent) {
            continue;
        }
        if let Some(group) = fields.get(2).and_then(|g| g.parse::<i32>().ok()) {
            if let Some(group) = Pid::from_raw(group).filter(|g| !g.is_init()) {
                if group.as_raw_pid() != own_group {
                    let _ = kill_process_group(group, Signal::KILL);
                }
            }
        }
        if let Some(pid) = Pid::from_raw(pid) {
            let _ = kill_process(pid, Signal::KILL);
        }
    }
}

impl Daemon {
    /// Starts a daemon with the example workflows and default limits.
    pub async fn start() -> Daemon {
        Self::builder().start().await
    }

    /// A client connected to the daemon.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The connection the client uses (for clients of other kinds).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// A gRPC health client on the same connection.
    pub fn health(&self) -> HealthClient<Channel> {
        HealthClient::new(self.channel.clone())
    }

    /// The `--data-dir` of the daemon.
    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// The data directory as the daemon sees it: on its tmpfs when it has
    /// one ([`DaemonBuilder::data_on_tmpfs`]), reached through its root in
    /// /proc.
    pub fn data_dir_as_seen_by_daemon(&self) -> PathBuf {
        let pid = self.pid();
        let data = self.data_dir();
        PathBuf::from(format!("/proc/{pid}/root")).join(data.strip_prefix("/").unwrap_or(&data))
    }

    /// The running daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .and_then(Child::id)
            .expect("daemon is running")
    }

    /// The Unix socket of a daemon started with
    /// [`DaemonBuilder::unix_socket_only`].
    pub fn unix_socket(&self) -> PathBuf {
        self.root.path().join(UNIX_SOCKET_NAME)
    }

    /// Everything the daemon wrote to stderr (its log) so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.root.path().join("daemon.log")).unwrap_or_default()
    }

    /// The first admin token a daemon with `--auth tokens` wrote.
    pub fn admin_token(&self) -> String {
        let path = self.data_dir().join("admin.token");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("the first admin token in {}: {e}", path.display()))
            .trim()
            .to_string()
    }

    /// The fixture workflow directory the daemon watches.
    pub fn workflows_dir(&self) -> PathBuf {
        self.root.path().join("workflows")
    }

    /// A scratch directory on the same file system, outside any workflow
    /// dir; a source root of the daemon.
    pub fn staging_dir(&self) -> PathBuf {
        self.root.path().join("staging")
    }

    /// The daemon's output directory, unless the test passed its own
    /// `--output-dir`.
    pub fn output_dir(&self) -> PathBuf {
        self.root.path().join("output")
    }

    /// A path for a scratch file (pid files, gates, input files); the
    /// directory is a source root of the daemon.
    pub fn file(&self, name: &str) -> PathBuf {
        self.root.path().join("files").join(name)
    }

    /// How many of the daemon's threads run programs ("workflow-worker").
    pub fn worker_threads(&self) -> usize {
        let pid = self.pid();
        let tasks = fs::read_dir(format!("/proc/{pid}/task")).expect("the daemon's threads");
        tasks
            .flatten()
            .filter(|task| {
                fs::read_to_string(task.path().join("comm"))
                    .is_ok_and(|name| name.trim_end() == "workflow-worker")
            })
            .count()
    }

    /// Sends SIGTERM and waits for the daemon to exit.
    pub async fn terminate(&mut self) -> ExitStatus {
        self.send_sigterm();
        self.wait_exit().await
    }

    /// Sends SIGTERM without waiting.
    pub fn send_sigterm(&self) {
        self.send_signal(Signal::TERM);
    }

    /// Sends `signal` to the daemon without waiting.
    pub fn send_signal(&self, signal: Signal) {
        let pid = Pid::from_raw(self.pid() as i32).expect("a daemon's pid is positive");
        kill_process(pid, signal).unwrap_or_else(|e| panic!("send {signal:?}: {e}"));
    }

    /// Waits for the daemon to exit on its own.
    pub async fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("daemon is running");
        tokio::time::timeout(DEADLINE, child.wait())
            .await
            .expect("daemon exits after SIGTERM")
            .expect("wait for daemon")
    }

    /// Kills the daemon with SIGKILL and waits for it to be gone.
    pub async fn kill9(&mut self) {
        let mut child = self.child.take().expect("daemon is running");
        child.start_kill().expect("send SIGKILL");
        child.wait().await.expect("wait for daemon");
    }

    /// Starts the daemon again on the same data dir with the same flags
    /// and `flags` added (for this start and the next).
    pub async fn restart_adding(&mut self, flags: &[String]) {
        self.command_line.extend_from_slice(flags);
        self.restart().await;
    }

    /// Starts the daemon again on the same data dir with the same flags.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the daemon before restarting it");
        let (child, addr, channel) = spawn(
            self.root.path(),
            &self.command_line,
            &self.env,
            self.tls.as_ref(),
        )
        .await;
        self.client = WorkflowServiceClient::new(channel.clone());
        self.channel = channel;
        self.addr = addr;
        self.child = Some(child);
    }
}
