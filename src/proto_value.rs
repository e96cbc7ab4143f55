//! JSON values and `google.protobuf.Value`, both ways: the type of
//! workflow inputs on the wire (`ExecuteRequest.inputs`) and JSON, the
//! form every client and the input validator speak.

use prost_types::value::Kind;
use serde_json::Value as JsonValue;

/// A JSON value as a `google.protobuf.Value`. Numbers become doubles (the
/// only number `Value` has); integers beyond 2^53 lose precision, as in
/// every proto3 JSON mapping. The clients build requests from JSON, and
/// the daemon shows a schedule's stored inputs.
pub(crate) fn from_json(value: &JsonValue) -> prost_types::Value {
    let kind = match value {
        JsonValue::Null => Kind::NullValue(0),
        JsonValue::Bool(b) => Kind::BoolValue(*b),
        JsonValue::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(f64::NAN)),
        JsonValue::String(s) => Kind::StringValue(s.clone()),
        JsonValue::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.iter().map(from_json).collect(),
        }),
        JsonValue::Object(fields) => Kind::StructValue(prost_types::Struct {
            fields: fields
                .iter()
                .map(|(k, v)| (k.clone(), from_json(v)))
                .collect(),
        }),
    };
    prost_types::Value { kind: Some(kind) }
}

/// A `google.protobuf.Value` as JSON. A value with no kind is null, and so
/// is a number JSON cannot hold (NaN, infinity).
pub(crate) fn to_json(value: &prost_types::Value) -> JsonValue {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => JsonValue::Null,
        Some(Kind::NumberValue(n)) => {
            serde_json::Number::from_f64(*n).map_or(JsonValue::Null, JsonValue::Number)
        }
        Some(Kind::StringValue(s)) => JsonValue::String(s.clone()),
        Some(Kind::BoolValue(b)) => JsonValue::Bool(*b),
        Some(Kind::StructValue(s)) => JsonValue::Object(
            s.fields
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        Some(Kind::ListValue(list)) => JsonValue::Array(list.values.iter().map(to_json).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_survives_the_round_trip() {
        let value = json!({"a": [1.5, "x", true, null], "b": {"c": -2.0}});
        assert_eq!(to_json(&from_json(&value)), value);
    }

    #[test]
    fn what_json_cannot_hold_is_null() {
        let nan = prost_types::Value {
            kind: Some(Kind::NumberValue(f64::NAN)),
        };
        assert_eq!(to_json(&nan), JsonValue::Null);
        assert_eq!(to_json(&prost_types::Value { kind: None }), JsonValue::Null);
    }
}
