package main

import (
	"strings"
	"testing"
)

func TestTerminalSafeEscapesControlsAndKeepsText(t *testing.T) {
	for raw, shown := range map[string]string{
		"plain":                "plain",
		"tab\tseparated":       "tab\tseparated",
		"héllo ✓ 日本語 🚀":        "héllo ✓ 日本語 🚀",
		"\x1b[2J\x1b[31mred":   `\x1b[2J\x1b[31mred`,
		"\x1b]0;title\x07":     `\x1b]0;title\x07`,
		"ok\rFAKE":             `ok\x0dFAKE`,
		"abc\b\bxy":            `abc\x08\x08xy`,
		"one\ntwo":             `one\x0atwo`,
		"c1 \u009b31m":         `c1 \x9b31m`,
		"del\x7f":              `del\x7f`,
		"evil\u202ehs.exe":     `evil\u202ehs.exe`,
		"\u2066isolated\u2069": `\u2066isolated\u2069`,
		"nul\x00":              `nul\x00`,
	} {
		if got := terminalSafe(raw); got != shown {
			t.Errorf("terminalSafe(%q) = %q, want %q", raw, got, shown)
		}
	}
	var every strings.Builder
	for r := rune(0); r < 0x3000; r++ {
		every.WriteRune(r)
	}
	if safe := terminalSafe(every.String()); strings.IndexFunc(safe, unsafeRune) >= 0 {
		t.Errorf("an unsafe rune survived terminalSafe")
	}
}

// hostile is text a program may print: it clears the screen, sets the
// window title, overprints with CR and reverses with a bidi override.
const hostile = "\x1b[2J\x1b]0;pwned\x07\rFAKE \u202eevil\u009b31m"

// TestProgramTextNeverReachesTheTerminalRaw runs programs that print
// escape sequences through the live daemon: in their output (hello greets
// its input) and in event messages (research_pipeline's task description).
func TestProgramTextNeverReachesTheTerminalRaw(t *testing.T) {
	addr := live(t)
	for _, args := range [][]string{
		{"workflow", "-op", "submit", "-workflow", "hello", "-input", "name=" + hostile, "-wait"},
		{"workflow", "-op", "submit", "-workflow", "research_pipeline", "-input", "topic=" + hostile, "-input", "phases=0", "-input", "depth=1", "-wait"},
	} {
		code, stdout, stderr := hyperctl(t, append(args, addr...)...)
		if code != exitOK {
			t.Fatalf("%q: exit %d: %s", args, code, stderr)
		}
		for name, out := range map[string]string{"stdout": stdout, "stderr": stderr} {
			if i := strings.IndexFunc(out, func(r rune) bool { return r != '\n' && unsafeRune(r) }); i >= 0 {
				t.Errorf("%q: %s holds a raw control character at %d:\n%q", args, name, i, out)
			}
		}
		if !strings.Contains(stdout, `\x1b[2J`) && !strings.Contains(stdout, `\u001b[2J`) {
			t.Errorf("%q: the escape sequence is not shown as text:\n%s", args, stdout)
		}
	}
	// The greeting itself is shown with visible escapes.
	_, stdout, _ := hyperctl(t, append([]string{"workflow", "-op", "submit", "-workflow", "hello", "-input", "name=" + hostile, "-wait"}, addr...)...)
	if !strings.Contains(stdout, `hello, \x1b[2J\x1b]0;pwned\x07\x0dFAKE \u202eevil\x9b31m`) {
		t.Errorf("the greeting is not shown with visible escapes:\n%s", stdout)
	}
}
