package hypersdkapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

// The paths Register mounts, as HyperSDK's daemon serves them.
const (
	// PathStatus answers GET with a Status.
	PathStatus = "/api/workflow/status"
	// PathJobs answers GET with {jobs, total}. Optional parameters:
	// `status`, `limit`, and the filters `workflow_id`, `batch_id`,
	// `namespace` and `label=key=value` (repeatable: every label must
	// match). It costs one
	// ListExecutions and one GetExecution per listed job (for its phase
	// tree), JobFetchConcurrency at a time.
	PathJobs = "/api/workflow/jobs"
	// PathActiveJobs answers GET with the active (RUNNING) jobs; it takes
	// the parameters of PathJobs but `status`.
	PathActiveJobs = "/api/workflow/jobs/active"
	// PathSubmit takes a POSTed manifest (JSON) and runs it, in the
	// namespace of the `namespace` query parameter when given (else the
	// caller's only namespace, else `default`). An Idempotency-Key header
	// makes retries return the first submission.
	PathSubmit = "/api/workflow/manifest/submit"
	// PathValidate takes a POSTed manifest (JSON) and checks it.
	PathValidate = "/api/workflow/manifest/validate"
)

// Defaults of Options.
const (
	// DefaultMaxBodyBytes caps a manifest body (16 MiB).
	DefaultMaxBodyBytes = 16 << 20
	// DefaultJobLimit is how many jobs the jobs endpoints list without `limit`.
	DefaultJobLimit = 50
	// MaxJobLimit is the largest `limit` accepted. Each listed job costs a
	// GetExecution (its phase tree), so this bounds the daemon calls of one
	// request at 1 + MaxJobLimit.
	MaxJobLimit = 200
	// JobFetchConcurrency is how many GetExecution calls one jobs request
	// makes at a time.
	JobFetchConcurrency = 8
	// MaxIdempotencyKeyLen bounds the Idempotency-Key header of submit.
	MaxIdempotencyKeyLen = 200
	// HeaderIdempotencyKey is the submit request header passed to the
	// daemon as SubmitManifest's request_id.
	HeaderIdempotencyKey = "Idempotency-Key"
	// StatusClientClosedRequest (499, nginx's) answers a request whose
	// caller went away before the daemon answered (gRPC CANCELLED).
	StatusClientClosedRequest = 499
	// DefaultCallTimeout bounds the daemon calls of one request.
	DefaultCallTimeout = 30 * time.Second
)

// KeyStyle selects how the JSON keys of every answer are spelled.
type KeyStyle int

const (
	// SnakeCase keys (queue_depth, started_at), as HyperSDK's Go handler
	// writes them. The default.
	SnakeCase KeyStyle = iota
	// CamelCase keys (queueDepth, startedAt), as HyperSDK's React
	// dashboard's TypeScript interfaces read them.
	CamelCase
)

// Options configure Register. The zero value is ready to use.
type Options struct {
	// KeyStyle of the JSON answers: SnakeCase (default) or CamelCase.
	KeyStyle KeyStyle
	// MaxBodyBytes caps a request body; a larger one gets 413.
	// 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// CallTimeout bounds the daemon calls of one request (the request's own
	// context still applies). 0 means DefaultCallTimeout.
	CallTimeout time.Duration
}

// handler serves the endpoints through one client.
type handler struct {
	client *workflowclient.Client
	opts   Options
}

// Register mounts the five HyperSDK endpoints (the Path constants) on mux,
// answering them through client. It panics, as http.ServeMux.Handle does,
// when mux already has one of the paths.
func Register(mux *http.ServeMux, client *workflowclient.Client, opts Options) {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	h := &handler{client: client, opts: opts}
	mux.HandleFunc(PathStatus, h.only(http.MethodGet, h.status))
	mux.HandleFunc(PathJobs, h.only(http.MethodGet, h.jobs))
	mux.HandleFunc(PathActiveJobs, h.only(http.MethodGet, h.activeJobs))
	mux.HandleFunc(PathSubmit, h.only(http.MethodPost, h.submit))
	mux.HandleFunc(PathValidate, h.only(http.MethodPost, h.validate))
}

// only admits one method (GET also admits HEAD, and says so in Allow) and
// answers others with 405.
func (h *handler) only(method string, next http.HandlerFunc) http.HandlerFunc {
	allow := method
	if method == http.MethodGet {
		allow = http.MethodGet + ", " + http.MethodHead
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", allow)
			h.fail(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
				fmt.Sprintf("method %s is not allowed on %s; use %s", r.Method, r.URL.Path, method), nil)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), h.opts.CallTimeout)
		defer cancel()
		next(w, r.WithContext(ctx))
	}
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	st, err := h.client.Status(r.Context())
	if err != nil {
		var extra map[string]any
		if status.Code(err) == codes.Unavailable {
			// Running is the daemon answering: say it did not. Other
			// errors (a deadline, the caller gone) say nothing of it.
			extra = map[string]any{"running": false}
		}
		h.daemonError(w, err, extra)
		return
	}
	h.write(w, http.StatusOK, StatusOf(st))
}

// jobList is the answer of the jobs endpoints.
type jobList struct {
	Jobs  []Job `json:"jobs"`
	Total int   `json:"total"`
}

func (h *handler) jobs(w http.ResponseWriter, r *http.Request) {
	h.listJobs(w, r, r.URL.Query().Get("status"))
}

func (h *handler) activeJobs(w http.ResponseWriter, r *http.Request) {
	if s := r.URL.Query().Get("status"); s != "" && s != StatusActive {
		h.badParam(w, "status", fmt.Sprintf("%s lists active jobs only; got status=%q", PathActiveJobs, s))
		return
	}
	h.listJobs(w, r, StatusActive)
}

func (h *handler) listJobs(w http.ResponseWriter, r *http.Request, jobStatus string) {
	states, ok := StatesOf(jobStatus)
	if !ok {
		h.badParam(w, "status", fmt.Sprintf("unknown status %q: want one of %s", jobStatus, strings.Join(JobStatuses, ", ")))
		return
	}
	limit := DefaultJobLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxJobLimit {
			h.badParam(w, "limit", fmt.Sprintf("limit must be a whole number from 1 to %d, got %q", MaxJobLimit, s))
			return
		}
		limit = n
	}
	req := &workflowv1.ListExecutionsRequest{
		PageSize:   int32(limit),
		States:     states,
		WorkflowId: r.URL.Query().Get("workflow_id"),
		BatchId:    r.URL.Query().Get("batch_id"),
		Namespace:  r.URL.Query().Get("namespace"),
	}
	for _, kv := range r.URL.Query()["label"] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			h.badParam(w, "label", fmt.Sprintf("label must be key=value, got %q", kv))
			return
		}
		if req.Labels == nil {
			req.Labels = map[string]string{}
		}
		req.Labels[k] = v
	}
	ctx := r.Context()
	resp, err := h.client.ListExecutions(ctx, req)
	if err != nil {
		h.daemonError(w, err, nil)
		return
	}
	execs, err := h.withTrees(ctx, resp.GetExecutions())
	if err != nil {
		h.daemonError(w, err, nil)
		return
	}
	// Each job was read again after the listing: keep only those still in
	// a requested state, so total counts what is returned.
	jobs := JobsOf(execs, states, time.Now())
	h.write(w, http.StatusOK, jobList{Jobs: jobs, Total: len(jobs)})
}

// withTrees fetches each listed execution with its phase tree (which
// ListExecutions leaves out), JobFetchConcurrency at a time, keeping the
// order. An execution deleted meanwhile (history retention) is left out;
// one too large to send (RESOURCE_EXHAUSTED: its tree exceeds the message
// limit) keeps its listed form, without a tree, rather than failing the
// whole list. Any other error fails it.
func (h *handler) withTrees(ctx context.Context, listed []*workflowv1.Execution) ([]*workflowv1.Execution, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	full := make([]*workflowv1.Execution, len(listed))
	var (
		failOnce sync.Once
		failed   error // the first error that fails the list, in time
	)
	fail := func(err error) {
		failOnce.Do(func() { failed = err })
		cancel() // stop fetching the rest
	}
	sem := make(chan struct{}, JobFetchConcurrency)
	var wg sync.WaitGroup
	for i, e := range listed {
		sem <- struct{}{}
		if err := ctx.Err(); err != nil {
			<-sem
			fail(err)
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			got, err := h.client.GetExecution(ctx, e.GetId())
			switch status.Code(err) {
			case codes.OK:
				full[i] = got
			case codes.NotFound: // deleted meanwhile: left out
			case codes.ResourceExhausted: // too large with its tree
				full[i] = listed[i]
			default:
				fail(err)
			}
		}()
	}
	wg.Wait()
	if failed != nil {
		return nil, failed
	}
	out := make([]*workflowv1.Execution, 0, len(listed))
	for _, e := range full {
		if e != nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// problem is one problem of a manifest or a request: where and what.
type problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// submitted is the answer of a successful submit.
type submitted struct {
	Success       bool          `json:"success"`
	JobID         string        `json:"job_id"`
	BatchID       string        `json:"batch_id"`
	ExecutionIDs  []string      `json:"execution_ids"`
	ManifestPath  string        `json:"manifest_path,omitempty"`
	ManifestPaths []string      `json:"manifest_paths"`
	Started       bool          `json:"started"`
	VMs           []submittedVM `json:"vms"`
}

// submittedVM is one VM of a submitted manifest.
type submittedVM struct {
	Name         string `json:"name"`
	ExecutionID  string `json:"execution_id"`
	ManifestPath string `json:"manifest_path"`
	Status       string `json:"status"`
}

func (h *handler) submit(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimSpace(r.Header.Get(HeaderIdempotencyKey))
	if len(key) > MaxIdempotencyKeyLen {
		msg := fmt.Sprintf("the %s header is longer than %d bytes", HeaderIdempotencyKey, MaxIdempotencyKeyLen)
		h.fail(w, http.StatusBadRequest, "BAD_HEADER", msg,
			map[string]any{"success": false, "errors": []problem{{Path: HeaderIdempotencyKey, Message: msg}}})
		return
	}
	body, ok := h.manifestBody(w, r, "success")
	if !ok {
		return
	}
	// A query parameter, not a key of the body: the body is the manifest
	// exactly as HyperSDK's dashboard posts it.
	namespace := r.URL.Query().Get("namespace")
	resp, err := h.client.API().SubmitManifest(r.Context(), &workflowv1.SubmitManifestRequest{
		Content:   body,
		Format:    workflowv1.ManifestFormat_MANIFEST_FORMAT_JSON,
		RequestId: key,
		Namespace: namespace,
	})
	if err != nil {
		if status.Code(err) == codes.InvalidArgument {
			for _, v := range workflowclient.FieldViolations(err) {
				if v.Field == "namespace" {
					h.badParam(w, "namespace", v.Description)
					return
				}
			}
			h.fail(w, http.StatusBadRequest, "INVALID_MANIFEST", status.Convert(err).Message(),
				map[string]any{"errors": violations(err)})
			return
		}
		h.daemonError(w, err, nil)
		return
	}
	out := submitted{
		Success:       true,
		BatchID:       resp.GetBatchId(),
		ExecutionIDs:  []string{},
		ManifestPaths: []string{},
		Started:       resp.GetStarted(),
		VMs:           []submittedVM{},
	}
	for _, vm := range resp.GetVms() {
		out.ExecutionIDs = append(out.ExecutionIDs, vm.GetExecution().GetId())
		if p := vm.GetManifestPath(); p != "" {
			out.ManifestPaths = append(out.ManifestPaths, p)
		}
		out.VMs = append(out.VMs, submittedVM{
			Name:         vm.GetName(),
			ExecutionID:  vm.GetExecution().GetId(),
			ManifestPath: vm.GetManifestPath(),
			Status:       JobStatusOf(vm.GetExecution().GetState()),
		})
	}
	out.JobID = out.BatchID
	if out.JobID == "" && len(out.ExecutionIDs) > 0 {
		out.JobID = out.ExecutionIDs[0]
	}
	if resp.GetBatchId() == "" && len(out.ManifestPaths) == 1 {
		out.ManifestPath = out.ManifestPaths[0]
	}
	h.write(w, http.StatusOK, out)
}

// validation is the answer of validate.
type validation struct {
	Valid  bool      `json:"valid"`
	Errors []problem `json:"errors"`
}

func (h *handler) validate(w http.ResponseWriter, r *http.Request) {
	body, ok := h.manifestBody(w, r, "valid")
	if !ok {
		return
	}
	resp, err := h.client.API().ValidateManifest(r.Context(), &workflowv1.ValidateManifestRequest{
		Content: body,
		Format:  workflowv1.ManifestFormat_MANIFEST_FORMAT_JSON,
	})
	if err != nil {
		h.daemonError(w, err, nil)
		return
	}
	out := validation{Valid: resp.GetValid(), Errors: []problem{}}
	for _, p := range resp.GetProblems() {
		out.Errors = append(out.Errors, problem{Path: p.GetPath(), Message: p.GetMessage()})
	}
	h.write(w, http.StatusOK, out)
}

// manifestBody reads a manifest body: capped (413 beyond), non-empty, JSON
// (400 otherwise, with errors [{path: "", message}] and okKey false).
func (h *handler) manifestBody(w http.ResponseWriter, r *http.Request, okKey string) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		h.fail(w, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE",
			fmt.Sprintf("the request body exceeds %d bytes", tooLarge.Limit), map[string]any{okKey: false})
		return nil, false
	case err != nil:
		h.fail(w, http.StatusBadRequest, "BAD_BODY", fmt.Sprintf("reading the request body: %v", err), map[string]any{okKey: false})
		return nil, false
	}
	var msg string
	if len(bytes.TrimSpace(body)) == 0 {
		msg = "the request body is empty: post the manifest as JSON"
	} else if err := json.Unmarshal(body, new(json.RawMessage)); err != nil {
		msg = fmt.Sprintf("the request body is not JSON: %v", err)
	}
	if msg != "" {
		h.fail(w, http.StatusBadRequest, "BAD_JSON", msg,
			map[string]any{okKey: false, "errors": []problem{{Path: "", Message: msg}}})
		return nil, false
	}
	return body, true
}

// violations are the field violations of an INVALID_ARGUMENT error as
// problems; the status message when it carries none.
func violations(err error) []problem {
	out := []problem{}
	for _, v := range workflowclient.FieldViolations(err) {
		out = append(out, problem{Path: v.Field, Message: v.Description})
	}
	if len(out) == 0 {
		out = append(out, problem{Path: "", Message: status.Convert(err).Message()})
	}
	return out
}

// HTTPStatus is the HTTP status an error of the daemon is answered with:
// 400 INVALID_ARGUMENT, 404 NOT_FOUND, 409 ALREADY_EXISTS and
// FAILED_PRECONDITION, 429 RESOURCE_EXHAUSTED (the queue is full, or an
// answer or request exceeds a size limit), 403, 401, 501 UNIMPLEMENTED,
// 503 UNAVAILABLE (and a connection that cannot be made), 504
// DEADLINE_EXCEEDED (and a passed deadline), 499 CANCELLED (the HTTP caller
// went away), 502 anything else (the daemon failed the request).
func HTTPStatus(err error) int {
	if errors.Is(err, context.DeadlineExceeded) {
		return http.StatusGatewayTimeout
	}
	if errors.Is(err, context.Canceled) {
		return StatusClientClosedRequest
	}
	switch status.Code(err) {
	case codes.InvalidArgument, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.FailedPrecondition, codes.Aborted:
		return http.StatusConflict
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.Canceled:
		return StatusClientClosedRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	default:
		return http.StatusBadGateway
	}
}

// daemonError answers an error of a daemon call.
func (h *handler) daemonError(w http.ResponseWriter, err error, extra map[string]any) {
	code := HTTPStatus(err)
	msg := status.Convert(err).Message()
	switch code {
	case http.StatusServiceUnavailable:
		msg = "workflowd is unavailable: " + msg
	case StatusClientClosedRequest:
		// The caller went away (or cancelled): nothing is wrong with the
		// daemon, and nobody reads this answer.
		msg = "the request was cancelled before workflowd answered: " + msg
	}
	if status.Code(err) == codes.InvalidArgument {
		if extra == nil {
			extra = map[string]any{}
		}
		extra["errors"] = violations(err)
	}
	h.fail(w, code, CodeName(err), msg, extra)
}

// CodeName is the canonical name of an error's gRPC code, as the `code` of
// an error answer spells it: NOT_FOUND, INVALID_ARGUMENT, CANCELLED, ...
// (google.rpc.Code); UNKNOWN for an error that is not a gRPC status, but
// CANCELLED and DEADLINE_EXCEEDED for the context's own errors.
func CodeName(err error) string {
	c := status.Code(err)
	switch {
	case c == codes.Unknown && errors.Is(err, context.Canceled):
		c = codes.Canceled
	case c == codes.Unknown && errors.Is(err, context.DeadlineExceeded):
		c = codes.DeadlineExceeded
	}
	return rpccode.Code(c).String()
}

// badParam answers a bad query parameter with 400 naming it.
func (h *handler) badParam(w http.ResponseWriter, name, msg string) {
	h.fail(w, http.StatusBadRequest, "BAD_PARAMETER", msg,
		map[string]any{"parameter": name, "errors": []problem{{Path: name, Message: msg}}})
}

// fail writes an error answer: {success: false, error, code} plus extra keys.
func (h *handler) fail(w http.ResponseWriter, httpStatus int, code, msg string, extra map[string]any) {
	body := map[string]any{"success": false, "error": msg, "code": code}
	for k, v := range extra {
		body[k] = v
	}
	h.write(w, httpStatus, body)
}

// write writes v as JSON in the configured key style.
func (h *handler) write(w http.ResponseWriter, httpStatus int, v any) {
	b, err := marshal(v, h.opts.KeyStyle)
	if err != nil {
		http.Error(w, `{"success":false,"error":"encoding the answer failed","code":"INTERNAL"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(append(b, '\n'))
}
