//! Wall-clock helpers: the history stores times as milliseconds since the
//! Unix epoch.

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Milliseconds since the epoch of the most recent local midnight, for the
/// "today" counters.
pub(crate) fn local_midnight_ms() -> i64 {
    let now = chrono::Local::now();
    now.date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|midnight| midnight.and_local_timezone(chrono::Local).earliest())
        .map_or(now.timestamp_millis(), |m| m.timestamp_millis())
}
