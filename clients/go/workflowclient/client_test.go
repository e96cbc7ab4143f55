package workflowclient_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

// dial connects to the live daemon named by WORKFLOWD_ADDR; the tests are
// skipped only when that variable is unset.
func dial(t *testing.T) (*workflowclient.Client, context.Context) {
	t.Helper()
	addr := os.Getenv("WORKFLOWD_ADDR")
	if addr == "" {
		t.Skip("WORKFLOWD_ADDR is not set; these tests need a running workflowd")
	}
	c, err := workflowclient.Dial(addr)
	if err != nil {
		t.Fatalf("Dial(%q): %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c, ctx
}

func randomID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func TestListWorkflowsFindsBundledExamples(t *testing.T) {
	c, ctx := dial(t)
	workflows, _, err := c.ListWorkflows(ctx)
	if err != nil {
		t.Fatalf("ListWorkflows: %v", err)
	}
	var ids []string
	for _, w := range workflows {
		ids = append(ids, w.GetId())
	}
	for _, want := range []string{"hello", "research_pipeline", "sleeper", "chatty", "ignore_sigterm"} {
		if !slices.Contains(ids, want) {
			t.Errorf("workflow %q missing from %v", want, ids)
		}
	}
	if !slices.IsSorted(ids) {
		t.Errorf("workflows not ordered by id: %v", ids)
	}

	hello, err := c.GetWorkflow(ctx, "hello")
	if err != nil {
		t.Fatalf("GetWorkflow(hello): %v", err)
	}
	if len(hello.GetFields()) != 1 || hello.GetFields()[0].GetName() != "name" ||
		hello.GetFields()[0].GetDefaultValue() != "world" || hello.GetFields()[0].GetType().GetText() == nil {
		t.Errorf("hello fields = %v, want one text field `name` defaulting to world", hello.GetFields())
	}
}

func TestExecuteAndWaitRunsHelloToSuccess(t *testing.T) {
	c, ctx := dial(t)
	exec, err := c.ExecuteAndWait(ctx, "hello", map[string]any{"name": "gopher"})
	if err != nil {
		t.Fatalf("ExecuteAndWait: %v", err)
	}
	if exec.GetState() != workflowv1.ExecutionState_EXECUTION_STATE_SUCCEEDED || exec.ExitCode == nil || exec.GetExitCode() != 0 {
		t.Fatalf("state %v exit %v, want SUCCEEDED exit 0 (error %q)", exec.GetState(), exec.ExitCode, exec.GetError())
	}
	if got := exec.GetInputs()["name"]; got != "gopher" {
		t.Errorf("inputs[name] = %q, want gopher", got)
	}
	if len(exec.GetPhases()) != 1 || exec.GetPhases()[0].GetName() != "greet" ||
		exec.GetPhases()[0].GetStatus() != workflowv1.NodeStatus_NODE_STATUS_COMPLETED {
		t.Errorf("phases = %v, want one COMPLETED phase `greet`", exec.GetPhases())
	}
	if exec.GetEndTime() == nil || exec.GetStartTime() == nil {
		t.Errorf("start/end time missing: %v / %v", exec.GetStartTime(), exec.GetEndTime())
	}
}

// checkLog asserts what every hello log has: gap-free sequences from 1, the
// greeting on stdout, and `finished` SUCCEEDED as the last event.
func checkLog(t *testing.T, events []*workflowv1.LogEvent, greeting string) {
	t.Helper()
	if len(events) == 0 {
		t.Fatal("no log events")
	}
	var sawGreeting, sawPhase bool
	for i, ev := range events {
		if ev.GetSequence() != uint64(i+1) {
			t.Fatalf("event %d has sequence %d, want %d", i, ev.GetSequence(), i+1)
		}
		if o := ev.GetOutput(); o != nil && o.GetStream() == workflowv1.OutputStream_OUTPUT_STREAM_STDOUT && o.GetText() == greeting {
			sawGreeting = true
		}
		if ev.GetPhaseStarted() != nil {
			sawPhase = true
		}
	}
	last := events[len(events)-1].GetFinished()
	if last == nil || last.GetState() != workflowv1.ExecutionState_EXECUTION_STATE_SUCCEEDED {
		t.Errorf("last event = %v, want finished SUCCEEDED", events[len(events)-1])
	}
	if !sawGreeting || !sawPhase {
		t.Errorf("greeting seen %v, phase_started seen %v in %v", sawGreeting, sawPhase, events)
	}
}

func TestStreamLogsCallbackAndChannelAgree(t *testing.T) {
	c, ctx := dial(t)
	exec, err := c.Execute(ctx, "hello", map[string]any{"name": "stream"})
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if s := exec.GetState(); s != workflowv1.ExecutionState_EXECUTION_STATE_QUEUED && s != workflowv1.ExecutionState_EXECUTION_STATE_RUNNING {
		t.Errorf("Execute returned state %v, want QUEUED or RUNNING", s)
	}

	var live []*workflowv1.LogEvent
	err = c.StreamLogs(ctx, exec.GetId(), workflowclient.LogOptions{Follow: true}, func(ev *workflowv1.LogEvent) error {
		live = append(live, ev)
		return nil
	})
	if err != nil {
		t.Fatalf("StreamLogs: %v", err)
	}
	checkLog(t, live, "hello, stream")

	// History only, through the channel variant: the same events again.
	events, errc := c.StreamLogsChan(ctx, exec.GetId(), workflowclient.LogOptions{})
	var history []*workflowv1.LogEvent
	for ev := range events {
		history = append(history, ev)
	}
	if err := <-errc; err != nil {
		t.Fatalf("StreamLogsChan: %v", err)
	}
	checkLog(t, history, "hello, stream")
	if len(history) != len(live) {
		t.Errorf("history has %d events, live stream had %d", len(history), len(live))
	}

	// From a sequence number: the tail only.
	var tail []uint64
	err = c.StreamLogs(ctx, exec.GetId(), workflowclient.LogOptions{FromSequence: 2}, func(ev *workflowv1.LogEvent) error {
		tail = append(tail, ev.GetSequence())
		return nil
	})
	if err != nil || len(tail) != len(live)-1 || tail[0] != 2 {
		t.Errorf("from_sequence 2 gave %v (err %v), want 2..%d", tail, err, len(live))
	}

	// A callback can stop early.
	n := 0
	err = c.StreamLogs(ctx, exec.GetId(), workflowclient.LogOptions{}, func(*workflowv1.LogEvent) error {
		n++
		return workflowclient.ErrStop
	})
	if err != nil || n != 1 {
		t.Errorf("ErrStop: %d events, err %v; want 1 event, nil", n, err)
	}
}

func TestInvalidInputsCarryFieldViolations(t *testing.T) {
	c, ctx := dial(t)
	bad := map[string]any{"depth": 9, "format": "pdf"} // topic missing as well
	_, err := c.ValidateInputs(ctx, "research_pipeline", bad)
	if workflowclient.Code(err) != codes.InvalidArgument {
		t.Fatalf("ValidateInputs error = %v, want INVALID_ARGUMENT", err)
	}
	var fields []string
	for _, v := range workflowclient.FieldViolations(err) {
		fields = append(fields, v.Field)
		if v.Description == "" {
			t.Errorf("violation of %s has no description", v.Field)
		}
	}
	for _, want := range []string{"inputs.topic", "inputs.depth", "inputs.format"} {
		if !slices.Contains(fields, want) {
			t.Errorf("violation for %s missing from %v", want, fields)
		}
	}

	_, err = c.Execute(ctx, "research_pipeline", bad)
	if workflowclient.Code(err) != codes.InvalidArgument || len(workflowclient.FieldViolations(err)) < 3 {
		t.Errorf("Execute with bad inputs: %v, want INVALID_ARGUMENT with 3 violations", err)
	}
}

func TestValidateInputsResolvesDefaults(t *testing.T) {
	c, ctx := dial(t)
	resp, err := c.ValidateInputs(ctx, "hello", nil)
	if err != nil {
		t.Fatalf("ValidateInputs: %v", err)
	}
	if resp.GetResolvedInputs()["name"] != "world" {
		t.Errorf("resolved inputs = %v, want name=world", resp.GetResolvedInputs())
	}
	argv := resp.GetArgv()
	if len(argv) == 0 || !strings.HasSuffix(argv[0], "hello.sh") || !slices.Contains(argv, "--name") {
		t.Errorf("argv = %v, want the hello program with --name", argv)
	}
}

func TestUnknownIDsAreNotFound(t *testing.T) {
	c, ctx := dial(t)
	if _, err := c.GetWorkflow(ctx, "no_such_workflow"); workflowclient.Code(err) != codes.NotFound {
		t.Errorf("GetWorkflow(unknown) = %v, want NOT_FOUND", err)
	}
	if _, err := c.Execute(ctx, "no_such_workflow", nil); workflowclient.Code(err) != codes.NotFound {
		t.Errorf("Execute(unknown) = %v, want NOT_FOUND", err)
	}
	const missing = "00000000-0000-4000-8000-000000000000"
	if _, err := c.GetExecution(ctx, missing); workflowclient.Code(err) != codes.NotFound {
		t.Errorf("GetExecution(unknown) = %v, want NOT_FOUND", err)
	}
	if _, err := c.Wait(ctx, missing); workflowclient.Code(err) != codes.NotFound {
		t.Errorf("Wait(unknown) = %v, want NOT_FOUND", err)
	}
}

func TestFailedExecutionReportsExitCode(t *testing.T) {
	c, ctx := dial(t)
	exec, err := c.ExecuteAndWait(ctx, "sleeper", map[string]any{"seconds": 0, "exit_code": 3})
	if err != nil {
		t.Fatalf("ExecuteAndWait: %v", err)
	}
	if exec.GetState() != workflowv1.ExecutionState_EXECUTION_STATE_FAILED || exec.GetExitCode() != 3 {
		t.Errorf("state %v exit %d, want FAILED exit 3", exec.GetState(), exec.GetExitCode())
	}
	if len(exec.GetPhases()) != 1 || exec.GetPhases()[0].GetStatus() != workflowv1.NodeStatus_NODE_STATUS_FAILED {
		t.Errorf("phases = %v, want one FAILED phase", exec.GetPhases())
	}
}

func TestCancelStopsASleeper(t *testing.T) {
	c, ctx := dial(t)
	exec, err := c.Execute(ctx, "sleeper", map[string]any{"seconds": 60})
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	resp, err := c.Cancel(ctx, exec.GetId(), 5*time.Second, false)
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if resp.GetExecution().GetId() != exec.GetId() {
		t.Errorf("Cancel returned execution %s, want %s", resp.GetExecution().GetId(), exec.GetId())
	}
	done, err := c.Wait(ctx, exec.GetId())
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if done.GetState() != workflowv1.ExecutionState_EXECUTION_STATE_CANCELLED {
		t.Errorf("state after cancel = %v, want CANCELLED", done.GetState())
	}
	if _, err := c.Cancel(ctx, exec.GetId(), 0, false); workflowclient.Code(err) != codes.FailedPrecondition {
		t.Errorf("Cancel of a finished execution = %v, want FAILED_PRECONDITION", err)
	}
}

func TestRequestIDMakesExecuteIdempotent(t *testing.T) {
	c, ctx := dial(t)
	rid := "go-test-" + randomID(t)
	first, err := c.API().Execute(ctx, &workflowv1.ExecuteRequest{WorkflowId: "hello", RequestId: rid})
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	second, err := c.API().Execute(ctx, &workflowv1.ExecuteRequest{WorkflowId: "hello", RequestId: rid})
	if err != nil {
		t.Fatalf("Execute again: %v", err)
	}
	if !first.GetStarted() || second.GetStarted() || first.GetExecution().GetId() != second.GetExecution().GetId() {
		t.Errorf("started %v/%v ids %s/%s, want true/false and one id",
			first.GetStarted(), second.GetStarted(), first.GetExecution().GetId(), second.GetExecution().GetId())
	}
	if _, err := c.Wait(ctx, first.GetExecution().GetId()); err != nil {
		t.Errorf("Wait: %v", err)
	}
}

func TestListExecutionsFiltersByLabel(t *testing.T) {
	c, ctx := dial(t)
	run := randomID(t)
	exec, err := c.ExecuteAndWait(ctx, "hello", nil, workflowclient.WithLabels(map[string]string{"go-test-run": run}))
	if err != nil {
		t.Fatalf("ExecuteAndWait: %v", err)
	}
	resp, err := c.ListExecutions(ctx, &workflowv1.ListExecutionsRequest{
		WorkflowId: "hello",
		Labels:     map[string]string{"go-test-run": run},
	})
	if err != nil {
		t.Fatalf("ListExecutions: %v", err)
	}
	if len(resp.GetExecutions()) != 1 || resp.GetExecutions()[0].GetId() != exec.GetId() {
		t.Errorf("ListExecutions by label = %v, want just %s", resp.GetExecutions(), exec.GetId())
	}
}

func TestStatusReportsThePool(t *testing.T) {
	c, ctx := dial(t)
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.GetVersion() == "" || st.GetMaxWorkers() == 0 || st.GetStartTime() == nil {
		t.Errorf("status = %v, want version, max_workers and start_time", st)
	}
	if st.GetWorkflowsDiscovered() < 5 {
		t.Errorf("workflows_discovered = %d, want at least the 5 bundled examples", st.GetWorkflowsDiscovered())
	}
}

func TestValuesConvertsGoTypes(t *testing.T) {
	v, err := workflowclient.Values(map[string]any{"s": "x", "n": 3, "b": true, "l": []any{0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if v["s"].GetStringValue() != "x" || v["n"].GetNumberValue() != 3 || !v["b"].GetBoolValue() ||
		len(v["l"].GetListValue().GetValues()) != 2 {
		t.Errorf("Values = %v", v)
	}
	if _, err := workflowclient.Values(map[string]any{"bad": struct{}{}}); err == nil {
		t.Error("Values accepted a struct")
	}
}

func TestValidateManifestReportsProblemPaths(t *testing.T) {
	c, ctx := dial(t)
	manifest := []byte(`{"version": "1.0", "pipeline": {"load": {"source_type": "floppy", "source_path": "/x"}, "convert": {"output_format": "qcow2"}}}`)
	resp, err := c.ValidateManifest(ctx, manifest, "vm.json")
	if err != nil {
		t.Fatalf("ValidateManifest: %v", err)
	}
	if resp.GetValid() {
		t.Fatalf("a floppy source_type was accepted")
	}
	found := false
	for _, p := range resp.GetProblems() {
		found = found || p.GetPath() == "pipeline.load.source_type"
	}
	if !found {
		t.Fatalf("no problem at pipeline.load.source_type in %v", resp.GetProblems())
	}
}

func TestSubmitInvalidManifestCarriesFieldViolations(t *testing.T) {
	c, ctx := dial(t)
	_, err := c.SubmitManifest(ctx, []byte(`{"version": "1.0", "pipeline": {}}`), "bad.json", "")
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("want InvalidArgument, got %v", err)
	}
	if len(workflowclient.FieldViolations(err)) == 0 {
		t.Fatalf("no field violations in %v", err)
	}
}
