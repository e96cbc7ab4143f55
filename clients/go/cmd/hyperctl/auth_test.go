package main

import (
	"os"
	"strings"
	"testing"

	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

// TestAuthEveryCommandSendsTheToken: against a daemon run with --auth
// tokens (WORKFLOWD_TEST_AUTH=tokens scripts/with-test-daemon.sh, as
// scripts/test-clients.sh runs `go test -run Auth`), each command dials
// with -token, else $WORKFLOW_TOKEN.
func TestAuthEveryCommandSendsTheToken(t *testing.T) {
	addr, admin := os.Getenv("WORKFLOWD_ADDR"), os.Getenv("WORKFLOWD_TEST_ADMIN_TOKEN")
	if addr == "" || admin == "" {
		t.Skip("needs a workflowd with --auth tokens: WORKFLOWD_TEST_AUTH=tokens scripts/with-test-daemon.sh")
	}
	t.Setenv(workflowclient.TokenEnv, "")
	code, _, stderr := hyperctl(t, "workflow", "-op", "status", "-addr", addr)
	if code != exitRefused || !strings.Contains(stderr, "Unauthenticated") {
		t.Errorf("status without a token: exit %d, stderr %q; want %d and Unauthenticated", code, stderr, exitRefused)
	}
	unknown := "00000000-0000-4000-8000-000000000000"
	for _, args := range [][]string{
		{"workflow", "-op", "status", "-addr", addr, "-token", admin},
		{"schedules", "list", "-addr", addr, "-token", admin},
	} {
		if code, _, stderr := hyperctl(t, args...); code != exitOK {
			t.Errorf("hyperctl %q: exit %d: %s", args[:2], code, stderr)
		}
	}
	// Past authentication to the lookup: NOT_FOUND, not UNAUTHENTICATED.
	if code, _, stderr := hyperctl(t, "manifest", "status", "-id", unknown, "-addr", addr, "-token", admin); code != exitNotFound {
		t.Errorf("manifest status with -token: exit %d: %s", code, stderr)
	}
	t.Setenv(workflowclient.TokenEnv, admin)
	if code, _, stderr := hyperctl(t, "workflow", "-op", "status", "-addr", addr); code != exitOK {
		t.Errorf("status with %s: exit %d: %s", workflowclient.TokenEnv, code, stderr)
	}
	if code, _, stderr := hyperctl(t, "workflow", "-op", "status", "-addr", addr, "-token", "wft_0123456789abcdef_wrong"); code != exitRefused {
		t.Errorf("status with a wrong -token over a good %s: exit %d: %s", workflowclient.TokenEnv, code, stderr)
	}
}
