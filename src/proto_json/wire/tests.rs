//! The wire writer against prost-reflect: every message of the API, with
//! every field set (each oneof member in turn) to ordinary and edge values,
//! must come out as the same JSON.

use std::collections::HashMap;

use prost::Message;
use prost_reflect::{DynamicMessage, Kind, MapKey, MessageDescriptor, ReflectMessage, Value as V};
use serde_json::Value;

use super::write_json;
use crate::proto_json::{pool, serialize_options};

/// A value of `kind` for sample number `n` (0 plain, 1 edge, 2 another).
fn sample(kind: &Kind, n: usize, depth: usize) -> V {
    match kind {
        Kind::Double => V::F64([1.5, -0.0, 1e300][n % 3]),
        Kind::Float => V::F32([0.1, -3.25e-5, 1e30][n % 3]),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => V::I32([7, -1, i32::MIN][n % 3]),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => V::I64([7, -1, i64::MIN][n % 3]),
        Kind::Uint32 | Kind::Fixed32 => V::U32([7, u32::MAX, 1][n % 3]),
        Kind::Uint64 | Kind::Fixed64 => V::U64([7, u64::MAX, 1][n % 3]),
        Kind::Bool => V::Bool(n.is_multiple_of(2)),
        Kind::String => V::String(["plain", "é \"quoted\" \\ \n\t\u{1}", "日本"][n % 3].into()),
        Kind::Bytes => V::Bytes(vec![0, 255, 1, 2, 3][..(n % 3) + 2].to_vec().into()),
        Kind::Enum(enumeration) => {
            let values: Vec<_> = enumeration.values().collect();
            V::EnumNumber(values[n % values.len()].number())
        }
        Kind::Message(message) => V::Message(filled(message, n, depth + 1)),
    }
}

/// `message` with every field set (oneof members chosen by `n`).
fn filled(message: &MessageDescriptor, n: usize, depth: usize) -> DynamicMessage {
    let mut out = DynamicMessage::new(message.clone());
    match message.full_name() {
        "google.protobuf.Timestamp" => {
            let (seconds, nanos) = [
                (1_767_225_600, 5_000),
                (0, 0),
                (253_402_300_799, 123_000_000),
            ][n % 3];
            out.set_field_by_name("seconds", V::I64(seconds));
            out.set_field_by_name("nanos", V::I32(nanos));
            return out;
        }
        "google.protobuf.Duration" => {
            let (seconds, nanos) = [(1, 500_000_000), (0, 0), (-3, -1)][n % 3];
            out.set_field_by_name("seconds", V::I64(seconds));
            out.set_field_by_name("nanos", V::I32(nanos));
            return out;
        }
        "google.protobuf.Value" => {
            let field = [
                "string_value",
                "number_value",
                "bool_value",
                "null_value",
                "struct_value",
                "list_value",
            ][(n + depth) % if depth > 3 { 4 } else { 6 }];
            let field = message.get_field_by_name(field).unwrap();
            let value = if field.name() == "null_value" {
                V::EnumNumber(0)
            } else {
                sample(&field.kind(), n, depth)
            };
            out.set_field(&field, value);
            return out;
        }
        _ if depth > 5 => return out,
        _ => {}
    }
    for field in message.fields() {
        if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
            let members: Vec<_> = oneof.fields().collect();
            if members[n % members.len()] != field {
                continue;
            }
        }
        let value = if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                unreachable!()
            };
            let key = match entry.map_entry_key_field().kind() {
                Kind::String => MapKey::String(format!("key {n}")),
                Kind::Int32 => MapKey::I32(-5),
                Kind::Uint64 => MapKey::U64(9),
                Kind::Bool => MapKey::Bool(true),
                other => panic!("map key {other:?} has no sample"),
            };
            let value = sample(&entry.map_entry_value_field().kind(), n, depth);
            V::Map(HashMap::from([(key, value)]))
        } else if field.is_list() {
            V::List(
                (0..2)
                    .map(|i| sample(&field.kind(), n + i, depth))
                    .collect(),
            )
        } else {
            sample(&field.kind(), n, depth)
        };
        out.set_field(&field, value);
    }
    out
}

fn both(message: &DynamicMessage) -> (Value, Value) {
    let expected = message
        .serialize_with_options(serde_json::value::Serializer, &serialize_options())
        .expect("prost-reflect writes it");
    let mut out = Vec::new();
    write_json(&message.descriptor(), &message.encode_to_vec(), &mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", message.descriptor().full_name()));
    let written: Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
        panic!(
            "{}: not JSON ({e}): {}",
            message.descriptor().full_name(),
            String::from_utf8_lossy(&out)
        )
    });
    (written, expected)
}

#[test]
fn every_message_of_the_api_is_written_as_prost_reflect_writes_it() {
    let mut checked = 0;
    for message in pool()
        .all_messages()
        .filter(|m| m.package_name() == "workflow.v1")
    {
        for n in 0..6 {
            let sample = filled(&message, n, 0);
            let (written, expected) = both(&sample);
            assert_eq!(written, expected, "{} sample {n}", message.full_name());
            let empty = DynamicMessage::new(message.clone());
            let (written, expected) = both(&empty);
            assert_eq!(written, expected, "empty {}", message.full_name());
            checked += 1;
        }
    }
    assert!(checked > 300, "only {checked} samples");
}

#[test]
fn non_finite_floats_are_the_strings_the_mapping_names() {
    let value = pool().get_message_by_name("google.protobuf.Value").unwrap();
    for number in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut message = DynamicMessage::new(value.clone());
        message.set_field_by_name("number_value", V::F64(number));
        let mut out = Vec::new();
        write_json(&value, &message.encode_to_vec(), &mut out).unwrap();
        assert!(out.starts_with(b"\""), "{}", String::from_utf8_lossy(&out));
    }
}

#[test]
fn out_of_range_and_malformed_input_is_refused() {
    let timestamp = pool()
        .get_message_by_name("google.protobuf.Timestamp")
        .unwrap();
    let mut message = DynamicMessage::new(timestamp.clone());
    message.set_field_by_name("seconds", V::I64(i64::MAX));
    assert!(write_json(&timestamp, &message.encode_to_vec(), &mut Vec::new()).is_err());
    let event = pool().get_message_by_name("workflow.v1.LogEvent").unwrap();
    assert!(write_json(&event, &[0x0a, 0x05, 1], &mut Vec::new()).is_err());
}

#[test]
fn a_nested_varint_is_found_by_its_path() {
    let response = pool()
        .get_message_by_name("workflow.v1.StreamLogsResponse")
        .unwrap();
    let sample = filled(&response, 0, 0);
    let event = sample.get_field_by_name("event").unwrap();
    let V::Message(event) = event.as_ref() else {
        panic!("event")
    };
    let sequence = event
        .get_field_by_name("sequence")
        .unwrap()
        .as_u64()
        .unwrap();
    let bytes = sample.encode_to_vec();
    assert_eq!(super::varint_at(&bytes, &[1, 1]), Some(sequence));
    assert_eq!(super::varint_at(&bytes, &[1, 99]), None);
    assert_eq!(super::varint_at(&[0x0a, 0x05], &[1, 1]), None);
}

#[test]
fn fields_out_of_order_on_the_wire_take_the_general_path_to_the_same_json() {
    let execution = pool().get_message_by_name("workflow.v1.Execution").unwrap();
    let full = filled(&execution, 1, 0);
    // Each field encoded alone, then concatenated last field first: a
    // valid encoding of the same message (protobuf merges), out of order.
    let mut reversed = Vec::new();
    for field in execution.fields().collect::<Vec<_>>().into_iter().rev() {
        if full.has_field(&field) {
            let mut alone = DynamicMessage::new(execution.clone());
            alone.set_field(&field, full.get_field(&field).into_owned());
            reversed.extend(alone.encode_to_vec());
        }
    }
    let decoded = DynamicMessage::decode(execution.clone(), reversed.as_slice()).unwrap();
    let expected = decoded
        .serialize_with_options(serde_json::value::Serializer, &serialize_options())
        .unwrap();
    let mut out = Vec::new();
    write_json(&execution, &reversed, &mut out).unwrap();
    let written: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(written, expected);
}
