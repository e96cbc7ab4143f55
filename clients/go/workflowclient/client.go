// Package workflowclient is a small, idiomatic Go client for workflowd's
// workflow.v1.WorkflowService.
//
// It wraps the generated stub (package workflowv1) with the calls a program
// usually makes: start an execution and wait for its end, follow its log
// through a callback or a channel, read the daemon's status, manage
// schedules. Every method returns the gRPC status error of the daemon
// unchanged; FieldViolations extracts the per-input problems of an
// INVALID_ARGUMENT error. A daemon started with `--auth tokens` needs an API
// token: WithToken, or $WORKFLOW_TOKEN, which Dial reads by default. A
// daemon serving TLS takes an https:// address, and WithTLS (or
// $WORKFLOW_TLS_CA, $WORKFLOW_TLS_CERT, $WORKFLOW_TLS_KEY) names the CA to
// trust and the client certificate of a daemon that requires one.
//
//	c, err := workflowclient.Dial("127.0.0.1:50051")
//	if err != nil { ... }
//	defer c.Close()
//	exec, err := c.ExecuteAndWait(ctx, "hello", map[string]any{"name": "gopher"})
package workflowclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
)

// Client is a connection to one workflowd daemon. It is safe for concurrent
// use; Close it when done.
type Client struct {
	conn *grpc.ClientConn
	api  workflowv1.WorkflowServiceClient
}

// Dial creates a client for the daemon at addr, in any form of
// WORKFLOWD_ADDR that every workflowd client takes: "host:port",
// "http://host:port", "https://host:port" or "unix:/path/to/socket". The
// connection is TLS for an https:// address or when WithTLS or
// $WORKFLOW_TLS_CA, $WORKFLOW_TLS_CERT, $WORKFLOW_TLS_KEY name files (see
// WithTLS), plaintext otherwise; transport credentials in opts replace
// either (later options win). Every call carries the API token of
// WithToken in opts, else of $WORKFLOW_TOKEN, if any. Like grpc.NewClient
// it does not wait for the daemon: the first call does; TLS files are read
// at once, so a wrong path is an error of Dial.
func Dial(addr string, opts ...grpc.DialOption) (*Client, error) {
	token, err := dialToken(opts)
	if err != nil {
		return nil, fmt.Errorf("workflowclient: dial %s: %w", addr, err)
	}
	target, tlsCreds, err := dialTLS(addr, opts)
	if err != nil {
		return nil, fmt.Errorf("workflowclient: dial %s: %w", addr, err)
	}
	all := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if tlsCreds != nil {
		all[0] = grpc.WithTransportCredentials(tlsCreds)
	}
	if token != "" {
		all = append(all, grpc.WithPerRPCCredentials(TokenCredentials(token)))
	}
	all = append(all, opts...)
	conn, err := grpc.NewClient(target, all...)
	if err != nil {
		return nil, fmt.Errorf("workflowclient: dial %s: %w", addr, err)
	}
	return New(conn), nil
}

// New wraps an existing connection; Close then closes that connection. The
// connection's own options decide the token: see TokenCredentials.
func New(conn *grpc.ClientConn) *Client {
	return &Client{conn: conn, api: workflowv1.NewWorkflowServiceClient(conn)}
}

// Close closes the underlying connection.
func (c *Client) Close() error { return c.conn.Close() }

// API returns the generated stub, for calls and fields this wrapper does not cover.
func (c *Client) API() workflowv1.WorkflowServiceClient { return c.api }

// ListWorkflows returns every discovered workflow (following all pages) and
// the programs that failed discovery.
func (c *Client) ListWorkflows(ctx context.Context) ([]*workflowv1.Workflow, []*workflowv1.DiscoveryError, error) {
	var (
		workflows []*workflowv1.Workflow
		failures  []*workflowv1.DiscoveryError
		token     string
	)
	for {
		resp, err := c.api.ListWorkflows(ctx, &workflowv1.ListWorkflowsRequest{PageToken: token})
		if err != nil {
			return nil, nil, err
		}
		workflows = append(workflows, resp.GetWorkflows()...)
		failures = resp.GetDiscoveryErrors()
		token = resp.GetNextPageToken()
		if token == "" {
			return workflows, failures, nil
		}
	}
}

// GetWorkflow returns one workflow by id (NOT_FOUND when unknown).
func (c *Client) GetWorkflow(ctx context.Context, workflowID string) (*workflowv1.Workflow, error) {
	resp, err := c.api.GetWorkflow(ctx, &workflowv1.GetWorkflowRequest{WorkflowId: workflowID})
	if err != nil {
		return nil, err
	}
	return resp.GetWorkflow(), nil
}

// ValidateInputs checks inputs against the workflow's fields without running
// it. Input values are Go strings, numbers, bools, or slices of them.
func (c *Client) ValidateInputs(ctx context.Context, workflowID string, inputs map[string]any) (*workflowv1.ValidateInputsResponse, error) {
	values, err := Values(inputs)
	if err != nil {
		return nil, err
	}
	return c.api.ValidateInputs(ctx, &workflowv1.ValidateInputsRequest{WorkflowId: workflowID, Inputs: values})
}

// ExecuteOption sets an optional field of an Execute request.
type ExecuteOption func(*workflowv1.ExecuteRequest)

// WithRequestID makes the call idempotent: repeating it returns the same execution.
func WithRequestID(id string) ExecuteOption {
	return func(r *workflowv1.ExecuteRequest) { r.RequestId = id }
}

// WithNamespace starts the execution in namespace ns (the token must see
// it). Without it the daemon picks the token's only namespace, else
// "default".
func WithNamespace(ns string) ExecuteOption {
	return func(r *workflowv1.ExecuteRequest) { r.Namespace = ns }
}

// WithTimeout sets the execution's wall-clock limit.
func WithTimeout(d time.Duration) ExecuteOption {
	return func(r *workflowv1.ExecuteRequest) { r.Timeout = durationpb.New(d) }
}

// WithLabels attaches labels to the execution (merged with earlier WithLabels).
func WithLabels(labels map[string]string) ExecuteOption {
	return func(r *workflowv1.ExecuteRequest) {
		if r.Labels == nil {
			r.Labels = map[string]string{}
		}
		for k, v := range labels {
			r.Labels[k] = v
		}
	}
}

// Execute starts an execution and returns at once with it (QUEUED or RUNNING).
func (c *Client) Execute(ctx context.Context, workflowID string, inputs map[string]any, opts ...ExecuteOption) (*workflowv1.Execution, error) {
	values, err := Values(inputs)
	if err != nil {
		return nil, err
	}
	req := &workflowv1.ExecuteRequest{WorkflowId: workflowID, Inputs: values}
	for _, opt := range opts {
		opt(req)
	}
	resp, err := c.api.Execute(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.GetExecution(), nil
}

// ExecuteAndWait starts an execution and waits for its end (see Wait). The
// returned execution is in a terminal state; a FAILED execution is not an
// error: look at its State and ExitCode.
func (c *Client) ExecuteAndWait(ctx context.Context, workflowID string, inputs map[string]any, opts ...ExecuteOption) (*workflowv1.Execution, error) {
	exec, err := c.Execute(ctx, workflowID, inputs, opts...)
	if err != nil {
		return nil, err
	}
	return c.Wait(ctx, exec.GetId())
}

// Wait blocks until the execution has ended (WaitExecution) and returns it
// in its final state. ctx bounds the wait; giving up never cancels the
// execution.
func (c *Client) Wait(ctx context.Context, executionID string) (*workflowv1.Execution, error) {
	resp, err := c.api.WaitExecution(ctx, &workflowv1.WaitExecutionRequest{ExecutionId: executionID})
	if err != nil {
		return nil, err
	}
	return resp.GetExecution(), nil
}

// LogOptions selects which part of an execution's log StreamLogs sends.
type LogOptions struct {
	// FromSequence is the first sequence number to send; 0 means 1.
	FromSequence uint64
	// Follow keeps the stream open until the execution ends.
	Follow bool
}

// ErrStop may be returned by a StreamLogs callback to end the stream early
// without an error.
var ErrStop = errors.New("workflowclient: stop streaming")

// StreamLogs calls fn for each log event of the execution, in sequence order,
// until the stream ends (after the `finished` event when following), fn
// returns an error (ErrStop ends quietly) or ctx is done.
func (c *Client) StreamLogs(ctx context.Context, executionID string, opts LogOptions, fn func(*workflowv1.LogEvent) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.api.StreamLogs(ctx, &workflowv1.StreamLogsRequest{
		ExecutionId:  executionID,
		FromSequence: opts.FromSequence,
		Follow:       opts.Follow,
	})
	if err != nil {
		return err
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(msg.GetEvent()); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
	}
}

// StreamLogsChan is StreamLogs as channels: events arrive on the first
// channel, which is closed when the stream ends; then the second channel
// yields the stream's error (nil on a normal end) and is closed. Cancel ctx to
// stop early; the events channel must be drained or ctx cancelled, or the
// reading goroutine blocks.
func (c *Client) StreamLogsChan(ctx context.Context, executionID string, opts LogOptions) (<-chan *workflowv1.LogEvent, <-chan error) {
	events := make(chan *workflowv1.LogEvent, 64)
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		err := c.StreamLogs(ctx, executionID, opts, func(ev *workflowv1.LogEvent) error {
			select {
			case events <- ev:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		close(events)
		errc <- err
	}()
	return events, errc
}

// GetExecution returns one execution with its phase tree and artifacts.
func (c *Client) GetExecution(ctx context.Context, executionID string) (*workflowv1.Execution, error) {
	resp, err := c.api.GetExecution(ctx, &workflowv1.GetExecutionRequest{ExecutionId: executionID})
	if err != nil {
		return nil, err
	}
	return resp.GetExecution(), nil
}

// ListExecutions returns one page of executions, newest first; pass
// resp.NextPageToken back in req.PageToken for the next page.
func (c *Client) ListExecutions(ctx context.Context, req *workflowv1.ListExecutionsRequest) (*workflowv1.ListExecutionsResponse, error) {
	if req == nil {
		req = &workflowv1.ListExecutionsRequest{}
	}
	return c.api.ListExecutions(ctx, req)
}

// Cancel asks the daemon to stop an execution: SIGTERM, then SIGKILL after
// grace (the daemon's default when zero), or SIGKILL at once with force.
func (c *Client) Cancel(ctx context.Context, executionID string, grace time.Duration, force bool) (*workflowv1.CancelResponse, error) {
	req := &workflowv1.CancelRequest{ExecutionId: executionID, Force: force}
	if grace > 0 {
		req.GracePeriod = durationpb.New(grace)
	}
	return c.api.Cancel(ctx, req)
}

// Status returns the daemon's version, uptime, worker pool and history counts.
func (c *Client) Status(ctx context.Context) (*workflowv1.GetStatusResponse, error) {
	return c.api.GetStatus(ctx, &workflowv1.GetStatusRequest{})
}

// IsTerminal reports whether an execution in state s has finished.
func IsTerminal(s workflowv1.ExecutionState) bool {
	switch s {
	case workflowv1.ExecutionState_EXECUTION_STATE_SUCCEEDED,
		workflowv1.ExecutionState_EXECUTION_STATE_FAILED,
		workflowv1.ExecutionState_EXECUTION_STATE_CANCELLED,
		workflowv1.ExecutionState_EXECUTION_STATE_TIMED_OUT,
		workflowv1.ExecutionState_EXECUTION_STATE_INTERRUPTED:
		return true
	}
	return false
}

// Values converts Go input values (string, bool, numbers, []any, ...) to the
// protobuf Values the API takes.
func Values(inputs map[string]any) (map[string]*structpb.Value, error) {
	if len(inputs) == 0 {
		return nil, nil
	}
	out := make(map[string]*structpb.Value, len(inputs))
	for name, v := range inputs {
		pv, err := structpb.NewValue(v)
		if err != nil {
			return nil, fmt.Errorf("workflowclient: input %q: %w", name, err)
		}
		out[name] = pv
	}
	return out, nil
}

// ValidateManifest checks a hyper2kvm pipeline manifest (JSON or YAML, single
// or batch; the format is detected from fileName and the content) without
// running it. The response lists every problem with its path in the document.
func (c *Client) ValidateManifest(ctx context.Context, content []byte, fileName string) (*workflowv1.ValidateManifestResponse, error) {
	return c.api.ValidateManifest(ctx, &workflowv1.ValidateManifestRequest{
		Content:  content,
		Format:   workflowv1.ManifestFormat_MANIFEST_FORMAT_DETECT,
		FileName: fileName,
	})
}

// SubmitOption sets an optional field of a SubmitManifest request.
type SubmitOption func(*workflowv1.SubmitManifestRequest)

// SubmitInNamespace starts the manifest's executions in namespace ns (the
// token must see it). Without it the daemon picks the token's only
// namespace, else "default".
func SubmitInNamespace(ns string) SubmitOption {
	return func(r *workflowv1.SubmitManifestRequest) { r.Namespace = ns }
}

// SubmitManifest runs a manifest: one execution per VM, with a batch id for
// batches. A non-empty requestID makes retries return the first submission.
// An invalid manifest fails with INVALID_ARGUMENT; FieldViolations(err) lists
// the problems by path.
func (c *Client) SubmitManifest(ctx context.Context, content []byte, fileName, requestID string, opts ...SubmitOption) (*workflowv1.SubmitManifestResponse, error) {
	req := &workflowv1.SubmitManifestRequest{
		Content:   content,
		Format:    workflowv1.ManifestFormat_MANIFEST_FORMAT_DETECT,
		FileName:  fileName,
		RequestId: requestID,
	}
	for _, opt := range opts {
		opt(req)
	}
	return c.api.SubmitManifest(ctx, req)
}
