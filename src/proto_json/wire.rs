//! Protobuf bytes written straight out as proto3 JSON, field by field from
//! the wire, guided by the descriptor: the same JSON prost-reflect writes
//! (the tests compare both over every message of the API), without first
//! building a `DynamicMessage`. The HTTP routes write every reply through
//! it; a log of a million events is a million replies, and building the
//! dynamic message cost more than the whole gRPC path.
//!
//! What it does not know (`Any`, `FieldMask`, a malformed message) it
//! refuses, and the caller falls back to prost-reflect.

use base64::Engine;
use bytes::Buf;
use prost::encoding::{decode_key, decode_varint, WireType};
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};

/// Why a message was not written here (the caller then uses prost-reflect).
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireJsonError {
    /// The bytes are not a well-formed message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A type this writer leaves to prost-reflect.
    #[error("{0} is left to prost-reflect")]
    Unsupported(String),
    /// A Timestamp or Duration outside its range.
    #[error("{0}")]
    OutOfRange(String),
}

impl From<prost::DecodeError> for WireJsonError {
    fn from(error: prost::DecodeError) -> Self {
        WireJsonError::Malformed(error.to_string())
    }
}

/// One field's value as it came off the wire.
#[derive(Debug, Clone, Copy)]
enum Raw<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64(u64),
    Bytes(&'a [u8]),
}

/// Appends `bytes`, a `descriptor` message, to `out` as JSON.
pub(crate) fn write_json(
    descriptor: &MessageDescriptor,
    bytes: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), WireJsonError> {
    match descriptor.full_name() {
        "google.protobuf.Timestamp" => return well_known::timestamp(bytes, out),
        "google.protobuf.Duration" => return well_known::duration(bytes, out),
        "google.protobuf.Struct" | "google.protobuf.Value" | "google.protobuf.ListValue" => {}
        name if name.starts_with("google.protobuf.") && name.ends_with("Value") => {
            return well_known::wrapper(descriptor, bytes, out)
        }
        "google.protobuf.Empty" => {}
        name if name.starts_with("google.protobuf.") => {
            return Err(WireJsonError::Unsupported(name.to_string()))
        }
        _ => {}
    }
    if !descriptor.full_name().starts_with("google.protobuf.") {
        let start = out.len();
        if in_one_pass(descriptor, bytes, out)? {
            return Ok(());
        }
        out.truncate(start);
    }
    let mut fields = fields(descriptor, bytes)?;
    match descriptor.full_name() {
        "google.protobuf.Value" => return well_known::value(descriptor, &fields, out),
        "google.protobuf.ListValue" => {
            let items = fields.pop().map(|(_, items)| items).unwrap_or_default();
            let field = descriptor.get_field(1).expect("ListValue.values");
            return list(&field, &items, out);
        }
        "google.protobuf.Struct" => {
            let entries = fields.pop().map(|(_, items)| items).unwrap_or_default();
            let field = descriptor.get_field(1).expect("Struct.fields");
            return map(&field, &entries, out);
        }
        _ => {}
    }
    out.push(b'{');
    for (index, (field, items)) in fields.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        string(field.json_name(), out);
        out.push(b':');
        if field.is_map() {
            map(field, items, out)?;
        } else if field.is_list() {
            list(field, items, out)?;
        } else {
            // A singular field given twice: the last one wins, as in protobuf.
            let last = *items.last().expect("a field has an item");
            single(field, &field.kind(), last, out)?;
        }
    }
    out.push(b'}');
    Ok(())
}

/// What the field being written in one pass is.
enum Open {
    Single,
    List,
    Map,
}

/// Writes the message in one pass over the wire, without collecting its
/// fields first: what prost writes (fields in number order, a repeated
/// field's items together) is written this way. False (with `out` to be
/// truncated by the caller) when the wire is in another order, for the
/// general path to sort out.
fn in_one_pass(
    descriptor: &MessageDescriptor,
    mut bytes: &[u8],
    out: &mut Vec<u8>,
) -> Result<bool, WireJsonError> {
    out.push(b'{');
    let mut open: Option<(u32, Open)> = None;
    while let Some((number, raw)) = next_item(&mut bytes)? {
        let Some(field) = descriptor.get_field(number) else {
            continue;
        };
        // An empty packed record (which prost never writes) would need the
        // comma bookkeeping of the general path.
        if field.is_list() && matches!(raw, Raw::Bytes([])) && packed_width(&field.kind()).is_some()
        {
            return Ok(false);
        }
        match &open {
            Some((current, Open::List)) if *current == number => {
                list_items(&field, raw, false, out)?;
                continue;
            }
            Some((current, Open::Map)) if *current == number => {
                out.push(b',');
                map_entry(&field, raw, out)?;
                continue;
            }
            Some((current, _)) if *current >= number => return Ok(false),
            _ => {}
        }
        match open.take() {
            Some((_, Open::List)) => out.extend_from_slice(b"],"),
            Some((_, Open::Map)) => out.extend_from_slice(b"},"),
            Some((_, Open::Single)) => out.push(b','),
            None => {}
        }
        string(field.json_name(), out);
        out.push(b':');
        if field.is_map() {
            out.push(b'{');
            map_entry(&field, raw, out)?;
            open = Some((number, Open::Map));
        } else if field.is_list() {
            out.push(b'[');
            list_items(&field, raw, true, out)?;
            open = Some((number, Open::List));
        } else {
            single(&field, &field.kind(), raw, out)?;
            open = Some((number, Open::Single));
        }
    }
    match open {
        Some((_, Open::List)) => out.push(b']'),
        Some((_, Open::Map)) => out.push(b'}'),
        _ => {}
    }
    out.push(b'}');
    Ok(true)
}

/// The items of one occurrence of a repeated field (several when packed),
/// each after a comma unless `first`.
fn list_items(
    field: &FieldDescriptor,
    raw: Raw<'_>,
    mut first: bool,
    out: &mut Vec<u8>,
) -> Result<(), WireJsonError> {
    let kind = field.kind();
    let mut item = |raw: Raw<'_>, out: &mut Vec<u8>| -> Result<(), WireJsonError> {
        if !first {
            out.push(b',');
        }
        first = false;
        single(field, &kind, raw, out)
    };
    match (raw, packed_width(&kind)) {
        (Raw::Bytes(mut packed), Some(width)) => {
            while packed.has_remaining() {
                let raw = match width {
                    0 => Raw::Varint(decode_varint(&mut packed)?),
                    4 => {
                        take(&packed, 4)?;
                        Raw::Fixed32(packed.get_u32_le())
                    }
                    _ => {
                        take(&packed, 8)?;
                        Raw::Fixed64(packed.get_u64_le())
                    }
                };
                item(raw, out)?;
            }
            Ok(())
        }
        (raw, _) => item(raw, out),
    }
}

/// The message's fields, in field-number order (as prost-reflect writes
/// them), each with its items in wire order; unknown fields are skipped.
fn fields<'a>(
    descriptor: &MessageDescriptor,
    mut bytes: &'a [u8],
) -> Result<Vec<(FieldDescriptor, Vec<Raw<'a>>)>, WireJsonError> {
    let mut fields: Vec<(FieldDescriptor, Vec<Raw<'a>>)> = Vec::new();
    while let Some((number, raw)) = next_item(&mut bytes)? {
        let Some(field) = descriptor.get_field(number) else {
            continue;
        };
        match fields
            .iter_mut()
            .find(|(known, _)| known.number() == number)
        {
            Some((_, items)) => items.push(raw),
            None => fields.push((field, vec![raw])),
        }
    }
    fields.sort_by_key(|(field, _)| field.number());
    Ok(fields)
}

/// The next field of a message on the wire: its number and value; None at
/// the end. Groups (proto2) are left to prost-reflect.
fn next_item<'a>(bytes: &mut &'a [u8]) -> Result<Option<(u32, Raw<'a>)>, WireJsonError> {
    if !bytes.has_remaining() {
        return Ok(None);
    }
    let (number, wire_type) = decode_key(bytes)?;
    let raw = match wire_type {
        WireType::Varint => Raw::Varint(decode_varint(bytes)?),
        WireType::ThirtyTwoBit => {
            take(bytes, 4)?;
            Raw::Fixed32(bytes.get_u32_le())
        }
        WireType::SixtyFourBit => {
            take(bytes, 8)?;
            Raw::Fixed64(bytes.get_u64_le())
        }
        WireType::LengthDelimited => {
            let length = usize::try_from(decode_varint(bytes)?)
                .map_err(|_| WireJsonError::Malformed("length".into()))?;
            take(bytes, length)?;
            let (value, rest) = bytes.split_at(length);
            *bytes = rest;
            Raw::Bytes(value)
        }
        WireType::StartGroup | WireType::EndGroup => {
            return Err(WireJsonError::Unsupported("groups".into()))
        }
    };
    Ok(Some((number, raw)))
}

fn take(bytes: &&[u8], length: usize) -> Result<(), WireJsonError> {
    if bytes.len() < length {
        return Err(WireJsonError::Malformed("truncated".into()));
    }
    Ok(())
}

/// A repeated field: packed scalars are unpacked.
fn list(
    field: &FieldDescriptor,
    items: &[Raw<'_>],
    out: &mut Vec<u8>,
) -> Result<(), WireJsonError> {
    out.push(b'[');
    let mut first = true;
    for raw in items {
        let before = out.len();
        list_items(field, *raw, first, out)?;
        first = first && out.len() == before;
    }
    out.push(b']');
    Ok(())
}

/// The width of a packable scalar kind: 0 for varints, None when the kind
/// is not packable.
fn packed_width(kind: &Kind) -> Option<usize> {
    match kind {
        Kind::Int32
        | Kind::Int64
        | Kind::Uint32
        | Kind::Uint64
        | Kind::Sint32
        | Kind::Sint64
        | Kind::Bool
        | Kind::Enum(_) => Some(0),
        Kind::Fixed32 | Kind::Sfixed32 | Kind::Float => Some(4),
        Kind::Fixed64 | Kind::Sfixed64 | Kind::Double => Some(8),
        Kind::String | Kind::Bytes | Kind::Message(_) => None,
    }
}

/// A map field: its entries as an object, keys as strings.
fn map(
    field: &FieldDescriptor,
    entries: &[Raw<'_>],
    out: &mut Vec<u8>,
) -> Result<(), WireJsonError> {
    out.push(b'{');
    for (index, raw) in entries.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        map_entry(field, *raw, out)?;
    }
    out.push(b'}');
    Ok(())
}

/// One entry of a map field as `"key":value`.
fn map_entry(
    field: &FieldDescriptor,
    raw: Raw<'_>,
    out: &mut Vec<u8>,
) -> Result<(), WireJsonError> {
    let Kind::Message(entry) = field.kind() else {
        return Err(WireJsonError::Malformed("a map without an entry".into()));
    };
    let Raw::Bytes(bytes) = raw else {
        return Err(WireJsonError::Malformed("a map entry".into()));
    };
    let key_field = entry.map_entry_key_field();
    let value_field = entry.map_entry_value_field();
    let entry_fields = fields(&entry, bytes)?;
    let part = |number: u32| {
        entry_fields
            .iter()
            .find(|(field, _)| field.number() == number)
            .and_then(|(_, items)| items.last().copied())
    };
    // The key as text: strings as they are, numbers and bools spelled.
    let mut key = Vec::new();
    match part(1) {
        Some(raw) => single(&key_field, &key_field.kind(), raw, &mut key)?,
        None => default_value(&key_field.kind(), &mut key)?,
    }
    if key.first() == Some(&b'"') {
        out.extend_from_slice(&key);
    } else {
        string(std::str::from_utf8(&key).unwrap_or_default(), out);
    }
    out.push(b':');
    match part(2) {
        Some(raw) => single(&value_field, &value_field.kind(), raw, out),
        None => default_value(&value_field.kind(), out),
    }
}

/// The JSON of a field left out of a map entry: its kind's default.
fn default_value(kind: &Kind, out: &mut Vec<u8>) -> Result<(), WireJsonError> {
    match kind {
        Kind::Message(message) => write_json(message, &[], out),
        Kind::Enum(enumeration) => {
            match enumeration.get_value(0) {
                Some(value) => string(value.name(), out),
                None => out.push(b'0'),
            }
            Ok(())
        }
        Kind::Bool => {
            out.extend_from_slice(b"false");
            Ok(())
        }
        Kind::String | Kind::Bytes => {
            out.extend_from_slice(b"\"\"");
            Ok(())
        }
        Kind::Int64 | Kind::Uint64 | Kind::Sint64 | Kind::Fixed64 | Kind::Sfixed64 => {
            out.extend_from_slice(b"\"0\"");
            Ok(())
        }
        _ => {
            out.push(b'0');
            Ok(())
        }
    }
}

/// One value of `kind`.
fn single(
    field: &FieldDescriptor,
    kind: &Kind,
    raw: Raw<'_>,
    out: &mut Vec<u8>,
) -> Result<(), WireJsonError> {
    let mismatch =
        || WireJsonError::Malformed(format!("{} has the wrong wire type", field.full_name()));
    match (kind, raw) {
        (Kind::Int32, Raw::Varint(v)) => number(v as i32, out),
        (Kind::Sint32, Raw::Varint(v)) => number(zigzag(v) as i32, out),
        (Kind::Uint32, Raw::Varint(v)) => number(v as u32, out),
        (Kind::Int64, Raw::Varint(v)) => quoted(v as i64, out),
        (Kind::Sint64, Raw::Varint(v)) => quoted(zigzag(v), out),
        (Kind::Uint64, Raw::Varint(v)) => quoted(v, out),
        (Kind::Bool, Raw::Varint(v)) => {
            out.extend_from_slice(if v != 0 { b"true" } else { b"false" })
        }
        (Kind::Enum(enumeration), Raw::Varint(v)) => match enumeration.get_value(v as i32) {
            Some(value) => string(value.name(), out),
            None => number(v as i32, out),
        },
        (Kind::Fixed32, Raw::Fixed32(v)) => number(v, out),
        (Kind::Sfixed32, Raw::Fixed32(v)) => number(v as i32, out),
        (Kind::Float, Raw::Fixed32(v)) => {
            float(f64::from(f32::from_bits(v)), Some(f32::from_bits(v)), out)
        }
        (Kind::Fixed64, Raw::Fixed64(v)) => quoted(v, out),
        (Kind::Sfixed64, Raw::Fixed64(v)) => quoted(v as i64, out),
        (Kind::Double, Raw::Fixed64(v)) => float(f64::from_bits(v), None, out),
        (Kind::String, Raw::Bytes(bytes)) => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| WireJsonError::Malformed("a string is not UTF-8".into()))?;
            string(text, out);
        }
        (Kind::Bytes, Raw::Bytes(bytes)) => {
            out.push(b'"');
            out.extend_from_slice(
                base64::engine::general_purpose::STANDARD
                    .encode(bytes)
                    .as_bytes(),
            );
            out.push(b'"');
        }
        (Kind::Message(message), Raw::Bytes(bytes)) => write_json(message, bytes, out)?,
        _ => return Err(mismatch()),
    }
    Ok(())
}

fn zigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn number(value: impl itoa::Integer, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

fn quoted(value: impl itoa::Integer, out: &mut Vec<u8>) {
    out.push(b'"');
    number(value, out);
    out.push(b'"');
}

/// A float as serde_json writes it (a 32-bit float with its own shortest
/// form), the non-finite ones as the strings the mapping names.
fn float(value: f64, as_f32: Option<f32>, out: &mut Vec<u8>) {
    if value.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if value.is_infinite() {
        out.extend_from_slice(if value > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        });
    } else {
        let written = match as_f32 {
            Some(value) => serde_json::to_writer(&mut *out, &value),
            None => serde_json::to_writer(&mut *out, &value),
        };
        written.expect("writing a finite number to a Vec cannot fail");
    }
}

/// A JSON string, escaped as serde_json escapes it.
fn string(text: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, text).expect("writing a string to a Vec cannot fail");
}

/// The varint at `path` (field numbers, outer to inner) of a message,
/// e.g. `[1, 1]` for a StreamLogsResponse's `event.sequence`.
pub(crate) fn varint_at(mut bytes: &[u8], path: &[u32]) -> Option<u64> {
    let (&wanted, rest) = path.split_first()?;
    let mut found = None;
    while bytes.has_remaining() {
        let (number, wire_type) = decode_key(&mut bytes).ok()?;
        match wire_type {
            WireType::Varint => {
                let value = decode_varint(&mut bytes).ok()?;
                if number == wanted && rest.is_empty() {
                    found = Some(value);
                }
            }
            WireType::LengthDelimited => {
                let length = usize::try_from(decode_varint(&mut bytes).ok()?).ok()?;
                if bytes.len() < length {
                    return None;
                }
                let (inner, after) = bytes.split_at(length);
                if number == wanted && !rest.is_empty() {
                    found = varint_at(inner, rest).or(found);
                }
                bytes = after;
            }
            WireType::ThirtyTwoBit if bytes.len() >= 4 => bytes.advance(4),
            WireType::SixtyFourBit if bytes.len() >= 8 => bytes.advance(8),
            _ => return None,
        }
    }
    found
}

mod well_known;

#[cfg(test)]
mod tests;
