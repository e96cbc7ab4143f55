package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// hyperctl runs the program in-process and returns its exit status and output.
func hyperctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// live returns the daemon address flag, skipping when WORKFLOWD_ADDR is unset.
func live(t *testing.T) []string {
	t.Helper()
	addr := os.Getenv("WORKFLOWD_ADDR")
	if addr == "" {
		t.Skip("WORKFLOWD_ADDR is not set; this test needs a running workflowd")
	}
	return []string{"-addr", addr}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"workflow"},
		{"workflow", "-op", "explode"},
		{"workflow", "-op", "submit", "-addr", "127.0.0.1:1"},
		{"workflow", "-op", "list", "-filter", "sideways", "-addr", "127.0.0.1:1"},
		{"workflow", "-op", "status", "stray"},
		{"workflow", "-input", "novalue"},
	} {
		if code, _, stderr := hyperctl(t, args...); code != exitUsage || stderr == "" {
			t.Errorf("hyperctl %q: exit %d stderr %q, want exit 2 with a message", args, code, stderr)
		}
	}
}

func TestStatusJSONHasHyperctlKeys(t *testing.T) {
	addr := live(t)
	code, stdout, stderr := hyperctl(t, append([]string{"workflow", "-op", "status", "-json"}, addr...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("status -json is not JSON: %v\n%s", err, stdout)
	}
	for _, key := range []string{"mode", "running", "queue_depth", "active_jobs", "processed_today", "failed_today", "max_workers", "uptime_seconds"} {
		if _, ok := st[key]; !ok {
			t.Errorf("status -json lacks %q: %s", key, stdout)
		}
	}
	// Computed as HyperSDK's status endpoint computes it (hypersdkapi):
	// the test daemon has no drop folder.
	if st["mode"] != "none" || st["running"] != true || st["max_workers"].(float64) < 1 {
		t.Errorf("status -json: mode %v running %v max_workers %v; want none, true, the pool size", st["mode"], st["running"], st["max_workers"])
	}
	if code, stdout, _ := hyperctl(t, append([]string{"workflow", "-op", "status"}, addr...)...); code != exitOK || !strings.Contains(stdout, "workers:") {
		t.Errorf("status text: exit %d\n%s", code, stdout)
	}
}

func TestWorkflowsListsExamples(t *testing.T) {
	addr := live(t)
	code, stdout, stderr := hyperctl(t, append([]string{"workflow", "-op", "workflows"}, addr...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, id := range []string{"hello", "research_pipeline", "sleeper"} {
		if !strings.Contains(stdout, id) {
			t.Errorf("workflows output lacks %s:\n%s", id, stdout)
		}
	}
}

func TestSubmitWaitPrintsTheLog(t *testing.T) {
	addr := live(t)
	code, stdout, stderr := hyperctl(t, append([]string{"workflow", "-op", "submit", "-workflow", "hello", "-input", "name=hyperctl", "-wait"}, addr...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "hello, hyperctl") || !strings.Contains(stdout, "[finished]") {
		t.Errorf("submit -wait output lacks the greeting or the finished event:\n%s", stdout)
	}

	code, _, _ = hyperctl(t, append([]string{"workflow", "-op", "submit", "-workflow", "sleeper", "-input", "seconds=0", "-input", "exit_code=4", "-wait"}, addr...)...)
	if code != exitNotSucceeded {
		t.Errorf("submit -wait of a failing run: exit %d, want 1", code)
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestSubmitThenWatchListAndCancel(t *testing.T) {
	addr := live(t)
	code, stdout, stderr := hyperctl(t, append([]string{"workflow", "-op", "submit", "-workflow", "hello", "-input", "name=watcher"}, addr...)...)
	id := strings.TrimSpace(stdout)
	if code != exitOK || !uuidRE.MatchString(id) {
		t.Fatalf("submit: exit %d, stdout %q, stderr %q; want an execution id", code, stdout, stderr)
	}

	code, stdout, stderr = hyperctl(t, append([]string{"workflow", "-op", "watch", "-id", id, "-json"}, addr...)...)
	if code != exitOK {
		t.Fatalf("watch: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last["finished"] == nil {
		t.Errorf("watch -json: last line %q is not the finished event (%v)", lines[len(lines)-1], err)
	}

	code, stdout, stderr = hyperctl(t, append([]string{"workflow", "-op", "list", "-workflow", "hello", "-filter", "completed", "-limit", "50"}, addr...)...)
	if code != exitOK || !strings.Contains(stdout, id) {
		t.Errorf("list: exit %d, %s lacks %s\n%s", code, stdout, id, stderr)
	}

	code, stdout, stderr = hyperctl(t, append([]string{"workflow", "-op", "submit", "-workflow", "sleeper", "-input", "seconds=60", "-json"}, addr...)...)
	if code != exitOK {
		t.Fatalf("submit sleeper: exit %d: %s", code, stderr)
	}
	var exec struct{ ID string }
	if err := json.Unmarshal([]byte(stdout), &exec); err != nil || exec.ID == "" {
		t.Fatalf("submit -json gave %q (%v)", stdout, err)
	}
	code, stdout, _ = hyperctl(t, append([]string{"workflow", "-op", "queue"}, addr...)...)
	if code != exitOK || !strings.Contains(stdout, exec.ID) {
		t.Errorf("queue: exit %d, lacks %s:\n%s", code, exec.ID, stdout)
	}
	if code, _, stderr := hyperctl(t, append([]string{"workflow", "-op", "cancel", "-id", exec.ID, "-grace", "5s"}, addr...)...); code != exitOK {
		t.Fatalf("cancel: exit %d: %s", code, stderr)
	}
	code, stdout, _ = hyperctl(t, append([]string{"workflow", "-op", "watch", "-id", exec.ID}, addr...)...)
	if code != exitNotSucceeded || !strings.Contains(stdout, "EXECUTION_STATE_CANCELLED") {
		t.Errorf("watch of a cancelled run: exit %d, want 1 and a CANCELLED finished event:\n%s", code, stdout)
	}
}

func TestBadInputsShowFieldViolations(t *testing.T) {
	addr := live(t)
	code, _, stderr := hyperctl(t, append([]string{"workflow", "-op", "submit", "-workflow", "research_pipeline", "-input", "depth=9"}, addr...)...)
	if code != exitInvalidArgument || !strings.Contains(stderr, "inputs.topic") || !strings.Contains(stderr, "inputs.depth") {
		t.Errorf("exit %d, stderr %q: want 5 and violations for inputs.topic and inputs.depth", code, stderr)
	}
	code, _, stderr = hyperctl(t, append([]string{"workflow", "-op", "watch", "-id", "00000000-0000-4000-8000-000000000000"}, addr...)...)
	if code != exitNotFound || !strings.Contains(stderr, "NotFound") {
		t.Errorf("watch unknown id: exit %d, stderr %q; want 4 and NotFound", code, stderr)
	}
}

func TestWatchStatusCount(t *testing.T) {
	addr := live(t)
	code, stdout, stderr := hyperctl(t, append([]string{"workflow", "-op", "watch", "-count", "2", "-interval", "10ms", "-json"}, addr...)...)
	if code != exitOK || strings.Count(stdout, `"max_workers"`) != 2 {
		t.Errorf("watch -count 2: exit %d, stderr %q:\n%s", code, stderr, stdout)
	}
}

func TestManifestValidateSubmitAndStatus(t *testing.T) {
	addr := live(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version": "1.0", "pipeline": {"load": {"source_type": "floppy", "source_path": "/x"}, "convert": {"output_format": "qcow2"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := hyperctl(t, append([]string{"manifest", "validate", "-file", bad}, addr...)...)
	if code != exitInvalidArgument || !strings.Contains(stdout, "pipeline.load.source_type") {
		t.Fatalf("validate of a bad manifest: exit %d, stdout %q", code, stdout)
	}

	// The daemon reads disks only from its source roots and writes only
	// into its output directory (scripts/with-test-daemon.sh sets both).
	sources, outputs := os.Getenv("WORKFLOWD_TEST_SOURCE_DIR"), os.Getenv("WORKFLOWD_TEST_OUTPUT_DIR")
	if sources == "" || outputs == "" {
		t.Skip("WORKFLOWD_TEST_SOURCE_DIR and WORKFLOWD_TEST_OUTPUT_DIR are not set (run under scripts/with-test-daemon.sh)")
	}
	disk := filepath.Join(sources, fmt.Sprintf("vm-%d.raw", os.Getpid()))
	if err := os.WriteFile(disk, bytes.Repeat([]byte("disk data "), 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(disk) })
	manifest := filepath.Join(dir, "vm.yaml")
	output := fmt.Sprintf("vm-%d.qcow2", os.Getpid())
	yaml := fmt.Sprintf("version: \"1.0\"\npipeline:\n  load: {source_type: raw, source_path: %q}\n  convert: {output_format: qcow2, output_path: %q}\n", disk, output)
	if err := os.WriteFile(manifest, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := hyperctl(t, append([]string{"manifest", "submit", "-file", manifest, "-wait"}, addr...)...)
	if code != exitOK || !strings.Contains(stderr, "SUCCEEDED") {
		t.Fatalf("submit -wait: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	fields := strings.Fields(stdout)
	if len(fields) < 2 {
		t.Fatalf("submit printed no execution: %q", stdout)
	}
	code, stdout, _ = hyperctl(t, append([]string{"manifest", "status", "-id", fields[1]}, addr...)...)
	if code != exitOK || !strings.Contains(stdout, "vm_pipeline") || !strings.Contains(stdout, "SUCCEEDED") {
		t.Fatalf("status: exit %d, stdout %q", code, stdout)
	}
	if _, err := os.Stat(filepath.Join(outputs, output)); err != nil {
		t.Errorf("the converted disk is in the output directory: %v", err)
	}
}

// TestExitCodesFollowTheTable checks hyperctl against the client family's
// one exit-code table (docs/wfctl.md).
func TestExitCodesFollowTheTable(t *testing.T) {
	addr := live(t)
	for _, tc := range []struct {
		want int
		args []string
	}{
		{exitOK, append([]string{"workflow", "-op", "submit", "-workflow", "hello", "-wait"}, addr...)},
		{exitNotSucceeded, append([]string{"workflow", "-op", "submit", "-workflow", "sleeper", "-input", "seconds=0", "-input", "exit_code=3", "-wait"}, addr...)},
		{exitUsage, append([]string{"workflow", "-op", "explode"}, addr...)},
		{exitUsage, append([]string{"manifest", "validate", "-file", filepath.Join(t.TempDir(), "missing.yaml")}, addr...)},
		{exitUnavailable, []string{"workflow", "-op", "status", "-addr", closedPort(t)}},
		{exitNotFound, append([]string{"manifest", "status", "-id", "00000000-0000-4000-8000-000000000000"}, addr...)},
		{exitNotFound, append([]string{"workflow", "-op", "submit", "-workflow", "no_such_workflow"}, addr...)},
		{exitInvalidArgument, append([]string{"workflow", "-op", "submit", "-workflow", "research_pipeline", "-input", "depth=9"}, addr...)},
	} {
		if code, _, stderr := hyperctl(t, tc.args...); code != tc.want {
			t.Errorf("hyperctl %q: exit %d, want %d (stderr %q)", tc.args, code, tc.want, stderr)
		}
	}
}

// closedPort is a loopback host:port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// wfctlBinary is the wfctl built from this repository ($WFCTL_BIN, else
// target/release/wfctl, which scripts/test-all.sh builds).
func wfctlBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("WFCTL_BIN"); bin != "" {
		return bin
	}
	bin, err := filepath.Abs(filepath.Join("..", "..", "..", "..", "target", "release", "wfctl"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("wfctl not found at %s (cargo build --release --bin wfctl, or set WFCTL_BIN): %v", bin, err)
	}
	return bin
}

// TestJSONIsTheSameAsWfctls compares one GetExecution as hyperctl and wfctl
// print it: both are the proto3 JSON mapping of the same message, with the
// C1 and bidi controls of program text (the topic reaches the task
// descriptions) escaped in both.
func TestJSONIsTheSameAsWfctls(t *testing.T) {
	addr := live(t)
	code, stdout, stderr := hyperctl(t, append([]string{"workflow", "-op", "submit", "-workflow", "research_pipeline",
		"-input", "topic=one shape \u009b31m \u202eevil\x7f", "-input", "depth=1", "-label", "suite=json", "-wait"}, addr...)...)
	if code != exitOK {
		t.Fatalf("submit: exit %d: %s", code, stderr)
	}
	id := strings.Fields(stderr)[1]
	if !uuidRE.MatchString(id) {
		t.Fatalf("no execution id in %q", stderr)
	}
	code, stdout, stderr = hyperctl(t, append([]string{"manifest", "status", "-id", id, "-json"}, addr...)...)
	if code != exitOK {
		t.Fatalf("status -json: exit %d: %s", code, stderr)
	}
	cmd := exec.Command(wfctlBinary(t), "-o", "json", "get", id)
	cmd.Env = append(os.Environ(), "WORKFLOWD_ADDR="+addr[1])
	fromWfctl, err := cmd.Output()
	if err != nil {
		t.Fatalf("wfctl get: %v", err)
	}
	for name, out := range map[string]string{"hyperctl": stdout, "wfctl": string(fromWfctl)} {
		if i := strings.IndexFunc(out, func(r rune) bool { return r != '\n' && unsafeRune(r) }); i >= 0 {
			t.Errorf("%s -json holds a raw control character at %d:\n%q", name, i, out)
		}
		if !strings.Contains(out, `\u009b31m \u202eevil\u007f`) {
			t.Errorf("%s -json lacks the escaped topic:\n%s", name, out)
		}
	}
	var ours, theirs map[string]any
	if err := json.Unmarshal([]byte(stdout), &ours); err != nil {
		t.Fatalf("hyperctl JSON: %v\n%s", err, stdout)
	}
	if err := json.Unmarshal(fromWfctl, &theirs); err != nil {
		t.Fatalf("wfctl JSON: %v\n%s", err, fromWfctl)
	}
	if !reflect.DeepEqual(ours, theirs) {
		t.Errorf("hyperctl and wfctl print different JSON for one execution:\nhyperctl: %s\nwfctl:    %s", stdout, fromWfctl)
	}
	for _, key := range []string{"workflowId", "createTime", "logCounts", "phases", "labels"} {
		if _, ok := ours[key]; !ok {
			t.Errorf("the execution JSON lacks %q: %s", key, stdout)
		}
	}
}

// TestExitCodeOfEachStatus checks the mapping of gRPC codes to the exit-code
// table (docs/wfctl.md) without a daemon; wfctl's
// status_codes_follow_the_exit_code_table (src/cli/error.rs) checks the same.
func TestExitCodeOfEachStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{status.Error(codes.NotFound, "why"), exitNotFound},
		{status.Error(codes.InvalidArgument, "why"), exitInvalidArgument},
		{status.Error(codes.Unavailable, "why"), exitUnavailable},
		{status.Error(codes.DeadlineExceeded, "why"), exitUnavailable},
		{fmt.Errorf("waiting: %w", context.DeadlineExceeded), exitUnavailable},
		{status.Error(codes.ResourceExhausted, "why"), exitRefused},
		{status.Error(codes.FailedPrecondition, "why"), exitRefused},
		{status.Error(codes.Internal, "why"), exitRefused},
		{status.Error(codes.Unknown, "why"), exitRefused},
		{status.Error(codes.PermissionDenied, "why"), exitRefused},
		{usagef("bad flag"), exitUsage},
		{fmt.Errorf("execution x: %w", errNotSucceeded), exitNotSucceeded},
		{fmt.Errorf("execution x: %w", errLogEnded), exitUnavailable},
		{errInvalidManifest, exitInvalidArgument},
		{status.Error(codes.AlreadyExists, "why"), exitRefused},
		{errRunNotStarted, exitRefused},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
