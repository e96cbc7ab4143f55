package hypersdkapi_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/hypersdkapi"
	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

// fakeDaemon answers GetStatus, ListExecutions and GetExecution from its
// fields, so the handler's use of the answers is tested deterministically.
type fakeDaemon struct {
	workflowv1.UnimplementedWorkflowServiceServer

	mu        sync.Mutex
	statusErr error
	listed    []*workflowv1.Execution          // ListExecutions' answer
	current   map[string]*workflowv1.Execution // GetExecution's answer by id
	getErr    map[string]error                 // GetExecution's error by id
	hang      map[string]bool                  // GetExecution waits for its cancellation
	listReq   *workflowv1.ListExecutionsRequest
}

func (f *fakeDaemon) GetStatus(context.Context, *workflowv1.GetStatusRequest) (*workflowv1.GetStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.statusErr != nil {
		return nil, f.statusErr
	}
	return &workflowv1.GetStatusResponse{MaxWorkers: 2}, nil
}

func (f *fakeDaemon) ListExecutions(_ context.Context, req *workflowv1.ListExecutionsRequest) (*workflowv1.ListExecutionsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listReq = req
	return &workflowv1.ListExecutionsResponse{Executions: f.listed}, nil
}

func (f *fakeDaemon) GetExecution(ctx context.Context, req *workflowv1.GetExecutionRequest) (*workflowv1.GetExecutionResponse, error) {
	f.mu.Lock()
	hang := f.hang[req.GetExecutionId()]
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.getErr[req.GetExecutionId()]; err != nil {
		return nil, err
	}
	e, ok := f.current[req.GetExecutionId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "no such execution")
	}
	return &workflowv1.GetExecutionResponse{Execution: e}, nil
}

// fakeClient serves f over an in-memory connection.
func fakeClient(t *testing.T, f *fakeDaemon) *workflowclient.Client {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	workflowv1.RegisterWorkflowServiceServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///fake",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	c := workflowclient.New(conn)
	t.Cleanup(func() { c.Close() })
	return c
}

func execution(id string, state workflowv1.ExecutionState) *workflowv1.Execution {
	return &workflowv1.Execution{Id: id, WorkflowId: "sleeper", WorkflowName: "Sleeper", State: state}
}

const (
	running   = workflowv1.ExecutionState_EXECUTION_STATE_RUNNING
	succeeded = workflowv1.ExecutionState_EXECUTION_STATE_SUCCEEDED
)

// jobIDs lists the ids of a jobs answer and checks total against them.
func jobIDs(t *testing.T, body map[string]any) []string {
	t.Helper()
	var ids []string
	list, _ := body["jobs"].([]any)
	for _, j := range list {
		ids = append(ids, j.(map[string]any)["id"].(string))
	}
	if body["total"] != float64(len(ids)) {
		t.Errorf("total %v for %d jobs", body["total"], len(ids))
	}
	return ids
}

func TestJobsDropAJobThatLeftTheRequestedState(t *testing.T) {
	f := &fakeDaemon{
		// Listed as running; "done" finished before its GetExecution.
		listed: []*workflowv1.Execution{execution("done", running), execution("still", running)},
		current: map[string]*workflowv1.Execution{
			"done":  execution("done", succeeded),
			"still": execution("still", running),
		},
	}
	srv := serve(t, fakeClient(t, f), hypersdkapi.Options{})
	for _, path := range []string{hypersdkapi.PathActiveJobs, hypersdkapi.PathJobs + "?status=active"} {
		code, _, body := call(t, http.MethodGet, srv.URL+path, nil)
		if ids := jobIDs(t, body); code != http.StatusOK || strings.Join(ids, ",") != "still" {
			t.Errorf("GET %s: %d jobs %v, want only the still running job", path, code, ids)
		}
	}
	// Without a status every state is kept.
	code, _, body := call(t, http.MethodGet, srv.URL+hypersdkapi.PathJobs, nil)
	if ids := jobIDs(t, body); code != http.StatusOK || strings.Join(ids, ",") != "done,still" {
		t.Errorf("GET jobs: %d jobs %v, want done,still", code, ids)
	}
}

func TestJobsKeepAnOversizedJobWithoutItsTree(t *testing.T) {
	f := &fakeDaemon{
		listed:  []*workflowv1.Execution{execution("big", running), execution("small", running)},
		current: map[string]*workflowv1.Execution{"small": execution("small", running)},
		getErr:  map[string]error{"big": status.Error(codes.ResourceExhausted, "message larger than max")},
	}
	srv := serve(t, fakeClient(t, f), hypersdkapi.Options{})
	code, _, body := call(t, http.MethodGet, srv.URL+hypersdkapi.PathActiveJobs, nil)
	if ids := jobIDs(t, body); code != http.StatusOK || strings.Join(ids, ",") != "big,small" {
		t.Fatalf("GET jobs/active with one oversized job: %d %v, want 200 with both", code, body)
	}
	big := body["jobs"].([]any)[0].(map[string]any)
	if big["stage"] != "STARTING" || big["status"] != "active" {
		t.Errorf("oversized job as %v, want stage STARTING (from its state), status active", big)
	}

	f.getErr["big"] = status.Error(codes.Internal, "boom")
	if code, _, body := call(t, http.MethodGet, srv.URL+hypersdkapi.PathActiveJobs, nil); code != http.StatusBadGateway || body["code"] != "INTERNAL" {
		t.Errorf("GET jobs/active with a failing GetExecution: %d %v, want 502 INTERNAL", code, body)
	}
}

func TestJobsFailWithTheErrorThatStoppedThem(t *testing.T) {
	// "slow" answers only once cancelled, which happens when "bad" fails:
	// the answer is bad's error, not the cancellation it caused.
	f := &fakeDaemon{
		listed: []*workflowv1.Execution{execution("slow", running), execution("bad", running)},
		hang:   map[string]bool{"slow": true},
		getErr: map[string]error{"bad": status.Error(codes.PermissionDenied, "no")},
	}
	srv := serve(t, fakeClient(t, f), hypersdkapi.Options{})
	if code, _, body := call(t, http.MethodGet, srv.URL+hypersdkapi.PathJobs, nil); code != http.StatusForbidden || body["code"] != "PERMISSION_DENIED" {
		t.Errorf("GET jobs: %d %v, want 403 PERMISSION_DENIED", code, body)
	}
}

func TestJobsDefaultLimitAndFilters(t *testing.T) {
	f := &fakeDaemon{}
	srv := serve(t, fakeClient(t, f), hypersdkapi.Options{})
	url := srv.URL + hypersdkapi.PathJobs + "?status=failed&batch_id=b1&workflow_id=vm_pipeline&label=vm%3Dweb-01&label=suite%3Dx%3Dy"
	if code, _, body := call(t, http.MethodGet, url, nil); code != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, code, body)
	}
	req := f.listReq
	if req.GetPageSize() != hypersdkapi.DefaultJobLimit || req.GetBatchId() != "b1" || req.GetWorkflowId() != "vm_pipeline" ||
		len(req.GetStates()) != 4 || len(req.GetLabels()) != 2 || req.GetLabels()["vm"] != "web-01" || req.GetLabels()["suite"] != "x=y" {
		t.Errorf("ListExecutions request %v", req)
	}
	if code, _, body := call(t, http.MethodGet, srv.URL+hypersdkapi.PathJobs+"?label=novalue", nil); code != http.StatusBadRequest || body["parameter"] != "label" {
		t.Errorf("GET jobs?label=novalue: %d %v, want 400 naming label", code, body)
	}
}

func TestStatusErrorsSayRunningFalseOnlyWhenUnavailable(t *testing.T) {
	f := &fakeDaemon{}
	srv := serve(t, fakeClient(t, f), hypersdkapi.Options{})
	for _, tc := range []struct {
		err      error
		httpCode int
		code     string
		running  bool // the answer has running: false
	}{
		{status.Error(codes.Unavailable, "history not writable"), http.StatusServiceUnavailable, "UNAVAILABLE", true},
		{status.Error(codes.DeadlineExceeded, "slow"), http.StatusGatewayTimeout, "DEADLINE_EXCEEDED", false},
		{status.Error(codes.Internal, "boom"), http.StatusBadGateway, "INTERNAL", false},
		{status.Error(codes.PermissionDenied, "no"), http.StatusForbidden, "PERMISSION_DENIED", false},
	} {
		f.mu.Lock()
		f.statusErr = tc.err
		f.mu.Unlock()
		code, _, body := call(t, http.MethodGet, srv.URL+hypersdkapi.PathStatus, nil)
		_, hasRunning := body["running"]
		if code != tc.httpCode || body["code"] != tc.code || hasRunning != tc.running || (hasRunning && body["running"] != false) {
			t.Errorf("status when GetStatus fails with %v: %d %v; want %d %s, running:false %v", tc.err, code, body, tc.httpCode, tc.code, tc.running)
		}
	}
}

func TestCallerGoneIs499NotUnavailable(t *testing.T) {
	f := &fakeDaemon{}
	mux := http.NewServeMux()
	hypersdkapi.Register(mux, fakeClient(t, f), hypersdkapi.Options{})
	for _, path := range []string{hypersdkapi.PathStatus, hypersdkapi.PathJobs} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the HTTP caller went away
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil).WithContext(ctx))
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		_, hasRunning := body["running"]
		if rec.Code != hypersdkapi.StatusClientClosedRequest || body["code"] != "CANCELLED" || hasRunning ||
			strings.Contains(body["error"].(string), "unavailable") {
			t.Errorf("%s with the caller gone: %d %v; want 499 CANCELLED, no running key, not 'unavailable'", path, rec.Code, body)
		}
	}
}

func TestHeadIsAllowedAndListed(t *testing.T) {
	srv := serve(t, fakeClient(t, &fakeDaemon{}), hypersdkapi.Options{})
	req, _ := http.NewRequest(http.MethodHead, srv.URL+hypersdkapi.PathStatus, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD status: %d, want 200 (Allow lists HEAD)", resp.StatusCode)
	}
}
