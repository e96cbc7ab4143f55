//! Benchmarks of the daemon against baselines measured in the same run.
//!
//! Run with `cargo bench --bench daemon [-- NAME]`. Each
//! figure is printed with its baseline and the ratio:
//! - throughput: trivial executions via gRPC, each awaited to completion
//!   (everything persisted) in two ways, WaitExecution and StreamLogs
//!   followed to the `finished` event, against the same program spawned
//!   directly with `xargs -P<cores>`, the three taking turns in short rounds;
//! - curve: the throughput's WaitExecution side with 1, 2, 8 and 32 in
//!   flight (BENCH_CURVE), each level against xargs in its own rounds;
//! - log ingest: one execution printing N event lines, all persisted and
//!   delivered to a subscriber, against a bare loop that parses the same
//!   lines and inserts them in batches into SQLite;
//! - fanout: the same ingest with 100 live subscribers following the log
//!   against none, in turns;
//! - start latency: Execute to first program event at a subscriber, against
//!   spawn to first byte of the same program;
//! - drop folder: manifests dropped at once until all are processed,
//!   against as many SubmitManifest calls, and the pickup latency of single
//!   drops;
//! - http-status: GetStatus as `GET /v1/status` (JSON over HTTP/1.1)
//!   against the same RPC over native gRPC, in turns, 1 and 8 in flight;
//! - grpc-overhead: GetStatus and the daemon's health check against a
//!   bare tonic server's health check, in turns, 1 and 16 in flight (and
//!   the same turns from ghz when it is installed);
//! - http-logs: a finished execution's whole log as SSE and as NDJSON
//!   against gRPC StreamLogs, in turns;
//! - load: the daemon's RSS idle and per running execution with 1,000
//!   programs asleep, and trivial executions' rate while they run against
//!   the rate with none;
//! - tui: `wfctl tui` in tmux, frame times with 1,000 executions listed
//!   and a 10,000 lines/s log followed, against redraws of the idle
//!   dashboard, and its CPU while idle against `wfctl status` every second;
//! - big-history: daemon start, ListExecutions (every filter, first and
//!   deep pages), GetExecution and RSS over 100,000 and 1,000,000
//!   executions made by a bulk copy, against a 100-execution history;
//! - metrics: `GET /metrics` latency with a large history, against the
//!   floor of an HTTP round trip on the same port, and execution
//!   throughput with and without a scraper every second, in turns;
//! - schedules: fire-time lateness with 10,000 schedules loaded, against
//!   the same 167 times a second from 167 schedules and from 10, in turns,
//!   and the idle daemon's CPU with 10,000 schedules not due against none;
//! - webhooks: deliveries/s to a local receiver against a bare reqwest
//!   loop POSTing as many, and execution throughput with one webhook
//!   getting every event against none, in turns;
//! - auth: trivial executions against a daemon with API tokens on (each
//!   call carrying a token) against one with authentication off, in turns;
//! - limits: trivial executions with resource limits (a control group
//!   each, or the process-group watch) against none, and the cost of
//!   PR_SET_PDEATHSIG, in turns (bench/limits.rs);
//! - postgres: trivial executions at 2, 8 and 32 in flight and a log
//!   ingest through a daemon with its history in PostgreSQL, against one
//!   on its SQLite file, in turns (bench/postgres.rs).
//!
//! Sizes can be set with BENCH_EXECUTIONS (per side and round), BENCH_ROUNDS
//! (throughput rounds), BENCH_LOG_LINES (ingest and http-logs),
//! BENCH_LATENCY_RUNS, BENCH_DROP_FILES, BENCH_PICKUPS, BENCH_HTTP_TURN_MS
//! and BENCH_HTTP_ROUNDS (http-status), BENCH_STREAM_ROUNDS (http-logs),
//! BENCH_HISTORY, BENCH_SCRAPES, BENCH_METRICS_EXECUTIONS and
//! BENCH_METRICS_ROUNDS (metrics), BENCH_GRPC_TURN_MS and BENCH_GRPC_ROUNDS
//! (grpc-overhead), BENCH_FANOUT_LINES, BENCH_SUBSCRIBERS and
//! BENCH_FANOUT_ROUNDS (fanout), BENCH_BIG_HISTORY and BENCH_BIG_SAMPLES
//! (big-history), BENCH_SCHEDULES, BENCH_SCHEDULE_SECONDS and
//! BENCH_IDLE_SECONDS (schedules), BENCH_WEBHOOKS, BENCH_WEBHOOK_EXECUTIONS
//! and BENCH_WEBHOOK_ROUNDS (webhooks), BENCH_AUTH_EXECUTIONS and
//! BENCH_AUTH_ROUNDS (auth), BENCH_LIMITS_EXECUTIONS and
//! BENCH_LIMITS_ROUNDS (limits), BENCH_PG_CURVE, BENCH_PG_EXECUTIONS,
//! BENCH_PG_ROUNDS and BENCH_PG_LOG_LINES (postgres); BENCH_WORKFLOWD runs another daemon
//! binary (an older build, to compare two in turns).

mod auth;
mod big_history;
mod curve;
mod dropfolder;
mod event_json_cost;
mod fanout;
mod grpc_overhead;
mod harness;
mod history_fill;
mod http_logs;
mod http_status;
mod ingest;
mod latency;
mod limits;
mod load;
mod metrics_scrape;
mod postgres;
mod schedules;
mod throughput;
mod tui;
mod webhooks;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if grpc_overhead::serve_bare_if_asked() {
        return;
    }
    // `cargo bench` passes --bench; a filter argument picks benchmarks.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let cores = harness::cores();
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
        if wanted("curve") {
            let levels: Vec<usize> = std::env::var("BENCH_CURVE")
                .unwrap_or_else(|_| "1,2,8,32".into())
                .split(',')
                .filter_map(|level| level.trim().parse().ok())
                .collect();
            curve::curve(
                &levels,
                env_usize("BENCH_CURVE_EXECUTIONS", 500),
                env_usize("BENCH_CURVE_ROUNDS", 5),
                cores,
            )
            .await;
        }
        if wanted("ingest") {
            ingest::log_ingest(env_usize("BENCH_LOG_LINES", 1_000_000)).await;
        }
        if wanted("fanout") {
            fanout::fanout(
                env_usize("BENCH_FANOUT_LINES", 1_000_000),
                env_usize("BENCH_SUBSCRIBERS", 100),
                env_usize("BENCH_FANOUT_ROUNDS", 3),
            )
            .await;
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
        if wanted("http-status") {
            http_status::http_status(
                std::time::Duration::from_millis(env_usize("BENCH_HTTP_TURN_MS", 1000) as u64),
                env_usize("BENCH_HTTP_ROUNDS", 5),
                &[1, 8],
            )
            .await;
        }
        if wanted("grpc-overhead") {
            grpc_overhead::grpc_overhead(
                std::time::Duration::from_millis(env_usize("BENCH_GRPC_TURN_MS", 1000) as u64),
                env_usize("BENCH_GRPC_ROUNDS", 5),
                &[1, 16],
            )
            .await;
        }
        if wanted("http-logs") {
            http_logs::http_logs(
                env_usize("BENCH_LOG_LINES", 1_000_000),
                env_usize("BENCH_STREAM_ROUNDS", 3),
            )
            .await;
        }
        if wanted("load") {
            load::load(
                env_usize("BENCH_SLEEPERS", 1000),
                env_usize("BENCH_EXECUTIONS", 1000),
                env_usize("BENCH_LOAD_ROUNDS", 3),
            )
            .await;
        }
        if wanted("tui") {
            tui::tui(
                env_usize("BENCH_TUI_EXECUTIONS", 1000),
                env_usize("BENCH_TUI_RATE", 10_000),
                env_usize("BENCH_TUI_SECONDS", 15) as u64,
            )
            .await;
        }
        if wanted("big-history") {
            let sizes: Vec<usize> = std::env::var("BENCH_BIG_HISTORY")
                .unwrap_or_else(|_| "100000,1000000".into())
                .split(',')
                .filter_map(|size| size.trim().parse().ok())
                .collect();
            big_history::big_history(&sizes, env_usize("BENCH_BIG_SAMPLES", 1000)).await;
        }
        if wanted("metrics") {
            metrics_scrape::metrics_scrape(
                env_usize("BENCH_HISTORY", 100_000),
                env_usize("BENCH_SCRAPES", 1000),
                env_usize("BENCH_METRICS_EXECUTIONS", 2000),
                env_usize("BENCH_METRICS_ROUNDS", 5),
            )
            .await;
        }
        if wanted("schedules") {
            schedules::schedules(
                env_usize("BENCH_SCHEDULES", 10_000),
                env_usize("BENCH_SCHEDULE_SECONDS", 60) as u64,
                env_usize("BENCH_IDLE_SECONDS", 30) as u64,
            )
            .await;
        }
        if wanted("webhooks") {
            webhooks::webhooks(
                env_usize("BENCH_WEBHOOKS", 10),
                env_usize("BENCH_WEBHOOK_EXECUTIONS", 2000),
                env_usize("BENCH_WEBHOOK_ROUNDS", 5),
            )
            .await;
        }
        if wanted("auth") {
            auth::auth(
                env_usize("BENCH_AUTH_EXECUTIONS", 2000),
                env_usize("BENCH_AUTH_ROUNDS", 5),
            )
            .await;
        }
        if wanted("postgres") {
            let levels: Vec<usize> = std::env::var("BENCH_PG_CURVE")
                .unwrap_or_else(|_| "2,8,32".into())
                .split(',')
                .filter_map(|level| level.trim().parse().ok())
                .collect();
            postgres::postgres(
                &levels,
                env_usize("BENCH_PG_EXECUTIONS", 1000),
                env_usize("BENCH_PG_ROUNDS", 3),
                env_usize("BENCH_PG_LOG_LINES", 1_000_000),
            )
            .await;
        }
        if wanted("limits") {
            limits::limits(
                env_usize("BENCH_LIMITS_EXECUTIONS", 2000),
                env_usize("BENCH_LIMITS_ROUNDS", 5),
            )
            .await;
        }
    });
}
