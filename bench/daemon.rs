//! Benchmarks of the daemon against baselines measured in the same run.
//!
//! Run with `cargo bench --bench daemon` (or `bash bench/run.sh`). Each
//! figure is printed with its baseline and the ratio:
//! - throughput: trivial executions via gRPC, each awaited to completion
//!   (finished event received, so everything is persisted), against the
//!   same program spawned directly with `xargs -P<cores>`;
//! - log ingest: one execution printing N event lines, all persisted and
//!   delivered to a subscriber, against a bare loop that parses the same
//!   lines and inserts them in batches into SQLite;
//! - start latency: Execute to first program event at a subscriber, against
//!   spawn to first byte of the same program.
//!
//! Sizes can be set with BENCH_EXECUTIONS, BENCH_LOG_LINES, BENCH_LATENCY_RUNS.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::AsyncBufReadExt;
use tonic::transport::Channel;
use workflow_manager::pb;
use workflow_manager::pb::workflow_service_client::WorkflowServiceClient;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/workflows")
}

struct Daemon {
    child: tokio::process::Child,
    address: String,
    _data: tempdir::TempDir,
}

mod tempdir {
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

impl Daemon {
    async fn start(tag: &str) -> Daemon {
        let data = tempdir::TempDir::new(tag);
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_workflowd"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--max-queue",
                "100000",
                "--data-dir",
            ])
            .arg(&data.0)
            .arg("--workflow-dir")
            .arg(examples_dir())
            .env("WORKFLOWD_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start workflowd");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = lines
            .next_line()
            .await
            .expect("read")
            .expect("listening line");
        let address = format!("http://{}", line.trim_start_matches("listening on "));
        Daemon {
            child,
            address,
            _data: data,
        }
    }

    async fn client(&self) -> WorkflowServiceClient<Channel> {
        WorkflowServiceClient::connect(self.address.clone())
            .await
            .expect("connect")
            .max_decoding_message_size(64 << 20)
    }

    async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let _ = self.child.wait().await;
    }
}

fn value(s: &str) -> prost_types::Value {
    prost_types::Value {
        kind: Some(prost_types::value::Kind::StringValue(s.to_string())),
    }
}

/// Executes and follows to the finished event; returns the number of
/// events received and the time of the first program event.
async fn run_to_end(
    client: &mut WorkflowServiceClient<Channel>,
    workflow: &str,
    inputs: &[(&str, &str)],
) -> (u64, Option<Instant>) {
    let execution = client
        .execute(pb::ExecuteRequest {
            workflow_id: workflow.into(),
            inputs: inputs
                .iter()
                .map(|(k, v)| (k.to_string(), value(v)))
                .collect(),
            ..Default::default()
        })
        .await
        .expect("execute")
        .into_inner()
        .execution
        .expect("execution");
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

async fn throughput(executions: usize, cores: usize) {
    let program = examples_dir().join("hello.sh");
    // Baseline: the same program spawned directly by xargs, `cores` at a time.
    let started = Instant::now();
    let mut xargs = Command::new("xargs")
        .args(["-P", &cores.to_string(), "-n", "1"])
        .arg(&program)
        .arg("--name")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("xargs");
    {
        use std::io::Write;
        let mut stdin = xargs.stdin.take().expect("stdin");
        for i in 0..executions {
            writeln!(stdin, "n{i}").expect("feed xargs");
        }
    }
    assert!(xargs.wait().expect("xargs").success());
    let baseline = executions as f64 / started.elapsed().as_secs_f64();

    let daemon = Daemon::start("throughput").await;
    let client = daemon.client().await;
    let in_flight = 32;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..in_flight {
        let mut client = client.clone();
        let share = executions / in_flight + usize::from(worker < executions % in_flight);
        tasks.spawn(async move {
            for _ in 0..share {
                run_to_end(&mut client, "hello", &[("name", "bench")]).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("worker");
    }
    let rate = executions as f64 / started.elapsed().as_secs_f64();
    daemon.stop().await;
    println!(
        "throughput: {executions} executions: daemon {rate:.0}/s, xargs -P{cores} {baseline:.0}/s, ratio {:.2}x (target >= 0.70x)",
        rate / baseline
    );
}

/// The bare baseline of log ingest: spawn the program, parse each event line
/// and insert it in batches into SQLite, nothing else.
fn bare_ingest(lines: usize, db: &Path) -> f64 {
    let mut conn = rusqlite::Connection::open(db).expect("open");
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
         CREATE TABLE log (seq INTEGER PRIMARY KEY, time_ms INTEGER, kind INTEGER, text TEXT);",
    )
    .expect("schema");
    let started = Instant::now();
    let mut child = Command::new(examples_dir().join("chatty.sh"))
        .args(["--mode", "events", "--lines", &lines.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chatty");
    let reader = BufReader::with_capacity(64 * 1024, child.stderr.take().expect("stderr"));
    let mut batch: Vec<(i64, String)> = Vec::with_capacity(8192);
    let mut seq = 0i64;
    let flush = |conn: &mut rusqlite::Connection, batch: &mut Vec<(i64, String)>| {
        let tx = conn.transaction().expect("tx");
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO log (seq, time_ms, kind, text) VALUES (?1, ?2, 3, ?3)")
                .expect("prepare");
            for (seq, text) in batch.drain(..) {
                insert
                    .execute(rusqlite::params![seq, 0i64, text])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
    };
    for line in reader.lines() {
        let line = line.expect("line");
        let json = line.strip_prefix("__WF_EVENT__:").expect("event line");
        let event: workflow_manager::events::WorkflowEvent =
            serde_json::from_str(json).expect("event");
        seq += 1;
        batch.push((seq, serde_json::to_string(&event).expect("encode")));
        if batch.len() == 8192 {
            flush(&mut conn, &mut batch);
        }
    }
    flush(&mut conn, &mut batch);
    assert!(child.wait().expect("wait").success());
    seq as f64 / started.elapsed().as_secs_f64()
}

async fn log_ingest(lines: usize) {
    let dir = tempdir::TempDir::new("bare");
    let baseline = bare_ingest(lines, &dir.0.join("bare.sqlite3"));

    let daemon = Daemon::start("ingest").await;
    let mut client = daemon.client().await;
    let started = Instant::now();
    let (events, _) = run_to_end(
        &mut client,
        "chatty",
        &[("mode", "events"), ("lines", &lines.to_string())],
    )
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    daemon.stop().await;
    // task_started + lines + task_completed, plus lifecycle events.
    assert!(
        events as usize >= lines + 2,
        "received {events} events for {lines} lines"
    );
    let rate = lines as f64 / elapsed;
    println!(
        "log ingest: {lines} event lines persisted and streamed: daemon {rate:.0} lines/s, bare parse+SQLite loop {baseline:.0} lines/s, ratio {:.2}x (targets >= 300000 lines/s and >= 0.60x)",
        rate / baseline
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn start_latency(runs: usize) {
    let program = examples_dir().join("hello.sh");
    let mut direct = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let mut child = Command::new(&program)
            .args(["--name", "x"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut byte = [0u8; 1];
        child
            .stderr
            .as_mut()
            .expect("stderr")
            .read_exact(&mut byte)
            .expect("first byte");
        direct.push(started.elapsed());
        child.wait().expect("wait");
    }

    let daemon = Daemon::start("latency").await;
    let mut client = daemon.client().await;
    let mut via_daemon = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let (_, first) = run_to_end(&mut client, "hello", &[("name", "x")]).await;
        via_daemon.push(first.expect("first program event") - started);
    }
    daemon.stop().await;
    direct.sort();
    via_daemon.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "start latency over {runs} runs: daemon Execute->first event p50 {:.2} ms p99 {:.2} ms; direct spawn->first byte p50 {:.2} ms p99 {:.2} ms; ratio p50 {:.1}x p99 {:.1}x",
        ms(percentile(&via_daemon, 0.5)),
        ms(percentile(&via_daemon, 0.99)),
        ms(percentile(&direct, 0.5)),
        ms(percentile(&direct, 0.99)),
        ms(percentile(&via_daemon, 0.5)) / ms(percentile(&direct, 0.5)),
        ms(percentile(&via_daemon, 0.99)) / ms(percentile(&direct, 0.99)),
    );
}

fn main() {
    // `cargo bench` passes --bench; a filter argument picks benchmarks.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        if wanted("throughput") {
            throughput(env_usize("BENCH_EXECUTIONS", 2000), cores).await;
        }
        if wanted("ingest") {
            log_ingest(env_usize("BENCH_LOG_LINES", 1_000_000)).await;
        }
        if wanted("latency") {
            start_latency(env_usize("BENCH_LATENCY_RUNS", 200)).await;
        }
    });
}
