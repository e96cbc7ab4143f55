//! Start latency: Execute to the first program event at a subscriber,
//! against spawn to the first byte of the same program.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

pub(crate) async fn start_latency(runs: usize) {
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
