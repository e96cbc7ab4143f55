//! What resource limits and the guardian cost per execution: trivial
//! executions (Execute, then WaitExecution, 32 in flight) in four turns
//! per round, in an order that rotates:
//! - spawn: a daemon with `kill_programs_with_daemon = false` (no
//!   guardian), without limits: a plain posix_spawn of the program;
//! - guardian: the default daemon, without limits: the same spawn, plus a
//!   line to the guardian at each start and end;
//! - cgroup: the default daemon, each run with a process and a memory
//!   limit, so in a control group of its own (created, joined by
//!   `workflow-exec` before it execs the program, sampled, emptied and
//!   removed), where the host has cgroup v1;
//! - watch: a daemon with `cgroups = false`, the same limits held by
//!   sampling the process group (and setrlimit through workflow-exec).
//!
//! Earlier runs of this bench measured what a PR_SET_PDEATHSIG on every
//! program would cost (bench/README.md keeps those figures): set in std's
//! `pre_exec` (a fork of the whole daemon) or by workflow-exec (one more
//! exec), each about halved the throughput; hence the guardian.

use std::ffi::OsStr;
use std::time::Instant;

use tonic::transport::Channel;
use workflow_manager::pb;
use workflow_manager::pb::workflow_service_client::WorkflowServiceClient;

use crate::harness::*;

type Client = WorkflowServiceClient<Channel>;

/// Executions per second, `in_flight` at a time, each awaited, each with
/// `limits`.
async fn rate(
    client: &Client,
    limits: Option<pb::ResourceLimits>,
    executions: usize,
    in_flight: usize,
) -> f64 {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..in_flight {
        let mut client = client.clone();
        let share = executions / in_flight + usize::from(worker < executions % in_flight);
        tasks.spawn(async move {
            for _ in 0..share {
                let mut request = execute_request("hello", &[("name", "bench")]);
                request.limits = limits;
                let execution = execute_with(&mut client, request).await;
                wait_succeeded(&mut client, &execution.id).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("worker");
    }
    executions as f64 / started.elapsed().as_secs_f64()
}

/// A daemon on the examples with `config` as its config file.
async fn daemon_with(tag: &str, config: &str) -> Daemon {
    let data = tempdir::TempDir::new(tag);
    let data_dir = data.0.clone();
    let file = data_dir.join("limits-bench.toml");
    std::fs::write(&file, config).expect("config file");
    Daemon::spawn(
        data,
        &data_dir,
        &examples_dir(),
        &[OsStr::new("--config"), file.as_os_str()],
    )
    .await
}

/// `rounds` rounds of `executions` executions in each of the four turns.
pub(crate) async fn limits(executions: usize, rounds: usize) {
    let plain = daemon_with("limits-spawn", "kill_programs_with_daemon = false\n").await;
    let default = daemon_with("limits-default", "").await;
    let watching = daemon_with("limits-watch", "cgroups = false\n").await;
    let status = default
        .client()
        .await
        .get_status(pb::GetStatusRequest::default())
        .await
        .expect("GetStatus")
        .into_inner();
    println!(
        "limits: the default daemon enforces with {}",
        status.program_limits_enforcement
    );
    let limits = Some(pb::ResourceLimits {
        max_processes: Some(64),
        memory_bytes: Some(256 << 20),
        ..Default::default()
    });
    let turns: [(&str, &Daemon, Option<pb::ResourceLimits>); 4] = [
        ("spawn", &plain, None),
        ("guardian", &default, None),
        ("cgroup", &default, limits),
        ("watch", &watching, limits),
    ];
    let mut clients = Vec::new();
    for (_, daemon, limits) in &turns {
        let client = daemon.client().await;
        // Warm up: discovery, the first run directories.
        rate(&client, *limits, 64, 32).await;
        clients.push(client);
    }
    let mut rates: [Vec<f64>; 4] = Default::default();
    let mut cpu = [0.0; 4];
    for round in 0..rounds {
        for step in 0..turns.len() {
            let turn = (round + step) % turns.len();
            let (_, daemon, limits) = &turns[turn];
            let before = daemon.cpu().daemon;
            rates[turn].push(rate(&clients[turn], *limits, executions, 32).await);
            cpu[turn] += daemon.cpu().daemon - before;
        }
        let line: Vec<String> = turns
            .iter()
            .zip(&rates)
            .map(|((name, ..), rates)| format!("{name} {:.0}/s", rates[round]))
            .collect();
        println!("limits round {}: {}", round + 1, line.join(", "));
    }
    let per_execution = |seconds: f64| seconds / (executions * rounds) as f64 * 1e3;
    let ratio = |turn: usize, base: usize| {
        let mut ratios: Vec<f64> = rates[turn]
            .iter()
            .zip(&rates[base])
            .map(|(a, b)| a / b)
            .collect();
        median(&mut ratios)
    };
    println!(
        "limits: throughput over the same daemon without limits, {rounds} rounds of {executions}: \
         cgroup median {:.2}x, group watch {:.2}x; with the guardian over without {:.2}x; daemon \
         CPU per execution: spawn {:.3} ms, guardian {:.3} ms, cgroup {:.3} ms, watch {:.3} ms",
        ratio(2, 1),
        ratio(3, 1),
        ratio(1, 0),
        per_execution(cpu[0]),
        per_execution(cpu[1]),
        per_execution(cpu[2]),
        per_execution(cpu[3]),
    );
    plain.stop().await;
    default.stop().await;
    watching.stop().await;
}
