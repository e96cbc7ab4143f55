package hypersdkapi_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/hypersdkapi"
)

func TestModeOfDropFolders(t *testing.T) {
	manifest := &workflowv1.DropFolder{Path: "/m", Mode: workflowv1.DropFolderMode_DROP_FOLDER_MODE_MANIFEST}
	disk := &workflowv1.DropFolder{Path: "/d", Mode: workflowv1.DropFolderMode_DROP_FOLDER_MODE_DISK}
	for _, tc := range []struct {
		folders []*workflowv1.DropFolder
		want    string
	}{
		{nil, "none"},
		{[]*workflowv1.DropFolder{{Path: "/u"}}, "none"},
		{[]*workflowv1.DropFolder{manifest}, "manifest"},
		{[]*workflowv1.DropFolder{disk, disk}, "disk"},
		{[]*workflowv1.DropFolder{disk, manifest}, "both"},
	} {
		if got := hypersdkapi.ModeOf(tc.folders); got != tc.want {
			t.Errorf("ModeOf(%v) = %q, want %q", tc.folders, got, tc.want)
		}
	}
}

// pipeline is a vm_pipeline execution with the given phase statuses (in
// order load, inspect, fix, convert, validate) and convert percentage.
func pipeline(state workflowv1.ExecutionState, convertPercent int32, statuses ...workflowv1.NodeStatus) *workflowv1.Execution {
	names := []string{"load", "inspect", "fix", "convert", "validate"}
	e := &workflowv1.Execution{Id: "e", WorkflowId: "vm_pipeline", WorkflowName: "VM conversion pipeline", State: state}
	for i, s := range statuses {
		p := &workflowv1.Phase{Index: int32(i), Name: names[i], TotalPhases: 5, Status: s}
		pct := int32(-1)
		if names[i] == "convert" {
			pct = convertPercent
		}
		p.Tasks = []*workflowv1.Task{{TaskId: names[i], Status: s, Percent: pct}}
		e.Phases = append(e.Phases, p)
	}
	return e
}

func TestStageAndProgress(t *testing.T) {
	const (
		run  = workflowv1.NodeStatus_NODE_STATUS_RUNNING
		done = workflowv1.NodeStatus_NODE_STATUS_COMPLETED
		fail = workflowv1.NodeStatus_NODE_STATUS_FAILED
	)
	for _, tc := range []struct {
		name     string
		e        *workflowv1.Execution
		stage    string
		progress int
	}{
		{"queued", pipeline(workflowv1.ExecutionState_EXECUTION_STATE_QUEUED, -1), "QUEUED", 0},
		{"started, no phase yet", pipeline(workflowv1.ExecutionState_EXECUTION_STATE_RUNNING, -1), "STARTING", 0},
		{"loading", pipeline(workflowv1.ExecutionState_EXECUTION_STATE_RUNNING, -1, run), "LOAD", 0},
		{"converting at 50%", pipeline(workflowv1.ExecutionState_EXECUTION_STATE_RUNNING, 50, done, done, done, run), "CONVERT", 70},
		{"validating", pipeline(workflowv1.ExecutionState_EXECUTION_STATE_RUNNING, 100, done, done, done, done, run), "VALIDATE", 80},
		{"all phases done, not yet recorded as succeeded", pipeline(workflowv1.ExecutionState_EXECUTION_STATE_RUNNING, 100, done, done, done, done, done), "VALIDATE", 99},
		{"succeeded", pipeline(workflowv1.ExecutionState_EXECUTION_STATE_SUCCEEDED, 100, done, done, done, done, done), "VALIDATE", 100},
		{"failed in fix", pipeline(workflowv1.ExecutionState_EXECUTION_STATE_FAILED, -1, done, done, fail), "FIX", 40},
		{"failed before any phase", pipeline(workflowv1.ExecutionState_EXECUTION_STATE_FAILED, -1), "FAILED", 0},
	} {
		if got := hypersdkapi.StageOf(tc.e); got != tc.stage {
			t.Errorf("%s: stage %q, want %q", tc.name, got, tc.stage)
		}
		if got := hypersdkapi.ProgressOf(tc.e); got != tc.progress {
			t.Errorf("%s: progress %d, want %d", tc.name, got, tc.progress)
		}
	}
}

func TestJobOf(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e := pipeline(workflowv1.ExecutionState_EXECUTION_STATE_TIMED_OUT, 10, workflowv1.NodeStatus_NODE_STATUS_COMPLETED)
	e.Labels = map[string]string{"vm": "web-01"}
	e.StartTime = timestamppb.New(start)
	e.EndTime = timestamppb.New(start.Add(90 * time.Second))
	j := hypersdkapi.JobOf(e, start.Add(time.Hour))
	if j.Name != "web-01" || j.Status != "failed" || j.State != "TIMED_OUT" || j.ElapsedSeconds != 90 ||
		j.StartedAt == nil || *j.StartedAt != "2026-01-02T03:04:05Z" {
		t.Errorf("JobOf = %+v", j)
	}
	e.Labels, e.StartTime, e.EndTime = nil, nil, nil
	e.State = workflowv1.ExecutionState_EXECUTION_STATE_QUEUED
	if j := hypersdkapi.JobOf(e, start); j.Name != "VM conversion pipeline" || j.StartedAt != nil || j.ElapsedSeconds != 0 || j.Status != "pending" {
		t.Errorf("JobOf(queued) = %+v", j)
	}
}

func TestJobOfCarriesTheDaemonsEstimate(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	// Half way by the tree (2 of 4 phases would say 50 too): the daemon's
	// figure wins, so every client shows the same.
	e := pipeline(workflowv1.ExecutionState_EXECUTION_STATE_RUNNING, -1,
		workflowv1.NodeStatus_NODE_STATUS_COMPLETED, workflowv1.NodeStatus_NODE_STATUS_RUNNING)
	e.StartTime = timestamppb.New(now.Add(-time.Minute))
	e.Estimate = &workflowv1.Estimate{
		Progress:       proto.Float64(0.377),
		Remaining:      durationpb.New(90500 * time.Millisecond),
		CompletionTime: timestamppb.New(now.Add(90500 * time.Millisecond)),
		Basis:          workflowv1.EstimateBasis_ESTIMATE_BASIS_PROGRESS_AND_HISTORY,
		HistoryRuns:    3,
	}
	j := hypersdkapi.JobOf(e, now)
	if j.Progress != 37 {
		t.Errorf("progress %d, want the estimate's 37", j.Progress)
	}
	if j.EtaSeconds == nil || *j.EtaSeconds != 90.5 ||
		j.EstimatedCompletion == nil || *j.EstimatedCompletion != "2026-01-02T03:05:35.5Z" {
		t.Errorf("eta %v, completion %v; want 90.5 and 2026-01-02T03:05:35.5Z", j.EtaSeconds, j.EstimatedCompletion)
	}
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	if keys["eta_seconds"] != 90.5 || keys["estimated_completion"] != "2026-01-02T03:05:35.5Z" {
		t.Errorf("JSON %s", b)
	}

	// Progress without a time (nothing to base one on): no ETA.
	e.Estimate = &workflowv1.Estimate{Progress: proto.Float64(0.25)}
	if j := hypersdkapi.JobOf(e, now); j.Progress != 25 || j.EtaSeconds != nil || j.EstimatedCompletion != nil {
		t.Errorf("progress-only estimate as %+v", j)
	}
	// Near the end the estimate may say 1; it has not succeeded yet.
	e.Estimate = &workflowv1.Estimate{Progress: proto.Float64(1)}
	if got := hypersdkapi.ProgressOf(e); got != 99 {
		t.Errorf("progress %d, want 99 until it succeeds", got)
	}
	// Finished: no estimate, so null keys.
	e.Estimate = nil
	e.State = workflowv1.ExecutionState_EXECUTION_STATE_SUCCEEDED
	b, _ = json.Marshal(hypersdkapi.JobOf(e, now))
	if !strings.Contains(string(b), `"eta_seconds":null,"estimated_completion":null`) {
		t.Errorf("finished job JSON %s", b)
	}
	if got := hypersdkapi.CamelKey("estimated_completion"); got != "estimatedCompletion" {
		t.Errorf("camelCase key %q", got)
	}
}

func TestStatesOfEveryStatus(t *testing.T) {
	seen := map[workflowv1.ExecutionState]string{}
	for _, s := range hypersdkapi.JobStatuses {
		states, ok := hypersdkapi.StatesOf(s)
		if !ok || len(states) == 0 {
			t.Fatalf("StatesOf(%q) = %v, %v", s, states, ok)
		}
		for _, st := range states {
			if prev, dup := seen[st]; dup {
				t.Errorf("%s is in both %s and %s", st, prev, s)
			}
			seen[st] = s
			if got := hypersdkapi.JobStatusOf(st); got != s {
				t.Errorf("JobStatusOf(%s) = %q, want %q", st, got, s)
			}
		}
	}
	// Every state but UNSPECIFIED has exactly one job status.
	if len(seen) != len(workflowv1.ExecutionState_name)-1 {
		t.Errorf("job statuses cover %d states, want %d", len(seen), len(workflowv1.ExecutionState_name)-1)
	}
	if _, ok := hypersdkapi.StatesOf("sideways"); ok {
		t.Errorf("StatesOf accepts an unknown status")
	}
}

func TestCamelKey(t *testing.T) {
	for in, want := range map[string]string{
		"queue_depth": "queueDepth", "execution_ids": "executionIds", "started_at": "startedAt",
		"mode": "mode", "elapsed_seconds": "elapsedSeconds",
	} {
		if got := hypersdkapi.CamelKey(in); got != want {
			t.Errorf("CamelKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStatusOfMapsEachField(t *testing.T) {
	// Distinct values, so a swapped pair (queue_depth/active_jobs,
	// processed_today/failed_today) shows.
	st := hypersdkapi.StatusOf(&workflowv1.GetStatusResponse{
		Queued: 3, Running: 5, SucceededToday: 7, FailedToday: 11, MaxWorkers: 13, UptimeSeconds: 17,
		TotalExecutions: 19, MaxQueue: 23,
	})
	want := hypersdkapi.Status{
		Mode: "none", Running: true, QueueDepth: 3, ActiveJobs: 5, ProcessedToday: 7, FailedToday: 11,
		MaxWorkers: 13, UptimeSeconds: 17,
	}
	if st != want {
		t.Errorf("StatusOf = %+v, want %+v", st, want)
	}
}

func TestJobsOfKeepsOnlyTheRequestedStates(t *testing.T) {
	now := time.Now()
	execs := []*workflowv1.Execution{
		pipeline(workflowv1.ExecutionState_EXECUTION_STATE_RUNNING, -1),
		pipeline(workflowv1.ExecutionState_EXECUTION_STATE_SUCCEEDED, -1),
		pipeline(workflowv1.ExecutionState_EXECUTION_STATE_CANCELLED, -1),
	}
	execs[0].Id, execs[1].Id, execs[2].Id = "run", "ok", "stop"
	for _, tc := range []struct {
		status string
		want   string
	}{
		{"active", "run"},
		{"completed", "ok"},
		{"failed", "stop"},
		{"pending", ""},
		{"all", "run,ok,stop"},
	} {
		states, _ := hypersdkapi.StatesOf(tc.status)
		var ids []string
		for _, j := range hypersdkapi.JobsOf(execs, states, now) {
			ids = append(ids, j.ID)
		}
		if got := strings.Join(ids, ","); got != tc.want {
			t.Errorf("JobsOf(%s) = %q, want %q", tc.status, got, tc.want)
		}
	}
}
