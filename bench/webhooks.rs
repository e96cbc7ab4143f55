//! Webhooks: the rate of deliveries to a local receiver, against the same
//! bodies POSTed to it by a bare reqwest loop with the same concurrency
//! (the floor of the receiver and the loopback); and execution throughput
//! with one webhook receiving every event against none, in turns.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use workflow_manager::pb;

use crate::harness::*;
use crate::throughput::{daemon_rate, AwaitBy};

/// Requests the bare loop keeps in flight: the daemon's senders' own.
const IN_FLIGHT: usize = 16;

/// A receiver that counts POSTs and answers 204, on a thread of its own
/// (a webhook endpoint is another program): its work does not hold up the
/// bench's one-threaded client.
struct Receiver {
    url: String,
    count: Arc<AtomicUsize>,
    arrived: Arc<Notify>,
}

impl Receiver {
    async fn start() -> Receiver {
        let count = Arc::new(AtomicUsize::new(0));
        let arrived = Arc::new(Notify::new());
        let (c, a) = (count.clone(), arrived.clone());
        let app = axum::Router::new().fallback(move || {
            let (c, a) = (c.clone(), a.clone());
            async move {
                c.fetch_add(1, Ordering::Relaxed);
                a.notify_waiters();
                axum::http::StatusCode::NO_CONTENT
            }
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("non-blocking");
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("receiver runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(listener, app).await.expect("serve");
            });
        });
        Receiver {
            url,
            count,
            arrived,
        }
    }

    async fn wait_for(&self, total: usize) {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let arrived = self.arrived.notified();
            if self.count.load(Ordering::Relaxed) >= total {
                return;
            }
            assert!(Instant::now() < deadline, "deliveries did not arrive");
            let _ = tokio::time::timeout(Duration::from_millis(100), arrived).await;
        }
    }
}

async fn create_webhook(
    client: &mut pb::workflow_service_client::WorkflowServiceClient<tonic::transport::Channel>,
    url: &str,
) -> String {
    client
        .create_webhook(pb::CreateWebhookRequest {
            webhook: Some(pb::Webhook {
                url: url.to_string(),
                ..Default::default()
            }),
        })
        .await
        .expect("CreateWebhook")
        .into_inner()
        .webhook
        .expect("webhook")
        .id
}

/// `executions` executions with `webhooks` webhooks each getting every
/// event (deliveries/s from the first Execute to the last delivery),
/// against a bare loop POSTing as many bodies; then `rounds` rounds of
/// `executions` executions with one webhook and with none.
pub(crate) async fn webhooks(webhooks: usize, executions: usize, rounds: usize) {
    let daemon = Daemon::start("webhooks").await;
    let mut client = daemon.client().await;
    let receiver = Receiver::start().await;

    // Delivery rate.
    let mut ids = Vec::new();
    for _ in 0..webhooks {
        ids.push(create_webhook(&mut client, &receiver.url).await);
    }
    let deliveries = webhooks * executions;
    let started = Instant::now();
    daemon_rate(&client, executions, AwaitBy::Wait, 32).await;
    receiver.wait_for(deliveries).await;
    let daemon_rate_per_s = deliveries as f64 / started.elapsed().as_secs_f64();
    for id in &ids {
        client
            .delete_webhook(pb::DeleteWebhookRequest {
                webhook_id: id.clone(),
            })
            .await
            .expect("DeleteWebhook");
    }
    let bare = bare_rate(&receiver, deliveries).await;
    println!(
        "webhooks: {deliveries} deliveries ({webhooks} webhooks x {executions} executions) at \
         {daemon_rate_per_s:.0}/s from the first Execute to the last delivery (target >= 1,000/s); \
         a bare reqwest loop, {IN_FLIGHT} in flight, POSTs as many at {bare:.0}/s; ratio {:.2}x",
        daemon_rate_per_s / bare
    );

    // Throughput with one webhook getting every event, against none, in
    // turns whose order alternates.
    let mut rates: [Vec<f64>; 2] = Default::default();
    let mut cpu = [0.0; 2];
    for round in 0..rounds {
        for turn in 0..2 {
            let with = (round + turn) % 2 == 1;
            let webhook = if with {
                Some(create_webhook(&mut client, &receiver.url).await)
            } else {
                None
            };
            let before = daemon.cpu().daemon;
            let delivered = receiver.count.load(Ordering::Relaxed);
            let rate = daemon_rate(&client, executions, AwaitBy::Wait, 32).await;
            if let Some(id) = webhook {
                // Its deliveries are part of its cost: wait for them.
                receiver.wait_for(delivered + executions).await;
                client
                    .delete_webhook(pb::DeleteWebhookRequest { webhook_id: id })
                    .await
                    .expect("DeleteWebhook");
            }
            cpu[usize::from(with)] += daemon.cpu().daemon - before;
            rates[usize::from(with)].push(rate);
        }
        println!(
            "webhooks round {}: {executions} executions without a webhook {:.0}/s, with one \
             getting every event {:.0}/s ({:.2}x)",
            round + 1,
            rates[0][round],
            rates[1][round],
            rates[1][round] / rates[0][round]
        );
    }
    daemon.stop().await;
    let mut ratios: Vec<f64> = rates[1].iter().zip(&rates[0]).map(|(w, n)| w / n).collect();
    println!(
        "webhooks: throughput with one webhook getting every event over none, {rounds} rounds \
         of {executions}: median {:.2}x (target >= 0.95x); without median {:.0}/s, with \
         {:.0}/s; daemon CPU per execution without {:.3} ms, with (its deliveries included) \
         {:.3} ms",
        median(&mut ratios),
        median(&mut rates[0]),
        median(&mut rates[1]),
        cpu[0] / (executions * rounds) as f64 * 1e3,
        cpu[1] / (executions * rounds) as f64 * 1e3,
    );
}

/// POSTs `count` bodies like the daemon's to the receiver, `IN_FLIGHT` at a
/// time; returns the rate.
async fn bare_rate(receiver: &Receiver, count: usize) -> f64 {
    let http = reqwest::Client::new();
    let body = r#"{"type":"execution.succeeded","timestamp":"2026-12-06T00:00:00.000Z","data":{"execution_id":"0"}}"#;
    let before = receiver.count.load(Ordering::Relaxed);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (http, next, url) = (http.clone(), next.clone(), receiver.url.clone());
        tasks.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < count {
                http.post(&url)
                    .header("content-type", "application/json")
                    .header("webhook-id", "msg_bench")
                    .header("webhook-timestamp", "0")
                    .header("webhook-signature", "v1,bench")
                    .body(body)
                    .send()
                    .await
                    .expect("POST");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    assert_eq!(receiver.count.load(Ordering::Relaxed) - before, count);
    count as f64 / elapsed.as_secs_f64()
}
