package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScheduleCreateTakesANamespace: -namespace is the schedule's, the
// namespace its runs start in.
func TestScheduleCreateTakesANamespace(t *testing.T) {
	s, err := parseCreate(t, "nightly", "0 2 * * *", "-workflow", "hello", "-namespace", "team-a")
	if err != nil {
		t.Fatal(err)
	}
	if s.GetNamespace() != "team-a" {
		t.Errorf("namespace = %q, want team-a", s.GetNamespace())
	}
	if s, _ := parseCreate(t, "nightly", "0 2 * * *", "-workflow", "hello"); s.GetNamespace() != "" {
		t.Errorf("without -namespace: %q, want empty (the daemon's default)", s.GetNamespace())
	}
}

// TestNamespaceReachesTheDaemon: each command that starts work sends
// -namespace; the test daemon has only `default`, so another name is
// INVALID_ARGUMENT naming the field, and `default` starts there.
func TestNamespaceReachesTheDaemon(t *testing.T) {
	addr := live(t)
	manifest := filepath.Join(t.TempDir(), "vm.json")
	content := `{"version": "1.0", "pipeline": {"load": {"source_type": "raw", "source_path": "/nowhere.raw"}, "convert": {"output_format": "qcow2"}}}`
	if err := os.WriteFile(manifest, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		field string
	}{
		{[]string{"workflow", "-op", "submit", "-workflow", "hello", "-namespace", "nope"}, "namespace"},
		{[]string{"manifest", "submit", "-file", manifest, "-namespace", "nope"}, "namespace"},
		{[]string{"schedules", "create", "ns-nope", "0 2 * * *", "-workflow", "hello", "-namespace", "nope"}, "schedule.namespace"},
	} {
		code, _, stderr := hyperctl(t, append(tc.args, addr...)...)
		if code != exitInvalidArgument || !strings.Contains(stderr, tc.field+": ") {
			t.Errorf("hyperctl %q: exit %d, stderr %q; want %d naming %s", tc.args, code, stderr, exitInvalidArgument, tc.field)
		}
	}
	code, stdout, stderr := hyperctl(t, append([]string{"workflow", "-op", "submit", "-workflow", "hello", "-namespace", "default", "-json"}, addr...)...)
	// protojson varies its whitespace on purpose, so read the field, not the bytes.
	var started struct {
		Namespace string `json:"namespace"`
	}
	if code != exitOK || json.Unmarshal([]byte(stdout), &started) != nil || started.Namespace != "default" {
		t.Errorf("submit -namespace default: exit %d, stderr %q:\n%s", code, stderr, stdout)
	}
}
