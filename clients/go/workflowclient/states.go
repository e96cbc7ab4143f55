package workflowclient

import (
	"strings"
	"time"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
)

// Job status names: groups of execution states as HyperSDK's dashboard and
// hyperctl's -filter name them.
const (
	// StatusPending is a QUEUED execution.
	StatusPending = "pending"
	// StatusActive is a RUNNING execution.
	StatusActive = "active"
	// StatusCompleted is a SUCCEEDED execution.
	StatusCompleted = "completed"
	// StatusFailed is a FAILED, CANCELLED, TIMED_OUT or INTERRUPTED execution.
	StatusFailed = "failed"
)

// statusStates maps each job status to the execution states it covers.
var statusStates = map[string][]workflowv1.ExecutionState{
	StatusPending:   {workflowv1.ExecutionState_EXECUTION_STATE_QUEUED},
	StatusActive:    {workflowv1.ExecutionState_EXECUTION_STATE_RUNNING},
	StatusCompleted: {workflowv1.ExecutionState_EXECUTION_STATE_SUCCEEDED},
	StatusFailed: {
		workflowv1.ExecutionState_EXECUTION_STATE_FAILED,
		workflowv1.ExecutionState_EXECUTION_STATE_CANCELLED,
		workflowv1.ExecutionState_EXECUTION_STATE_TIMED_OUT,
		workflowv1.ExecutionState_EXECUTION_STATE_INTERRUPTED,
	},
}

// JobStatuses lists the job status names, in the order of a job's life.
var JobStatuses = []string{StatusPending, StatusActive, StatusCompleted, StatusFailed}

// StatesOf returns the execution states a job status name covers. "" and
// "all" cover every state (nil). ok is false for any other name.
func StatesOf(status string) (states []workflowv1.ExecutionState, ok bool) {
	if status == "" || status == "all" {
		return nil, true
	}
	states, ok = statusStates[status]
	return append([]workflowv1.ExecutionState(nil), states...), ok
}

// JobStatusOf is the job status name of an execution state; "" for
// EXECUTION_STATE_UNSPECIFIED.
func JobStatusOf(s workflowv1.ExecutionState) string {
	for name, states := range statusStates {
		for _, st := range states {
			if st == s {
				return name
			}
		}
	}
	return ""
}

// StateName is an execution state without its enum prefix ("SUCCEEDED").
func StateName(s workflowv1.ExecutionState) string {
	return strings.TrimPrefix(s.String(), "EXECUTION_STATE_")
}

// Elapsed is the run time of an execution: from its start to its end, or
// to now while it runs. ok is false when it has not started.
func Elapsed(e *workflowv1.Execution, now time.Time) (d time.Duration, ok bool) {
	if e.GetStartTime() == nil {
		return 0, false
	}
	end := now
	if e.GetEndTime() != nil {
		end = e.GetEndTime().AsTime()
	}
	if d = end.Sub(e.GetStartTime().AsTime()); d < 0 {
		d = 0
	}
	return d, true
}

// The hyper2kvm daemon's mode, from the kinds of drop folder a daemon
// watches (GetStatus's drop_folders), as hyperctl and HyperSDK report it.
const (
	// ModeManifest: manifest drop folders only.
	ModeManifest = "manifest"
	// ModeDisk: disk drop folders only.
	ModeDisk = "disk"
	// ModeBoth: drop folders of both kinds.
	ModeBoth = "both"
	// ModeNone: no drop folder (or none of a known kind); work arrives
	// only through the API.
	ModeNone = "none"
)

// ModeOf is the mode of a set of drop folders: ModeManifest, ModeDisk,
// ModeBoth or ModeNone.
func ModeOf(folders []*workflowv1.DropFolder) string {
	var manifest, disk bool
	for _, f := range folders {
		switch f.GetMode() {
		case workflowv1.DropFolderMode_DROP_FOLDER_MODE_MANIFEST:
			manifest = true
		case workflowv1.DropFolderMode_DROP_FOLDER_MODE_DISK:
			disk = true
		}
	}
	switch {
	case manifest && disk:
		return ModeBoth
	case manifest:
		return ModeManifest
	case disk:
		return ModeDisk
	default:
		return ModeNone
	}
}

// HyperStatus is hyperctl's status: the keys of its status API (and of
// HyperSDK's GET /api/workflow/status), computed from a GetStatus answer.
// hyperctl's `-op status -json` and package hypersdkapi both answer it.
type HyperStatus struct {
	// Mode is "manifest", "disk" or "both" from the kinds of drop folders
	// the daemon watches, "none" when it has none (see ModeOf).
	Mode string `json:"mode"`
	// Running is true: the daemon answered GetStatus. (A daemon that does
	// not answer gets a 503, not a Status.)
	Running bool `json:"running"`
	// QueueDepth is the number of QUEUED executions.
	QueueDepth uint32 `json:"queue_depth"`
	// ActiveJobs is the number of RUNNING executions.
	ActiveJobs uint32 `json:"active_jobs"`
	// ProcessedToday is the number of executions that SUCCEEDED since
	// local midnight (the daemon's clock).
	ProcessedToday uint64 `json:"processed_today"`
	// FailedToday is the number of executions that ended FAILED,
	// TIMED_OUT or INTERRUPTED since local midnight.
	FailedToday uint64 `json:"failed_today"`
	// MaxWorkers is the size of the daemon's worker pool.
	MaxWorkers uint32 `json:"max_workers"`
	// UptimeSeconds is the time since the daemon started.
	UptimeSeconds uint64 `json:"uptime_seconds"`
}

// HyperStatusOf computes hyperctl's status view of a GetStatus answer.
func HyperStatusOf(st *workflowv1.GetStatusResponse) HyperStatus {
	return HyperStatus{
		Mode:           ModeOf(st.GetDropFolders()),
		Running:        true,
		QueueDepth:     st.GetQueued(),
		ActiveJobs:     st.GetRunning(),
		ProcessedToday: st.GetSucceededToday(),
		FailedToday:    st.GetFailedToday(),
		MaxWorkers:     st.GetMaxWorkers(),
		UptimeSeconds:  st.GetUptimeSeconds(),
	}
}
