//! One line of a program's output, classified as the runner does
//! (`events::classify_line`). The first byte picks the pipe (bit 0: stdout)
//! and whether the line was cut at the length limit (bit 1); the rest is the
//! line, invalid UTF-8 replaced as the line splitter does.
//!
//! Asserts: never panics; an event comes only from a whole stderr line with
//! the `__WF_EVENT__:` prefix; anything else is kept as it was, flagged
//! malformed exactly when it had the prefix on stderr; and an event written
//! back the way the SDK writes it classifies as the same event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use workflow_manager::events::{classify_line, LogCounts, LogPayload, OutputStream, EVENT_PREFIX};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, line)) = data.split_first() else {
        return;
    };
    let stream = if flags & 1 == 0 {
        OutputStream::Stderr
    } else {
        OutputStream::Stdout
    };
    let truncated = flags & 2 != 0;
    let text = String::from_utf8_lossy(line).into_owned();
    let has_prefix = stream == OutputStream::Stderr && text.starts_with(EVENT_PREFIX);

    let payload = classify_line(stream, text.clone(), truncated);
    let mut counts = LogCounts::default();
    counts.record(&payload);
    assert_eq!(counts.total, 1);
    match payload {
        LogPayload::Event(event) => {
            assert!(has_prefix && !truncated, "an event from {text:?}");
            assert_eq!(counts.events, 1);
            let written = serde_json::to_string(&event).expect("events serialize");
            let again = classify_line(
                OutputStream::Stderr,
                format!("{EVENT_PREFIX}{written}"),
                false,
            );
            assert_eq!(again, LogPayload::Event(event), "written back: {written}");
        }
        LogPayload::Output {
            stream: kept_stream,
            text: kept_text,
            malformed_event,
            truncated: kept_truncated,
        } => {
            assert_eq!(kept_stream, stream);
            assert_eq!(kept_text, text);
            assert_eq!(kept_truncated, truncated);
            assert_eq!(malformed_event, has_prefix, "malformed flag of {text:?}");
            assert_eq!(counts.malformed_events, u64::from(malformed_event));
        }
        LogPayload::Lifecycle(lifecycle) => {
            panic!("a program's line became a lifecycle event: {lifecycle:?}")
        }
    }
});
