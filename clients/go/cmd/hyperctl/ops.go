package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

// statusJSON is the -json form of `-op status`: hyperctl's status keys
// (workflowclient.HyperStatus, what HyperSDK's status endpoint answers too)
// plus the daemon's own counters.
type statusJSON struct {
	workflowclient.HyperStatus

	Version             string            `json:"version"`
	MaxQueue            uint32            `json:"max_queue"`
	TotalExecutions     uint64            `json:"total_executions"`
	TotalsByState       map[string]uint64 `json:"totals_by_state"`
	WorkflowsDiscovered uint32            `json:"workflows_discovered"`
	DiscoveryErrors     uint32            `json:"discovery_errors"`
	DatabasePath        string            `json:"database_path"`
}

func opStatus(ctx context.Context, c *workflowclient.Client, out *printer) error {
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	if out.json {
		b, err := json.MarshalIndent(statusView(st), "", "  ")
		if err != nil {
			return err
		}
		return out.jsonLine(b)
	}
	out.printf("workflowd %s, up %s\n", st.GetVersion(), time.Duration(st.GetUptimeSeconds())*time.Second)
	out.printf("workers:   %d running of %d, %d queued (queue limit %d)\n",
		st.GetRunning(), st.GetMaxWorkers(), st.GetQueued(), st.GetMaxQueue())
	out.printf("today:     %d succeeded, %d failed\n", st.GetSucceededToday(), st.GetFailedToday())
	out.printf("history:   %d executions (%s)\n", st.GetTotalExecutions(), st.GetDatabasePath())
	out.printf("workflows: %d discovered, %d discovery errors\n", st.GetWorkflowsDiscovered(), st.GetDiscoveryErrors())
	for _, d := range st.GetWorkflowDirectories() {
		missing := ""
		if !d.GetExists() {
			missing = " (missing)"
		}
		out.printf("  %s%s: %d workflows, %d errors\n", d.GetPath(), missing, d.GetWorkflows(), d.GetDiscoveryErrors())
	}
	return nil
}

// statusView is the -json form of a GetStatus answer.
func statusView(st *workflowv1.GetStatusResponse) statusJSON {
	return statusJSON{
		HyperStatus:         workflowclient.HyperStatusOf(st),
		Version:             st.GetVersion(),
		MaxQueue:            st.GetMaxQueue(),
		TotalExecutions:     st.GetTotalExecutions(),
		TotalsByState:       st.GetTotalsByState(),
		WorkflowsDiscovered: st.GetWorkflowsDiscovered(),
		DiscoveryErrors:     st.GetDiscoveryErrors(),
		DatabasePath:        st.GetDatabasePath(),
	}
}

func opList(ctx context.Context, c *workflowclient.Client, f *workflowFlags, out *printer) error {
	// The job statuses of HyperSDK's jobs endpoint, plus "all".
	states, ok := workflowclient.StatesOf(f.filter)
	if !ok || f.filter == "" {
		return usagef("unknown -filter %q (all, active, pending, completed, failed)", f.filter)
	}
	if f.limit < 1 {
		return usagef("-limit must be at least 1")
	}
	resp, err := c.ListExecutions(ctx, &workflowv1.ListExecutionsRequest{
		PageSize:   int32(f.limit),
		WorkflowId: f.workflow,
		States:     states,
	})
	if err != nil {
		return err
	}
	return printExecutions(out, resp)
}

func opQueue(ctx context.Context, c *workflowclient.Client, out *printer) error {
	resp, err := c.ListExecutions(ctx, &workflowv1.ListExecutionsRequest{
		PageSize: 1000,
		States: []workflowv1.ExecutionState{
			workflowv1.ExecutionState_EXECUTION_STATE_RUNNING,
			workflowv1.ExecutionState_EXECUTION_STATE_QUEUED,
		},
	})
	if err != nil {
		return err
	}
	return printExecutions(out, resp)
}

func printExecutions(out *printer, resp *workflowv1.ListExecutionsResponse) error {
	if out.json {
		return out.message(resp)
	}
	out.printf("%-36s  %-20s  %-11s  %-20s  %9s  %s\n", "ID", "WORKFLOW", "STATE", "CREATED", "ELAPSED", "EXIT")
	for _, e := range resp.GetExecutions() {
		exit := "-"
		if e.ExitCode != nil {
			exit = fmt.Sprint(e.GetExitCode())
		} else if e.Signal != nil {
			exit = fmt.Sprintf("signal %d", e.GetSignal())
		}
		out.printf("%-36s  %-20s  %-11s  %-20s  %9s  %s\n",
			e.GetId(), e.GetWorkflowId(), stateName(e.GetState()), formatTime(e.GetCreateTime()), elapsed(e), exit)
	}
	return nil
}

func opWorkflows(ctx context.Context, c *workflowclient.Client, out *printer, stderr io.Writer) error {
	resp, err := c.API().ListWorkflows(ctx, &workflowv1.ListWorkflowsRequest{PageSize: 1000})
	if err != nil {
		return err
	}
	if out.json {
		return out.message(resp)
	}
	out.printf("%-24s  %-28s  %s\n", "ID", "NAME", "FIELDS")
	for _, w := range resp.GetWorkflows() {
		names := make([]string, 0, len(w.GetFields()))
		for _, fld := range w.GetFields() {
			n := fld.GetName()
			if fld.GetRequired() {
				n += "*"
			}
			names = append(names, n)
		}
		out.printf("%-24s  %-28s  %s\n", w.GetId(), w.GetName(), strings.Join(names, " "))
	}
	for _, e := range resp.GetDiscoveryErrors() {
		notef(stderr, "discovery failed: %s: %s\n", e.GetProgramPath(), e.GetMessage())
	}
	return nil
}

func opSubmit(ctx context.Context, c *workflowclient.Client, f *workflowFlags, out *printer, stderr io.Writer) error {
	if f.workflow == "" {
		return usagef("submit needs -workflow ID")
	}
	inputs := make(map[string]any, len(f.inputs))
	for k, v := range f.inputs {
		inputs[k] = v // the daemon converts text to each field's type
	}
	var opts []workflowclient.ExecuteOption
	if f.requestID != "" {
		opts = append(opts, workflowclient.WithRequestID(f.requestID))
	}
	if f.timeout > 0 {
		opts = append(opts, workflowclient.WithTimeout(f.timeout))
	}
	if len(f.labels) > 0 {
		opts = append(opts, workflowclient.WithLabels(f.labels))
	}
	if f.namespace != "" {
		opts = append(opts, workflowclient.WithNamespace(f.namespace))
	}
	exec, err := c.Execute(ctx, f.workflow, inputs, opts...)
	if err != nil {
		return err
	}
	if !f.wait {
		if out.json {
			return out.message(exec)
		}
		out.printf("%s\n", exec.GetId())
		return nil
	}
	notef(stderr, "execution %s %s\n", exec.GetId(), stateName(exec.GetState()))
	return followExecution(ctx, c, exec.GetId(), 0, out)
}

func opWatch(ctx context.Context, c *workflowclient.Client, f *workflowFlags, out *printer) error {
	if f.id != "" {
		return followExecution(ctx, c, f.id, f.from, out)
	}
	if f.interval <= 0 {
		return usagef("-interval must be positive")
	}
	for n := 1; ; n++ {
		if err := opStatus(ctx, c, out); err != nil {
			return err
		}
		if f.count > 0 && n >= f.count {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(f.interval):
		}
		if !out.json {
			out.printf("\n")
		}
	}
}

// followExecution prints an execution's log until its finished event and
// fails with errNotSucceeded unless it SUCCEEDED.
func followExecution(ctx context.Context, c *workflowclient.Client, id string, from uint64, out *printer) error {
	var final *workflowv1.Finished
	err := c.StreamLogs(ctx, id, workflowclient.LogOptions{FromSequence: from, Follow: true}, func(ev *workflowv1.LogEvent) error {
		if fin := ev.GetFinished(); fin != nil {
			final = fin
		}
		if out.json {
			return out.line(ev)
		}
		out.printf("%s\n", formatEvent(ev))
		return nil
	})
	if err != nil {
		return err
	}
	if final == nil {
		return fmt.Errorf("execution %s: %w", id, errLogEnded)
	}
	if final.GetState() != workflowv1.ExecutionState_EXECUTION_STATE_SUCCEEDED {
		return errNotSucceeded
	}
	return nil
}

func opCancel(ctx context.Context, c *workflowclient.Client, f *workflowFlags, out *printer) error {
	if f.id == "" {
		return usagef("cancel needs -id EXECUTION")
	}
	resp, err := c.Cancel(ctx, f.id, f.grace, f.force)
	if err != nil {
		return err
	}
	if out.json {
		return out.message(resp)
	}
	note := ""
	if resp.GetAlreadyRequested() {
		note = " (cancel already requested)"
	}
	out.printf("%s %s%s\n", resp.GetExecution().GetId(), stateName(resp.GetExecution().GetState()), note)
	return nil
}

// formatEvent renders one log event as a text line: program output as it
// was printed, other events as `[name] {json}`.
func formatEvent(ev *workflowv1.LogEvent) string {
	if o := ev.GetOutput(); o != nil {
		if o.GetStream() == workflowv1.OutputStream_OUTPUT_STREAM_STDERR {
			return fmt.Sprintf("%6d  err  %s", ev.GetSequence(), o.GetText())
		}
		return fmt.Sprintf("%6d  out  %s", ev.GetSequence(), o.GetText())
	}
	m := ev.ProtoReflect()
	fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("payload"))
	if fd == nil {
		return fmt.Sprintf("%6d  (empty event)", ev.GetSequence())
	}
	// EmitUnpopulated shows zero values that matter here, like phase 0.
	body, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(m.Get(fd).Message().Interface())
	if err != nil {
		body = []byte(err.Error())
	}
	return fmt.Sprintf("%6d  [%s] %s", ev.GetSequence(), fd.Name(), body)
}

// stateName is an execution state without its enum prefix ("SUCCEEDED").
func stateName(s workflowv1.ExecutionState) string { return workflowclient.StateName(s) }

func formatTime(t *timestamppb.Timestamp) string {
	if t == nil {
		return "-"
	}
	return t.AsTime().Local().Format("2006-01-02 15:04:05")
}

// elapsed is the run time so far (or in total) of an execution.
func elapsed(e *workflowv1.Execution) string {
	d, ok := workflowclient.Elapsed(e, time.Now())
	if !ok {
		return "-"
	}
	return d.Round(100 * time.Millisecond).String()
}
