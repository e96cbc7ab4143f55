//! Fixtures for the integration tests: a real `workflowd` process serving gRPC on
//! loopback with its own temporary directory (data dir, fixture workflow dir,
//! scratch files), plus helpers that drive it and wait on real signals: stream
//! events, process exit, and (only where nothing signals) polling with a deadline.

use std::{
    collections::HashMap,
    fs,
    future::Future,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::{Duration, Instant, SystemTime},
};

use prost_types::{value::Kind, Timestamp, Value};
use rustix::process::{kill_process, kill_process_group, Pid, Signal};
use tempfile::TempDir;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};
use tonic::{transport::Channel, Status};
use tonic_health::pb::health_client::HealthClient;
use workflow_manager::pb::workflow_service_client::WorkflowServiceClient;
pub use workflow_manager::pb::{self, log_event::Payload, ExecutionState, LogEvent};
use workflow_manager::process;

/// The generated gRPC client of the workflow service.
pub type Client = WorkflowServiceClient<Channel>;

/// Upper bound for any single wait of a test (daemon start, a whole run, ...).
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Upper bound for changes that only show up by polling (hot reload).
pub const POLL_DEADLINE: Duration = Duration::from_secs(10);

/// Every payload of one variant in a list of events, e.g. `of!(events, Killed)`.
macro_rules! of {
    ($events:expr, $variant:ident) => {
        $events
            .iter()
            .filter_map(|e| match e.payload.as_ref() {
                Some($crate::helper::Payload::$variant(p)) => Some(p),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
}

/// The directory of the example workflows shipped with the crate.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/workflows")
}

/// Path of an example workflow program, canonicalized.
pub fn example(file_name: &str) -> PathBuf {
    examples_dir()
        .join(file_name)
        .canonicalize()
        .expect("example exists")
}

/// Configures a daemon before it starts.
pub struct DaemonBuilder {
    default_dirs: bool,
    programs: Vec<(String, String)>,
    extra_dirs: Vec<PathBuf>,
    flags: Vec<String>,
    env: Vec<(String, String)>,
    config_file: Option<(String, String)>,
    data_tmpfs_bytes: Option<u64>,
    without_permission_override: bool,
    shutdown_grace_secs: u32,
    binary: Option<PathBuf>,
    umask: Option<u32>,
    unix_socket_only: bool,
    listen: Option<String>,
}

impl DaemonBuilder {
    /// Passes no `--workflow-dir` at all, so the daemon uses its defaults.
    pub fn default_dirs(mut self) -> Self {
        self.default_dirs = true;
        self
    }

    /// Writes an executable program into the fixture workflow directory before
    /// the daemon starts.
    pub fn program(mut self, file_name: &str, script: String) -> Self {
        self.programs.push((file_name.to_string(), script));
        self
    }

    /// Adds one more `--workflow-dir`.
    pub fn workflow_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.extra_dirs.push(dir.into());
        self
    }

    /// Sets `--max-concurrent-jobs`.
    pub fn max_jobs(self, jobs: u32) -> Self {
        self.flag("--max-concurrent-jobs", jobs)
    }

    /// Sets `--max-queue`.
    pub fn max_queue(self, queued: u32) -> Self {
        self.flag("--max-queue", queued)
    }

    /// Sets `--shutdown-grace-period` (2 s unless changed, to keep tests short).
    pub fn shutdown_grace(mut self, secs: u32) -> Self {
        self.shutdown_grace_secs = secs;
        self
    }

    /// Starts this `workflowd` executable instead of the one cargo built
    /// (say a copy alone in a directory, as a user installs it).
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// Adds a flag with a value.
    pub fn flag(mut self, name: &str, value: impl ToString) -> Self {
        self.flags.push(name.to_string());
        self.flags.push(value.to_string());
        self
    }

    /// Adds a flag without a value.
    pub fn switch(mut self, name: &str) -> Self {
        self.flags.push(name.to_string());
        self
    }

    /// Sets an environment variable of the daemon (the test's own
    /// `WORKFLOWD_*` variables are never passed on).
    pub fn env(mut self, name: &str, value: impl ToString) -> Self {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Writes `contents` into `file_name` in the daemon's temp dir and passes
    /// it with `--config`.
    pub fn config_file(mut self, file_name: &str, contents: &str) -> Self {
        self.config_file = Some((file_name.to_string(), contents.to_string()));
        self
    }

    /// Puts the data directory (history, working directories) on a tmpfs of
    /// `bytes`, mounted in a mount namespace of the daemon's own (through
    /// util-linux's `unshare`, no root needed), so a test can fill it up:
    /// see [`Daemon::data_dir_as_seen_by_daemon`]. The tmpfs lives as long
    /// as the daemon process: a restart starts on an empty one.
    pub fn data_on_tmpfs(mut self, bytes: u64) -> Self {
        self.data_tmpfs_bytes = Some(bytes);
        self
    }

    /// Runs the daemon without the capabilities that let root read and
    /// write any file whatever its permissions (CAP_DAC_OVERRIDE,
    /// CAP_DAC_READ_SEARCH), as a daemon run by a normal user is, so a test
    /// can show what it does with a file it may not read. Only needed when
    /// the tests hold those capabilities: util-linux's `setpriv` then drops
    /// them from the bounding set, and the daemon loses them at exec.
    pub fn without_permission_override(mut self) -> Self {
        self.without_permission_override = true;
        self
    }

    /// Starts the daemon with this umask (through `sh -c 'umask ...; exec'`),
    /// e.g. 0 to show that what it creates does not depend on the umask.
    pub fn umask(mut self, umask: u32) -> Self {
        self.umask = Some(umask);
        self
    }

    /// Serves no TCP port (`--listen none`), only the Unix socket
    /// [`Daemon::unix_socket`]; the client connects through it.
    pub fn unix_socket_only(mut self) -> Self {
        self.unix_socket_only = true;
        self
    }

    /// Passes `--listen ADDRESS` instead of `127.0.0.1:0` (a daemon on
    /// `0.0.0.0` is reached through 127.0.0.1).
    pub fn listen(mut self, address: &str) -> Self {
        self.listen = Some(address.to_string());
        self
    }

    /// Creates the temp dir, writes the fixture programs, starts the daemon and
    /// connects to it.
    pub async fn start(self) -> Daemon {
        let (root, command_line, env) = self.prepare();
        let (child, addr, channel) = spawn(root.path(), &command_line, &env).await;
        Daemon {
            client: WorkflowServiceClient::new(channel.clone()),
            channel,
            addr,
            child: Some(child),
            command_line,
            env,
            root,
        }
    }

    /// Starts a daemon that is expected to refuse to start; returns its exit
    /// status and everything it wrote to stderr.
    pub async fn start_expecting_failure(self) -> (ExitStatus, String) {
        let (root, command_line, env) = self.prepare();
        let mut child = command(root.path(), &command_line, &env)
            .spawn()
            .expect("spawn workflowd");
        // A daemon that starts prints its address; one that refuses closes
        // stdout without a word and exits.
        let stdout = child.stdout.take().expect("stdout is piped");
        let first = tokio::time::timeout(DEADLINE, BufReader::new(stdout).lines().next_line())
            .await
            .expect("workflowd neither started nor exited");
        if let Ok(Some(line)) = first {
            panic!("workflowd {command_line:?} started although it should not have: {line}");
        }
        let status = tokio::time::timeout(DEADLINE, child.wait())
            .await
            .expect("workflowd exits after refusing to start")
            .expect("wait for workflowd");
        let stderr = fs::read_to_string(root.path().join("daemon.log")).unwrap_or_default();
        (status, stderr)
    }

    /// Creates the temp dir with the fixture programs and config file; returns
    /// it with the daemon's command line (program first) and environment.
    fn prepare(self) -> (TempDir, Vec<String>, Vec<(String, String)>) {
        let root = tempfile::Builder::new()
            .prefix("workflowd-test-")
            .tempdir()
            .expect("create temp dir");
        for dir in ["data", "workflows", "home", "files", "staging"] {
            fs::create_dir_all(root.path().join(dir)).expect("create test dir");
        }
        let workflows = root.path().join("workflows");
        for (name, script) in &self.programs {
            write_program(&workflows, name, script);
        }
        let listen = if self.unix_socket_only {
            vec![
                "--listen".into(),
                "none".into(),
                "--unix-socket".into(),
                path_arg(&root.path().join(UNIX_SOCKET_NAME)),
            ]
        } else {
            let address = self.listen.clone().unwrap_or_else(|| "127.0.0.1:0".into());
            vec!["--listen".into(), address]
        };
        let binary = self
            .binary
            .as_deref()
            .map(path_arg)
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_workflowd").into());
        let mut args: Vec<String> = vec![binary];
        args.extend(listen);
        args.extend([
            "--data-dir".into(),
            path_arg(&root.path().join("data")),
            "--shutdown-grace-period".into(),
            self.shutdown_grace_secs.to_string(),
        ]);
        if !self.default_dirs {
            args.extend(["--workflow-dir".into(), path_arg(&examples_dir())]);
            args.extend(["--workflow-dir".into(), path_arg(&workflows)]);
            for dir in &self.extra_dirs {
                args.extend(["--workflow-dir".into(), path_arg(dir)]);
            }
        }
        // The operator's policy (docs/security.md): the test's scratch and
        // staging files are source roots; outputs go to <root>/output unless
        // the test names its own output directory.
        for source_root in ["files", "staging"] {
            args.extend([
                "--source-root".into(),
                path_arg(&root.path().join(source_root)),
            ]);
        }
        if !self.flags.iter().any(|f| f == "--output-dir") {
            args.extend(["--output-dir".into(), path_arg(&root.path().join("output"))]);
        }
        if let Some((file_name, contents)) = &self.config_file {
            let path = root.path().join(file_name);
            fs::write(&path, contents).expect("write config file");
            args.extend(["--config".into(), path_arg(&path)]);
        }
        args.extend(self.flags);
        if let Some(bytes) = self.data_tmpfs_bytes {
            // unshare runs sh in new user and mount namespaces; sh mounts the
            // tmpfs over the data directory, then becomes the daemon.
            let data = path_arg(&root.path().join("data"));
            let mut wrapped: Vec<String> = [
                "unshare",
                "--user",
                "--map-root-user",
                "--mount",
                "sh",
                "-c",
                r#"mount -t tmpfs -o "size=$1" tmpfs "$2" && shift 2 && exec "$@""#,
                "sh",
            ]
            .map(String::from)
            .to_vec();
            wrapped.extend([bytes.to_string(), data]);
            wrapped.extend(args);
            args = wrapped;
        }
        if let Some(umask) = self.umask {
            let mut wrapped: Vec<String> =
                ["sh", "-c", r#"umask "$1" && shift && exec "$@""#, "sh"]
                    .map(String::from)
                    .to_vec();
            wrapped.push(format!("{umask:03o}"));
            wrapped.extend(args);
            args = wrapped;
        }
        if self.without_permission_override && overrides_file_permissions() {
            let mut wrapped: Vec<String> = [
                "setpriv",
                "--bounding-set=-dac_override,-dac_read_search",
                "--",
            ]
            .map(String::from)
            .to_vec();
            wrapped.extend(args);
            args = wrapped;
        }
        (root, args, self.env)
    }
}

/// Whether this process may ignore file permissions: CAP_DAC_OVERRIDE or
/// CAP_DAC_READ_SEARCH (capabilities 1 and 2) in its effective set, as
/// root normally has.
fn overrides_file_permissions() -> bool {
    let status = fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .expect("a CapEff line");
    let bits = u64::from_str_radix(effective.trim(), 16).expect("CapEff is hex");
    bits & (1 << 1 | 1 << 2) != 0
}

/// File name of the Unix socket in the daemon's temp dir
/// ([`DaemonBuilder::unix_socket_only`]).
const UNIX_SOCKET_NAME: &str = "daemon.sock";

fn path_arg(path: &Path) -> String {
    path.to_str().expect("utf-8 path").to_string()
}

/// A running `workflowd` process and a client connected to it. Dropping it
/// kills the daemon and its workflow programs and removes its temp dir; when
/// the test panicked, the tail of the daemon's log is printed first.
pub struct Daemon {
    root: TempDir,
    command_line: Vec<String>,
    env: Vec<(String, String)>,
    child: Option<Child>,
    channel: Channel,
    client: Client,
    /// `127.0.0.1:PORT` the daemon listens on (`unix:PATH` when it serves
    /// only its Unix socket).
    pub addr: String,
}

/// The daemon's command line `args` (program first) with `env`, its stderr
/// appended to the temp dir's `daemon.log`.
fn command(root: &Path, args: &[String], env: &[(String, String)]) -> Command {
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
    command
}

/// Starts the daemon binary and waits for its `listening on ADDR` line.
async fn spawn(root: &Path, args: &[String], env: &[(String, String)]) -> (Child, String, Channel) {
    let mut child = command(root, args, env).spawn().expect("spawn workflowd");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(DEADLINE, lines.next_line()).await;
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
    } else {
        format!("http://{addr}")
    };
    let channel = tonic::transport::Endpoint::from_shared(uri)
        .expect("valid uri")
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
        // Kill the workflow programs first so no test leaves any behind.
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                kill_child_groups(pid as i32);
            }
            let _ = child.start_kill();
            // Reap it, so no zombie outlives the test binary.
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
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
    /// A builder with the example workflows and an empty fixture directory.
    pub fn builder() -> DaemonBuilder {
        DaemonBuilder {
            default_dirs: false,
            programs: Vec::new(),
            extra_dirs: Vec::new(),
            flags: Vec::new(),
            env: Vec::new(),
            config_file: None,
            data_tmpfs_bytes: None,
            without_permission_override: false,
            shutdown_grace_secs: 2,
            binary: None,
            umask: None,
            unix_socket_only: false,
            listen: None,
        }
    }

    /// Starts a daemon with the example workflows and default limits.
    pub async fn start() -> Daemon {
        Self::builder().start().await
    }

    /// A client connected to the daemon.
    pub fn client(&self) -> Client {
        self.client.clone()
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

    /// Starts the daemon again on the same data dir with the same flags.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the daemon before restarting it");
        let (child, addr, channel) = spawn(self.root.path(), &self.command_line, &self.env).await;
        self.client = WorkflowServiceClient::new(channel.clone());
        self.channel = channel;
        self.addr = addr;
        self.child = Some(child);
    }

    /// Starts an execution and expects it to be accepted as new.
    pub async fn execute(&self, workflow_id: &str, inputs: &[(&str, Value)]) -> pb::Execution {
        self.execute_request(request(workflow_id, inputs)).await
    }

    /// Sends an Execute request and expects it to start a new execution.
    pub async fn execute_request(&self, req: pb::ExecuteRequest) -> pb::Execution {
        let workflow_id = req.workflow_id.clone();
        let resp = self
            .client()
            .execute(req)
            .await
            .unwrap_or_else(|s| panic!("Execute {workflow_id}: {s:?}"))
            .into_inner();
        assert!(
            resp.started,
            "Execute {workflow_id} did not start a new execution"
        );
        let exec = resp.execution.expect("Execute returns the execution");
        assert!(
            matches!(
                exec.state(),
                ExecutionState::Queued | ExecutionState::Running
            ),
            "a new execution is QUEUED or RUNNING, got {:?}",
            exec.state()
        );
        exec
    }

    /// GetExecution, expected to succeed.
    pub async fn get(&self, execution_id: &str) -> pb::Execution {
        self.client()
            .get_execution(pb::GetExecutionRequest {
                execution_id: execution_id.to_string(),
            })
            .await
            .unwrap_or_else(|s| panic!("GetExecution {execution_id}: {s:?}"))
            .into_inner()
            .execution
            .expect("GetExecution returns the execution")
    }

    /// Opens a StreamLogs stream.
    pub async fn open_stream(
        &self,
        execution_id: &str,
        from_sequence: u64,
        follow: bool,
    ) -> tonic::Streaming<pb::StreamLogsResponse> {
        self.client()
            .stream_logs(pb::StreamLogsRequest {
                execution_id: execution_id.to_string(),
                from_sequence,
                follow,
            })
            .await
            .unwrap_or_else(|s| panic!("StreamLogs {execution_id}: {s:?}"))
            .into_inner()
    }

    /// Reads a whole StreamLogs stream until it ends.
    pub async fn logs(
        &self,
        execution_id: &str,
        from_sequence: u64,
        follow: bool,
    ) -> Vec<LogEvent> {
        drain(self.open_stream(execution_id, from_sequence, follow).await).await
    }

    /// Follows the log of an execution from the start until it finishes, and
    /// checks the log is gap-free from 1 and ends with `finished`.
    pub async fn run_to_end(&self, execution_id: &str) -> Vec<LogEvent> {
        let events = self.logs(execution_id, 0, true).await;
        assert_contiguous(&events, 1);
        assert!(
            matches!(
                events.last().and_then(|e| e.payload.as_ref()),
                Some(Payload::Finished(_))
            ),
            "the last event is `finished`: {:?}",
            kinds(&events)
        );
        events
    }

    /// Follows the log until an event matches; panics if the stream ends first.
    pub async fn wait_for_event(
        &self,
        execution_id: &str,
        what: &str,
        matches: impl Fn(&LogEvent) -> bool,
    ) -> LogEvent {
        let mut stream = self.open_stream(execution_id, 0, true).await;
        let mut seen = Vec::new();
        loop {
            let next = tokio::time::timeout(DEADLINE, stream.message())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {DEADLINE:?}; saw {seen:?}"));
            match next {
                Ok(Some(msg)) => {
                    let event = msg.event.expect("StreamLogsResponse has an event");
                    if matches(&event) {
                        return event;
                    }
                    seen.push(kind(&event));
                }
                Ok(None) => panic!("log of {execution_id} ended before {what}; saw {seen:?}"),
                Err(s) => panic!("StreamLogs {execution_id} failed waiting for {what}: {s:?}"),
            }
        }
    }

    /// Starts `workflow_id` (a program that prints `running with grandchild
    /// PID` once its grandchild runs, like `stubborn_program()` or the
    /// `ignore_sigterm` example) and waits for that line. Returns the
    /// execution, its `started` event and the grandchild's pid.
    pub async fn start_with_grandchild(
        &self,
        workflow_id: &str,
    ) -> (pb::Execution, pb::Started, i32) {
        const SAYS: &str = "running with grandchild ";
        let exec = self.execute(workflow_id, &[]).await;
        let started = self.wait_started(&exec.id).await;
        let line = self
            .wait_for_event(
                &exec.id,
                SAYS,
                |e| matches!(&e.payload, Some(Payload::Output(o)) if o.text.starts_with(SAYS)),
            )
            .await;
        let Some(Payload::Output(output)) = line.payload else {
            unreachable!("the wait matched an output line")
        };
        let pid = output.text[SAYS.len()..]
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("a pid in {:?}: {e}", output.text));
        (exec, started, pid)
    }

    /// Waits for the `started` event of an execution.
    pub async fn wait_started(&self, execution_id: &str) -> pb::Started {
        let event = self
            .wait_for_event(execution_id, "started", |e| {
                matches!(e.payload, Some(Payload::Started(_)))
            })
            .await;
        match event.payload {
            Some(Payload::Started(started)) => started,
            _ => unreachable!(),
        }
    }

    /// Waits until the program printed a line with exactly this text.
    pub async fn wait_output(&self, execution_id: &str, text: &str) -> LogEvent {
        self.wait_for_event(
            execution_id,
            &format!("output {text:?}"),
            |e| matches!(&e.payload, Some(Payload::Output(o)) if o.text == text),
        )
        .await
    }

    /// Waits until an execution is in `state` (RUNNING: its `started` event;
    /// a final state: its `finished` event) and returns it.
    pub async fn wait_state(&self, execution_id: &str, state: ExecutionState) -> pb::Execution {
        match state {
            ExecutionState::Queued => {}
            ExecutionState::Running => {
                self.wait_started(execution_id).await;
            }
            _ => {
                self.run_to_end(execution_id).await;
            }
        }
        let exec = self.get(execution_id).await;
        assert_eq!(exec.state(), state, "state of {execution_id}: {exec:?}");
        exec
    }

    /// GetStatus, expected to succeed.
    pub async fn status(&self) -> pb::GetStatusResponse {
        self.client()
            .get_status(pb::GetStatusRequest {})
            .await
            .expect("GetStatus")
            .into_inner()
    }

    /// ListWorkflows with the largest page.
    pub async fn list_workflows(&self) -> pb::ListWorkflowsResponse {
        self.client()
            .list_workflows(pb::ListWorkflowsRequest {
                page_size: 1000,
                page_token: String::new(),
            })
            .await
            .expect("ListWorkflows")
            .into_inner()
    }

    /// ListExecutions with a request, expected to succeed.
    pub async fn list_executions(
        &self,
        req: pb::ListExecutionsRequest,
    ) -> pb::ListExecutionsResponse {
        self.client()
            .list_executions(req)
            .await
            .expect("ListExecutions")
            .into_inner()
    }

    /// Cancel, expected to succeed.
    pub async fn cancel(
        &self,
        execution_id: &str,
        grace: Option<Duration>,
        force: bool,
    ) -> pb::CancelResponse {
        self.client()
            .cancel(cancel_request(execution_id, grace, force))
            .await
            .unwrap_or_else(|s| panic!("Cancel {execution_id}: {s:?}"))
            .into_inner()
    }
}

/// Reads an open StreamLogs stream until it ends (within [`DEADLINE`]).
pub async fn drain(mut stream: tonic::Streaming<pb::StreamLogsResponse>) -> Vec<LogEvent> {
    let mut events = Vec::new();
    loop {
        let next = tokio::time::timeout(DEADLINE, stream.message())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "StreamLogs did not end within {DEADLINE:?}; got {:?}",
                    kinds(&events)
                )
            });
        match next {
            Ok(Some(msg)) => events.push(msg.event.expect("StreamLogsResponse has an event")),
            Ok(None) => return events,
            Err(s) => panic!("StreamLogs failed after {} events: {s:?}", events.len()),
        }
    }
}

/// A Cancel request.
pub fn cancel_request(
    execution_id: &str,
    grace: Option<Duration>,
    force: bool,
) -> pb::CancelRequest {
    pb::CancelRequest {
        execution_id: execution_id.to_string(),
        grace_period: grace.map(duration),
        force,
        request_id: String::new(),
    }
}

/// An Execute request without request_id, timeout or labels.
pub fn request(workflow_id: &str, inputs: &[(&str, Value)]) -> pb::ExecuteRequest {
    pb::ExecuteRequest {
        workflow_id: workflow_id.to_string(),
        inputs: input_map(inputs),
        ..Default::default()
    }
}

/// Input values by name.
pub fn input_map(inputs: &[(&str, Value)]) -> HashMap<String, Value> {
    inputs
        .iter()
        .map(|(name, value)| (name.to_string(), value.clone()))
        .collect()
}

/// A string input value.
pub fn text(s: &str) -> Value {
    Value::from(s)
}

/// A number input value.
pub fn num(n: f64) -> Value {
    Value::from(n)
}

/// A list-of-numbers input value.
pub fn nums(ns: &[f64]) -> Value {
    Value {
        kind: Some(Kind::ListValue(prost_types::ListValue {
            values: ns.iter().map(|n| num(*n)).collect(),
        })),
    }
}

/// A labels map.
pub fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A protobuf Duration.
pub fn duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration::try_from(d).expect("duration fits")
}

/// Writes an executable file (mode 755) and returns its path.
pub fn write_program(dir: &Path, file_name: &str, script: &str) -> PathBuf {
    let path = dir.join(file_name);
    fs::write(&path, script).expect("write program");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod program");
    path
}

/// A POSIX sh workflow program: prints `metadata` (one JSON object) for
/// `--workflow-metadata`, otherwise runs `body` with the program's arguments.
pub fn workflow_script(metadata: &str, body: &str) -> String {
    format!(
        "#!/bin/sh\nif [ \"$1\" = \"--workflow-metadata\" ]; then\ncat <<'JSON'\n{metadata}\nJSON\nexit 0\nfi\n{body}\n"
    )
}

/// A program that waits until the file given with `--gate` exists, then prints
/// `released` and succeeds: a running execution the test ends when it wants.
pub fn gate_program(id: &str) -> String {
    workflow_script(
        &format!(
            r#"{{"id":"{id}","name":"Gate","description":"Waits for a file.","fields":[{{"name":"gate","label":"Gate","description":"File to wait for","cli_arg":"--gate","required":true,"default":null,"field_type":{{"type":"text"}}}}]}}"#
        ),
        r#"gate="$2"
echo waiting
while [ ! -e "$gate" ]; do sleep 0.02; done
echo released"#,
    )
}

/// Like the `ignore_sigterm` example, but its grandchild ignores SIGTERM too,
/// so a SIGTERM to the whole process group really stops nothing: only SIGKILL
/// ends it. Prints `running with grandchild PID`.
pub fn stubborn_program() -> String {
    workflow_script(
        r#"{"id":"stubborn","name":"Stubborn","description":"Ignores SIGTERM, grandchild too.","fields":[]}"#,
        r#"trap 'echo "got SIGTERM, ignoring it"' TERM
(trap '' TERM; exec sleep 3600) &
grandchild=$!
echo '__WF_EVENT__:{"type":"phase_started","phase":0,"name":"stubborn","total_phases":1}' >&2
echo "running with grandchild $grandchild"
while kill -0 "$grandchild" 2>/dev/null; do wait "$grandchild"; done"#,
    )
}

/// Asserts that the events are numbered `first`, `first + 1`, ... without gaps.
pub fn assert_contiguous(events: &[LogEvent], first: u64) {
    let sequences: Vec<u64> = events.iter().map(|e| e.sequence).collect();
    let expected: Vec<u64> = (first..first + events.len() as u64).collect();
    if sequences != expected {
        let bad = sequences
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "sequences are not contiguous from {first}: first mismatch at index {bad}: got {:?}, expected {:?}",
            &sequences[bad..(bad + 5).min(sequences.len())],
            &expected[bad..(bad + 5).min(expected.len())]
        );
    }
}

/// A short name for an event's payload, for readable assertion messages.
pub fn kind(event: &LogEvent) -> &'static str {
    match &event.payload {
        None => "none",
        Some(Payload::Output(_)) => "output",
        Some(Payload::PhaseStarted(_)) => "phase_started",
        Some(Payload::PhaseCompleted(_)) => "phase_completed",
        Some(Payload::PhaseFailed(_)) => "phase_failed",
        Some(Payload::TaskStarted(_)) => "task_started",
        Some(Payload::TaskProgress(_)) => "task_progress",
        Some(Payload::TaskCompleted(_)) => "task_completed",
        Some(Payload::TaskFailed(_)) => "task_failed",
        Some(Payload::AgentStarted(_)) => "agent_started",
        Some(Payload::AgentMessage(_)) => "agent_message",
        Some(Payload::AgentCompleted(_)) => "agent_completed",
        Some(Payload::AgentFailed(_)) => "agent_failed",
        Some(Payload::StateFileCreated(_)) => "state_file_created",
        Some(Payload::RawOutput(_)) => "raw_output",
        Some(Payload::Queued(_)) => "queued",
        Some(Payload::Started(_)) => "started",
        Some(Payload::Exited(_)) => "exited",
        Some(Payload::CancelRequested(_)) => "cancel_requested",
        Some(Payload::Killed(_)) => "killed",
        Some(Payload::TimedOut(_)) => "timed_out",
        Some(Payload::Interrupted(_)) => "interrupted",
        Some(Payload::Finished(_)) => "finished",
    }
}

/// The payload names of events, in order.
pub fn kinds(events: &[LogEvent]) -> Vec<&'static str> {
    events.iter().map(kind).collect()
}

/// The payload names of the lifecycle events (no output, no program events).
pub fn lifecycle(events: &[LogEvent]) -> Vec<&'static str> {
    events
        .iter()
        .map(kind)
        .filter(|k| {
            matches!(
                *k,
                "queued"
                    | "started"
                    | "exited"
                    | "cancel_requested"
                    | "killed"
                    | "timed_out"
                    | "interrupted"
                    | "finished"
            )
        })
        .collect()
}

/// The `finished` event at the end of a log.
pub fn finished(events: &[LogEvent]) -> pb::Finished {
    match events.last().and_then(|e| e.payload.as_ref()) {
        Some(Payload::Finished(f)) => f.clone(),
        _ => panic!("log does not end with `finished`: {:?}", kinds(events)),
    }
}

/// The texts of the output lines of one stream, in order.
pub fn output_texts(events: &[LogEvent], stream: pb::OutputStream) -> Vec<String> {
    of!(events, Output)
        .into_iter()
        .filter(|o| o.stream() == stream)
        .map(|o| o.text.clone())
        .collect()
}

/// A Timestamp as nanoseconds since the epoch, for comparisons.
pub fn nanos(ts: &Timestamp) -> i128 {
    ts.seconds as i128 * 1_000_000_000 + ts.nanos as i128
}

/// Now as nanoseconds since the epoch.
pub fn now_nanos() -> i128 {
    nanos(&Timestamp::from(SystemTime::now()))
}

/// The BadRequest field violations of a status as (field, description).
pub fn violations(status: &Status) -> Vec<(String, String)> {
    use tonic_types::StatusExt;
    let details = status.get_error_details();
    let bad = details
        .bad_request()
        .unwrap_or_else(|| panic!("no google.rpc.BadRequest in {status:?}"));
    bad.field_violations
        .iter()
        .map(|v| (v.field.clone(), v.description.clone()))
        .collect()
}

/// Whether a process no longer runs (no /proc entry, or a zombie).
pub fn process_gone(pid: i32) -> bool {
    match process::stat_from_state(pid) {
        None => true,
        Some(stat) => {
            let state = stat.trim_start();
            state.starts_with('Z') || state.starts_with('X')
        }
    }
}

/// Waits (polling /proc, nothing else signals it) until a process is gone.
pub async fn wait_process_gone(pid: i32, what: &str) {
    eventually(
        &format!("{what} (pid {pid}) to be gone"),
        POLL_DEADLINE,
        || async move { process_gone(pid).then_some(()) },
    )
    .await
}

/// Polls `check` every 50 ms until it returns Some, failing after `limit`.
/// Only for changes nothing signals (hot reload, process disappearance).
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
