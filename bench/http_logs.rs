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
    seconds: f64,
}

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
    let ended = client
        .wait_execution(pb::WaitExecutionRequest {
            execution_id: execution.id.clone(),
        })
        .await
        .expect("wait")
        .into_inner()
        .execution
        .expect("execution");
    assert_eq!(ended.state, pb::ExecutionState::Succeeded as i32);
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
    // Per reader: events, bytes, seconds, daemon and client CPU seconds.
    let mut totals = [(0u64, 0u64, 0.0f64, 0.0f64, 0.0f64); 3];
    let mut expected = None;
    for round in 0..rounds {
        let mut line = format!("http logs round {}:", round + 1);
        for turn in 0..3 {
            // Rotate the order, so no reader always follows the same one.
            let reader = Reader::ALL[(round + turn) % 3];
            let (before, client_before) = (daemon.cpu().daemon, client_cpu());
            let read = match reader {
                Reader::Grpc => read_grpc(client.clone(), &execution.id).await,
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
            totals[index].0 += read.events;
            totals[index].1 += read.bytes;
            totals[index].2 += read.seconds;
            totals[index].3 += cpu;
            totals[index].4 += client_used;
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
         ({:.0} bytes/event, CPU per event: daemon {:.2} us, client {:.2} us)",
        totals[0].1 as f64 / totals[0].0 as f64,
        totals[0].3 / totals[0].0 as f64 * 1e6,
        totals[0].4 / totals[0].0 as f64 * 1e6,
    );
    for reader in [Reader::Sse, Reader::Ndjson] {
        let index = reader as usize;
        let mut ratios: Vec<f64> = rates[index]
            .iter()
            .zip(&rates[0])
            .map(|(rate, grpc)| rate / grpc)
            .collect();
        summary += &format!(
            "; {} {:.0} events/s ({:.0} bytes/event, CPU per event: daemon {:.2} us, \
             client {:.2} us), ratio to gRPC median {:.2}x (min {:.2}x, max {:.2}x; pooled {:.2}x)",
            reader.label(),
            median(&mut rates[index]),
            totals[index].1 as f64 / totals[index].0 as f64,
            totals[index].3 / totals[index].0 as f64 * 1e6,
            totals[index].4 / totals[index].0 as f64 * 1e6,
            median(&mut ratios),
            ratios[0],
            ratios[ratios.len() - 1],
            totals[0].2 / totals[index].2,
        );
    }
    println!("{summary}; target SSE >= 0.80x");
}

/// The whole log with StreamLogs (follow, so it ends after `finished`).
async fn read_grpc(mut client: WorkflowServiceClient<Channel>, execution_id: &str) -> Read {
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
    }
    Read {
        events,
        bytes,
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
}

impl LineCounter {
    fn feed(&mut self, chunk: &[u8], reader: Reader) {
        self.bytes += chunk.len() as u64;
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
