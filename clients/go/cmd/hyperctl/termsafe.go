package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text from workflow programs (log lines, event messages, workflow names and
// descriptions) is printed to a terminal, and a terminal obeys what it is
// sent: ESC sequences recolour, move the cursor, set the title or the
// clipboard; CR and backspace overprint; bidi overrides reorder what is
// read. terminalSafe is the one place hyperctl neutralises them, the same
// way wfctl does (src/cli/terminal_text.rs).

// unsafeRune reports whether r must not reach a terminal as it is: C0
// controls except tab, DEL, the C1 controls U+0080-U+009F, and the
// invisible bidi controls.
func unsafeRune(r rune) bool {
	switch {
	case r == '\t':
		return false
	case unicode.IsControl(r):
		return true
	case r == '\u061c', r == '\u200e', r == '\u200f':
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// terminalSafe returns s with every control character (newlines included:
// one line of program text stays one line) and bidi control written as a
// visible escape: `\x1b` for ESC, `\x9b` for the C1 CSI, `\u202e` for
// RIGHT-TO-LEFT OVERRIDE. Tabs and all other text are kept.
func terminalSafe(s string) string {
	if strings.IndexFunc(s, unsafeRune) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for _, r := range s {
		switch {
		case !unsafeRune(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// jsonTerminalSafe returns marshalled JSON with the characters terminalSafe
// escapes that protojson and encoding/json write as they are written as JSON
// \uXXXX escapes: DEL, the C1 controls U+0080-U+009F and the bidi controls
// (both escape only U+0000-U+001F, '"' and '\\', plus a few HTML or line
// separator characters). The newlines and indentation between values stay.
// Such characters can only occur inside JSON strings, so the document means
// the same. wfctl's json_terminal_safe (src/cli/terminal_text.rs) escapes
// the same set in the same form, so both clients print the same JSON.
func jsonTerminalSafe(b []byte) []byte {
	escaped := func(r rune) bool { return r >= 0x7f && unsafeRune(r) }
	if bytes.IndexFunc(b, escaped) < 0 {
		return b
	}
	var out bytes.Buffer
	out.Grow(len(b) + 16)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if escaped(r) {
			fmt.Fprintf(&out, `\u%04x`, r)
		} else {
			out.Write(b[:n])
		}
		b = b[n:]
	}
	return out.Bytes()
}

// safeArgs is args with every string made terminal-safe, for printf (the
// format strings are hyperctl's own).
func safeArgs(args []any) []any {
	safe := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			safe[i] = terminalSafe(v)
		default:
			safe[i] = a
		}
	}
	return safe
}

// notef writes a diagnostic line to w (stderr) with its string arguments
// made terminal-safe: error messages carry the daemon's and programs' text.
func notef(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, format, safeArgs(args)...)
}
