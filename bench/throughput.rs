//! Throughput: trivial executions via gRPC, each awaited to completion in
//! two ways, against the same program spawned with `xargs -P<cores>`.

use std::process::{Command, Stdio};
use std::time::Instant;

use tonic::transport::Channel;
use workflow_manager::pb::workflow_service_client::WorkflowServiceClient;

use crate::harness::*;

pub(crate) async fn throughput(executions: usize, rounds: usize, cores: usize) {
    // The machine's speed drifts (other tenants of the VM) by a third
    // between minutes, so the baseline and the two daemon runs take turns in
    // short rounds, in an order that rotates each round (no side always
    // follows the same one), and the ratios quoted are the median of the
    // rounds' ratios and the pooled ratio (all executions over all time).
    let daemon = Daemon::start("throughput").await;
    let client = daemon.client().await;
    // Per side: (ratio of each round, total seconds, CPU used).
    let mut xargs_seconds = 0.0;
    let mut sides = [
        (
            AwaitBy::Wait,
            Vec::with_capacity(rounds),
            0.0,
            CpuUse::default(),
        ),
        (
            AwaitBy::Follow,
            Vec::with_capacity(rounds),
            0.0,
            CpuUse::default(),
        ),
    ];
    for round in 0..rounds {
        let mut rates = [0.0; 3];
        for turn in 0..3 {
            let side = (round + turn) % 3;
            rates[side] = match side {
                0 => xargs_rate(executions, cores),
                _ => {
                    let before = daemon.cpu();
                    let rate = daemon_rate(&client, executions, sides[side - 1].0, 32).await;
                    sides[side - 1].3 += daemon.cpu() - before;
                    rate
                }
            };
        }
        xargs_seconds += executions as f64 / rates[0];
        let mut line = format!(
            "throughput round {}: {executions} executions: xargs -P{cores} {:.0}/s",
            round + 1,
            rates[0]
        );
        for (i, (how, ratios, seconds, _)) in sides.iter_mut().enumerate() {
            let rate = rates[i + 1];
            ratios.push(rate / rates[0]);
            *seconds += executions as f64 / rate;
            line += &format!("; {} {rate:.0}/s ({:.2}x)", how.label(), rate / rates[0]);
        }
        println!("{line}");
    }
    daemon.stop().await;
    for (how, mut ratios, seconds, cpu) in sides {
        ratios.sort_by(f64::total_cmp);
        println!(
            "throughput, {}: median ratio of {rounds} rounds {:.2}x (min {:.2}x, max {:.2}x), \
             pooled {:.2}x; target >= 0.70x",
            how.label(),
            ratios[ratios.len() / 2],
            ratios[0],
            ratios[ratios.len() - 1],
            xargs_seconds / seconds,
        );
        // Steadier than the rates when the machine's speed drifts: both
        // sides of this ratio slow down together.
        let runs = (executions * rounds) as f64;
        println!(
            "throughput, {}: CPU per execution: daemon {:.3} ms, its programs {:.3} ms \
             (daemon over programs {:.2})",
            how.label(),
            cpu.daemon / runs * 1e3,
            cpu.programs / runs * 1e3,
            cpu.daemon / cpu.programs,
        );
    }
}

/// Runs of the benchmark program per second when xargs spawns it directly,
/// `cores` at a time.
pub(crate) fn xargs_rate(executions: usize, cores: usize) -> f64 {
    let program = examples_dir().join("hello.sh");
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
    executions as f64 / started.elapsed().as_secs_f64()
}

/// How the throughput client awaits each execution.
#[derive(Clone, Copy)]
pub(crate) enum AwaitBy {
    /// WaitExecution: one reply once the end is committed.
    Wait,
    /// StreamLogs with follow, every event up to `finished`.
    Follow,
}

impl AwaitBy {
    pub(crate) fn label(self) -> &'static str {
        match self {
            AwaitBy::Wait => "daemon awaited with WaitExecution",
            AwaitBy::Follow => "daemon followed with StreamLogs",
        }
    }
}

/// Executions of the benchmark program per second through the daemon, each
/// awaited to its end (everything persisted), `in_flight` at a time.
pub(crate) async fn daemon_rate(
    client: &WorkflowServiceClient<Channel>,
    executions: usize,
    how: AwaitBy,
    in_flight: usize,
) -> f64 {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..in_flight {
        let mut client = client.clone();
        let share = executions / in_flight + usize::from(worker < executions % in_flight);
        tasks.spawn(async move {
            for _ in 0..share {
                match how {
                    AwaitBy::Wait => {
                        run_and_wait(&mut client, "hello", &[("name", "bench")]).await;
                    }
                    AwaitBy::Follow => {
                        run_to_end(&mut client, "hello", &[("name", "bench")]).await;
                    }
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("worker");
    }
    executions as f64 / started.elapsed().as_secs_f64()
}
