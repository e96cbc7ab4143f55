package workflowclient

import (
	"context"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
)

// CreateSchedule stores a new schedule (its Id is required; output-only
// fields are ignored) and returns it as stored, with its next fire times.
// A bad id, cron expression, time zone, jitter, workflow, input or manifest
// fails with INVALID_ARGUMENT naming the field (FieldViolations, e.g.
// "schedule.spec.cron[0]"); a taken id with ALREADY_EXISTS. Nothing is
// stored on error.
func (c *Client) CreateSchedule(ctx context.Context, schedule *workflowv1.Schedule) (*workflowv1.Schedule, error) {
	resp, err := c.api.CreateSchedule(ctx, &workflowv1.CreateScheduleRequest{Schedule: schedule})
	if err != nil {
		return nil, err
	}
	return resp.GetSchedule(), nil
}

// GetSchedule returns one schedule with its next fire times and its latest
// runs, newest first: nextFireTimes and recentRuns say how many of each (0:
// the daemon's defaults, 5 and 10). NOT_FOUND when unknown.
func (c *Client) GetSchedule(ctx context.Context, scheduleID string, nextFireTimes, recentRuns int) (*workflowv1.Schedule, error) {
	resp, err := c.api.GetSchedule(ctx, &workflowv1.GetScheduleRequest{
		ScheduleId:    scheduleID,
		NextFireTimes: int32(nextFireTimes),
		RecentRuns:    int32(recentRuns),
	})
	if err != nil {
		return nil, err
	}
	return resp.GetSchedule(), nil
}

// ListSchedules returns every schedule, ordered by id, each with its next
// fire time and without its runs.
func (c *Client) ListSchedules(ctx context.Context) ([]*workflowv1.Schedule, error) {
	resp, err := c.api.ListSchedules(ctx, &workflowv1.ListSchedulesRequest{})
	if err != nil {
		return nil, err
	}
	return resp.GetSchedules(), nil
}

// UpdateSchedule replaces the spec, action, policies and description of
// schedule scheduleID with schedule's, checked as CreateSchedule checks
// them, and returns it as stored. schedule.Id may be empty; if set it must
// be scheduleID. Whether it is paused, the note and its runs are kept (see
// PauseSchedule); it next falls due after now. NOT_FOUND when unknown.
func (c *Client) UpdateSchedule(ctx context.Context, scheduleID string, schedule *workflowv1.Schedule) (*workflowv1.Schedule, error) {
	resp, err := c.api.UpdateSchedule(ctx, &workflowv1.UpdateScheduleRequest{ScheduleId: scheduleID, Schedule: schedule})
	if err != nil {
		return nil, err
	}
	return resp.GetSchedule(), nil
}

// DeleteSchedule deletes a schedule and the records of its runs; the
// executions it started stay. NOT_FOUND when unknown.
func (c *Client) DeleteSchedule(ctx context.Context, scheduleID string) error {
	_, err := c.api.DeleteSchedule(ctx, &workflowv1.DeleteScheduleRequest{ScheduleId: scheduleID})
	return err
}

// PauseSchedule pauses a schedule, with a note saying why, and returns it as
// stored. A paused schedule starts nothing, and the times it falls due while
// paused are neither recorded nor caught up.
func (c *Client) PauseSchedule(ctx context.Context, scheduleID, note string) (*workflowv1.Schedule, error) {
	return c.setPaused(ctx, scheduleID, true, note)
}

// UnpauseSchedule undoes PauseSchedule, with a note saying why, and returns
// the schedule as stored: it next falls due at its first time after now.
func (c *Client) UnpauseSchedule(ctx context.Context, scheduleID, note string) (*workflowv1.Schedule, error) {
	return c.setPaused(ctx, scheduleID, false, note)
}

func (c *Client) setPaused(ctx context.Context, scheduleID string, paused bool, note string) (*workflowv1.Schedule, error) {
	resp, err := c.api.PauseSchedule(ctx, &workflowv1.PauseScheduleRequest{ScheduleId: scheduleID, Paused: paused, Note: note})
	if err != nil {
		return nil, err
	}
	return resp.GetSchedule(), nil
}

// TriggerSchedule runs a schedule's action now, paused or not, and returns
// what became of that run. The schedule's overlap policy applies: while its
// previous run is still going the outcome may be SKIPPED or BUFFERED rather
// than STARTED, which is not an error.
func (c *Client) TriggerSchedule(ctx context.Context, scheduleID string) (*workflowv1.ScheduleRun, error) {
	resp, err := c.api.TriggerSchedule(ctx, &workflowv1.TriggerScheduleRequest{ScheduleId: scheduleID})
	if err != nil {
		return nil, err
	}
	return resp.GetRun(), nil
}

// ExecuteAction is the action of a schedule that executes workflowID with
// inputs (Go values, as Execute takes them). timeout is each execution's
// wall-clock limit (none when zero); labels are added to each execution
// beside the `schedule` label the daemon sets.
func ExecuteAction(workflowID string, inputs map[string]any, timeout time.Duration, labels map[string]string) (*workflowv1.ScheduleAction, error) {
	values, err := Values(inputs)
	if err != nil {
		return nil, err
	}
	execute := &workflowv1.ScheduleExecute{WorkflowId: workflowID, Inputs: values, Labels: labels}
	if timeout > 0 {
		execute.Timeout = durationpb.New(timeout)
	}
	return &workflowv1.ScheduleAction{Action: &workflowv1.ScheduleAction_Execute{Execute: execute}}, nil
}

// ManifestTemplateAction is the action of a schedule that submits the
// manifest file at templatePath at each run, read again every time so edits
// apply to the next run. The path is the daemon's: absolute, inside one of
// its source roots (it checks). outputDir is where each run's VMs are
// written, inside the daemon's output directory ("" for the daemon's own).
func ManifestTemplateAction(templatePath, outputDir string, labels map[string]string) *workflowv1.ScheduleAction {
	return &workflowv1.ScheduleAction{Action: &workflowv1.ScheduleAction_Manifest{Manifest: &workflowv1.ScheduleManifest{
		Source:    &workflowv1.ScheduleManifest_TemplatePath{TemplatePath: templatePath},
		Format:    workflowv1.ManifestFormat_MANIFEST_FORMAT_DETECT,
		OutputDir: outputDir,
		Labels:    labels,
	}}}
}

// OverlapPolicyOf returns the overlap policy named name: its enum value name
// without the prefix, lower case, with dashes ("skip", "buffer-one",
// "allow-all", "cancel-previous"), as hyperctl's -overlap flag takes it; ok
// is false for an unknown or empty name.
func OverlapPolicyOf(name string) (p workflowv1.ScheduleOverlapPolicy, ok bool) {
	v, ok := enumOf(workflowv1.ScheduleOverlapPolicy_value, "SCHEDULE_OVERLAP_POLICY_", name)
	return workflowv1.ScheduleOverlapPolicy(v), ok
}

// OverlapPolicyName is the short name of an overlap policy ("allow-all").
func OverlapPolicyName(p workflowv1.ScheduleOverlapPolicy) string {
	return enumName(p.String(), "SCHEDULE_OVERLAP_POLICY_")
}

// CatchUpPolicyOf returns the catch-up policy named name ("start-one",
// "skip"); ok is false for an unknown or empty name.
func CatchUpPolicyOf(name string) (p workflowv1.ScheduleCatchUpPolicy, ok bool) {
	v, ok := enumOf(workflowv1.ScheduleCatchUpPolicy_value, "SCHEDULE_CATCH_UP_POLICY_", name)
	return workflowv1.ScheduleCatchUpPolicy(v), ok
}

// CatchUpPolicyName is the short name of a catch-up policy ("start-one").
func CatchUpPolicyName(p workflowv1.ScheduleCatchUpPolicy) string {
	return enumName(p.String(), "SCHEDULE_CATCH_UP_POLICY_")
}

// RunOutcomeName is a schedule run's outcome without its enum prefix
// ("STARTED"), as StateName is for execution states.
func RunOutcomeName(o workflowv1.ScheduleRunOutcome) string {
	return strings.TrimPrefix(o.String(), "SCHEDULE_RUN_OUTCOME_")
}

// enumOf looks up a short name ("buffer-one") in a generated enum's value
// map as PREFIX + "BUFFER_ONE"; UNSPECIFIED is not a name.
func enumOf(values map[string]int32, prefix, name string) (int32, bool) {
	upper := strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	if upper == "" || upper == "UNSPECIFIED" {
		return 0, false
	}
	v, ok := values[prefix+upper]
	return v, ok
}

// enumName is the short name of a generated enum value's name.
func enumName(full, prefix string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(full, prefix), "_", "-"))
}
