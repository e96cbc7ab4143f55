//! Benchmarks of the daemon against baselines measured in the same run.
//!
//! Run with `cargo bench --bench daemon [-- NAME]`. Each
//! figure is printed with its baseline and the ratio:
//! - throughput: trivial executions via gRPC, each awaited to completion
//!   (everything persisted) in two ways, WaitExecution and StreamLogs
//!   followed to the `finished` event, against the same program spawned
//!   directly with `xargs -P<cores>`, the three taking turns in short rounds;
//! - log ingest: one execution printing N event lines, all persisted and
//!   delivered to a subscriber, against a bare loop that parses the same
//!   lines and inserts them in batches into SQLite;
//! - start latency: Execute to first program event at a subscriber, against
//!   spawn to first byte of the same program;
//! - drop folder: manifests dropped at once until all are processed,
//!   against as many SubmitManifest calls, and the pickup latency of single
//!   drops.
//!
//! Sizes can be set with BENCH_EXECUTIONS (per side and round), BENCH_ROUNDS
//! (throughput rounds), BENCH_LOG_LINES, BENCH_LATENCY_RUNS,
//! BENCH_DROP_FILES and BENCH_PICKUPS; BENCH_WORKFLOWD
//! runs another daemon binary (an older build, to compare two in turns).

mod dropfolder;
mod harness;
mod ingest;
mod latency;
mod throughput;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes --bench; a filter argument picks benchmarks.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    // One thread, like wfctl: the client shares the cores with the daemon
    // and its programs, and a multi-threaded runtime spends more CPU per
    // call on wake-ups between its own threads, CPU the xargs baseline
    // never pays.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        if wanted("throughput") {
            throughput::throughput(
                env_usize("BENCH_EXECUTIONS", 1000),
                env_usize("BENCH_ROUNDS", 9),
                cores,
            )
            .await;
        }
        if wanted("ingest") {
            ingest::log_ingest(env_usize("BENCH_LOG_LINES", 1_000_000)).await;
        }
        if wanted("latency") {
            latency::start_latency(env_usize("BENCH_LATENCY_RUNS", 200)).await;
        }
        if wanted("dropfolder") {
            dropfolder::dropfolder(
                env_usize("BENCH_DROP_FILES", 1000),
                env_usize("BENCH_PICKUPS", 100),
            )
            .await;
        }
    });
}
