package workflowclient_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

// everySecond is a 6-field cron expression (a leading seconds field) that
// falls due every second, so a test sees the schedule fire without waiting.
const everySecond = "*/1 * * * * *"

// scheduleID is a schedule id no other test (of any suite on the shared
// daemon) uses; the schedule is deleted when the test ends, if it still
// exists.
func scheduleID(t *testing.T, c *workflowclient.Client) string {
	t.Helper()
	id := "go-test-" + randomID(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.DeleteSchedule(ctx, id); err != nil && workflowclient.Code(err) != codes.NotFound {
			t.Errorf("DeleteSchedule(%s) at cleanup: %v", id, err)
		}
	})
	return id
}

// helloSchedule is a schedule that executes hello with one input and label.
func helloSchedule(t *testing.T, id, cron, run string) *workflowv1.Schedule {
	t.Helper()
	action, err := workflowclient.ExecuteAction("hello", map[string]any{"name": "schedule"}, 0, map[string]string{"go-test-run": run})
	if err != nil {
		t.Fatal(err)
	}
	return &workflowv1.Schedule{
		Id:     id,
		Spec:   &workflowv1.ScheduleSpec{Cron: []string{cron}},
		Action: action,
		// A trigger while a cron-started hello still runs starts all the same.
		OverlapPolicy: workflowv1.ScheduleOverlapPolicy_SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
		Description:   "workflowclient test",
	}
}

// TestScheduleLifecycle creates a schedule that executes hello every second,
// reads it back, sees it fire, pauses and unpauses it with notes, updates
// it, triggers it, finds its executions by schedule id, and deletes it.
func TestScheduleLifecycle(t *testing.T) {
	c, ctx := dial(t)
	id := scheduleID(t, c)
	run := randomID(t)

	created, err := c.CreateSchedule(ctx, helloSchedule(t, id, everySecond, run))
	if err != nil {
		t.Fatalf("CreateSchedule: %v", err)
	}
	if created.GetId() != id || !slices.Equal(created.GetSpec().GetCron(), []string{everySecond}) ||
		created.GetAction().GetExecute().GetWorkflowId() != "hello" || created.GetPaused() ||
		created.GetCreateTime() == nil || len(created.GetNextFireTimes()) == 0 {
		t.Errorf("CreateSchedule returned %v, want the schedule as sent, unpaused, with create_time and next fire times", created)
	}

	got, err := c.GetSchedule(ctx, id, 3, 0)
	if err != nil {
		t.Fatalf("GetSchedule: %v", err)
	}
	next := got.GetNextFireTimes()
	if len(next) != 3 {
		t.Fatalf("GetSchedule(next_fire_times=3) gave %d next fire times: %v", len(next), next)
	}
	for i := 1; i < len(next); i++ {
		if gap := next[i].AsTime().Sub(next[i-1].AsTime()); gap != time.Second {
			t.Errorf("next fire times %v: gap %v after #%d, want 1s", next, gap, i-1)
		}
	}
	if got.GetOverlapPolicy() != workflowv1.ScheduleOverlapPolicy_SCHEDULE_OVERLAP_POLICY_ALLOW_ALL ||
		got.GetDescription() != "workflowclient test" ||
		got.GetAction().GetExecute().GetInputs()["name"].GetStringValue() != "schedule" {
		t.Errorf("GetSchedule = %v, want the policy, description and inputs as created", got)
	}

	all, err := c.ListSchedules(ctx)
	if err != nil {
		t.Fatalf("ListSchedules: %v", err)
	}
	i := slices.IndexFunc(all, func(s *workflowv1.Schedule) bool { return s.GetId() == id })
	if i < 0 {
		t.Fatalf("ListSchedules lacks %s", id)
	}
	if n := len(all[i].GetNextFireTimes()); n != 1 || len(all[i].GetRecentRuns()) != 0 {
		t.Errorf("ListSchedules gives %s with %d next fire times and %d runs, want 1 and none", id, n, len(all[i].GetRecentRuns()))
	}
	if !slices.IsSortedFunc(all, func(a, b *workflowv1.Schedule) int { return strings.Compare(a.GetId(), b.GetId()) }) {
		t.Errorf("ListSchedules is not ordered by id")
	}

	// Every second: a run the cron started shows up soon.
	fired := waitForRun(t, ctx, c, id, func(r *workflowv1.ScheduleRun) bool {
		return !r.GetTriggered() && r.GetOutcome() == workflowv1.ScheduleRunOutcome_SCHEDULE_RUN_OUTCOME_STARTED
	})
	if len(fired.GetExecutionIds()) != 1 || fired.GetScheduledTime() == nil || fired.GetActionTime() == nil {
		t.Errorf("cron-started run %v: want one execution id, scheduled and action times", fired)
	}

	paused, err := c.PauseSchedule(ctx, id, "paused by the Go test")
	if err != nil {
		t.Fatalf("PauseSchedule: %v", err)
	}
	if !paused.GetPaused() || paused.GetNote() != "paused by the Go test" || len(paused.GetNextFireTimes()) != 0 {
		t.Errorf("PauseSchedule returned paused %v note %q next %v; want paused, the note, no next fire times",
			paused.GetPaused(), paused.GetNote(), paused.GetNextFireTimes())
	}
	if got, err := c.GetSchedule(ctx, id, 0, 0); err != nil || !got.GetPaused() || got.GetNote() != "paused by the Go test" {
		t.Errorf("GetSchedule after pause: %v (err %v), want paused with the note", got, err)
	}
	unpaused, err := c.UnpauseSchedule(ctx, id, "unpaused by the Go test")
	if err != nil {
		t.Fatalf("UnpauseSchedule: %v", err)
	}
	if unpaused.GetPaused() || unpaused.GetNote() != "unpaused by the Go test" || len(unpaused.GetNextFireTimes()) == 0 {
		t.Errorf("UnpauseSchedule returned paused %v note %q next %v; want unpaused, the note, next fire times",
			unpaused.GetPaused(), unpaused.GetNote(), unpaused.GetNextFireTimes())
	}

	// Once a year from now on: nothing but the trigger below starts a run.
	// The id may be left out of the new schedule: the request names it.
	update := helloSchedule(t, "", "0 0 1 1 *", run)
	update.Description = "updated"
	updated, err := c.UpdateSchedule(ctx, id, update)
	if err != nil {
		t.Fatalf("UpdateSchedule: %v", err)
	}
	if updated.GetId() != id || !slices.Equal(updated.GetSpec().GetCron(), []string{"0 0 1 1 *"}) || updated.GetDescription() != "updated" ||
		updated.GetNote() != "unpaused by the Go test" || updated.GetPaused() {
		t.Errorf("UpdateSchedule returned %v, want the new cron and description, the note and pause state kept", updated)
	}
	newYear := time.Date(time.Now().UTC().Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
	if next := updated.GetNextFireTimes(); len(next) == 0 || !next[0].AsTime().Equal(newYear) {
		t.Errorf("next fire times after the update = %v, want %v first (UTC, the default time zone)", next, newYear)
	}

	triggered, err := c.TriggerSchedule(ctx, id)
	if err != nil {
		t.Fatalf("TriggerSchedule: %v", err)
	}
	if triggered.GetOutcome() != workflowv1.ScheduleRunOutcome_SCHEDULE_RUN_OUTCOME_STARTED || !triggered.GetTriggered() ||
		len(triggered.GetExecutionIds()) != 1 {
		t.Fatalf("TriggerSchedule = %v, want STARTED, triggered, one execution", triggered)
	}
	execID := triggered.GetExecutionIds()[0]
	done, err := c.Wait(ctx, execID)
	if err != nil {
		t.Fatalf("Wait(%s): %v", execID, err)
	}
	if done.GetState() != workflowv1.ExecutionState_EXECUTION_STATE_SUCCEEDED || done.GetWorkflowId() != "hello" ||
		done.GetInputs()["name"] != "schedule" {
		t.Errorf("the triggered execution ended %v (workflow %s, inputs %v), want a SUCCEEDED hello with name=schedule",
			done.GetState(), done.GetWorkflowId(), done.GetInputs())
	}
	if done.GetScheduleId() != id || done.GetScheduledTime() == nil ||
		done.GetLabels()["schedule"] != id || done.GetLabels()["go-test-run"] != run {
		t.Errorf("the triggered execution has schedule_id %q, scheduled_time %v, labels %v; want %s, a time, schedule=%s and go-test-run=%s",
			done.GetScheduleId(), done.GetScheduledTime(), done.GetLabels(), id, id, run)
	}

	listed, err := c.ListExecutions(ctx, &workflowv1.ListExecutionsRequest{ScheduleId: id, PageSize: 1000})
	if err != nil {
		t.Fatalf("ListExecutions(schedule_id): %v", err)
	}
	var ids []string
	for _, e := range listed.GetExecutions() {
		ids = append(ids, e.GetId())
		if e.GetScheduleId() != id {
			t.Errorf("ListExecutions(schedule_id=%s) holds %s of schedule %q", id, e.GetId(), e.GetScheduleId())
		}
	}
	for _, want := range []string{execID, fired.GetExecutionIds()[0]} {
		if !slices.Contains(ids, want) {
			t.Errorf("ListExecutions(schedule_id=%s) = %v, lacks %s", id, ids, want)
		}
	}

	after, err := c.GetSchedule(ctx, id, 0, 1000)
	if err != nil {
		t.Fatalf("GetSchedule: %v", err)
	}
	if runs := after.GetRecentRuns(); len(runs) == 0 || !runs[0].GetTriggered() || !slices.Equal(runs[0].GetExecutionIds(), []string{execID}) {
		t.Errorf("recent runs %v: want the triggered run first (newest first)", runs)
	}

	if err := c.DeleteSchedule(ctx, id); err != nil {
		t.Fatalf("DeleteSchedule: %v", err)
	}
	if _, err := c.GetSchedule(ctx, id, 0, 0); workflowclient.Code(err) != codes.NotFound {
		t.Errorf("GetSchedule after delete = %v, want NOT_FOUND", err)
	}
	if err := c.DeleteSchedule(ctx, id); workflowclient.Code(err) != codes.NotFound {
		t.Errorf("DeleteSchedule twice = %v, want NOT_FOUND", err)
	}
	if _, err := c.GetExecution(ctx, execID); err != nil {
		t.Errorf("the execution of a deleted schedule is gone: %v", err)
	}
}

// waitForRun polls the schedule's recent runs until one satisfies ok, for at
// most 15 seconds (a schedule that fires every second should take one).
func waitForRun(t *testing.T, ctx context.Context, c *workflowclient.Client, id string, ok func(*workflowv1.ScheduleRun) bool) *workflowv1.ScheduleRun {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s, err := c.GetSchedule(ctx, id, 0, 100)
		if err != nil {
			t.Fatalf("GetSchedule: %v", err)
		}
		for _, r := range s.GetRecentRuns() {
			if ok(r) {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching run of %s within 15 s; recent runs: %v", id, s.GetRecentRuns())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestInvalidSchedulesNameTheField checks that a bad schedule is refused with
// INVALID_ARGUMENT and a field violation at the bad field, and not stored.
func TestInvalidSchedulesNameTheField(t *testing.T) {
	c, ctx := dial(t)
	for _, tc := range []struct {
		name  string
		edit  func(*workflowv1.Schedule)
		field string
	}{
		{"bad cron", func(s *workflowv1.Schedule) { s.Spec.Cron = []string{"every tuesday-ish"} }, "schedule.spec.cron[0]"},
		{"unknown workflow", func(s *workflowv1.Schedule) { s.Action.GetExecute().WorkflowId = "no_such_workflow" }, "schedule.action.execute.workflow_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := scheduleID(t, c)
			s := helloSchedule(t, id, everySecond, "invalid")
			tc.edit(s)
			_, err := c.CreateSchedule(ctx, s)
			if workflowclient.Code(err) != codes.InvalidArgument {
				t.Fatalf("CreateSchedule = %v, want INVALID_ARGUMENT", err)
			}
			var fields []string
			for _, v := range workflowclient.FieldViolations(err) {
				fields = append(fields, v.Field)
				if v.Field == tc.field && v.Description == "" {
					t.Errorf("the violation of %s has no description", v.Field)
				}
			}
			if !slices.Contains(fields, tc.field) {
				t.Errorf("field violations %v lack %s (error %v)", fields, tc.field, err)
			}
			if _, err := c.GetSchedule(ctx, id, 0, 0); workflowclient.Code(err) != codes.NotFound {
				t.Errorf("GetSchedule of a refused schedule = %v, want NOT_FOUND", err)
			}
		})
	}
}

func TestCreateScheduleTwiceIsAlreadyExists(t *testing.T) {
	c, ctx := dial(t)
	id := scheduleID(t, c)
	// Once a year: the test does not need it to fire.
	if _, err := c.CreateSchedule(ctx, helloSchedule(t, id, "0 0 1 1 *", "twice")); err != nil {
		t.Fatalf("CreateSchedule: %v", err)
	}
	if _, err := c.CreateSchedule(ctx, helloSchedule(t, id, "0 0 1 1 *", "twice")); workflowclient.Code(err) != codes.AlreadyExists {
		t.Errorf("CreateSchedule of a taken id = %v, want ALREADY_EXISTS", err)
	}
}

func TestUpdateScheduleRefusesAnotherID(t *testing.T) {
	c, ctx := dial(t)
	id := scheduleID(t, c)
	if _, err := c.CreateSchedule(ctx, helloSchedule(t, id, "0 0 1 1 *", "other-id")); err != nil {
		t.Fatalf("CreateSchedule: %v", err)
	}
	other := scheduleID(t, c)
	if _, err := c.UpdateSchedule(ctx, id, helloSchedule(t, other, "0 0 1 1 *", "other-id")); workflowclient.Code(err) != codes.InvalidArgument {
		t.Errorf("UpdateSchedule with another schedule.id = %v, want INVALID_ARGUMENT", err)
	}
	if _, err := c.GetSchedule(ctx, other, 0, 0); workflowclient.Code(err) != codes.NotFound {
		t.Errorf("GetSchedule(%s) = %v: the update made a schedule", other, err)
	}
}

// TestTriggerFollowsTheOverlapPolicy triggers a SKIP schedule twice while
// its first run still sleeps: the second trigger is recorded SKIPPED, naming
// the run still going. Right after CreateSchedule, as a user would; a few
// schedules, since a race there has let the second run start.
func TestTriggerFollowsTheOverlapPolicy(t *testing.T) {
	c, ctx := dial(t)
	for i := 0; i < 3; i++ {
		id := scheduleID(t, c)
		action, err := workflowclient.ExecuteAction("sleeper", map[string]any{"seconds": 30}, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := &workflowv1.Schedule{Id: id, Spec: &workflowv1.ScheduleSpec{Cron: []string{"0 0 1 1 *"}}, Action: action}
		if _, err := c.CreateSchedule(ctx, s); err != nil {
			t.Fatalf("CreateSchedule: %v", err)
		}
		first, err := c.TriggerSchedule(ctx, id)
		if err != nil {
			t.Fatalf("TriggerSchedule: %v", err)
		}
		second, err := c.TriggerSchedule(ctx, id)
		if err != nil {
			t.Fatalf("TriggerSchedule again: %v", err)
		}
		for _, e := range append(first.GetExecutionIds(), second.GetExecutionIds()...) {
			if _, err := c.Cancel(ctx, e, 0, true); err != nil {
				t.Errorf("Cancel(%s): %v", e, err)
			}
		}
		if first.GetOutcome() != workflowv1.ScheduleRunOutcome_SCHEDULE_RUN_OUTCOME_STARTED || len(first.GetExecutionIds()) != 1 {
			t.Fatalf("first trigger = %v, want STARTED", first)
		}
		if second.GetOutcome() != workflowv1.ScheduleRunOutcome_SCHEDULE_RUN_OUTCOME_SKIPPED || len(second.GetExecutionIds()) != 0 ||
			!strings.Contains(second.GetError(), first.GetExecutionIds()[0]) {
			t.Errorf("schedule %d: second trigger while the first run sleeps = %v, want SKIPPED naming %s (overlap policy SKIP)",
				i, second, first.GetExecutionIds()[0])
		}
	}
}

func TestUnknownSchedulesAreNotFound(t *testing.T) {
	c, ctx := dial(t)
	const missing = "go-test-no-such-schedule"
	if _, err := c.GetSchedule(ctx, missing, 0, 0); workflowclient.Code(err) != codes.NotFound {
		t.Errorf("GetSchedule(unknown) = %v, want NOT_FOUND", err)
	}
	if _, err := c.PauseSchedule(ctx, missing, ""); workflowclient.Code(err) != codes.NotFound {
		t.Errorf("PauseSchedule(unknown) = %v, want NOT_FOUND", err)
	}
	if _, err := c.TriggerSchedule(ctx, missing); workflowclient.Code(err) != codes.NotFound {
		t.Errorf("TriggerSchedule(unknown) = %v, want NOT_FOUND", err)
	}
	if _, err := c.UpdateSchedule(ctx, missing, helloSchedule(t, missing, "0 0 1 1 *", "missing")); workflowclient.Code(err) != codes.NotFound {
		t.Errorf("UpdateSchedule(unknown) = %v, want NOT_FOUND", err)
	}
}

// The policy names of hyperctl's flags round-trip through the enums.
func TestSchedulePolicyNames(t *testing.T) {
	for name, want := range map[string]workflowv1.ScheduleOverlapPolicy{
		"skip":            workflowv1.ScheduleOverlapPolicy_SCHEDULE_OVERLAP_POLICY_SKIP,
		"buffer-one":      workflowv1.ScheduleOverlapPolicy_SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
		"allow-all":       workflowv1.ScheduleOverlapPolicy_SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
		"cancel-previous": workflowv1.ScheduleOverlapPolicy_SCHEDULE_OVERLAP_POLICY_CANCEL_PREVIOUS,
	} {
		if got, ok := workflowclient.OverlapPolicyOf(name); !ok || got != want {
			t.Errorf("OverlapPolicyOf(%q) = %v, %v; want %v", name, got, ok, want)
		}
		if got := workflowclient.OverlapPolicyName(want); got != name {
			t.Errorf("OverlapPolicyName(%v) = %q, want %q", want, got, name)
		}
	}
	for name, want := range map[string]workflowv1.ScheduleCatchUpPolicy{
		"start-one": workflowv1.ScheduleCatchUpPolicy_SCHEDULE_CATCH_UP_POLICY_START_ONE,
		"skip":      workflowv1.ScheduleCatchUpPolicy_SCHEDULE_CATCH_UP_POLICY_SKIP,
	} {
		if got, ok := workflowclient.CatchUpPolicyOf(name); !ok || got != want {
			t.Errorf("CatchUpPolicyOf(%q) = %v, %v; want %v", name, got, ok, want)
		}
		if got := workflowclient.CatchUpPolicyName(want); got != name {
			t.Errorf("CatchUpPolicyName(%v) = %q, want %q", want, got, name)
		}
	}
	for _, bad := range []string{"", "unspecified", "sometimes", "start_one_please"} {
		if _, ok := workflowclient.OverlapPolicyOf(bad); ok {
			t.Errorf("OverlapPolicyOf(%q) accepted", bad)
		}
		if _, ok := workflowclient.CatchUpPolicyOf(bad); ok {
			t.Errorf("CatchUpPolicyOf(%q) accepted", bad)
		}
	}
	if got := workflowclient.RunOutcomeName(workflowv1.ScheduleRunOutcome_SCHEDULE_RUN_OUTCOME_STARTED); got != "STARTED" {
		t.Errorf("RunOutcomeName(STARTED) = %q", got)
	}
}
