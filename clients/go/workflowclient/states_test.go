package workflowclient_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

func TestStateNameAndElapsed(t *testing.T) {
	if got := workflowclient.StateName(workflowv1.ExecutionState_EXECUTION_STATE_TIMED_OUT); got != "TIMED_OUT" {
		t.Errorf("StateName(TIMED_OUT) = %q", got)
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e := &workflowv1.Execution{}
	if _, ok := workflowclient.Elapsed(e, start); ok {
		t.Errorf("Elapsed of an execution that has not started is ok")
	}
	e.StartTime = timestamppb.New(start)
	if d, ok := workflowclient.Elapsed(e, start.Add(time.Minute)); !ok || d != time.Minute {
		t.Errorf("Elapsed while running = %v, %v; want 1m to now", d, ok)
	}
	e.EndTime = timestamppb.New(start.Add(2 * time.Second))
	if d, _ := workflowclient.Elapsed(e, start.Add(time.Hour)); d != 2*time.Second {
		t.Errorf("Elapsed once ended = %v, want 2s (start to end)", d)
	}
}

func TestStatesOfAndJobStatusOfAgree(t *testing.T) {
	seen := 0
	for _, name := range workflowclient.JobStatuses {
		states, ok := workflowclient.StatesOf(name)
		if !ok || len(states) == 0 {
			t.Fatalf("StatesOf(%q) = %v, %v", name, states, ok)
		}
		for _, s := range states {
			seen++
			if got := workflowclient.JobStatusOf(s); got != name {
				t.Errorf("JobStatusOf(%s) = %q, want %q", s, got, name)
			}
			if workflowclient.IsTerminal(s) != (name == workflowclient.StatusCompleted || name == workflowclient.StatusFailed) {
				t.Errorf("IsTerminal(%s) disagrees with its job status %s", s, name)
			}
		}
	}
	if seen != len(workflowv1.ExecutionState_name)-1 {
		t.Errorf("job statuses cover %d states, want every state but UNSPECIFIED", seen)
	}
	if states, ok := workflowclient.StatesOf("all"); !ok || states != nil {
		t.Errorf("StatesOf(all) = %v, %v; want nil, true", states, ok)
	}
	if _, ok := workflowclient.StatesOf("ACTIVE"); ok {
		t.Errorf("StatesOf accepts ACTIVE (names are case-sensitive)")
	}
}
