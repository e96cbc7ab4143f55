//! The one printer of `wfctl`: the `--output` formats, messages as JSON or
//! YAML (always through [`proto_json`](crate::proto_json), so a message has
//! one shape in every output), the human output (tables, `Key: value`
//! lines, text lines), where program text is made terminal-safe
//! ([`terminal_safe`]; JSON and YAML get the same in their syntax), and the
//! short text of the values those show (times, durations, label maps).

use std::borrow::Cow;
use std::io::Write;

use chrono::{DateTime, Local, Utc};
use serde_json::Value;

use super::terminal_text::{json_terminal_safe, terminal_safe, yaml_terminal_safe};
use crate::pb::ExecutionState;
use crate::proto_json::to_json;

/// The `--output` format of read commands: how `wfctl` prints (not to be
/// confused with a VM pipeline's output disk format).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PrintFormat {
    /// Human-readable tables and trees.
    Table,
    /// The proto message as JSON (one object per line for event streams).
    Json,
    /// The proto message as YAML (one document per event for streams).
    Yaml,
}

/// Writes one message in a machine format to stdout ([`print_value`] of its
/// proto3 JSON mapping).
pub(crate) fn print_message<M: prost::Message + prost::Name>(format: PrintFormat, message: &M) {
    print_value(format, &to_json(message));
}

/// Writes one value in a machine format to stdout: pretty JSON, or a YAML
/// document. Table output is written by each command itself. Program text
/// in it cannot act on a terminal ([`machine_text`]).
fn print_value(format: PrintFormat, value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{}", machine_text(format, value, true));
    let _ = out.flush();
}

/// Writes one message of a stream: a JSON line, or a `---`-separated YAML
/// document.
pub(crate) fn print_stream_value(format: PrintFormat, value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{}", machine_text(format, value, false));
    let _ = out.flush();
}

/// `value` as [`print_value`] (`whole`) or [`print_stream_value`] write it.
/// JSON escapes every control and bidi character ([`json_terminal_safe`]);
/// YAML escapes the controls itself and gets the bidi controls as visible
/// text ([`yaml_terminal_safe`]), so even a terminal shows program text in
/// either harmlessly.
fn machine_text(format: PrintFormat, value: &Value, whole: bool) -> String {
    match (format, whole) {
        (PrintFormat::Yaml, whole) => format!(
            "{}{}",
            if whole { "" } else { "---\n" },
            crate::yaml::to_string(&yaml_terminal_safe(value)).unwrap_or_default()
        ),
        (_, true) => format!(
            "{}\n",
            json_terminal_safe(&serde_json::to_string_pretty(value).unwrap_or_default())
        ),
        (_, false) => format!("{}\n", json_terminal_safe(&value.to_string())),
    }
}

/// Prints one line of human output on stdout, program text in it made
/// terminal-safe ([`terminal_safe`]), and flushes (output interleaves with
/// stderr notes and the live view).
pub(crate) fn print_line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", terminal_safe(text));
    let _ = out.flush();
}

/// Prints one line of human output on stderr (notes, event lines,
/// warnings), made terminal-safe like [`print_line`].
pub(crate) fn print_note(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{}", terminal_safe(text));
}

/// Prints rows as left-aligned columns separated by two spaces; the last
/// column is not padded. Cells are made terminal-safe.
pub(crate) fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let rows: Vec<Vec<Cow<'_, str>>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| terminal_safe(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let mut out = std::io::stdout().lock();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                text.push_str(cell);
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        let _ = writeln!(out, "{}", text.trim_end());
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(|cell| cell.as_ref()).collect());
    }
}

/// Prints `Key:  value` lines with the values aligned and made
/// terminal-safe.
pub(crate) fn print_fields(fields: &[(&str, String)]) {
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut out = std::io::stdout().lock();
    for (key, value) in fields {
        let _ = writeln!(
            out,
            "{:<width$}  {}",
            format!("{key}:"),
            terminal_safe(value)
        );
    }
}

/// A timestamp in local time for tables, `-` when unset.
pub(crate) fn timestamp_text(ts: Option<&prost_types::Timestamp>) -> String {
    match ts.and_then(to_datetime) {
        Some(t) => t
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => "-".to_string(),
    }
}

fn to_datetime(ts: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).ok()?)
}

/// Seconds between two timestamps, when both are set.
pub(crate) fn seconds_between(
    from: Option<&prost_types::Timestamp>,
    to: Option<&prost_types::Timestamp>,
) -> Option<f64> {
    let (from, to) = (from?, to?);
    Some((to.seconds - from.seconds) as f64 + f64::from(to.nanos - from.nanos) / 1e9)
}

/// A proto duration in seconds.
pub(crate) fn duration_secs(d: &prost_types::Duration) -> f64 {
    d.seconds as f64 + f64::from(d.nanos) / 1e9
}

/// Seconds as short human text: `850ms`, `12.3s`, `4m05s`, `2h03m`.
pub(crate) fn human_secs(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.0}ms", secs * 1000.0)
    } else if secs < 60.0 && secs.fract() == 0.0 {
        format!("{secs:.0}s")
    } else if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        let s = secs as u64;
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        let s = secs as u64;
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// `k=v, k2=v2` in key order, `-` when empty.
pub(crate) fn pairs_text(map: &std::collections::HashMap<String, String>) -> String {
    if map.is_empty() {
        return "-".to_string();
    }
    let mut pairs: Vec<_> = map.iter().collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `SUCCEEDED` for `EXECUTION_STATE_SUCCEEDED`: the form tables and messages use.
pub(crate) fn short_state(state: ExecutionState) -> &'static str {
    state
        .as_str_name()
        .strip_prefix("EXECUTION_STATE_")
        .unwrap_or("UNSPECIFIED")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The characters of `text` a terminal would act on (those
    /// [`terminal_safe`] escapes), other than the document's newlines.
    fn raw_controls(text: &str) -> Vec<char> {
        text.chars()
            .filter(|&c| c != '\n' && !matches!(terminal_safe(&c.to_string()), Cow::Borrowed(_)))
            .collect()
    }

    #[test]
    fn yaml_output_shows_bidi_and_control_characters_as_text() {
        let value = json!({
            "name": "\u{202e}hs.live",
            "description": "clears\x1b[2J\rFAKE \u{9b}31m del\x7f \u{2066}iso\u{2069} \u{200f}\u{061c}",
            "multi": "one\ntwo\x1b[1A\n",
            "labels": {"k\u{202d}ey": "v"},
        });
        for whole in [true, false] {
            let yaml = machine_text(PrintFormat::Yaml, &value, whole);
            assert_eq!(raw_controls(&yaml), Vec::<char>::new(), "{yaml}");
            assert!(yaml.contains("\\u202ehs.live"), "{yaml}");
            // The controls keep their meaning, in YAML's own escapes; the
            // bidi controls read back as the text of their escapes.
            let read: Value = crate::yaml::from_str(yaml.trim_start_matches("---\n")).unwrap();
            assert_eq!(read["name"], "\\u202ehs.live");
            assert_eq!(read["labels"]["k\\u202dey"], "v");
            assert_eq!(read["multi"], value["multi"]);
            assert_eq!(
                read["description"],
                "clears\x1b[2J\rFAKE \u{9b}31m del\x7f \\u2066iso\\u2069 \\u200f\\u061c"
            );
        }
    }

    #[test]
    fn no_character_reaches_the_terminal_raw_in_yaml_or_json() {
        let every_char: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let value = json!({ every_char.clone(): [every_char.clone(), {"k": every_char}] });
        for format in [PrintFormat::Yaml, PrintFormat::Json] {
            for whole in [true, false] {
                let text = machine_text(format, &value, whole);
                assert_eq!(raw_controls(&text), Vec::<char>::new(), "{format:?}");
            }
        }
    }
}
