//! A finished execution's whole log read three ways from the same daemon,
//! in turns: gRPC StreamLogs, Server-Sent Events and NDJSON over HTTP
//! (`GET /v1/executions/{id}/logs?follow=true`, which ends after the
//! `finished` event like the RPC).

use std::time::Instant;

use tonic::transport::Channel;
use workflow_manager::pb;
use workflow_manager::pb::workflow_service_client::WorkflowServiceClient;

use crate::harness::*;

/// How a turn reads the log.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reader {
    Grpc,
    Sse,
    Ndjson,
}

impl Reader {
    const ALL: [Reader; 3] = [Reader::Grpc, Reader::Sse, Reader::Ndjson];

    fn label(self) -> &'static str {
        match self {
            Reader::Grpc => "gRPC StreamLogs",
            Reader::Sse => "SSE",
            Reader::Ndjson => "NDJSON",
        }
    }
}

/// What one read received.
struct Read {
    events: u64,
    bytes: u64,
    /// Pieces of the body as the HTTP client handed them over (0 for gRPC,
    /// whose client hands over messages).
    chunks: u64,
    seconds: f64,
}

/// One reader's sums over its turns.
#[derive(Default)]
struct Totals {
    events: u64,
    bytes: u64,
    chunks: u64,
    seconds: f64,
    daemon_cpu: f64,
    client_cpu: f64,
}

impl Totals {
    /// Bytes, daemon and client CPU per event, and events per chunk.
    fn per_event(&self) -> String {
        let events = self.events as f64;
        let mut text = format!(
            "{:.0} bytes/event, CPU per event: daemon {:.2} us, client {:.2} us",
            self.bytes as f64 / events,
            self.daemon_cpu / events * 1e6,
            self.client_cpu / events * 1e6,
        );
        if self.chunks > 0 {
            text += &format!(", {:.2} events per body chunk", events / self.chunks as f64);
        }
        text
    }
}

/// Runs one execution of `lines` event lines, then reads its whole log
/// `rounds` times each over StreamLogs, SSE and NDJSON, in turns.
pub(crate) async fn http_logs(lines: usize, rounds: usize) {
    let daemon = Daemon::start("http-logs").await;
    let mut client = daemon.client().await;
    // The same kind of execution as the ingest benchmark's: `lines`
    // task_progress events (structured, so each becomes a JSON object with
    // a nested payload, not a bare line of text).
    let made = Instant::now();
    let execution = execute(
        &mut client,
        "chatty",
        &[("mode", "events"), ("lines", &lines.to_string())],
    )
    .await;
    wait_succeeded(&mut client, &execution.id).await;
    println!(
        "http logs: execution of {lines} event lines ran in {:.1} s",
        made.elapsed().as_secs_f64()
    );
    let http = http_client();
    let url = format!(
        "{}/v1/executions/{}/logs?follow=true&from_sequence=1",
        daemon.address, execution.id
    );
    // Per reader: events/s of each round, total events and seconds.
    let mut rates: [Vec<f64>; 3] = Default::default();
    let mut totals: [Totals; 3] = Default::default();
    let mut expected = None;
    // One task_progress reply as the daemon encodes it, to time the HTTP
    // route's per-event steps alone.
    let mut sample = None;
    for round in 0..rounds {
        let mut line = format!("http logs round {}:", round + 1);
        for turn in 0..3 {
            // Rotate the order, so no reader always follows the same one.
            let reader = Reader::ALL[(round + turn) % 3];
            let (before, client_before) = (daemon.cpu().daemon, client_cpu());
            let read = match reader {
                Reader::Grpc => read_grpc(client.clone(), &execution.id, &mut sample).await,
                Reader::Sse => read_http(&http, &url, reader).await,
                Reader::Ndjson => read_http(&http, &url, reader).await,
            };
            let cpu = daemon.cpu().daemon - before;
            let client_used = client_cpu() - client_before;
            // Every reader must see the same whole log.
            assert_eq!(
                *expected.get_or_insert(read.events),
                read.events,
                "{} received another number of events",
                reader.label()
            );
            let index = reader as usize;
            rates[index].push(read.events as f64 / read.seconds);
            let sums = &mut totals[index];
            sums.events += read.events;
            sums.bytes += read.bytes;
            sums.chunks += read.chunks;
            sums.seconds += read.seconds;
            sums.daemon_cpu += cpu;
            sums.client_cpu += client_used;
            line += &format!(
                " {} {:.0} events/s ({:.1} s);",
                reader.label(),
                read.events as f64 / read.seconds,
                read.seconds
            );
        }
        println!("{line}");
    }
    daemon.stop().await;
    let events = expected.unwrap_or_default();
    let grpc_rate = median(&mut rates[0].clone());
    let mut summary = format!(
        "http logs: {events} events read whole, median of {rounds} rounds: gRPC {grpc_rate:.0} events/s \
         ({})",
        totals[0].per_event(),
    );
    for reader in [Reader::Sse, Reader::Ndjson] {
        let index = reader as usize;
        let mut ratios: Vec<f64> = rates[index]
            .iter()
            .zip(&rates[0])
            .map(|(rate, grpc)| rate / grpc)
            .collect();
        summary += &format!(
            "; {} {:.0} events/s ({}), ratio to gRPC median {:.2}x (min {:.2}x, max {:.2}x; \
             pooled {:.2}x)",
            reader.label(),
            median(&mut rates[index]),
            totals[index].per_event(),
            median(&mut ratios),
            ratios[0],
            ratios[ratios.len() - 1],
            totals[0].seconds / totals[index].seconds,
        );
    }
    println!("{summary}; target SSE >= 0.80x");
    crate::event_json_cost::print_event_json_cost(&sample.expect("a task_progress reply"));
}

/// The whole log with StreamLogs; keeps the 1000th reply in `sample`.
async fn read_grpc(
    mut client: WorkflowServiceClient<Channel>,
    execution_id: &str,
    sample: &mut Option<Vec<u8>>,
) -> Read {
    use prost::Message;
    let started = Instant::now();
    let mut stream = client
        .stream_logs(pb::StreamLogsRequest {
            execution_id: execution_id.into(),
            from_sequence: 1,
            follow: true,
        })
        .await
        .expect("StreamLogs")
        .into_inner();
    let (mut events, mut bytes) = (0, 0);
    while let Some(message) = stream.message().await.expect("StreamLogs message") {
        events += 1;
        bytes += message.encoded_len() as u64;
        if events == 1000 {
            sample.get_or_insert_with(|| message.encode_to_vec());
        }
    }
    Read {
        events,
        bytes,
        chunks: 0,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// The whole log over HTTP as SSE or NDJSON, the frames parsed only as
/// far as counting events takes (each event's JSON is not parsed, as the
/// gRPC side's messages are decoded: a reader of either would parse).
async fn read_http(http: &reqwest::Client, url: &str, reader: Reader) -> Read {
    let accept = match reader {
        Reader::Ndjson => "application/x-ndjson",
        _ => "text/event-stream",
    };
    let started = Instant::now();
    let mut response = http
        .get(url)
        .header(reqwest::header::ACCEPT, accept)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("GET logs");
    let mut lines = LineCounter::default();
    while let Some(chunk) = response.chunk().await.expect("log chunk") {
        lines.feed(&chunk, reader);
    }
    assert!(lines.partial.is_empty(), "the stream ended mid-line");
    Read {
        events: lines.events,
        bytes: lines.bytes,
        chunks: lines.chunks,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Counts events in a byte stream, line by line across chunk boundaries.
#[derive(Default)]
struct LineCounter {
    /// The start of a line not ended in the last chunk.
    partial: Vec<u8>,
    /// Whether the SSE frame being read has a `data:` line.
    frame_has_data: bool,
    events: u64,
    bytes: u64,
    chunks: u64,
}

impl LineCounter {
    fn feed(&mut self, chunk: &[u8], reader: Reader) {
        self.bytes += chunk.len() as u64;
        self.chunks += 1;
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let line: &[u8] = if self.partial.is_empty() {
                &rest[..end]
            } else {
                self.partial.extend_from_slice(&rest[..end]);
                &self.partial
            };
            match reader {
                // One JSON object per line; an error is a line of its own.
                Reader::Ndjson => {
                    assert!(!line.starts_with(b"{\"error\""), "stream error");
                    self.events += 1;
                }
                // A frame ends at an empty line; keep-alive comments
                // (`:`) make frames without data, not events.
                _ => {
                    if line.is_empty() {
                        self.events += u64::from(std::mem::take(&mut self.frame_has_data));
                    } else if line.starts_with(b"data:") {
                        self.frame_has_data = true;
                    } else {
                        assert!(!line.starts_with(b"event: error"), "stream error");
                    }
                }
            }
            self.partial.clear();
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
    }
}
