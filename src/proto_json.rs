//! The one JSON shape of every message: the proto3 JSON mapping, as
//! protojson (Go, hence `hyperctl -json`) and every other official protobuf
//! runtime write it: lowerCamelCase field names, enums by name, 64-bit
//! integers as strings, Timestamps as RFC 3339 text, Durations as `"1.5s"`,
//! fields left at their default omitted.
//!
//! It is produced from the API's own file descriptor set (the one served
//! for gRPC reflection) with prost-reflect, so a field added to the proto
//! shows up here without a line of code. `wfctl -o json` prints through it
//! and the daemon's HTTP/JSON routes read and write through it, so a script
//! reads the same keys from wfctl, curl, hyperctl and grpcurl.

pub(crate) mod wire;

use std::sync::OnceLock;

#[cfg(feature = "wfctl")]
use prost_reflect::ReflectMessage;
use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, MessageDescriptor, SerializeOptions,
};

use crate::pb;

/// The descriptors of `workflow.v1` (and the google.api and well-known
/// types it imports).
pub(crate) fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        // Built by build.rs from proto/ and checked by every test that
        // prints JSON: a failure here is a build defect, not a user error.
        DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET)
            .expect("the file descriptor set built into the binary decodes")
    })
}

/// How every message is written: protojson's defaults.
pub(crate) fn serialize_options() -> SerializeOptions {
    SerializeOptions::new()
}

/// How every message is read: protojson's defaults, so unknown fields are
/// an error (a typo must not be silently dropped) and both the JSON names
/// and the proto names of fields are accepted.
pub(crate) fn deserialize_options() -> DeserializeOptions {
    DeserializeOptions::new()
}

/// A dynamic message in the proto3 JSON mapping, as JSON text. Fails for
/// a value the mapping cannot write (a Duration or Timestamp out of its
/// range), which the API refuses on input but an old history may hold.
pub(crate) fn dynamic_to_json_text(message: &DynamicMessage) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::new(&mut out);
    message.serialize_with_options(&mut serializer, &serialize_options())?;
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

/// `bytes`, an encoded `descriptor` message, appended to `out` as JSON:
/// straight from the wire ([`wire`]), or through prost-reflect for what
/// the wire writer leaves to it. Fails only for a value the mapping cannot
/// write (a Timestamp or Duration out of range) or bytes that are not the
/// message.
pub fn encoded_to_json(
    descriptor: &MessageDescriptor,
    bytes: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let start = out.len();
    match wire::write_json(descriptor, bytes, out) {
        Ok(()) => Ok(()),
        Err(wire::WireJsonError::OutOfRange(why)) => Err(why),
        Err(_) => {
            out.truncate(start);
            let message = decode(descriptor, bytes).map_err(|e| e.to_string())?;
            let text = dynamic_to_json_text(&message).map_err(|e| e.to_string())?;
            out.extend_from_slice(text.as_bytes());
            Ok(())
        }
    }
}

/// `bytes` (a message encoded in the protobuf wire format) decoded as
/// `descriptor`'s message.
pub(crate) fn decode(
    descriptor: &MessageDescriptor,
    bytes: &[u8],
) -> Result<DynamicMessage, prost::DecodeError> {
    DynamicMessage::decode(descriptor.clone(), bytes)
}

/// `message` as a dynamic message of its own descriptor.
#[cfg(feature = "wfctl")]
fn dynamic<M: prost::Message + prost::Name>(message: &M) -> DynamicMessage {
    let descriptor = pool()
        .get_message_by_name(&M::full_name())
        .unwrap_or_else(|| panic!("{} is not in the descriptor set", M::full_name()));
    DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .unwrap_or_else(|e| panic!("{} does not decode as itself: {e}", M::full_name()))
}

/// `message` in the proto3 JSON mapping (protojson's default form).
#[cfg(feature = "wfctl")]
pub(crate) fn to_json<M: prost::Message + prost::Name>(message: &M) -> serde_json::Value {
    dynamic(message)
        .serialize_with_options(serde_json::value::Serializer, &serialize_options())
        .unwrap_or_else(|e| panic!("{} does not serialize: {e}", M::full_name()))
}

/// The proto name of the `payload` field a log event carries
/// (`phase_started`, `output`, ...), as the descriptor spells it. None for
/// an event without a payload.
#[cfg(feature = "wfctl")]
pub(crate) fn payload_name(event: &pb::LogEvent) -> Option<String> {
    let message = dynamic(event);
    let payload = message
        .descriptor()
        .oneofs()
        .find(|oneof| oneof.name() == "payload")?;
    let field = payload.fields().find(|field| message.has_field(field))?;
    Some(field.name().to_string())
}

#[cfg(all(test, feature = "wfctl"))]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_print_in_the_proto3_json_mapping() {
        let execution = pb::Execution {
            id: "e1".into(),
            workflow_id: "hello".into(),
            state: pb::ExecutionState::Succeeded as i32,
            create_time: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 500_000_000,
            }),
            exit_code: Some(0),
            timeout: Some(prost_types::Duration {
                seconds: 1,
                nanos: 500_000_000,
            }),
            log_counts: Some(pb::LogCounts {
                total: 7,
                ..Default::default()
            }),
            labels: [("team".to_string(), "a".to_string())].into(),
            ..Default::default()
        };
        assert_eq!(
            to_json(&execution),
            json!({
                "id": "e1",
                "workflowId": "hello",
                "state": "EXECUTION_STATE_SUCCEEDED",
                "createTime": "2023-11-14T22:13:20.500Z",
                // proto3 `optional`: present because it is set, even at 0.
                "exitCode": 0,
                "timeout": "1.500s",
                "logCounts": {"total": "7"},
                "labels": {"team": "a"},
            })
        );
    }

    #[test]
    fn the_payload_field_is_named_as_the_proto_names_it() {
        let event = pb::LogEvent {
            sequence: 3,
            time: None,
            payload: Some(pb::log_event::Payload::PhaseStarted(pb::PhaseStarted {
                phase: 0,
                name: "plan".into(),
                total_phases: 2,
            })),
        };
        assert_eq!(payload_name(&event).as_deref(), Some("phase_started"));
        assert_eq!(
            to_json(&event),
            json!({"sequence": "3", "phaseStarted": {"name": "plan", "totalPhases": 2}})
        );
        assert_eq!(payload_name(&pb::LogEvent::default()), None);
    }
}
