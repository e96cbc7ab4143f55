package workflowclient_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

// authDaemon returns the address and admin token of a live daemon run with
// --auth tokens (`WORKFLOWD_TEST_AUTH=tokens scripts/with-test-daemon.sh`,
// as scripts/test-clients.sh runs `go test -run Auth`); skipped otherwise.
func authDaemon(t *testing.T) (string, string, context.Context) {
	t.Helper()
	addr, admin := os.Getenv("WORKFLOWD_ADDR"), os.Getenv("WORKFLOWD_TEST_ADMIN_TOKEN")
	if addr == "" || admin == "" {
		t.Skip("needs a workflowd with --auth tokens: WORKFLOWD_TEST_AUTH=tokens scripts/with-test-daemon.sh")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return addr, admin, ctx
}

// dialWith connects to addr with opts (WithToken, or none: $WORKFLOW_TOKEN).
func dialWith(t *testing.T, addr string, opts ...grpc.DialOption) *workflowclient.Client {
	t.Helper()
	c, err := workflowclient.Dial(addr, opts...)
	if err != nil {
		t.Fatalf("Dial(%q): %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// wantCode fails unless err carries the gRPC code want.
func wantCode(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if got := workflowclient.Code(err); got != want {
		t.Errorf("%s: got %v (%v), want %v", what, got, err, want)
	}
}

func TestAuthTokenOnEveryCall(t *testing.T) {
	addr, admin, ctx := authDaemon(t)
	t.Setenv(workflowclient.TokenEnv, "")

	anonymous := dialWith(t, addr)
	_, err := anonymous.Status(ctx)
	wantCode(t, "Status without a token", err, codes.Unauthenticated)
	err = anonymous.StreamLogs(ctx, "00000000-0000-4000-8000-000000000000", workflowclient.LogOptions{}, func(*workflowv1.LogEvent) error { return nil })
	wantCode(t, "StreamLogs without a token", err, codes.Unauthenticated)
	// Well formed, so the daemon looks it up (a malformed one is refused earlier).
	_, err = dialWith(t, addr, workflowclient.WithToken("wft_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).Status(ctx)
	wantCode(t, "Status with an unknown token", err, codes.Unauthenticated)
	if err == nil || !strings.Contains(err.Error(), "unknown API token 0123456789abcdef") {
		t.Errorf("Status with an unknown token: %v, want it named unknown", err)
	}

	administrator := dialWith(t, addr, workflowclient.WithToken(admin))
	if _, err := administrator.Status(ctx); err != nil {
		t.Fatalf("Status as admin: %v", err)
	}
	made, err := administrator.API().CreateToken(ctx, &workflowv1.CreateTokenRequest{Name: "go client test", Role: workflowv1.Role_ROLE_VIEWER})
	if err != nil {
		t.Fatalf("CreateToken as admin: %v", err)
	}

	viewer := dialWith(t, addr, workflowclient.WithToken(made.GetSecret()))
	if _, err := viewer.Status(ctx); err != nil {
		t.Errorf("Status as viewer: %v", err)
	}
	// The stream carries the token too: past authentication, to the lookup.
	err = viewer.StreamLogs(ctx, "00000000-0000-4000-8000-000000000000", workflowclient.LogOptions{}, func(*workflowv1.LogEvent) error { return nil })
	wantCode(t, "StreamLogs as viewer", err, codes.NotFound)
	_, err = viewer.Execute(ctx, "hello", map[string]any{"name": "viewer"})
	wantCode(t, "Execute as viewer", err, codes.PermissionDenied)
	_, err = viewer.API().CreateToken(ctx, &workflowv1.CreateTokenRequest{Name: "escalation", Role: workflowv1.Role_ROLE_ADMIN})
	wantCode(t, "CreateToken as viewer", err, codes.PermissionDenied)

	// $WORKFLOW_TOKEN is the default; WithToken("") sends none even then.
	t.Setenv(workflowclient.TokenEnv, made.GetSecret()+"\n")
	if _, err := dialWith(t, addr).Status(ctx); err != nil {
		t.Errorf("Status with the viewer token in %s: %v", workflowclient.TokenEnv, err)
	}
	_, err = dialWith(t, addr, workflowclient.WithToken("")).Status(ctx)
	wantCode(t, "Status with WithToken(\"\") over the environment", err, codes.Unauthenticated)

	if _, err := administrator.API().RevokeToken(ctx, &workflowv1.RevokeTokenRequest{TokenId: made.GetToken().GetId()}); err != nil {
		t.Fatalf("RevokeToken as admin: %v", err)
	}
	_, err = viewer.Status(ctx)
	wantCode(t, "Status with a revoked token", err, codes.Unauthenticated)
}

func TestAuthTokenMustBeAHeaderValue(t *testing.T) {
	if _, err := workflowclient.Dial("127.0.0.1:1", workflowclient.WithToken("wft_a b")); err == nil {
		t.Error("Dial took a token with a space")
	}
	t.Setenv(workflowclient.TokenEnv, "wft_\x01")
	if _, err := workflowclient.Dial("127.0.0.1:1"); err == nil {
		t.Errorf("Dial took a control character from %s", workflowclient.TokenEnv)
	}
}
