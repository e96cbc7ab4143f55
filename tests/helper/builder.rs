//! [`DaemonBuilder`]: the command line, environment and temp dir of a
//! daemon before it starts.

use std::{fs, path::PathBuf, process::ExitStatus};

use super::*;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tonic::transport::ClientTlsConfig;
use workflow_manager::pb::workflow_service_client::WorkflowServiceClient;

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
            tls: None,
        }
    }
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
    tls: Option<ClientTlsConfig>,
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

    /// Connects to the daemon over TLS with `tls` (`https://`), for a
    /// daemon started with `--tls-cert` (the test passes the flags).
    pub fn client_tls(mut self, tls: ClientTlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Creates the temp dir, writes the fixture programs, starts the daemon and
    /// connects to it.
    pub async fn start(mut self) -> Daemon {
        let tls = self.tls.take();
        let (root, command_line, env) = self.prepare();
        launch(root, command_line, env, tls).await
    }

    /// Starts the daemon in the background, for one that waits before it
    /// serves (a standby): returns its log file, and the start to await.
    pub fn start_in_background(mut self) -> (PathBuf, tokio::task::JoinHandle<Daemon>) {
        let tls = self.tls.take();
        let (root, command_line, env) = self.prepare();
        let log = root.path().join("daemon.log");
        (log, tokio::spawn(launch(root, command_line, env, tls)))
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
        if history_in_postgres() {
            args.extend(["--database".into(), super::test_server::fresh_database()]);
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

/// Spawns the daemon prepared in `root` and connects to it once it serves.
async fn launch(
    root: TempDir,
    command_line: Vec<String>,
    env: Vec<(String, String)>,
    tls: Option<ClientTlsConfig>,
) -> Daemon {
    let (child, addr, channel) = spawn(root.path(), &command_line, &env, tls.as_ref()).await;
    Daemon {
        tls,
        client: WorkflowServiceClient::new(channel.clone()),
        channel,
        addr,
        child: Some(child),
        command_line,
        env,
        root,
    }
}

/// Whether the daemons under test keep their history in PostgreSQL (a
/// fresh database each, on the tests' own server) instead of SQLite:
/// `WORKFLOW_TEST_DATABASE=postgres`, set by scripts/test-all.sh for the
/// run of the daemon tests on PostgreSQL.
pub fn history_in_postgres() -> bool {
    std::env::var("WORKFLOW_TEST_DATABASE").is_ok_and(|v| v == "postgres")
}

/// A new, empty database on the tests' PostgreSQL server, by URL.
pub fn fresh_postgres_database() -> String {
    super::test_server::fresh_database()
}

/// For a test that does not apply with the history in PostgreSQL (it is
/// about the SQLite file): true in that run, after saying on stderr that
/// it was skipped and why.
pub fn skip_on_postgres(about: &str) -> bool {
    let skip = history_in_postgres();
    if skip {
        eprintln!("skipped with the history in PostgreSQL: the test is about {about}");
    }
    skip
}
