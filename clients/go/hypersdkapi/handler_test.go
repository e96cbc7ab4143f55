package hypersdkapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/workflow-manager/workflowd/clients/go/hypersdkapi"
	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

// offlineClient is a client whose daemon is never called: the requests
// below are refused before any call.
func offlineClient(t *testing.T) *workflowclient.Client {
	t.Helper()
	c, err := workflowclient.Dial("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestMethodNotAllowed(t *testing.T) {
	srv := serve(t, offlineClient(t), hypersdkapi.Options{})
	const getHead = "GET, HEAD"
	for path, allow := range map[string]string{
		hypersdkapi.PathStatus:     getHead,
		hypersdkapi.PathJobs:       getHead,
		hypersdkapi.PathActiveJobs: getHead,
		hypersdkapi.PathSubmit:     http.MethodPost,
		hypersdkapi.PathValidate:   http.MethodPost,
	} {
		method := http.MethodPost
		if allow == http.MethodPost {
			method = http.MethodGet
		}
		for _, m := range []string{method, http.MethodDelete} {
			code, header, body := call(t, m, srv.URL+path, nil)
			if code != http.StatusMethodNotAllowed || header.Get("Allow") != allow || body["code"] != "METHOD_NOT_ALLOWED" {
				t.Errorf("%s %s: %d Allow %q %v; want 405 Allow %s", m, path, code, header.Get("Allow"), body, allow)
			}
		}
	}
}

func TestBadJobParameters(t *testing.T) {
	srv := serve(t, offlineClient(t), hypersdkapi.Options{})
	for query, param := range map[string]string{
		hypersdkapi.PathJobs + "?status=sideways":       "status",
		hypersdkapi.PathJobs + "?status=ACTIVE":         "status",
		hypersdkapi.PathJobs + "?limit=0":               "limit",
		hypersdkapi.PathJobs + "?limit=201":             "limit",
		hypersdkapi.PathJobs + "?status=failed&limit=x": "limit",
		hypersdkapi.PathActiveJobs + "?status=failed":   "status",
	} {
		code, _, body := call(t, http.MethodGet, srv.URL+query, nil)
		msg, _ := body["error"].(string)
		if code != http.StatusBadRequest || body["parameter"] != param || !strings.Contains(msg, param) || !hasProblem(body, param) {
			t.Errorf("GET %s: %d %v; want 400 naming %q", query, code, body, param)
		}
	}
}

func TestBodyCapIs413(t *testing.T) {
	srv := serve(t, offlineClient(t), hypersdkapi.Options{MaxBodyBytes: 1024})
	big := []byte(fmt.Sprintf(`{"version": "1.0", "padding": %q}`, bytes.Repeat([]byte("x"), 2048)))
	for _, path := range []string{hypersdkapi.PathSubmit, hypersdkapi.PathValidate} {
		code, _, body := call(t, http.MethodPost, srv.URL+path, big)
		if code != http.StatusRequestEntityTooLarge || body["code"] != "BODY_TOO_LARGE" {
			t.Errorf("POST %s of 2 KiB with a 1 KiB cap: %d %v, want 413", path, code, body)
		}
	}
}

func TestHTTPStatusOfDaemonErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{status.Error(codes.InvalidArgument, "x"), http.StatusBadRequest},
		{status.Error(codes.NotFound, "x"), http.StatusNotFound},
		{status.Error(codes.FailedPrecondition, "x"), http.StatusConflict},
		{status.Error(codes.AlreadyExists, "x"), http.StatusConflict},
		{status.Error(codes.ResourceExhausted, "x"), http.StatusTooManyRequests},
		{status.Error(codes.PermissionDenied, "x"), http.StatusForbidden},
		{status.Error(codes.Unauthenticated, "x"), http.StatusUnauthorized},
		{status.Error(codes.Unimplemented, "x"), http.StatusNotImplemented},
		{status.Error(codes.Unavailable, "x"), http.StatusServiceUnavailable},
		{status.Error(codes.DeadlineExceeded, "x"), http.StatusGatewayTimeout},
		{status.Error(codes.Canceled, "x"), hypersdkapi.StatusClientClosedRequest},
		{fmt.Errorf("call: %w", context.Canceled), hypersdkapi.StatusClientClosedRequest},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), http.StatusGatewayTimeout},
		{status.Error(codes.Internal, "x"), http.StatusBadGateway},
		{errors.New("not a status"), http.StatusBadGateway},
	} {
		if got := hypersdkapi.HTTPStatus(tc.err); got != tc.want {
			t.Errorf("HTTPStatus(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestCodeNameIsCanonical(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{status.Error(codes.NotFound, "x"), "NOT_FOUND"},
		{status.Error(codes.InvalidArgument, "x"), "INVALID_ARGUMENT"},
		{status.Error(codes.FailedPrecondition, "x"), "FAILED_PRECONDITION"},
		{status.Error(codes.ResourceExhausted, "x"), "RESOURCE_EXHAUSTED"},
		{status.Error(codes.DeadlineExceeded, "x"), "DEADLINE_EXCEEDED"},
		{status.Error(codes.AlreadyExists, "x"), "ALREADY_EXISTS"},
		{status.Error(codes.PermissionDenied, "x"), "PERMISSION_DENIED"},
		{status.Error(codes.Canceled, "x"), "CANCELLED"},
		{status.Error(codes.Unavailable, "x"), "UNAVAILABLE"},
		{fmt.Errorf("call: %w", context.Canceled), "CANCELLED"},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), "DEADLINE_EXCEEDED"},
		{errors.New("not a status"), "UNKNOWN"},
	} {
		if got := hypersdkapi.CodeName(tc.err); got != tc.want {
			t.Errorf("CodeName(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// The daemon's error for an unknown execution (live) maps to 404.
func TestHTTPStatusOfUnknownExecutionError(t *testing.T) {
	c := liveClient(t)
	_, err := c.GetExecution(context.Background(), "00000000-0000-4000-8000-000000000000")
	if got := hypersdkapi.HTTPStatus(err); got != http.StatusNotFound {
		t.Errorf("the daemon's answer for an unknown execution (%v) maps to %d, want 404", err, got)
	}
}
