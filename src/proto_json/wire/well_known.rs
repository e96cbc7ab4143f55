//! The well-known types the JSON mapping writes in their own form:
//! Timestamp (RFC 3339), Duration (`"1.5s"`), the wrappers (their bare
//! value) and `google.protobuf.Value` (any JSON value).

use bytes::Buf;
use chrono::{Datelike, Timelike};
use prost::encoding::{decode_key, decode_varint, WireType};
use prost_reflect::{FieldDescriptor, MessageDescriptor};

use super::{default_value, fields, number, single, Raw, WireJsonError};

/// `seconds` and `nanos` of a Timestamp or Duration.
fn seconds_nanos(bytes: &[u8]) -> Result<(i64, i32), WireJsonError> {
    let (mut seconds, mut nanos) = (0i64, 0i32);
    let mut bytes = bytes;
    while bytes.has_remaining() {
        let (number, wire_type) = decode_key(&mut bytes)?;
        if wire_type != WireType::Varint {
            return Err(WireJsonError::Malformed("seconds/nanos".into()));
        }
        let value = decode_varint(&mut bytes)?;
        match number {
            1 => seconds = value as i64,
            2 => nanos = value as i32,
            _ => {}
        }
    }
    Ok((seconds, nanos))
}

/// `value` in decimal, zero-padded to `width` digits.
fn padded(value: u32, width: usize, out: &mut Vec<u8>) {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(value);
    out.extend(std::iter::repeat_n(
        b'0',
        width.saturating_sub(digits.len()),
    ));
    out.extend_from_slice(digits.as_bytes());
}

/// Nanoseconds with 0, 3, 6 or 9 digits, as protojson writes them.
fn fraction(nanos: u32, out: &mut Vec<u8>) {
    if nanos == 0 {
        return;
    }
    out.push(b'.');
    if nanos.is_multiple_of(1_000_000) {
        padded(nanos / 1_000_000, 3, out);
    } else if nanos.is_multiple_of(1_000) {
        padded(nanos / 1_000, 6, out);
    } else {
        padded(nanos, 9, out);
    }
}

pub(super) fn timestamp(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), WireJsonError> {
    let (seconds, nanos) = seconds_nanos(bytes)?;
    // 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, as the mapping allows.
    let in_range = (-62_135_596_800..=253_402_300_799).contains(&seconds)
        && (0..1_000_000_000).contains(&nanos);
    let time = in_range
        .then(|| chrono::DateTime::from_timestamp(seconds, 0))
        .flatten()
        .ok_or_else(|| WireJsonError::OutOfRange(format!("timestamp {seconds}s {nanos}ns")))?;
    out.push(b'"');
    // Events come many to a second: the date and time of the last second
    // written are kept, per thread.
    thread_local! {
        static LAST_SECOND: std::cell::Cell<(i64, [u8; 19])> = const { std::cell::Cell::new((i64::MIN, [0; 19])) };
    }
    let (cached, text) = LAST_SECOND.get();
    if cached == seconds {
        out.extend_from_slice(&text);
    } else {
        let start = out.len();
        let date = time.date_naive();
        padded(date.year() as u32, 4, out);
        for (separator, value) in [
            (b'-', date.month()),
            (b'-', date.day()),
            (b'T', time.hour()),
            (b':', time.minute()),
            (b':', time.second()),
        ] {
            out.push(separator);
            padded(value, 2, out);
        }
        let mut text = [0; 19];
        text.copy_from_slice(&out[start..start + 19]);
        LAST_SECOND.set((seconds, text));
    }
    fraction(nanos as u32, out);
    out.extend_from_slice(b"Z\"");
    Ok(())
}

pub(super) fn duration(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), WireJsonError> {
    let (seconds, nanos) = seconds_nanos(bytes)?;
    let in_range = (-315_576_000_000..=315_576_000_000).contains(&seconds)
        && (-999_999_999..=999_999_999).contains(&nanos)
        && (seconds == 0 || nanos == 0 || (seconds < 0) == (nanos < 0));
    if !in_range {
        return Err(WireJsonError::OutOfRange(format!(
            "duration {seconds}s {nanos}ns"
        )));
    }
    out.push(b'"');
    if seconds < 0 || nanos < 0 {
        out.push(b'-');
    }
    number(seconds.unsigned_abs(), out);
    fraction(nanos.unsigned_abs(), out);
    out.extend_from_slice(b"s\"");
    Ok(())
}

/// A wrapper (`Int64Value`, `StringValue`, ...): its value, bare.
pub(super) fn wrapper(
    descriptor: &MessageDescriptor,
    bytes: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), WireJsonError> {
    let field = descriptor
        .get_field(1)
        .ok_or_else(|| WireJsonError::Unsupported(descriptor.full_name().to_string()))?;
    let fields = fields(descriptor, bytes)?;
    match fields.last().and_then(|(_, items)| items.last()) {
        Some(raw) => single(&field, &field.kind(), *raw, out),
        None => default_value(&field.kind(), out),
    }
}

/// A `google.protobuf.Value`: the JSON value it holds.
pub(super) fn value(
    descriptor: &MessageDescriptor,
    fields: &[(FieldDescriptor, Vec<Raw<'_>>)],
    out: &mut Vec<u8>,
) -> Result<(), WireJsonError> {
    // The oneof `kind`: one member is set (the highest-numbered one if a
    // malformed message set several).
    let Some((field, items)) = fields.last() else {
        return Err(WireJsonError::Unsupported(format!(
            "an empty {}",
            descriptor.full_name()
        )));
    };
    let raw = *items.last().expect("a field has an item");
    match field.number() {
        1 => out.extend_from_slice(b"null"),
        _ => single(field, &field.kind(), raw, out)?,
    }
    Ok(())
}
