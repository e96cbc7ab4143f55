//! A big history (issue 24): a daemon over 100,000 and 1,000,000
//! executions with their logs, against one over [`BASELINE`] executions,
//! both running at once and called in alternation: daemon start, RSS,
//! ListExecutions' first page and a deep page without and with each
//! filter, and GetExecution over random ids spread over the whole history.
//! The histories are copies of a few real runs (`history_fill.rs`).

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tonic::transport::Channel;
use workflow_manager::pb;
use workflow_manager::pb::workflow_service_client::WorkflowServiceClient;

use crate::harness::*;
use crate::history_fill::filled_history_of;

/// Executions in the baseline's history: its seeds, none copied.
const BASELINE: usize = 100;

/// Longest time spent sampling one figure on one side: a call that scans
/// the whole history would otherwise take an hour for 1,000 samples.
const FIGURE_BUDGET: Duration = Duration::from_secs(30);

/// Starts measured per daemon (their median is printed).
const STARTS: usize = 3;

/// For each size in `sizes`, fills a history of that many executions and
/// measures it against the baseline, `samples` calls per figure and side.
pub(crate) async fn big_history(sizes: &[usize], samples: usize) {
    let baseline = filled_history_of("big-history-base", BASELINE, seed).await;
    for &size in sizes {
        let big = filled_history_of(&format!("big-history-{size}"), size, seed).await;
        let mut sides = Vec::new();
        for (data, executions) in [(&baseline.0, BASELINE), (&big.0, size)] {
            sides.push(Side::start(data, executions).await);
        }
        let [base, big_side] = &mut sides[..] else {
            unreachable!("two sides")
        };
        let what = format!("big-history {size}");
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{what}: history file {:.0} MB ({BASELINE}: {:.1} MB)",
            file_mb(&big.0),
            file_mb(&baseline.0)
        );
        for (figure, target, big_value, base_value) in [
            (
                "daemon start, spawn -> listening line",
                "",
                big_side.listening,
                base.listening,
            ),
            (
                "daemon start, spawn -> first GetStatus answered",
                " (target <= 1000 ms)",
                big_side.ready,
                base.ready,
            ),
        ] {
            println!(
                "{what}: {figure}, median of {STARTS}: {:.1} ms{target}; baseline \
                 ({BASELINE} executions) {:.1} ms; ratio {:.2}x",
                ms(big_value),
                ms(base_value),
                ms(big_value) / ms(base_value),
            );
        }
        print_rss(&what, "after start", big_side.rss_kb(), base.rss_kb());

        for (name, request) in filters() {
            let figure = format!("ListExecutions {name}, first page");
            let times = alternate(samples, big_side, base, |side, client| {
                let request = request(side);
                async move { list(client, request).await }
            })
            .await;
            print_latencies(&what, &figure, 5.0, times);
            let (Some(big_token), Some(base_token)) = (
                big_side.deep_token(&request).await,
                base.deep_token(&request).await,
            ) else {
                println!("{what}: ListExecutions {name}, deep page: none (one page or less)");
                continue;
            };
            let figure = format!("ListExecutions {name}, page at mid-history");
            let times = alternate(samples, big_side, base, |side, client| {
                let mut request = request(side);
                request.page_token = if side.executions == BASELINE {
                    base_token.clone()
                } else {
                    big_token.clone()
                };
                async move { list(client, request).await }
            })
            .await;
            print_latencies(&what, &figure, 5.0, times);
        }

        let times = alternate(samples, big_side, base, |side, client| {
            let id = side.random_id();
            async move {
                let mut client = client;
                client
                    .get_execution(pb::GetExecutionRequest { execution_id: id })
                    .await
                    .expect("GetExecution");
            }
        })
        .await;
        print_latencies(&what, "GetExecution, random ids", 2.0, times);
        print_rss(
            &what,
            "after the measurements",
            big_side.rss_kb(),
            base.rss_kb(),
        );
        for side in sides {
            side.daemon.stop().await;
        }
    }
}

/// The seed executions: 90 `hello` that succeed and 10 `sleeper` that
/// fail, each labelled with one of five teams.
pub(crate) async fn seed(client: WorkflowServiceClient<Channel>) {
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let mut client = client.clone();
        tasks.spawn(async move {
            for i in (worker..BASELINE).step_by(8) {
                let (workflow, inputs) = if i % 10 == 9 {
                    ("sleeper", vec![("seconds", "0"), ("exit_code", "1")])
                } else {
                    ("hello", vec![("name", "bench")])
                };
                let request = pb::ExecuteRequest {
                    labels: [("team".to_string(), format!("t{}", i % 5))].into(),
                    ..execute_request(workflow, &inputs)
                };
                let id = execute_with(&mut client, request).await.id;
                client
                    .wait_execution(pb::WaitExecutionRequest { execution_id: id })
                    .await
                    .expect("wait");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("seeding worker");
    }
}

/// A ListExecutions request for one side (the time window depends on its
/// history's middle).
type RequestFor = Box<dyn Fn(&Side) -> pb::ListExecutionsRequest>;

/// The requests measured: no filter, then each filter ListExecutions
/// has, one matching many executions and one matching none.
fn filters() -> Vec<(&'static str, RequestFor)> {
    let with = |change: fn(&mut pb::ListExecutionsRequest)| -> RequestFor {
        Box::new(move |_side: &Side| {
            let mut request = pb::ListExecutionsRequest::default();
            change(&mut request);
            request
        })
    };
    fn label(request: &mut pb::ListExecutionsRequest, team: &str) {
        request.labels = [("team".to_string(), team.to_string())].into();
    }
    vec![
        ("without filter", with(|_| {})),
        (
            "workflow sleeper (10%)",
            with(|r| r.workflow_id = "sleeper".into()),
        ),
        (
            "workflow chatty (none)",
            with(|r| r.workflow_id = "chatty".into()),
        ),
        (
            "state FAILED (10%)",
            with(|r| r.states = vec![pb::ExecutionState::Failed as i32]),
        ),
        (
            "state SUCCEEDED (90%)",
            with(|r| r.states = vec![pb::ExecutionState::Succeeded as i32]),
        ),
        (
            "states FAILED or CANCELLED (10%)",
            with(|r| {
                r.states = vec![
                    pb::ExecutionState::Failed as i32,
                    pb::ExecutionState::Cancelled as i32,
                ]
            }),
        ),
        (
            "state CANCELLED (none)",
            with(|r| r.states = vec![pb::ExecutionState::Cancelled as i32]),
        ),
        ("label team=t3 (20%)", with(|r| label(r, "t3"))),
        ("label team=nobody (none)", with(|r| label(r, "nobody"))),
        (
            "batch (none)",
            with(|r| r.batch_id = "no-such-batch".into()),
        ),
        (
            "hello + SUCCEEDED + team=t1 (18%)",
            with(|r| {
                r.workflow_id = "hello".into();
                r.states = vec![pb::ExecutionState::Succeeded as i32];
                label(r, "t1");
            }),
        ),
        (
            "created in the 2 hours around mid-history",
            Box::new(|side: &Side| pb::ListExecutionsRequest {
                create_time_after: Some(timestamp(side.mid_ms - 3_600_000)),
                create_time_before: Some(timestamp(side.mid_ms + 3_600_000)),
                ..Default::default()
            }),
        ),
    ]
}

fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// One page; its executions and next page token.
async fn list(
    mut client: WorkflowServiceClient<Channel>,
    request: pb::ListExecutionsRequest,
) -> pb::ListExecutionsResponse {
    client
        .list_executions(request)
        .await
        .expect("ListExecutions")
        .into_inner()
}

/// A daemon under test and what the bench knows of its history.
struct Side {
    daemon: Daemon,
    client: WorkflowServiceClient<Channel>,
    /// Executions in its history.
    executions: usize,
    /// Medians over [`STARTS`] starts.
    listening: Duration,
    ready: Duration,
    /// Between its oldest and newest executions' create times.
    mid_ms: i64,
    /// Ids of executions spread over the whole history, in random order.
    ids: Vec<String>,
    next_id: usize,
}

impl Side {
    /// Reads what the bench needs from the history, then starts the daemon
    /// [`STARTS`] times, keeping the last one running.
    async fn start(data: &Path, executions: usize) -> Side {
        let (mid_ms, ids) = history_facts(&data.join("history.sqlite3"), 10_000);
        let (mut listening, mut ready) = (Vec::new(), Vec::new());
        let mut running = None;
        for start in 0..STARTS {
            let started = Instant::now();
            let daemon = Daemon::spawn(
                tempdir::TempDir::new(&format!("big-history-run-{executions}")),
                data,
                &examples_dir(),
                &[],
            )
            .await;
            listening.push(started.elapsed().as_secs_f64());
            let mut client = daemon.client().await;
            let status = client
                .get_status(pb::GetStatusRequest::default())
                .await
                .expect("GetStatus")
                .into_inner();
            ready.push(started.elapsed().as_secs_f64());
            assert_eq!(status.total_executions, executions as u64);
            if start + 1 < STARTS {
                daemon.stop().await;
            } else {
                running = Some((daemon, client));
            }
        }
        let (daemon, client) = running.expect("a daemon");
        Side {
            daemon,
            client,
            executions,
            listening: Duration::from_secs_f64(median(&mut listening)),
            ready: Duration::from_secs_f64(median(&mut ready)),
            mid_ms,
            ids,
            next_id: 0,
        }
    }

    fn rss_kb(&self) -> u64 {
        let pid = self.daemon.child.id().expect("daemon running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    fn random_id(&mut self) -> String {
        self.next_id += 1;
        self.ids[self.next_id % self.ids.len()].clone()
    }

    /// The token of the page that starts at the middle of this history
    /// (by create time) under `request`'s filters, reached by paging from
    /// the start with about a hundredth of the history per page; None when
    /// the filters match no more than one such page.
    async fn deep_token(&self, request: &RequestFor) -> Option<String> {
        let mut request = request(self);
        request.page_size = (self.executions / 100).clamp(1, 1000) as i32;
        loop {
            let page = list(self.client.clone(), request.clone()).await;
            if page.next_page_token.is_empty() {
                return None;
            }
            let last = page.executions.last().expect("a full page");
            let created = last.create_time.as_ref().expect("create_time");
            let created_ms = created.seconds * 1000 + i64::from(created.nanos) / 1_000_000;
            request.page_token = page.next_page_token;
            if created_ms < self.mid_ms {
                return Some(request.page_token);
            }
        }
    }
}

/// The middle of the history at `db` (create times) and the ids of up to
/// `count` executions picked at random over all of it.
fn history_facts(db: &Path, count: usize) -> (i64, Vec<String>) {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open");
    let (oldest, newest, first, last): (i64, i64, i64, i64) = conn
        .query_row(
            "SELECT MIN(create_ms), MAX(create_ms), MIN(rowid), MAX(rowid) FROM executions",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .expect("history bounds");
    let mut pick = conn
        .prepare("SELECT id FROM executions WHERE rowid >= ?1 ORDER BY rowid LIMIT 1")
        .expect("prepare");
    let span = (last - first + 1) as u128;
    let ids = (0..count)
        .map(|_| {
            let rowid = first + (uuid::Uuid::new_v4().as_u128() % span) as i64;
            pick.query_row([rowid], |row| row.get(0)).expect("an id")
        })
        .collect();
    ((oldest + newest) / 2, ids)
}

/// `samples` calls of `call` on each side in alternation (the order
/// swapped every call, so drift hits both alike), each side stopping
/// early after [`FIGURE_BUDGET`]; the latencies, big side first.
async fn alternate<Call, Called, Answer>(
    samples: usize,
    big: &mut Side,
    base: &mut Side,
    mut call: Call,
) -> [Vec<Duration>; 2]
where
    Call: FnMut(&mut Side, WorkflowServiceClient<Channel>) -> Called,
    Called: std::future::Future<Output = Answer>,
{
    let mut times: [Vec<Duration>; 2] = Default::default();
    let mut spent = [Duration::ZERO; 2];
    // A few calls first, unmeasured: connections and statements warm.
    for _ in 0..5 {
        for side in [&mut *big, &mut *base] {
            let client = side.client.clone();
            call(side, client).await;
        }
    }
    for i in 0..samples {
        for turn in 0..2 {
            let which = (i + turn) % 2;
            if spent[which] > FIGURE_BUDGET {
                continue;
            }
            let side = if which == 0 { &mut *big } else { &mut *base };
            let client = side.client.clone();
            let called = call(side, client);
            let started = Instant::now();
            called.await;
            let took = started.elapsed();
            spent[which] += took;
            times[which].push(took);
        }
    }
    times
}

fn print_latencies(what: &str, figure: &str, target_ms: f64, mut times: [Vec<Duration>; 2]) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for side in &mut times {
        side.sort();
    }
    let [big, base] = &times;
    let (p50, p99) = (ms(percentile(big, 0.5)), ms(percentile(big, 0.99)));
    let (base_p50, base_p99) = (ms(percentile(base, 0.5)), ms(percentile(base, 0.99)));
    println!(
        "{what}: {figure}, {} calls: p50 {p50:.3} ms, p99 {p99:.3} ms (target p99 <= {target_ms} ms: \
         {}); baseline ({BASELINE} executions, {} calls) p50 {base_p50:.3} ms, p99 \
         {base_p99:.3} ms; ratio p50 {:.2}x, p99 {:.2}x",
        big.len(),
        if p99 <= target_ms { "met" } else { "MISSED" },
        base.len(),
        p50 / base_p50,
        p99 / base_p99,
    );
}

fn print_rss(what: &str, when: &str, big_kb: u64, base_kb: u64) {
    println!(
        "{what}: daemon RSS {when}: {:.1} MB; baseline ({BASELINE} executions) {:.1} MB; \
         ratio {:.2}x",
        big_kb as f64 / 1024.0,
        base_kb as f64 / 1024.0,
        big_kb as f64 / base_kb as f64,
    );
}

/// The size of the history's files (database and WAL), in MB.
fn file_mb(data: &Path) -> f64 {
    ["history.sqlite3", "history.sqlite3-wal"]
        .iter()
        .filter_map(|name| std::fs::metadata(data.join(name)).ok())
        .map(|m| m.len() as f64 / 1e6)
        .sum()
}
