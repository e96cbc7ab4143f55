package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
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

// TestJSONOutputEscapesWhatProtojsonLeavesRaw prints messages holding every
// rune below U+3000 as -json does: protojson escapes only C0 controls, so
// DEL, C1 controls and bidi controls must be escaped by hyperctl, as JSON
// \uXXXX escapes that keep the message the same for a JSON reader.
func TestJSONOutputEscapesWhatProtojsonLeavesRaw(t *testing.T) {
	var every strings.Builder
	for r := rune(0); r < 0x3000; r++ {
		every.WriteRune(r)
	}
	text := "csi \u009b31m del \x7f " + every.String() + " \u202eevil \u2066iso\u2069"
	event := &workflowv1.LogEvent{Sequence: 7, Payload: &workflowv1.LogEvent_Output{
		Output: &workflowv1.OutputLine{Text: text},
	}}
	for name, print := range map[string]func(p *printer) error{
		"message": func(p *printer) error { return p.message(event) },
		"line":    func(p *printer) error { return p.line(event) },
	} {
		var out bytes.Buffer
		if err := print(&printer{w: &out, json: true}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if i := strings.IndexFunc(out.String(), func(r rune) bool { return r != '\n' && unsafeRune(r) }); i >= 0 {
			t.Errorf("%s: raw control character at %d", name, i)
		}
		for _, escape := range []string{`csi \u009b31m del \u007f `, `\u202eevil \u2066iso\u2069`} {
			if !strings.Contains(out.String(), escape) {
				t.Errorf("%s: output lacks %s", name, escape)
			}
		}
		var back workflowv1.LogEvent
		if err := protojson.Unmarshal(out.Bytes(), &back); err != nil {
			t.Fatalf("%s: not JSON: %v", name, err)
		}
		if !proto.Equal(&back, event) {
			t.Errorf("%s: the JSON reads back as a different message", name)
		}
	}
	// The same escapes, in the same form, as wfctl's json_terminal_safe.
	if got := string(jsonTerminalSafe([]byte("{\n  \"a\": \"\u009b\u202e\x7fok ✓\"\n}"))); got != "{\n  \"a\": \"\\u009b\\u202e\\u007fok ✓\"\n}" {
		t.Errorf("jsonTerminalSafe gave %q", got)
	}
}

// hostile is text a program may print: it clears the screen, sets the
// window title, overprints with CR and reverses with a bidi override.
const hostile = "\x1b[2J\x1b]0;pwned\x07\rFAKE \u202eevil\u009b31m"

// TestProgramTextNeverReachesTheTerminalRaw runs programs that print
// escape sequences through the live daemon: in their output (hello greets
// its input, as text and as -json) and in event messages
// (research_pipeline's task description).
func TestProgramTextNeverReachesTheTerminalRaw(t *testing.T) {
	addr := live(t)
	for _, args := range [][]string{
		{"workflow", "-op", "submit", "-workflow", "hello", "-input", "name=" + hostile, "-wait"},
		{"workflow", "-op", "submit", "-workflow", "hello", "-input", "name=" + hostile, "-wait", "-json"},
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

// startDaemon starts workflowd ($WORKFLOWD_BIN, else the repository's
// target/release/workflowd) on a free loopback port with its own data
// directory, discovering only the programs in dir, and returns its address.
// The daemon is stopped when the test ends.
func startDaemon(t *testing.T, dir string) string {
	t.Helper()
	bin := os.Getenv("WORKFLOWD_BIN")
	if bin == "" {
		var err error
		if bin, err = filepath.Abs(filepath.Join("..", "..", "..", "..", "target", "release", "workflowd")); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--workflow-dir", dir)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s (cargo build --release --bin workflowd, or set WORKFLOWD_BIN): %v", bin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	// The daemon's first stdout line says where it listens, once it serves.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("workflowd printed %q (%v), not its address", line, err)
	}
	return addr
}

// TestProgramMetadataNeverReachesTheTerminalRaw lists a workflow whose
// metadata (name, description, discovery-visible text) holds escape
// sequences, through a daemon of its own.
func TestProgramMetadataNeverReachesTheTerminalRaw(t *testing.T) {
	dir := t.TempDir()
	metadata := `{"id":"escapes","name":"Esc\u001b]0;pwned\u0007apes","description":"clears\u001b[2J\rFAKE \u202eevil","fields":[]}`
	script := "#!/bin/sh\nif [ \"$1\" = \"--workflow-metadata\" ]; then\ncat <<'JSON'\n" + metadata + "\nJSON\nexit 0\nfi\nprintf 'out\\033[2J\\n'\n"
	if err := os.WriteFile(filepath.Join(dir, "escapes.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir)
	waitForWorkflow(t, addr, "escapes")
	code, stdout, stderr := hyperctl(t, "workflow", "-op", "workflows", "-addr", addr)
	if code != exitOK {
		t.Fatalf("workflows: exit %d: %s", code, stderr)
	}
	if i := strings.IndexFunc(stdout, func(r rune) bool { return r != '\n' && unsafeRune(r) }); i >= 0 {
		t.Errorf("raw control character at %d:\n%q", i, stdout)
	}
	if !strings.Contains(stdout, `Esc\x1b]0;pwned\x07apes`) {
		t.Errorf("the name is not shown with visible escapes:\n%s", stdout)
	}
}

// waitForWorkflow waits until the daemon at addr has discovered id
// (discovery may finish after the daemon starts serving).
func waitForWorkflow(t *testing.T, addr, id string) {
	t.Helper()
	c, err := workflowclient.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		workflows, _, err := c.ListWorkflows(ctx)
		if err != nil {
			t.Fatalf("waiting for workflow %s: %v", id, err)
		}
		for _, w := range workflows {
			if w.GetId() == id {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("workflow %s was not discovered within 30 s", id)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
