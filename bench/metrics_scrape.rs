//! `GET /metrics` with a large history: scrape latency (against the floor
//! of an HTTP round trip on the same port, measured in alternation), and
//! execution throughput with and without a scraper every second, in turns.

use std::time::{Duration, Instant};

use workflow_manager::pb;

use crate::harness::*;
use crate::history_fill::filled_history;
use crate::throughput::{daemon_rate, AwaitBy};

/// Scrape latency over a history of `history` executions (`scrapes`
/// scrapes), then `rounds` rounds of `executions` executions without and
/// with a scraper.
pub(crate) async fn metrics_scrape(
    history: usize,
    scrapes: usize,
    executions: usize,
    rounds: usize,
) {
    let data = filled_history("metrics", history, 100).await;
    let data_dir = data.0.clone();
    let started = Instant::now();
    let daemon = Daemon::spawn(data, &data_dir, &examples_dir(), &[]).await;
    let client = daemon.client().await;
    let status = client
        .clone()
        .get_status(pb::GetStatusRequest::default())
        .await
        .expect("GetStatus")
        .into_inner();
    assert_eq!(status.total_executions, history as u64, "{status:?}");
    println!(
        "metrics: daemon up over {history} executions in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let http = http_client();
    let metrics_url = format!("{}/metrics", daemon.address);
    let probe = http.get(&metrics_url).send().await.expect("GET /metrics");
    if probe.status() == reqwest::StatusCode::NOT_FOUND {
        println!("metrics: this daemon has no GET /metrics (404); not run");
        daemon.stop().await;
        return;
    }
    // The floor: a path no route answers (404 from the same HTTP stack),
    // with the same client and connection.
    let floor_url = format!("{}/v1/no-such-route", daemon.address);
    let mut size = 0;
    for _ in 0..20 {
        size = scrape(&http, &metrics_url).await.1;
        floor(&http, &floor_url).await;
    }
    let (mut scraped, mut floors) = (Vec::new(), Vec::new());
    for _ in 0..scrapes {
        scraped.push(scrape(&http, &metrics_url).await.0);
        floors.push(floor(&http, &floor_url).await);
    }
    scraped.sort();
    floors.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "metrics: {scrapes} scrapes of {size} bytes, idle daemon, {history} executions in the \
         history: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (target p99 < 5 ms); \
         HTTP floor (404, same port, alternating) p50 {:.3} ms, p99 {:.3} ms; \
         ratio p50 {:.1}x, p99 {:.1}x",
        ms(percentile(&scraped, 0.5)),
        ms(percentile(&scraped, 0.99)),
        ms(scraped[scraped.len() - 1]),
        ms(percentile(&floors, 0.5)),
        ms(percentile(&floors, 0.99)),
        ms(percentile(&scraped, 0.5)) / ms(percentile(&floors, 0.5)),
        ms(percentile(&scraped, 0.99)) / ms(percentile(&floors, 0.99)),
    );

    // Throughput with and without a scraper, in turns whose order
    // alternates from round to round.
    let mut rates: [Vec<f64>; 2] = Default::default();
    let mut seconds = [0.0; 2];
    // The daemon's CPU seconds per side: steadier than the rates when the
    // machine's speed drifts.
    let mut cpu = [0.0; 2];
    let mut under_load = Vec::new();
    for round in 0..rounds {
        for turn in 0..2 {
            let scraped = (round + turn) % 2 == 1;
            let before = daemon.cpu().daemon;
            let scraper = scraped.then(|| Scraper::start(http.clone(), metrics_url.clone()));
            let rate = daemon_rate(&client, executions, AwaitBy::Wait, 32).await;
            if let Some(scraper) = scraper {
                under_load.extend(scraper.stop().await);
            }
            let side = usize::from(scraped);
            cpu[side] += daemon.cpu().daemon - before;
            rates[side].push(rate);
            seconds[side] += executions as f64 / rate;
        }
        println!(
            "metrics round {}: {executions} executions without a scraper {:.0}/s, \
             with one every second {:.0}/s ({:.2}x)",
            round + 1,
            rates[0][round],
            rates[1][round],
            rates[1][round] / rates[0][round],
        );
    }
    daemon.stop().await;
    let mut ratios: Vec<f64> = rates[1].iter().zip(&rates[0]).map(|(s, n)| s / n).collect();
    under_load.sort();
    println!(
        "metrics: throughput with a scraper every second over without, {rounds} rounds of \
         {executions}: median {:.2}x (min {:.2}x, max {:.2}x; pooled {:.2}x); without median \
         {:.0}/s, with {:.0}/s; daemon CPU per execution without {:.3} ms, with {:.3} ms \
         ({:.2}x); {} scrapes under load: p50 {:.3} ms, max {:.3} ms",
        median(&mut ratios),
        ratios[0],
        ratios[ratios.len() - 1],
        seconds[0] / seconds[1],
        median(&mut rates[0]),
        median(&mut rates[1]),
        cpu[0] / (executions * rounds) as f64 * 1e3,
        cpu[1] / (executions * rounds) as f64 * 1e3,
        cpu[1] / cpu[0],
        under_load.len(),
        ms(percentile(&under_load, 0.5)),
        ms(under_load[under_load.len() - 1]),
    );
}

/// One scrape: its latency and the size of the exposition.
async fn scrape(http: &reqwest::Client, url: &str) -> (Duration, usize) {
    let started = Instant::now();
    let body = http
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("GET /metrics")
        .bytes()
        .await
        .expect("metrics body");
    let elapsed = started.elapsed();
    assert!(body.ends_with(b"# EOF\n"), "not an OpenMetrics exposition");
    (elapsed, body.len())
}

/// One call answered 404 by the HTTP side: its latency.
async fn floor(http: &reqwest::Client, url: &str) -> Duration {
    let started = Instant::now();
    let response = http.get(url).send().await.expect("GET");
    assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND);
    response.bytes().await.expect("body");
    started.elapsed()
}

/// Scrapes `/metrics` every second, as Prometheus would, until stopped.
struct Scraper {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Vec<Duration>>,
}

impl Scraper {
    fn start(http: reqwest::Client, url: String) -> Scraper {
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = &mut stopped => return latencies,
                    _ = every.tick() => latencies.push(scrape(&http, &url).await.0),
                }
            }
        });
        Scraper { stop, task }
    }

    /// Stops scraping; the latencies of the scrapes made.
    async fn stop(self) -> Vec<Duration> {
        let _ = self.stop.send(());
        self.task.await.expect("scraper")
    }
}
