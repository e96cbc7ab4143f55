//! Text from workflow programs made harmless for a terminal.
//!
//! Log lines, event messages and workflow metadata are written by the
//! programs, and a terminal obeys what it is sent: an ESC sequence can
//! recolour, move the cursor over earlier lines, set the window title or
//! (OSC 52) the clipboard; a carriage return or backspaces can overprint
//! what `wfctl` wrote; bidi overrides can make `evil.sh` read as `hs.live`.
//! So every program-supplied text shown as human output goes through
//! [`terminal_safe`], which leaves ordinary text (any language, emoji, tabs)
//! alone and writes each control character as a visible escape. JSON and
//! YAML output get the same protection in their own syntax
//! ([`json_terminal_safe`], [`yaml_terminal_safe`]).

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value;

/// Whether `c` must not reach a terminal as it is: C0 controls except tab,
/// DEL, C1 controls (U+0080-U+009F, which some terminals read as ESC
/// sequences), and the invisible bidi controls.
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every control character (newlines included: a line of
/// program text must stay one line) and bidi control written as a visible
/// escape: `\x1b` for ESC, `\x0d` for CR, `\x9b` for the C1 CSI, `\u202e`
/// for RIGHT-TO-LEFT OVERRIDE. Tabs are kept. Borrowed when nothing needed
/// escaping, which is nearly always.
pub(crate) fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !is_unsafe(c) {
            safe.push(c);
        } else if u32::from(c) <= 0xFF {
            let _ = write!(safe, "\\x{:02x}", u32::from(c));
        } else {
            let _ = write!(safe, "\\u{:04x}", u32::from(c));
        }
    }
    Cow::Owned(safe)
}

/// Serialized JSON with the characters [`terminal_safe`] escapes that
/// serde_json writes as they are written as JSON `\uXXXX` escapes: DEL, the
/// C1 and the bidi controls (serde_json escapes only U+0000-U+001F, inside
/// strings; the newlines and indentation between values stay). Such
/// characters can only occur inside JSON strings, so the document means the
/// same. hyperctl's `jsonTerminalSafe` (clients/go/cmd/hyperctl/termsafe.go)
/// escapes the same set, so both clients print the same JSON.
pub(crate) fn json_terminal_safe(json: &str) -> Cow<'_, str> {
    let escaped = |c: char| (c == '\x7f' || !c.is_ascii()) && is_unsafe(c);
    if !json.chars().any(escaped) {
        return Cow::Borrowed(json);
    }
    Cow::Owned(escape_as_unicode(json, escaped))
}

/// `text` with each character `escaped` picks written as `\uXXXX` text.
fn escape_as_unicode(text: &str, escaped: impl Fn(char) -> bool) -> String {
    let mut safe = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if escaped(c) {
            let _ = write!(safe, "\\u{:04x}", u32::from(c));
        } else {
            safe.push(c);
        }
    }
    safe
}

/// `value` made ready for YAML output: the bidi controls in its strings and
/// keys written as visible `\u202e`-style text. The YAML serializer escapes
/// every C0 and C1 control and DEL itself (in a double-quoted scalar; a
/// literal block keeps only newlines and tabs), but writes the bidi
/// controls as they are, and a YAML document has no escape for them outside
/// a double-quoted scalar. So unlike JSON the text changes: a YAML reader
/// gets `\u202e` as six characters. YAML output is for reading; scripts
/// that must see the exact text read JSON. Borrowed when nothing changes.
pub(crate) fn yaml_terminal_safe(value: &Value) -> Cow<'_, Value> {
    if !holds_bidi(value) {
        return Cow::Borrowed(value);
    }
    Cow::Owned(without_bidi(value))
}

/// Whether `c` is unsafe but left as it is by the YAML serializer.
fn is_bidi(c: char) -> bool {
    !c.is_control() && is_unsafe(c)
}

fn holds_bidi(value: &Value) -> bool {
    match value {
        Value::String(s) => s.chars().any(is_bidi),
        Value::Array(items) => items.iter().any(holds_bidi),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.chars().any(is_bidi) || holds_bidi(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

fn without_bidi(value: &Value) -> Value {
    let text = |s: &str| escape_as_unicode(s, is_bidi);
    match value {
        Value::String(s) => Value::String(text(s)),
        Value::Array(items) => Value::Array(items.iter().map(without_bidi).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (text(k), without_bidi(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in ["plain", "tab\tseparated", "héllo wörld ✓ 日本語 🚀", ""] {
            assert!(matches!(terminal_safe(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn escape_sequences_and_controls_become_visible() {
        let cases = [
            ("\x1b[2J\x1b[31mred", "\\x1b[2J\\x1b[31mred"),
            ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
            ("\x1b]52;c;aGk=\x1b\\", "\\x1b]52;c;aGk=\\x1b\\"),
            ("ok\rFAKE", "ok\\x0dFAKE"),
            ("abc\x08\x08\x08xyz", "abc\\x08\\x08\\x08xyz"),
            ("one\ntwo", "one\\x0atwo"),
            ("c1 \u{9b}31m csi", "c1 \\x9b31m csi"),
            ("del\x7f", "del\\x7f"),
            ("evil\u{202E}hs.exe", "evil\\u202ehs.exe"),
            ("\u{2066}iso\u{2069}", "\\u2066iso\\u2069"),
            ("nul\0", "nul\\x00"),
        ];
        for (raw, shown) in cases {
            assert_eq!(terminal_safe(raw), shown, "{raw:?}");
        }
    }

    #[test]
    fn json_keeps_its_meaning_without_raw_controls() {
        let value = serde_json::json!({"text": "\x1b[2J \u{9b}31m \u{202e}evil\x7f\n"});
        let raw = serde_json::to_string_pretty(&value).unwrap();
        let safe = json_terminal_safe(&raw);
        assert!(!safe.chars().any(|c| c != '\n' && is_unsafe(c)), "{safe}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&safe).unwrap(),
            value
        );
    }

    #[test]
    fn nothing_unsafe_survives() {
        let every_char: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let safe = terminal_safe(&every_char);
        assert!(!safe.chars().any(is_unsafe));
        assert!(!safe.contains('\x1b') && !safe.contains('\n') && !safe.contains('\r'));
    }
}
