package hypersdkapi

import (
	"math"
	"slices"
	"strings"
	"time"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

// Mode values of Status.Mode, from the daemon's drop folders.
const (
	// ModeManifest: the daemon watches manifest drop folders only.
	ModeManifest = workflowclient.ModeManifest
	// ModeDisk: the daemon watches disk drop folders only.
	ModeDisk = workflowclient.ModeDisk
	// ModeBoth: the daemon watches drop folders of both kinds.
	ModeBoth = workflowclient.ModeBoth
	// ModeNone: the daemon has no drop folder; work arrives only through
	// the API (SubmitManifest, Execute).
	ModeNone = workflowclient.ModeNone
)

// Job status names: the values of the jobs endpoint's `status` parameter
// and of Job.Status (the groups of execution states workflowclient defines).
const (
	// StatusPending is a QUEUED execution.
	StatusPending = workflowclient.StatusPending
	// StatusActive is a RUNNING execution.
	StatusActive = workflowclient.StatusActive
	// StatusCompleted is a SUCCEEDED execution.
	StatusCompleted = workflowclient.StatusCompleted
	// StatusFailed is a FAILED, CANCELLED, TIMED_OUT or INTERRUPTED execution.
	StatusFailed = workflowclient.StatusFailed
)

// Status is the answer of GET /api/workflow/status, in snake_case JSON.
type Status = workflowclient.HyperStatus

// StatusOf computes the HyperSDK status view of a GetStatus answer.
func StatusOf(st *workflowv1.GetStatusResponse) Status {
	return workflowclient.HyperStatusOf(st)
}

// ModeOf is the HyperSDK mode of a set of drop folders: ModeManifest,
// ModeDisk, ModeBoth, or ModeNone when there is no drop folder (or none of
// a known kind).
func ModeOf(folders []*workflowv1.DropFolder) string {
	return workflowclient.ModeOf(folders)
}

// JobStatuses lists the job status names, in the order of a job's life.
var JobStatuses = workflowclient.JobStatuses

// StatesOf returns the execution states a job status name covers. "" and
// "all" cover every state (nil). ok is false for any other name.
func StatesOf(status string) ([]workflowv1.ExecutionState, bool) {
	return workflowclient.StatesOf(status)
}

// JobStatusOf is the job status name of an execution state; "" for
// EXECUTION_STATE_UNSPECIFIED.
func JobStatusOf(s workflowv1.ExecutionState) string { return workflowclient.JobStatusOf(s) }

// Job is one execution as HyperSDK's dashboard shows a job, in snake_case
// JSON.
type Job struct {
	// ID is the execution id.
	ID string `json:"id"`
	// Name is the VM name (the execution's `vm` label, which SubmitManifest
	// and the drop folders set), else the workflow's name.
	Name string `json:"name"`
	// Stage is the name of the last phase the execution reported,
	// upper-cased (CONVERT); see StageOf for executions without a phase.
	Stage string `json:"stage"`
	// Progress is 0-100; see ProgressOf.
	Progress int `json:"progress"`
	// StartedAt is when the program started (RFC 3339, UTC); null while
	// the execution is queued.
	StartedAt *string `json:"started_at"`
	// ElapsedSeconds is the run time so far, or in total once ended; 0
	// while queued.
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	// Status is the job status name: pending, active, completed or failed.
	Status string `json:"status"`
	// State is the execution state without its prefix (e.g. TIMED_OUT).
	State string `json:"state"`
	// WorkflowID is the workflow that ran (vm_pipeline for manifests).
	WorkflowID string `json:"workflow_id"`
	// BatchID is the batch of a batch manifest, "" otherwise.
	BatchID string `json:"batch_id"`
	// Error says why the execution failed, was cancelled or interrupted.
	Error string `json:"error"`
	// EtaSeconds is the daemon's estimate of the time the job still needs,
	// in seconds (Execution.estimate.remaining, docs/estimates.md); null
	// once it has finished or while there is nothing to base one on.
	EtaSeconds *float64 `json:"eta_seconds"`
	// EstimatedCompletion is when the daemon expects the job to finish
	// (Execution.estimate.completion_time, RFC 3339, UTC); null when
	// EtaSeconds is.
	EstimatedCompletion *string `json:"estimated_completion"`
}

// JobOf computes the job view of an execution at time now. The execution
// should carry its phase tree (GetExecution; ListExecutions leaves it out).
func JobOf(e *workflowv1.Execution, now time.Time) Job {
	j := Job{
		ID:         e.GetId(),
		Name:       e.GetLabels()["vm"],
		Stage:      StageOf(e),
		Progress:   ProgressOf(e),
		Status:     JobStatusOf(e.GetState()),
		State:      workflowclient.StateName(e.GetState()),
		WorkflowID: e.GetWorkflowId(),
		BatchID:    e.GetBatchId(),
		Error:      e.GetError(),
	}
	if j.Name == "" {
		j.Name = e.GetWorkflowName()
	}
	if j.Name == "" {
		j.Name = e.GetWorkflowId()
	}
	if d, ok := workflowclient.Elapsed(e, now); ok {
		started := e.GetStartTime().AsTime().UTC().Format(time.RFC3339Nano)
		j.StartedAt = &started
		j.ElapsedSeconds = math.Round(d.Seconds()*1000) / 1000
	}
	if est := e.GetEstimate(); est.GetRemaining() != nil && est.GetCompletionTime() != nil {
		eta := math.Round(est.GetRemaining().AsDuration().Seconds()*1000) / 1000
		done := est.GetCompletionTime().AsTime().UTC().Format(time.RFC3339Nano)
		j.EtaSeconds, j.EstimatedCompletion = &eta, &done
	}
	return j
}

// JobsOf computes the job views of executions at time now, in order,
// leaving out those whose state is not one of states (nil keeps every
// state). The jobs endpoints list by state, then read each execution again
// for its phase tree: one that changed state in between (a job that
// finished) is dropped rather than shown under the wrong status.
func JobsOf(execs []*workflowv1.Execution, states []workflowv1.ExecutionState, now time.Time) []Job {
	jobs := make([]Job, 0, len(execs))
	for _, e := range execs {
		if len(states) > 0 && !slices.Contains(states, e.GetState()) {
			continue
		}
		jobs = append(jobs, JobOf(e, now))
	}
	return jobs
}

// currentPhase is the phase with the highest index, nil when none.
func currentPhase(e *workflowv1.Execution) *workflowv1.Phase {
	var cur *workflowv1.Phase
	for _, p := range e.GetPhases() {
		if cur == nil || p.GetIndex() >= cur.GetIndex() {
			cur = p
		}
	}
	return cur
}

// StageOf is the pipeline stage of an execution: the name of the last
// phase it reported (the one with the highest index), upper-cased, e.g.
// CONVERT. Before any phase it is QUEUED for a queued execution, STARTING
// for a running one, and the final state (e.g. FAILED) for one that ended
// without reporting a phase.
func StageOf(e *workflowv1.Execution) string {
	if p := currentPhase(e); p != nil && p.GetName() != "" {
		return strings.ToUpper(p.GetName())
	}
	if e.GetState() == workflowv1.ExecutionState_EXECUTION_STATE_RUNNING {
		return "STARTING"
	}
	return workflowclient.StateName(e.GetState())
}

// ProgressOf is an execution's progress, 0-100: 100 once it SUCCEEDED;
// while it is active, the daemon's estimate (Execution.estimate.progress,
// docs/estimates.md) when it has one, so the dashboard, wfctl and these
// endpoints show the same figure; otherwise (a daemon without estimates,
// a run that ended) the share of its announced phases (total_phases, at
// least the phases seen) that completed, the running phase counting for
// the best percentage its tasks reported ("converting 42%"). Capped at 99
// because the execution has not succeeded. 0 while queued.
func ProgressOf(e *workflowv1.Execution) int {
	if e.GetState() == workflowv1.ExecutionState_EXECUTION_STATE_SUCCEEDED {
		return 100
	}
	if est := e.GetEstimate(); est != nil && est.Progress != nil {
		return max(min(int(math.Floor(est.GetProgress()*100)), 99), 0)
	}
	phases := e.GetPhases()
	total := len(phases)
	for _, p := range phases {
		if int(p.GetTotalPhases()) > total {
			total = int(p.GetTotalPhases())
		}
	}
	if total == 0 {
		return 0
	}
	done := 0.0
	for _, p := range phases {
		switch p.GetStatus() {
		case workflowv1.NodeStatus_NODE_STATUS_COMPLETED:
			done++
		case workflowv1.NodeStatus_NODE_STATUS_RUNNING:
			best := int32(0)
			for _, t := range p.GetTasks() {
				if t.GetPercent() > best {
					best = t.GetPercent()
				}
			}
			if best > 100 {
				best = 100
			}
			done += float64(best) / 100
		}
	}
	progress := int(done / float64(total) * 100)
	if progress > 99 {
		progress = 99
	}
	return progress
}
