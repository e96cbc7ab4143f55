package hypersdkapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/hypersdkapi"
	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

// liveClient dials $WORKFLOWD_ADDR, skipping when it is unset.
func liveClient(t *testing.T) *workflowclient.Client {
	t.Helper()
	addr := os.Getenv("WORKFLOWD_ADDR")
	if addr == "" {
		t.Skip("WORKFLOWD_ADDR is not set; this test needs a running workflowd (scripts/with-test-daemon.sh)")
	}
	c, err := workflowclient.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// serve mounts the endpoints on a fresh mux behind an httptest server.
func serve(t *testing.T, c *workflowclient.Client, opts hypersdkapi.Options) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	hypersdkapi.Register(mux, c, opts)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// ioDirs returns the daemon's source root and output directory, skipping
// when scripts/with-test-daemon.sh did not set them.
func ioDirs(t *testing.T) (sources, outputs string) {
	t.Helper()
	sources, outputs = os.Getenv("WORKFLOWD_TEST_SOURCE_DIR"), os.Getenv("WORKFLOWD_TEST_OUTPUT_DIR")
	if sources == "" || outputs == "" {
		t.Skip("WORKFLOWD_TEST_SOURCE_DIR and WORKFLOWD_TEST_OUTPUT_DIR are not set (run under scripts/with-test-daemon.sh)")
	}
	return sources, outputs
}

// call sends a request and decodes the JSON answer into a generic map.
func call(t *testing.T, method, url string, body []byte) (int, http.Header, map[string]any) {
	t.Helper()
	return callWith(t, method, url, body, nil)
}

// callWith is call with extra request headers.
func callWith(t *testing.T, method, url string, body []byte, header http.Header) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, url, ct)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %v\n%s", method, url, err, raw)
	}
	return resp.StatusCode, resp.Header, out
}

func keysOf(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func requireKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s lacks %q (has %v)", what, k, keysOf(m))
		}
	}
}

// makeDisk creates a source disk with qemu-img in the daemon's source root.
func makeDisk(t *testing.T, dir, name, format string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if out, err := exec.Command("qemu-img", "create", "-f", format, path, "16M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create %s: %v\n%s", path, err, out)
	}
	t.Cleanup(func() { os.Remove(path) })
	return path
}

// unique is a name no other test run uses.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), time.Now().UnixNano()%1e9)
}

// labelFilter is the jobs endpoints' filter on one label.
func labelFilter(key, value string) string {
	return "label=" + url.QueryEscape(key+"="+value)
}

// jobsByID lists jobs through the endpoint and indexes them by id. Other
// packages' tests use the same daemon at the same time: callers filter the
// list to their own executions (label, batch_id) and assert on those only.
func jobsByID(t *testing.T, url string) map[string]map[string]any {
	t.Helper()
	code, _, body := call(t, http.MethodGet, url, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, code, body)
	}
	list, ok := body["jobs"].([]any)
	if !ok {
		t.Fatalf("GET %s: no jobs list: %v", url, body)
	}
	out := map[string]map[string]any{}
	for _, j := range list {
		job := j.(map[string]any)
		out[job["id"].(string)] = job
	}
	return out
}

func TestStatusKeysAndValues(t *testing.T) {
	c := liveClient(t)
	srv := serve(t, c, hypersdkapi.Options{})
	code, _, st := call(t, http.MethodGet, srv.URL+hypersdkapi.PathStatus, nil)
	if code != http.StatusOK {
		t.Fatalf("status: %d %v", code, st)
	}
	want := []string{"active_jobs", "failed_today", "max_workers", "mode", "processed_today", "queue_depth", "running", "uptime_seconds"}
	if got := keysOf(st); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("status keys %v, want %v", got, want)
	}
	direct, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st["running"] != true {
		t.Errorf("running = %v, want true (the daemon answered)", st["running"])
	}
	if got := st["max_workers"].(float64); uint32(got) != direct.GetMaxWorkers() || got < 1 {
		t.Errorf("max_workers = %v, GetStatus says %d", got, direct.GetMaxWorkers())
	}
	// The test daemon has no drop folder.
	if len(direct.GetDropFolders()) != 0 || st["mode"] != hypersdkapi.ModeNone {
		t.Errorf("mode = %v with drop folders %v, want %q", st["mode"], direct.GetDropFolders(), hypersdkapi.ModeNone)
	}
	if up := st["uptime_seconds"].(float64); uint64(up) > direct.GetUptimeSeconds() {
		t.Errorf("uptime_seconds %v is later than the next GetStatus's %d", up, direct.GetUptimeSeconds())
	}
}

func TestUnavailableDaemonIs503(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := workflowclient.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := serve(t, c, hypersdkapi.Options{})
	code, _, body := call(t, http.MethodGet, srv.URL+hypersdkapi.PathStatus, nil)
	if code != http.StatusServiceUnavailable || body["running"] != false || body["code"] != "UNAVAILABLE" ||
		!strings.Contains(body["error"].(string), "workflowd is unavailable") {
		t.Errorf("status of a closed port: %d %v, want 503 running=false saying workflowd is unavailable", code, body)
	}
	code, _, body = call(t, http.MethodGet, srv.URL+hypersdkapi.PathActiveJobs, nil)
	if code != http.StatusServiceUnavailable || body["success"] != false {
		t.Errorf("jobs of a closed port: %d %v, want 503", code, body)
	}
}

// submit posts a manifest and requires a 200 success answer.
func submit(t *testing.T, srv *httptest.Server, manifest any) map[string]any {
	t.Helper()
	b, err := json.Marshal(manifest)
	if err != nil {
		t.Fatal(err)
	}
	code, _, body := call(t, http.MethodPost, srv.URL+hypersdkapi.PathSubmit, b)
	if code != http.StatusOK || body["success"] != true {
		t.Fatalf("submit: %d %v", code, body)
	}
	requireKeys(t, "submit answer", body, "success", "job_id", "execution_ids", "manifest_paths", "batch_id", "vms")
	return body
}

func strings_(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

// waitAll waits for every execution with WaitExecution and returns their final states.
func waitAll(t *testing.T, c *workflowclient.Client, ids []string) map[string]*workflowv1.Execution {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := map[string]*workflowv1.Execution{}
	for _, id := range ids {
		e, err := c.Wait(ctx, id)
		if err != nil {
			t.Fatalf("wait %s: %v", id, err)
		}
		out[id] = e
	}
	return out
}

func TestSubmitSingleAndBatchThenCompleted(t *testing.T) {
	c := liveClient(t)
	sources, outputs := ioDirs(t)
	srv := serve(t, c, hypersdkapi.Options{})

	single := unique("hs-single")
	disk := makeDisk(t, sources, single+".vmdk", "vmdk")
	one := submit(t, srv, map[string]any{
		"version": "1.0",
		"name":    single,
		"pipeline": map[string]any{
			"load":    map[string]any{"source_type": "vmdk", "source_path": disk},
			"convert": map[string]any{"output_format": "qcow2", "output_path": single + ".qcow2"},
		},
	})
	oneIDs := strings_(one["execution_ids"])
	if len(oneIDs) != 1 || one["job_id"] != oneIDs[0] || one["batch_id"] != "" {
		t.Errorf("single-VM submit: job_id %v, execution_ids %v, batch_id %v; want job_id = the one execution id", one["job_id"], oneIDs, one["batch_id"])
	}
	if paths := strings_(one["manifest_paths"]); len(paths) != 1 || one["manifest_path"] != paths[0] || !strings.HasSuffix(paths[0], ".json") {
		t.Errorf("single-VM submit: manifest_path %v, manifest_paths %v", one["manifest_path"], paths)
	}

	batch := unique("hs-batch")
	var vms []any
	for i := range 2 {
		name := fmt.Sprintf("%s-vm%d", batch, i)
		src := makeDisk(t, sources, name+".raw", "raw")
		vms = append(vms, map[string]any{"name": name, "pipeline": map[string]any{
			"load":    map[string]any{"source_type": "raw", "source_path": src},
			"convert": map[string]any{"output_format": "qcow2", "output_path": name + ".qcow2"},
		}})
	}
	many := submit(t, srv, map[string]any{"version": "1.0", "batch": true, "vms": vms})
	manyIDs := strings_(many["execution_ids"])
	if len(manyIDs) != 2 || many["job_id"] == "" || many["job_id"] != many["batch_id"] {
		t.Errorf("batch submit: job_id %v, batch_id %v, execution_ids %v; want job_id = batch_id and 2 executions", many["job_id"], many["batch_id"], manyIDs)
	}
	if paths := strings_(many["manifest_paths"]); len(paths) != 2 {
		t.Errorf("batch submit: manifest_paths %v, want one per VM", paths)
	}

	ids := append(oneIDs, manyIDs...)
	for id, e := range waitAll(t, c, ids) {
		if e.GetState() != workflowv1.ExecutionState_EXECUTION_STATE_SUCCEEDED {
			t.Fatalf("execution %s ended %s: %s", id, e.GetState(), e.GetError())
		}
	}
	if _, err := os.Stat(filepath.Join(outputs, single+".qcow2")); err != nil {
		t.Errorf("the converted disk is not in the output directory: %v", err)
	}

	jobs := jobsByID(t, srv.URL+hypersdkapi.PathJobs+"?status=completed&"+labelFilter("vm", single))
	for id, job := range jobsByID(t, srv.URL+hypersdkapi.PathJobs+"?status=completed&batch_id="+url.QueryEscape(many["batch_id"].(string))) {
		jobs[id] = job
	}
	if len(jobs) != len(ids) {
		t.Errorf("jobs?status=completed filtered to this test's executions: %d jobs, want %d", len(jobs), len(ids))
	}
	names := map[string]string{oneIDs[0]: single, manyIDs[0]: batch + "-vm0", manyIDs[1]: batch + "-vm1"}
	for _, id := range ids {
		job, ok := jobs[id]
		if !ok {
			t.Errorf("jobs?status=completed lacks %s", id)
			continue
		}
		requireKeys(t, "job", job, "id", "name", "stage", "progress", "started_at", "elapsed_seconds", "status",
			"eta_seconds", "estimated_completion")
		if job["eta_seconds"] != nil || job["estimated_completion"] != nil {
			t.Errorf("job %s: a finished job has no ETA: %v, %v", id, job["eta_seconds"], job["estimated_completion"])
		}
		if job["stage"] != "VALIDATE" || job["progress"] != 100.0 || job["status"] != "completed" || job["name"] != names[id] {
			t.Errorf("job %s: stage %v progress %v status %v name %v; want VALIDATE, 100, completed, %s",
				id, job["stage"], job["progress"], job["status"], job["name"], names[id])
		}
		if _, err := time.Parse(time.RFC3339, job["started_at"].(string)); err != nil {
			t.Errorf("job %s: started_at %v is not RFC 3339: %v", id, job["started_at"], err)
		}
		if el := job["elapsed_seconds"].(float64); el <= 0 || el > 180 {
			t.Errorf("job %s: elapsed_seconds %v", id, el)
		}
	}
	for id, job := range jobs {
		if job["status"] != "completed" {
			t.Errorf("jobs?status=completed holds %s in status %v", id, job["status"])
		}
	}
	if batchJob := jobs[manyIDs[0]]; batchJob != nil && batchJob["batch_id"] != many["batch_id"] {
		t.Errorf("batch job's batch_id %v, want %v", batchJob["batch_id"], many["batch_id"])
	}
}

// holdRunning starts a sleeper and returns once it reported its phase:
// RUNNING, as the API says, until cancelled. filter is the jobs endpoints'
// query parameter selecting it alone (a label unique to it).
func holdRunning(t *testing.T, c *workflowclient.Client) (id, filter string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hold := unique("hold")
	e, err := c.Execute(ctx, "sleeper", map[string]any{"seconds": 600},
		workflowclient.WithLabels(map[string]string{"suite": "hypersdkapi", "hold": hold}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Cancel(context.Background(), e.GetId(), 0, true) })
	err = c.StreamLogs(ctx, e.GetId(), workflowclient.LogOptions{Follow: true}, func(ev *workflowv1.LogEvent) error {
		if ev.GetPhaseStarted() != nil {
			return workflowclient.ErrStop
		}
		if ev.GetFinished() != nil {
			return fmt.Errorf("the sleeper finished before it started its phase")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("following the sleeper: %v", err)
	}
	got, err := c.GetExecution(ctx, e.GetId())
	if err != nil || got.GetState() != workflowv1.ExecutionState_EXECUTION_STATE_RUNNING {
		t.Fatalf("the sleeper is %v (%v), want RUNNING", got.GetState(), err)
	}
	return e.GetId(), labelFilter("hold", hold)
}

func TestActiveJobsThenCancelledIsFailed(t *testing.T) {
	c := liveClient(t)
	srv := serve(t, c, hypersdkapi.Options{})
	id, mine := holdRunning(t, c)

	for _, url := range []string{srv.URL + hypersdkapi.PathActiveJobs + "?" + mine, srv.URL + hypersdkapi.PathJobs + "?status=active&" + mine} {
		jobs := jobsByID(t, url)
		job, ok := jobs[id]
		if !ok {
			t.Fatalf("%s lacks the running sleeper %s: %v", url, id, jobs)
		}
		if job["status"] != "active" || job["stage"] != "SLEEP" || job["name"] != "Sleeper" || job["progress"] != 0.0 || job["started_at"] == nil {
			t.Errorf("%s: running sleeper as %v", url, job)
		}
		// Whether there is an ETA depends on earlier sleeper runs; its
		// keys are always there, set together.
		requireKeys(t, "active job", job, "eta_seconds", "estimated_completion")
		if eta, ok := job["eta_seconds"].(float64); ok {
			done, _ := job["estimated_completion"].(string)
			if _, err := time.Parse(time.RFC3339, done); eta < 0 || err != nil {
				t.Errorf("%s: eta %v, estimated completion %q", url, eta, done)
			}
		} else if job["eta_seconds"] != nil || job["estimated_completion"] != nil {
			t.Errorf("%s: eta %v, estimated completion %v", url, job["eta_seconds"], job["estimated_completion"])
		}
	}
	if _, ok := jobsByID(t, srv.URL+hypersdkapi.PathJobs+"?status=pending&"+mine)[id]; ok {
		t.Errorf("jobs?status=pending holds the running sleeper")
	}
	if _, err := c.Cancel(context.Background(), id, 0, true); err != nil {
		t.Fatal(err)
	}
	if e := waitAll(t, c, []string{id})[id]; e.GetState() != workflowv1.ExecutionState_EXECUTION_STATE_CANCELLED {
		t.Fatalf("cancelled sleeper ended %s", e.GetState())
	}
	job, ok := jobsByID(t, srv.URL+hypersdkapi.PathJobs+"?status=failed&"+mine)[id]
	if !ok {
		t.Fatalf("jobs?status=failed lacks the cancelled sleeper")
	}
	if job["status"] != "failed" || job["state"] != "CANCELLED" || job["progress"].(float64) >= 100 {
		t.Errorf("cancelled sleeper as %v", job)
	}
	if _, ok := jobsByID(t, srv.URL+hypersdkapi.PathActiveJobs+"?"+mine)[id]; ok {
		t.Errorf("jobs/active still holds the cancelled sleeper")
	}
}

func TestCorruptSourceIsAFailedJob(t *testing.T) {
	c := liveClient(t)
	sources, _ := ioDirs(t)
	srv := serve(t, c, hypersdkapi.Options{})
	name := unique("hs-corrupt")
	disk := filepath.Join(sources, name+".vmdk")
	if err := os.WriteFile(disk, bytes.Repeat([]byte("not a vmdk "), 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(disk) })
	body := submit(t, srv, map[string]any{"version": "1.0", "name": name, "pipeline": map[string]any{
		"load":    map[string]any{"source_type": "vmdk", "source_path": disk},
		"convert": map[string]any{"output_format": "qcow2", "output_path": name + ".qcow2"},
	}})
	id := body["job_id"].(string)
	if e := waitAll(t, c, []string{id})[id]; e.GetState() != workflowv1.ExecutionState_EXECUTION_STATE_FAILED {
		t.Fatalf("the corrupt disk's run ended %s, want FAILED", e.GetState())
	}
	mine := labelFilter("vm", name)
	job, ok := jobsByID(t, srv.URL+hypersdkapi.PathJobs+"?status=failed&"+mine)[id]
	if !ok {
		t.Fatalf("jobs?status=failed lacks %s", id)
	}
	if job["status"] != "failed" || job["state"] != "FAILED" || job["stage"] != "LOAD" || job["name"] != name ||
		job["progress"].(float64) >= 100 || job["error"] == "" {
		t.Errorf("failed job as %v; want status failed, stage LOAD, an error", job)
	}
	if _, ok := jobsByID(t, srv.URL+hypersdkapi.PathJobs+"?status=completed&"+mine)[id]; ok {
		t.Errorf("jobs?status=completed holds the failed run")
	}
}

func TestValidateAndBadManifests(t *testing.T) {
	c := liveClient(t)
	srv := serve(t, c, hypersdkapi.Options{})
	bad := []byte(`{"version": "1.0", "pipeline": {"load": {"source_type": "floppy", "source_path": "/x"}, "convert": {"output_format": "qcow2"}}}`)

	code, _, body := call(t, http.MethodPost, srv.URL+hypersdkapi.PathValidate, bad)
	if code != http.StatusOK || body["valid"] != false || !hasProblem(body, "pipeline.load.source_type") {
		t.Errorf("validate of a bad manifest: %d %v; want valid=false naming pipeline.load.source_type", code, body)
	}
	requireKeys(t, "validate answer", body, "valid", "errors")

	sources, _ := ioDirs(t)
	disk := makeDisk(t, sources, unique("hs-valid")+".raw", "raw")
	good := []byte(fmt.Sprintf(`{"version": "1.0", "name": "fine", "pipeline": {"load": {"source_type": "raw", "source_path": %q}, "convert": {"output_format": "qcow2"}}}`, disk))
	code, _, body = call(t, http.MethodPost, srv.URL+hypersdkapi.PathValidate, good)
	if code != http.StatusOK || body["valid"] != true || len(body["errors"].([]any)) != 0 {
		t.Errorf("validate of a good manifest: %d %v", code, body)
	}

	code, _, body = call(t, http.MethodPost, srv.URL+hypersdkapi.PathSubmit, bad)
	if code != http.StatusBadRequest || body["success"] != false || !hasProblem(body, "pipeline.load.source_type") {
		t.Errorf("submit of a bad manifest: %d %v; want 400 naming pipeline.load.source_type", code, body)
	}

	for _, path := range []string{hypersdkapi.PathSubmit, hypersdkapi.PathValidate} {
		for _, raw := range []string{`{"version": "1.0", `, `version: "1.0"`, ``} {
			code, _, body := call(t, http.MethodPost, srv.URL+path, []byte(raw))
			if code != http.StatusBadRequest || body["code"] != "BAD_JSON" || len(body["errors"].([]any)) != 1 {
				t.Errorf("POST %s %q: %d %v, want 400 BAD_JSON", path, raw, code, body)
			}
		}
	}
}

func hasProblem(body map[string]any, path string) bool {
	list, _ := body["errors"].([]any)
	for _, p := range list {
		m := p.(map[string]any)
		if m["path"] == path && m["message"] != "" {
			return true
		}
	}
	return false
}

func TestCamelCaseOption(t *testing.T) {
	c := liveClient(t)
	srv := serve(t, c, hypersdkapi.Options{KeyStyle: hypersdkapi.CamelCase})
	code, _, st := call(t, http.MethodGet, srv.URL+hypersdkapi.PathStatus, nil)
	want := []string{"activeJobs", "failedToday", "maxWorkers", "mode", "processedToday", "queueDepth", "running", "uptimeSeconds"}
	if code != http.StatusOK || strings.Join(keysOf(st), ",") != strings.Join(want, ",") {
		t.Errorf("camelCase status: %d keys %v, want %v", code, keysOf(st), want)
	}

	id, mine := holdRunning(t, c)
	job, ok := jobsByID(t, srv.URL+hypersdkapi.PathActiveJobs+"?"+mine)[id]
	if !ok {
		t.Fatalf("camelCase jobs/active lacks the running sleeper %s", id)
	}
	requireKeys(t, "camelCase job", job, "id", "name", "stage", "progress", "startedAt", "elapsedSeconds", "status", "workflowId")
	for _, k := range keysOf(job) {
		if strings.Contains(k, "_") {
			t.Errorf("camelCase job has the key %q", k)
		}
	}

	code, _, body := call(t, http.MethodPost, srv.URL+hypersdkapi.PathSubmit, []byte(`{"version": "1.0", "pipeline": {}}`))
	if code != http.StatusBadRequest || body["success"] != false || len(body["errors"].([]any)) == 0 {
		t.Errorf("camelCase bad submit: %d %v", code, body)
	}
	code, _, body = call(t, http.MethodGet, srv.URL+hypersdkapi.PathJobs+"?limit=none", nil)
	if code != http.StatusBadRequest || body["parameter"] != "limit" {
		t.Errorf("camelCase bad limit: %d %v", code, body)
	}
}

func TestSubmitIdempotencyKeyReturnsTheFirstSubmission(t *testing.T) {
	c := liveClient(t)
	sources, _ := ioDirs(t)
	srv := serve(t, c, hypersdkapi.Options{})
	name := unique("hs-idem")
	disk := makeDisk(t, sources, name+".raw", "raw")
	manifest := []byte(fmt.Sprintf(`{"version": "1.0", "name": %q, "pipeline": {"load": {"source_type": "raw", "source_path": %q}, "convert": {"output_format": "qcow2", "output_path": %q}}}`,
		name, disk, name+".qcow2"))
	key := http.Header{hypersdkapi.HeaderIdempotencyKey: {unique("key")}}
	var first map[string]any
	for i, wantStarted := range []bool{true, false} {
		code, _, body := callWith(t, http.MethodPost, srv.URL+hypersdkapi.PathSubmit, manifest, key)
		if code != http.StatusOK || body["success"] != true || body["started"] != wantStarted {
			t.Fatalf("submit #%d with the same Idempotency-Key: %d %v; want 200, started %v", i+1, code, body, wantStarted)
		}
		if first == nil {
			first = body
		} else if body["job_id"] != first["job_id"] || strings.Join(strings_(body["execution_ids"]), ",") != strings.Join(strings_(first["execution_ids"]), ",") {
			t.Errorf("repeated submit: job_id %v executions %v; want the first's %v %v", body["job_id"], body["execution_ids"], first["job_id"], first["execution_ids"])
		}
	}
	waitAll(t, c, strings_(first["execution_ids"]))
	if jobs := jobsByID(t, srv.URL+hypersdkapi.PathJobs+"?"+labelFilter("vm", name)); len(jobs) != 1 {
		t.Errorf("two submits with one Idempotency-Key made %d executions, want 1", len(jobs))
	}

	long := http.Header{hypersdkapi.HeaderIdempotencyKey: {strings.Repeat("k", hypersdkapi.MaxIdempotencyKeyLen+1)}}
	if code, _, body := callWith(t, http.MethodPost, srv.URL+hypersdkapi.PathSubmit, manifest, long); code != http.StatusBadRequest || body["code"] != "BAD_HEADER" {
		t.Errorf("submit with an overlong Idempotency-Key: %d %v, want 400 BAD_HEADER", code, body)
	}
}
