//! The daemon under load (issue 24's P5 and P8): its resident memory idle
//! and per running execution, with 1,000 programs asleep, and the rate of
//! trivial executions while those 1,000 run, against the rate with none
//! (measured before starting them and again after they are gone, in the
//! same run).

use std::ffi::OsStr;
use std::time::Duration;

use workflow_manager::pb;

use crate::harness::{self, wait_status, Daemon};
use crate::throughput::{daemon_rate, AwaitBy};

/// A number in the daemon's /proc status: `VmRSS` (KiB), `Threads`.
fn proc_status(daemon: &Daemon, key: &str) -> u64 {
    let pid = daemon.child.id().expect("daemon running");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{key} in /proc/{pid}/status"))
}

/// The daemon's resident set in KiB (VmRSS).
fn rss_kib(daemon: &Daemon) -> u64 {
    proc_status(daemon, "VmRSS")
}

pub(crate) async fn load(sleepers: usize, executions: usize, rounds: usize) {
    let data = harness::tempdir::TempDir::new("load");
    let data_dir = data.0.clone();
    let slots = (sleepers + 64).to_string();
    let extra: [&OsStr; 2] = ["--max-concurrent-jobs".as_ref(), slots.as_ref()];
    let daemon = Daemon::spawn(data, &data_dir, &harness::examples_dir(), &extra).await;
    let mut client = daemon.client().await;
    wait_status(&mut client, "discovery", |s| {
        s.programs_probing == 0 && s.workflows_discovered > 0
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = rss_kib(&daemon);

    // Warm up (the history's first pages, the runtime's pools), then the
    // rate with nothing else running.
    daemon_rate(&client, 200, AwaitBy::Wait, 32).await;
    let mut unloaded = Vec::new();
    for _ in 0..rounds {
        unloaded.push(daemon_rate(&client, executions, AwaitBy::Wait, 32).await);
    }
    let before = rss_kib(&daemon);
    let threads_before = proc_status(&daemon, "Threads");

    let mut sleeping = Vec::with_capacity(sleepers);
    for _ in 0..sleepers {
        let execution = harness::execute(&mut client, "sleeper", &[("seconds", "3600")]).await;
        sleeping.push(execution.id);
    }
    wait_status(&mut client, "the sleepers running", |s| {
        s.running as usize >= sleepers && s.queued == 0
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let loaded_rss = rss_kib(&daemon);
    let mut loaded = Vec::new();
    for _ in 0..rounds {
        loaded.push(daemon_rate(&client, executions, AwaitBy::Wait, 32).await);
    }

    for id in &sleeping {
        client
            .cancel(pb::CancelRequest {
                execution_id: id.clone(),
                force: true,
                ..Default::default()
            })
            .await
            .expect("cancel");
    }
    wait_status(&mut client, "the sleepers gone", |s| s.running == 0).await;
    for _ in 0..rounds {
        unloaded.push(daemon_rate(&client, executions, AwaitBy::Wait, 32).await);
    }
    // The sleepers' worker threads end after their idle time (10 s):
    // wait for the count to come back (at most 30 s), then measure.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while proc_status(&daemon, "Threads") > threads_before && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let threads_after = proc_status(&daemon, "Threads");
    let after = rss_kib(&daemon);
    daemon.stop().await;

    let mean = |rates: &[f64]| rates.iter().sum::<f64>() / rates.len() as f64;
    let per_execution = (loaded_rss.saturating_sub(before)) as f64 / sleepers as f64;
    println!(
        "load: idle RSS {:.1} MB (target <= 15 MB); after {} executions {:.1} MB; \
         with {sleepers} running {:.1} MB: {per_execution:.1} KB per running execution \
         (target <= 64 KB); after they ended {:.1} MB (threads {threads_before} before them, \
         {threads_after} after)",
        idle as f64 / 1024.0,
        executions * rounds + 200,
        before as f64 / 1024.0,
        loaded_rss as f64 / 1024.0,
        after as f64 / 1024.0,
    );
    println!(
        "load: {executions} trivial executions (32 in flight), {rounds} turns each: \
         {:.0}/s with {sleepers} running, {:.0}/s with none (before and after: {}) ({:.2}x; target >= 0.90x)",
        mean(&loaded),
        mean(&unloaded),
        unloaded
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(", "),
        mean(&loaded) / mean(&unloaded),
    );
}
