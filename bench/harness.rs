//! What every benchmark shares: a workflowd on loopback with its own
//! data directory, its CPU use from /proc, and executions started and
//! awaited over gRPC.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncBufReadExt;
use tonic::transport::Channel;
use workflow_manager::pb::workflow_service_client::WorkflowServiceClient;
use workflow_manager::{pb, process};

pub(crate) fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/workflows")
}

pub(crate) struct Daemon {
    pub(crate) child: tokio::process::Child,
    pub(crate) address: String,
    pub(crate) _data: tempdir::TempDir,
}

pub(crate) mod tempdir {
    //! A throwaway directory removed on drop (no extra dependency for benches).
    pub struct TempDir(pub std::path::PathBuf);
    impl TempDir {
        pub fn new(tag: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("wf-bench-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temp dir");
            TempDir(dir)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The daemon under test: `BENCH_WORKFLOWD` when set (to let two builds
/// take turns against the same client and baselines), else this build's.
pub(crate) fn daemon_binary() -> std::path::PathBuf {
    std::env::var_os("BENCH_WORKFLOWD")
        .map(Into::into)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_workflowd").into())
}

impl Daemon {
    pub(crate) async fn start(tag: &str) -> Daemon {
        let data = tempdir::TempDir::new(tag);
        let data_dir = data.0.clone();
        Daemon::spawn(data, &data_dir, &examples_dir(), &[]).await
    }

    /// Starts workflowd on loopback with a deep queue, its history in
    /// `data_dir` and its programs from `workflow_dir`, plus `extra` flags;
    /// `data` is removed when the daemon is dropped.
    pub(crate) async fn spawn(
        data: tempdir::TempDir,
        data_dir: &Path,
        workflow_dir: &Path,
        extra: &[&OsStr],
    ) -> Daemon {
        let mut child = tokio::process::Command::new(daemon_binary())
            .args([
                "--listen",
                "127.0.0.1:0",
                "--max-queue",
                "100000",
                "--data-dir",
            ])
            .arg(data_dir)
            .arg("--workflow-dir")
            .arg(workflow_dir)
            .args(extra)
            .env("WORKFLOWD_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start workflowd");
        let address = listening_address(&mut child).await;
        Daemon {
            child,
            address,
            _data: data,
        }
    }

    /// CPU the daemon has used so far, and CPU of the programs it has
    /// reaped, from /proc.
    pub(crate) fn cpu(&self) -> CpuUse {
        let pid = self.child.id().expect("daemon running") as i32;
        // utime, stime, cutime, cstime are fields 14 to 17.
        CpuUse {
            daemon: cpu_seconds(pid, &[14, 15]),
            programs: cpu_seconds(pid, &[16, 17]),
        }
    }

    pub(crate) async fn client(&self) -> WorkflowServiceClient<Channel> {
        WorkflowServiceClient::connect(self.address.clone())
            .await
            .expect("connect")
            .max_decoding_message_size(64 << 20)
    }

    pub(crate) async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
        }
        let _ = self.child.wait().await;
    }
}

/// Polls GetStatus every 10 ms until `done` holds for it; gives up after
/// two minutes, saying it waited for `what`.
pub(crate) async fn wait_status(
    client: &mut WorkflowServiceClient<Channel>,
    what: &str,
    done: impl Fn(&pb::GetStatusResponse) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = client
            .get_status(pb::GetStatusRequest::default())
            .await
            .expect("status")
            .into_inner();
        if done(&status) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "gave up waiting for {what}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The address a server started with a piped stdout says it listens on,
/// in its first line ("listening on ADDR"), as an http:// URL.
pub(crate) async fn listening_address(server: &mut tokio::process::Child) -> String {
    let mut lines = tokio::io::BufReader::new(server.stdout.take().expect("stdout")).lines();
    let line = lines
        .next_line()
        .await
        .expect("read")
        .expect("listening line");
    format!("http://{}", line.trim_start_matches("listening on "))
}

/// Seconds of CPU in the fields `fields` (numbered as in proc(5)) of
/// /proc/`pid`/stat.
fn cpu_seconds(pid: i32, fields: &[usize]) -> f64 {
    let stat = process::stat_from_state(pid).expect("stat");
    // The text starts after the command name, field 2.
    let values: Vec<&str> = stat.split_whitespace().collect();
    let ticks: f64 = fields
        .iter()
        .map(|&i| values[i - 3].parse::<f64>().expect("ticks"))
        .sum();
    ticks / process::clock_ticks_per_second().unwrap_or(100) as f64
}

/// The machine's cores (2 when it cannot be told).
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// CPU of any process, its own (utime + stime), so far.
pub(crate) fn process_cpu(pid: i32) -> f64 {
    cpu_seconds(pid, &[14, 15])
}

/// CPU of the children this benchmark has reaped, so far.
pub(crate) fn reaped_children_cpu() -> f64 {
    cpu_seconds(std::process::id() as i32, &[16, 17])
}

/// CPU this benchmark's own process, the client, has used so far.
pub(crate) fn client_cpu() -> f64 {
    cpu_seconds(std::process::id() as i32, &[14, 15])
}

/// Seconds of CPU: the daemon's own, and its reaped programs'.
#[derive(Clone, Copy, Default)]
pub(crate) struct CpuUse {
    pub(crate) daemon: f64,
    pub(crate) programs: f64,
}

impl std::ops::Sub for CpuUse {
    type Output = CpuUse;
    fn sub(self, earlier: CpuUse) -> CpuUse {
        CpuUse {
            daemon: self.daemon - earlier.daemon,
            programs: self.programs - earlier.programs,
        }
    }
}

impl std::ops::AddAssign for CpuUse {
    fn add_assign(&mut self, more: CpuUse) {
        self.daemon += more.daemon;
        self.programs += more.programs;
    }
}

pub(crate) fn value(s: &str) -> prost_types::Value {
    prost_types::Value {
        kind: Some(prost_types::value::Kind::StringValue(s.to_string())),
    }
}

/// The request that starts `workflow` with string `inputs`.
pub(crate) fn execute_request(workflow: &str, inputs: &[(&str, &str)]) -> pb::ExecuteRequest {
    pb::ExecuteRequest {
        workflow_id: workflow.into(),
        inputs: inputs
            .iter()
            .map(|(k, v)| (k.to_string(), value(v)))
            .collect(),
        ..Default::default()
    }
}

/// Sends `request`; returns the execution.
pub(crate) async fn execute_with(
    client: &mut WorkflowServiceClient<Channel>,
    request: pb::ExecuteRequest,
) -> pb::Execution {
    client
        .execute(request)
        .await
        .expect("execute")
        .into_inner()
        .execution
        .expect("execution")
}

/// Starts `workflow` with string `inputs`; returns the execution.
pub(crate) async fn execute(
    client: &mut WorkflowServiceClient<Channel>,
    workflow: &str,
    inputs: &[(&str, &str)],
) -> pb::Execution {
    execute_with(client, execute_request(workflow, inputs)).await
}

/// Waits for execution `id` to end with WaitExecution, and checks that
/// it succeeded.
pub(crate) async fn wait_succeeded(
    client: &mut WorkflowServiceClient<Channel>,
    id: &str,
) -> pb::Execution {
    let ended = client
        .wait_execution(pb::WaitExecutionRequest {
            execution_id: id.to_string(),
        })
        .await
        .expect("wait")
        .into_inner()
        .execution
        .expect("execution");
    assert_eq!(
        ended.state,
        pb::ExecutionState::Succeeded as i32,
        "{ended:?}"
    );
    ended
}

/// Executes and waits for the end with WaitExecution.
pub(crate) async fn run_and_wait(
    client: &mut WorkflowServiceClient<Channel>,
    workflow: &str,
    inputs: &[(&str, &str)],
) {
    let execution = execute(client, workflow, inputs).await;
    wait_succeeded(client, &execution.id).await;
}

/// Executes and follows to the finished event; returns the number of
/// events received and the time of the first program event.
pub(crate) async fn run_to_end(
    client: &mut WorkflowServiceClient<Channel>,
    workflow: &str,
    inputs: &[(&str, &str)],
) -> (u64, Option<Instant>) {
    let execution = execute(client, workflow, inputs).await;
    let mut stream = client
        .stream_logs(pb::StreamLogsRequest {
            execution_id: execution.id,
            from_sequence: 1,
            follow: true,
        })
        .await
        .expect("stream")
        .into_inner();
    let mut count = 0;
    let mut first_program_event = None;
    while let Some(message) = stream.message().await.expect("stream message") {
        count += 1;
        use pb::log_event::Payload;
        match message.event.and_then(|e| e.payload) {
            Some(Payload::Finished(finished)) => {
                assert_eq!(
                    finished.state,
                    pb::ExecutionState::Succeeded as i32,
                    "{finished:?}"
                );
                break;
            }
            Some(Payload::PhaseStarted(_) | Payload::TaskStarted(_))
                if first_program_event.is_none() =>
            {
                first_program_event = Some(Instant::now())
            }
            _ => {}
        }
    }
    (count, first_program_event)
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// A keep-alive HTTP/1.1 client for the daemon's HTTP routes, as a script
/// or a browser would use them (plain HTTP on loopback).
pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(64)
        .build()
        .expect("HTTP client")
}

/// The median of `values` (sorted here).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
