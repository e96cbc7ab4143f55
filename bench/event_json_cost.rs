//! What one log event costs as JSON, step by step, in isolation: the HTTP
//! route (src/http/stream.rs) writes each in-process StreamLogs reply as
//! JSON straight from its bytes (`proto_json::encoded_to_json`); before,
//! it decoded a prost-reflect `DynamicMessage` and serialized that (the
//! fallback, and what wfctl does); a gRPC client decodes the same bytes
//! with prost. Timed here on one real reply, in this process, one core.

use std::time::Instant;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use workflow_manager::pb;

/// Microseconds per call of `step`, over `runs` calls.
fn micros(runs: usize, mut step: impl FnMut()) -> f64 {
    let started = Instant::now();
    for _ in 0..runs {
        step();
    }
    started.elapsed().as_secs_f64() / runs as f64 * 1e6
}

/// Prints the cost of each step for `reply` (an encoded
/// StreamLogsResponse).
pub(crate) fn print_event_json_cost(reply: &[u8]) {
    let runs = 200_000;
    let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).expect("descriptor set");
    let descriptor = pool
        .get_message_by_name("workflow.v1.StreamLogsResponse")
        .expect("StreamLogsResponse");
    let descriptor_for_wire = descriptor.clone();
    let options = SerializeOptions::new();
    let to_json = |message: &DynamicMessage| {
        let mut out = Vec::with_capacity(256);
        message
            .serialize_with_options(&mut serde_json::Serializer::new(&mut out), &options)
            .expect("serialize");
        out
    };
    let typed = micros(runs, || {
        std::hint::black_box(pb::StreamLogsResponse::decode(reply).expect("decode"));
    });
    let reflect = micros(runs, || {
        std::hint::black_box(DynamicMessage::decode(descriptor.clone(), reply).expect("decode"));
    });
    let message = DynamicMessage::decode(descriptor.clone(), reply).expect("decode");
    let json = micros(runs, || {
        std::hint::black_box(to_json(&message));
    });
    // The same message without its `event.time`, to single out the
    // Timestamp (written through a round trip to prost_types::Timestamp).
    let mut untimed = pb::StreamLogsResponse::decode(reply).expect("decode");
    if let Some(event) = untimed.event.as_mut() {
        event.time = None;
    }
    let untimed =
        DynamicMessage::decode(descriptor, untimed.encode_to_vec().as_slice()).expect("decode");
    let json_untimed = micros(runs, || {
        std::hint::black_box(to_json(&untimed));
    });
    let mut wire_out = Vec::with_capacity(256);
    let wire = micros(runs, || {
        wire_out.clear();
        workflow_manager::proto_json::encoded_to_json(&descriptor_for_wire, reply, &mut wire_out)
            .expect("written");
        std::hint::black_box(&wire_out);
    });
    println!(
        "http logs: one reply's steps in isolation ({} bytes of protobuf -> {} of JSON): \
         prost decode (a gRPC client) {typed:.2} us; the HTTP route's JSON from the wire \
         {wire:.2} us; through prost-reflect (the fallback) decode {reflect:.2} us + JSON \
         {json:.2} us (of which the timestamp {:.2} us)",
        reply.len(),
        to_json(&message).len(),
        json - json_untimed,
    );
}
