//! The throughput curve: trivial executions awaited to completion
//! (WaitExecution) with 1, 2, 8 and 32 in flight, each level against
//! `xargs -P<cores>` spawning the same program in the same rounds, with
//! the daemon's CPU per execution over its programs'. One point (32 in
//! flight, `throughput.rs`) hid what a client running one execution at a
//! time, or a handful, sees (issue 24).

use crate::harness::*;
use crate::throughput::{daemon_rate, xargs_rate, AwaitBy};

pub(crate) async fn curve(levels: &[usize], executions: usize, rounds: usize, cores: usize) {
    let daemon = Daemon::start("curve").await;
    let client = daemon.client().await;
    for &in_flight in levels {
        let mut ratios = Vec::with_capacity(rounds);
        let (mut xargs_seconds, mut daemon_seconds) = (0.0, 0.0);
        let mut cpu = CpuUse::default();
        for round in 0..rounds {
            // The baseline and the daemon take turns, in an order that
            // alternates each round.
            let mut rates = [0.0; 2];
            for turn in 0..2 {
                let side = (round + turn) % 2;
                rates[side] = if side == 0 {
                    xargs_rate(executions, cores)
                } else {
                    let before = daemon.cpu();
                    let rate = daemon_rate(&client, executions, AwaitBy::Wait, in_flight).await;
                    cpu += daemon.cpu() - before;
                    rate
                };
            }
            xargs_seconds += executions as f64 / rates[0];
            daemon_seconds += executions as f64 / rates[1];
            ratios.push(rates[1] / rates[0]);
            println!(
                "curve, {in_flight} in flight, round {}: xargs -P{cores} {:.0}/s, daemon {:.0}/s ({:.2}x)",
                round + 1,
                rates[0],
                rates[1],
                rates[1] / rates[0],
            );
        }
        ratios.sort_by(f64::total_cmp);
        let runs = (executions * rounds) as f64;
        println!(
            "curve, {in_flight} in flight: median ratio of {rounds} rounds {:.2}x (min {:.2}x, \
             max {:.2}x), pooled {:.2}x; CPU per execution: daemon {:.3} ms, its programs \
             {:.3} ms (daemon over programs {:.2})",
            ratios[ratios.len() / 2],
            ratios[0],
            ratios[ratios.len() - 1],
            xargs_seconds / daemon_seconds,
            cpu.daemon / runs * 1e3,
            cpu.programs / runs * 1e3,
            cpu.daemon / cpu.programs,
        );
    }
    daemon.stop().await;
}
