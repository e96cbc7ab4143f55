//! GetStatus over HTTP/JSON (a keep-alive HTTP/1.1 client) against native
//! gRPC (the tonic client), on the same daemon, in alternating turns at a
//! fixed number of calls in flight.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tonic::transport::Channel;
use workflow_manager::pb;
use workflow_manager::pb::workflow_service_client::WorkflowServiceClient;

use crate::harness::*;

/// How a turn calls GetStatus.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// The tonic client: one HTTP/2 connection, calls multiplexed on it.
    Grpc,
    /// `GET /v1/status` with reqwest, HTTP/1.1 keep-alive, one connection
    /// per call in flight, the JSON answer parsed.
    Json,
}

/// What one turn measured.
struct Turn {
    calls: usize,
    seconds: f64,
    latencies: Vec<Duration>,
}

/// Both sides' turns at one concurrency.
#[derive(Default)]
struct Side {
    calls: usize,
    seconds: f64,
    latencies: Vec<Duration>,
    rates: Vec<f64>,
    /// The daemon's CPU seconds in this side's turns.
    cpu: f64,
}

/// GetStatus over JSON against gRPC at each of `concurrencies` calls in
/// flight, `rounds` rounds of one `turn` per side.
pub(crate) async fn http_status(turn: Duration, rounds: usize, concurrencies: &[usize]) {
    let daemon = Daemon::start("http-status").await;
    let grpc = daemon.client().await;
    let http = http_client();
    let url = format!("{}/v1/status", daemon.address);
    // Open the connections (HTTP/1.1 opens one per call in flight) before
    // anything is timed.
    for protocol in [Protocol::Grpc, Protocol::Json] {
        run_turn(protocol, 8, Duration::from_millis(300), &grpc, &http, &url).await;
    }
    for &in_flight in concurrencies {
        let mut sides = [Side::default(), Side::default()];
        let mut ratios = Vec::with_capacity(rounds);
        for round in 0..rounds {
            // Alternate which side goes first, so neither always follows
            // the other when the machine's speed drifts.
            for i in 0..2 {
                let side = (round + i) % 2;
                let protocol = [Protocol::Grpc, Protocol::Json][side];
                let before = daemon.cpu().daemon;
                let measured = run_turn(protocol, in_flight, turn, &grpc, &http, &url).await;
                let totals = &mut sides[side];
                totals.cpu += daemon.cpu().daemon - before;
                totals.calls += measured.calls;
                totals.seconds += measured.seconds;
                totals.rates.push(measured.calls as f64 / measured.seconds);
                totals.latencies.extend(measured.latencies);
            }
            ratios.push(sides[1].rates[round] / sides[0].rates[round]);
            println!(
                "http status round {}, {in_flight} in flight: gRPC {:.0}/s, JSON {:.0}/s ({:.2}x)",
                round + 1,
                sides[0].rates[round],
                sides[1].rates[round],
                ratios[round],
            );
        }
        for side in &mut sides {
            side.latencies.sort();
        }
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let [grpc_side, json_side] = &mut sides;
        println!(
            "http status, {in_flight} in flight, {rounds} rounds: \
             gRPC median {:.0}/s, p50 {:.3} ms, p99 {:.3} ms; \
             JSON median {:.0}/s, p50 {:.3} ms, p99 {:.3} ms; \
             JSON/gRPC throughput median {:.2}x (min {:.2}x, max {:.2}x; pooled {:.2}x), \
             p50 latency {:.2}x; daemon CPU per call gRPC {:.1} us, JSON {:.1} us; \
             target >= 0.70x",
            median(&mut grpc_side.rates),
            ms(percentile(&grpc_side.latencies, 0.5)),
            ms(percentile(&grpc_side.latencies, 0.99)),
            median(&mut json_side.rates),
            ms(percentile(&json_side.latencies, 0.5)),
            ms(percentile(&json_side.latencies, 0.99)),
            median(&mut ratios),
            ratios[0],
            ratios[ratios.len() - 1],
            (json_side.calls as f64 / json_side.seconds)
                / (grpc_side.calls as f64 / grpc_side.seconds),
            ms(percentile(&json_side.latencies, 0.5)) / ms(percentile(&grpc_side.latencies, 0.5)),
            grpc_side.cpu / grpc_side.calls as f64 * 1e6,
            json_side.cpu / json_side.calls as f64 * 1e6,
        );
    }
    daemon.stop().await;
}

/// Calls GetStatus with `in_flight` calls outstanding for `length`; every
/// call started before the end is awaited and counted.
async fn run_turn(
    protocol: Protocol,
    in_flight: usize,
    length: Duration,
    grpc: &WorkflowServiceClient<Channel>,
    http: &reqwest::Client,
    url: &str,
) -> Turn {
    let started = Instant::now();
    let until = started + length;
    let workers = (0..in_flight).map(|_| {
        let mut grpc = grpc.clone();
        async move {
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let call = Instant::now();
                match protocol {
                    Protocol::Grpc => {
                        grpc.get_status(pb::GetStatusRequest::default())
                            .await
                            .expect("GetStatus");
                    }
                    Protocol::Json => {
                        let status: serde_json::Value = http
                            .get(url)
                            .send()
                            .await
                            .and_then(reqwest::Response::error_for_status)
                            .expect("GET /v1/status")
                            .json()
                            .await
                            .expect("JSON status");
                        assert!(status.get("version").is_some(), "{status}");
                    }
                }
                latencies.push(call.elapsed());
            }
            latencies
        }
    });
    // All workers in this one task: the runtime is single-threaded anyway,
    // and no spawning keeps the per-call overhead the same on both sides.
    let latencies: Vec<Duration> = join_all(workers).await.into_iter().flatten().collect();
    Turn {
        calls: latencies.len(),
        seconds: started.elapsed().as_secs_f64(),
        latencies,
    }
}
