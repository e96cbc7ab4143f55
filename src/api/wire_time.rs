//! Times on the wire: milliseconds since the epoch and durations as the
//! protobuf well-known types. A leaf of the API's conversions, which all
//! use it.

use std::time::Duration;

/// Milliseconds since the epoch as a protobuf timestamp.
pub(crate) fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// A protobuf timestamp as milliseconds since the epoch.
pub(crate) fn timestamp_ms(t: &prost_types::Timestamp) -> i64 {
    // Saturating: a client's timestamp past the range of milliseconds
    // in an i64 (about 292 million years) is as far as it goes.
    t.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(t.nanos) / 1_000_000)
}

/// A protobuf duration; None when negative.
pub(crate) fn duration(d: &prost_types::Duration) -> Option<Duration> {
    // The range google.protobuf.Duration allows (about 10,000 years):
    // anything past it could be stored but not written as proto JSON.
    if !(0..=MAX_DURATION_SECONDS).contains(&d.seconds) || !(0..1_000_000_000).contains(&d.nanos) {
        return None;
    }
    Some(Duration::new(d.seconds as u64, d.nanos as u32))
}

/// The longest google.protobuf.Duration, in seconds.
const MAX_DURATION_SECONDS: i64 = 315_576_000_000;

/// A protobuf duration.
pub(crate) fn pb_duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

/// Milliseconds as a protobuf duration.
pub(crate) fn pb_duration_ms(ms: u64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: (ms / 1000) as i64,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}
