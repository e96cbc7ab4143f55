//! Fan-out: one execution printing N event lines, ingested while S live
//! subscribers (each on its own connection, as S dashboards would be)
//! follow its log, against the same ingest with none, in alternating
//! turns. The ingest ends when WaitExecution returns (everything
//! persisted); the subscribers then finish reading, and each must have
//! received every event once, in order, up to `finished`.

use std::time::Instant;

use tonic::transport::Channel;
use workflow_manager::pb;
use workflow_manager::pb::workflow_service_client::WorkflowServiceClient;

use crate::harness::*;

/// One turn's times, in seconds from Execute.
struct Turn {
    /// WaitExecution returned: every line persisted.
    ingested: f64,
    /// The last subscriber read `finished` (the ingest time with none).
    delivered: f64,
    /// CPU seconds from Execute until WaitExecution returned: the
    /// daemon's, its program's and this bench's (the client, its
    /// subscribers' decoding included), which share the machine's cores.
    ingest_cpu: (f64, f64, f64),
}

/// CPU so far: the daemon's, its reaped programs' and this process's.
fn cpu_now(daemon: &Daemon) -> (f64, f64, f64) {
    let used = daemon.cpu();
    (
        used.daemon,
        used.programs,
        process_cpu(std::process::id() as i32),
    )
}

pub(crate) async fn fanout(lines: usize, subscribers: usize, rounds: usize) {
    let daemon = Daemon::start("fanout").await;
    let client = daemon.client().await;
    // Every subscriber's connection is opened once, before anything is
    // timed, as dashboards that were already open.
    let mut connections = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        connections.push(daemon.client().await);
    }
    let mut alone = Vec::with_capacity(rounds);
    let mut followed = Vec::with_capacity(rounds);
    let mut ratios = Vec::with_capacity(rounds);
    for round in 0..rounds {
        // Alternate which side goes first, as the machine's speed drifts.
        let mut pair = [None, None];
        for i in 0..2 {
            let with_subscribers = (round + i) % 2 == 1;
            let watching = if with_subscribers {
                &connections[..]
            } else {
                &[]
            };
            pair[usize::from(with_subscribers)] =
                Some(turn(&daemon, &client, watching, lines).await);
        }
        let [Some(none), Some(some)] = pair else {
            unreachable!("both sides ran")
        };
        ratios.push(none.ingested / some.ingested);
        println!(
            "fan-out round {}: {lines} lines ingested alone in {:.2} s ({:.0}/s), with {subscribers} subscribers in {:.2} s ({:.0}/s, {:.2}x), all delivered at {:.2} s",
            round + 1,
            none.ingested,
            lines as f64 / none.ingested,
            some.ingested,
            lines as f64 / some.ingested,
            ratios[round],
            some.delivered,
        );
        let (d, p, c) = some.ingest_cpu;
        let (d0, p0, c0) = none.ingest_cpu;
        println!(
            "fan-out round {}: CPU seconds until ingested, daemon / its program / this bench's client: alone {d0:.2} / {p0:.2} / {c0:.2} in {:.2} s; with {subscribers} subscribers {d:.2} / {p:.2} / {c:.2} in {:.2} s (of {:.2} core-seconds on {} cores)",
            round + 1,
            none.ingested,
            some.ingested,
            some.ingested * cores() as f64,
            cores(),
        );
        alone.push(lines as f64 / none.ingested);
        followed.push(lines as f64 / some.ingested);
    }
    daemon.stop().await;
    println!(
        "fan-out: {lines} event lines, {rounds} rounds: ingest alone median {:.0} lines/s, with {subscribers} live subscribers median {:.0} lines/s; ratio median {:.2}x (min {:.2}x, max {:.2}x; target >= 0.90x)",
        median(&mut alone),
        median(&mut followed),
        median(&mut ratios.clone()),
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
    );
}

/// Runs `chatty` printing `lines` event lines with a subscriber on each
/// of `watching`, checking what each received.
async fn turn(
    daemon: &Daemon,
    client: &WorkflowServiceClient<Channel>,
    watching: &[WorkflowServiceClient<Channel>],
    lines: usize,
) -> Turn {
    let mut client = client.clone();
    let cpu_before = cpu_now(daemon);
    let started = Instant::now();
    let execution = execute(
        &mut client,
        "chatty",
        &[("mode", "events"), ("lines", &lines.to_string())],
    )
    .await;
    let subscriptions = watching.iter().map(|connection| {
        let mut connection = connection.clone();
        let id = execution.id.clone();
        async move {
            let mut stream = connection
                .stream_logs(pb::StreamLogsRequest {
                    execution_id: id,
                    from_sequence: 1,
                    follow: true,
                })
                .await
                .expect("stream")
                .into_inner();
            let mut next = 1;
            while let Some(message) = stream.message().await.expect("stream message") {
                let event = message.event.expect("event");
                assert_eq!(event.sequence, next, "a gap or a duplicate");
                next += 1;
                if let Some(pb::log_event::Payload::Finished(finished)) = event.payload {
                    assert_eq!(finished.state, pb::ExecutionState::Succeeded as i32);
                    return next - 1;
                }
            }
            panic!("the log ended without `finished` after {} events", next - 1);
        }
    });
    let waited = async {
        wait_succeeded(&mut client, &execution.id).await;
        let at = started.elapsed().as_secs_f64();
        let cpu = cpu_now(daemon);
        (
            at,
            (
                cpu.0 - cpu_before.0,
                cpu.1 - cpu_before.1,
                cpu.2 - cpu_before.2,
            ),
        )
    };
    let ((ingested, ingest_cpu), received) =
        tokio::join!(waited, futures_util::future::join_all(subscriptions));
    let delivered = started.elapsed().as_secs_f64();
    if let Some(&first) = received.first() {
        assert!(first as usize >= lines, "{first} events for {lines} lines");
        assert!(
            received.iter().all(|&r| r == first),
            "subscribers saw different logs"
        );
    }
    Turn {
        ingested,
        ingest_cpu,
        delivered: if watching.is_empty() {
            ingested
        } else {
            delivered
        },
    }
}
