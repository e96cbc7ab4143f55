package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

// parseCreate parses `schedules create` arguments as runSchedules does and
// builds the schedule, without a daemon.
func parseCreate(t *testing.T, args ...string) (*workflowv1.Schedule, error) {
	t.Helper()
	f := scheduleFlags{inputs: keyValues{}, labels: keyValues{}}
	positional, err := parseInterspersed(scheduleFlagSet(&f, "create", io.Discard), args)
	if err != nil {
		return nil, err
	}
	if err := checkScheduleArgs("create", positional); err != nil {
		return nil, err
	}
	return scheduleFromFlags(positional[0], positional[1:], &f)
}

func TestScheduleCreateFlagsBuildTheSchedule(t *testing.T) {
	s, err := parseCreate(t, "nightly", "0 0 1 1 *", "@weekly", "-workflow-mode", "workflow", "-workflow", "hello",
		"-input", "name=night", "-timeout", "10m", "-label", "team=ops", "-timezone", "Europe/Paris", "-jitter", "30s",
		"-overlap", "buffer-one", "-catch-up", "skip", "-catch-up-window", "2h", "-description", "every night")
	if err != nil {
		t.Fatal(err)
	}
	exec := s.GetAction().GetExecute()
	if s.GetId() != "nightly" || !slices.Equal(s.GetSpec().GetCron(), []string{"0 0 1 1 *", "@weekly"}) ||
		s.GetSpec().GetTimeZone() != "Europe/Paris" || s.GetSpec().GetJitter().AsDuration() != 30*time.Second ||
		s.GetOverlapPolicy() != workflowv1.ScheduleOverlapPolicy_SCHEDULE_OVERLAP_POLICY_BUFFER_ONE ||
		s.GetCatchUpPolicy() != workflowv1.ScheduleCatchUpPolicy_SCHEDULE_CATCH_UP_POLICY_SKIP ||
		s.GetCatchUpWindow().AsDuration() != 2*time.Hour || s.GetDescription() != "every night" {
		t.Errorf("schedule = %v", s)
	}
	if exec.GetWorkflowId() != "hello" || exec.GetInputs()["name"].GetStringValue() != "night" ||
		exec.GetTimeout().AsDuration() != 10*time.Minute || exec.GetLabels()["team"] != "ops" {
		t.Errorf("execute action = %v", exec)
	}

	// Flags first, and the mode inferred from -manifest-template; the
	// template path is made absolute (the daemon reads it), -output is not.
	s, err = parseCreate(t, "-manifest-template", "tpl.yaml", "-output", "nightly/out", "backup", "*/5 * * * *")
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	m := s.GetAction().GetManifest()
	if m.GetTemplatePath() != filepath.Join(wd, "tpl.yaml") || m.GetOutputDir() != "nightly/out" ||
		m.GetFormat() != workflowv1.ManifestFormat_MANIFEST_FORMAT_DETECT || s.GetSpec().GetJitter() != nil ||
		s.GetOverlapPolicy() != workflowv1.ScheduleOverlapPolicy_SCHEDULE_OVERLAP_POLICY_UNSPECIFIED {
		t.Errorf("manifest schedule = %v", s)
	}
}

func TestScheduleUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"schedules"},
		{"schedules", "explode"},
		{"schedules", "create", "lonely"},
		{"schedules", "create", "x", "* * * * *"},
		{"schedules", "create", "x", "* * * * *", "-workflow", "hello", "-manifest-template", "t.yaml"},
		{"schedules", "create", "x", "* * * * *", "-workflow-mode", "manifest", "-workflow", "hello"},
		{"schedules", "create", "x", "* * * * *", "-workflow-mode", "workflow", "-manifest-template", "t.yaml"},
		{"schedules", "create", "x", "* * * * *", "-workflow-mode", "workflow", "-workflow", "hello", "-output", "o"},
		{"schedules", "create", "x", "* * * * *", "-workflow-mode", "sideways", "-workflow", "hello"},
		{"schedules", "create", "x", "* * * * *", "-workflow", "hello", "-overlap", "sometimes"},
		{"schedules", "create", "x", "* * * * *", "-workflow", "hello", "-catch-up", "all"},
		{"schedules", "create", "x", "* * * * *", "-workflow", "hello", "-input", "novalue"},
		{"schedules", "list", "stray"},
		{"schedules", "describe"},
		{"schedules", "describe", "x", "-runs", "-1"},
		{"schedules", "pause", "a", "b"},
		{"schedules", "trigger"},
		{"schedules", "delete"},
	} {
		args = append(args, "-addr", "127.0.0.1:1")
		if code, _, stderr := hyperctl(t, args...); code != exitUsage || stderr == "" {
			t.Errorf("hyperctl %q: exit %d stderr %q, want exit 2 with a message", args, code, stderr)
		}
	}
	if code, stdout, _ := hyperctl(t, "schedules", "-h"); code != exitOK || !strings.Contains(stdout, "-manifest-template") {
		t.Errorf("schedules -h: exit %d, stdout %q", code, stdout)
	}
}

// liveSchedule returns the daemon address flag and a schedule name no other
// test uses; the schedule is deleted when the test ends if it still exists.
func liveSchedule(t *testing.T) ([]string, string) {
	t.Helper()
	addr := live(t)
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "hyperctl-test-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		c, err := workflowclient.Dial(addr[1])
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.DeleteSchedule(ctx, name); err != nil && workflowclient.Code(err) != codes.NotFound {
			t.Errorf("deleting schedule %s at cleanup: %v", name, err)
		}
	})
	return addr, name
}

// TestSchedulesCreateListDescribeTriggerDelete drives a workflow-mode
// schedule through every verb. It falls due once a year, so only the
// trigger starts a run.
func TestSchedulesCreateListDescribeTriggerDelete(t *testing.T) {
	addr, name := liveSchedule(t)
	code, stdout, stderr := hyperctl(t, append([]string{"schedules", "create", name, "0 0 1 1 *",
		"-workflow-mode", "workflow", "-workflow", "hello", "-input", "name=schedules",
		"-timezone", "Europe/Paris", "-jitter", "30s", "-overlap", "allow-all", "-catch-up", "skip",
		"-label", "suite=hyperctl-schedules", "-description", "hyperctl test"}, addr...)...)
	if code != exitOK || strings.TrimSpace(stdout) != name {
		t.Fatalf("create: exit %d, stdout %q, stderr %q; want the name", code, stdout, stderr)
	}

	code, stdout, stderr = hyperctl(t, append([]string{"schedules", "list"}, addr...)...)
	if code != exitOK || !strings.Contains(stdout, name) || !strings.Contains(stdout, "workflow hello name=schedules") {
		t.Errorf("list: exit %d, stderr %q, lacks %s running hello:\n%s", code, stderr, name, stdout)
	}

	code, stdout, stderr = hyperctl(t, append([]string{"schedules", "describe", name, "-json", "-next", "2"}, addr...)...)
	if code != exitOK {
		t.Fatalf("describe -json: exit %d: %s", code, stderr)
	}
	var got struct {
		ID   string
		Spec struct {
			Cron     []string
			TimeZone string
			Jitter   string
		}
		Action struct {
			Execute struct {
				WorkflowID string
				Inputs     map[string]any
				Labels     map[string]string
			}
		}
		OverlapPolicy string
		CatchUpPolicy string
		Description   string
		NextFireTimes []string
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("describe -json is not JSON: %v\n%s", err, stdout)
	}
	if got.ID != name || !slices.Equal(got.Spec.Cron, []string{"0 0 1 1 *"}) || got.Spec.TimeZone != "Europe/Paris" ||
		got.Spec.Jitter != "30s" || got.Action.Execute.WorkflowID != "hello" || got.Action.Execute.Inputs["name"] != "schedules" ||
		got.Action.Execute.Labels["suite"] != "hyperctl-schedules" ||
		got.OverlapPolicy != "SCHEDULE_OVERLAP_POLICY_ALLOW_ALL" || got.CatchUpPolicy != "SCHEDULE_CATCH_UP_POLICY_SKIP" ||
		got.Description != "hyperctl test" || len(got.NextFireTimes) != 2 {
		t.Errorf("describe -json = %+v\n%s", got, stdout)
	}

	code, stdout, stderr = hyperctl(t, append([]string{"schedules", "pause", name, "-note", "maintenance window"}, addr...)...)
	if code != exitOK || !strings.Contains(stdout, "paused (maintenance window)") {
		t.Errorf("pause: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, _ = hyperctl(t, append([]string{"schedules", "describe", name}, addr...)...)
	if code != exitOK || !strings.Contains(stdout, "state:       paused (maintenance window)") || strings.Contains(stdout, "next runs:") {
		t.Errorf("describe of a paused schedule: exit %d, want paused with the note and no next runs:\n%s", code, stdout)
	}
	// HyperSDK's spelling of unpause.
	code, stdout, stderr = hyperctl(t, append([]string{"schedules", "enable", name, "-note", "done"}, addr...)...)
	if code != exitOK || !strings.Contains(stdout, name+" active (done)") {
		t.Errorf("enable: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	code, stdout, stderr = hyperctl(t, append([]string{"schedules", "trigger", name, "-json"}, addr...)...)
	if code != exitOK {
		t.Fatalf("trigger: exit %d: %s", code, stderr)
	}
	var run struct {
		Outcome      string
		ExecutionIDs []string
		Triggered    bool
	}
	if err := json.Unmarshal([]byte(stdout), &run); err != nil || run.Outcome != "SCHEDULE_RUN_OUTCOME_STARTED" ||
		len(run.ExecutionIDs) != 1 || !run.Triggered {
		t.Fatalf("trigger -json = %s (%v), want a STARTED triggered run with one execution", stdout, err)
	}
	code, stdout, stderr = hyperctl(t, append([]string{"workflow", "-op", "watch", "-id", run.ExecutionIDs[0]}, addr...)...)
	if code != exitOK || !strings.Contains(stdout, "hello, schedules") {
		t.Errorf("watch of the triggered execution: exit %d, stderr %q:\n%s", code, stderr, stdout)
	}
	code, stdout, _ = hyperctl(t, append([]string{"schedules", "describe", name}, addr...)...)
	if code != exitOK || !strings.Contains(stdout, "STARTED   trigger  "+run.ExecutionIDs[0]) {
		t.Errorf("describe lacks the triggered run:\n%s", stdout)
	}

	if code, _, stderr := hyperctl(t, append([]string{"schedules", "delete", name}, addr...)...); code != exitOK {
		t.Fatalf("delete: exit %d: %s", code, stderr)
	}
	code, stdout, _ = hyperctl(t, append([]string{"schedules", "list"}, addr...)...)
	if code != exitOK || strings.Contains(stdout, name) {
		t.Errorf("list after delete: exit %d, still holds %s:\n%s", code, name, stdout)
	}
	for _, verb := range []string{"describe", "delete", "trigger", "pause"} {
		if code, _, stderr := hyperctl(t, append([]string{"schedules", verb, name}, addr...)...); code != exitNotFound {
			t.Errorf("%s of a deleted schedule: exit %d, want 4 (stderr %q)", verb, code, stderr)
		}
	}
}

// TestSchedulesManifestTemplate creates HyperSDK's manifest-mode schedule
// with a template in the daemon's source root and an output directory,
// triggers it, and finds the converted disk below that directory.
func TestSchedulesManifestTemplate(t *testing.T) {
	addr, name := liveSchedule(t)
	sources, outputs := os.Getenv("WORKFLOWD_TEST_SOURCE_DIR"), os.Getenv("WORKFLOWD_TEST_OUTPUT_DIR")
	if sources == "" || outputs == "" {
		t.Skip("WORKFLOWD_TEST_SOURCE_DIR and WORKFLOWD_TEST_OUTPUT_DIR are not set (run under scripts/with-test-daemon.sh)")
	}
	disk := filepath.Join(sources, name+".raw")
	if err := os.WriteFile(disk, bytes.Repeat([]byte("disk data "), 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(disk) })
	template := filepath.Join(sources, name+".yaml")
	yaml := fmt.Sprintf("version: \"1.0\"\npipeline:\n  load: {source_type: raw, source_path: %q}\n  convert: {output_format: qcow2, output_path: %q}\n", disk, name+".qcow2")
	if err := os.WriteFile(template, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(template) })
	outDir := filepath.Join(outputs, name)

	code, stdout, stderr := hyperctl(t, append([]string{"schedules", "create", name, "0 0 1 1 *",
		"-workflow-mode", "manifest", "-manifest-template", template, "-output", outDir}, addr...)...)
	if code != exitOK || strings.TrimSpace(stdout) != name {
		t.Fatalf("create: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, _ = hyperctl(t, append([]string{"schedules", "describe", name}, addr...)...)
	if code != exitOK || !strings.Contains(stdout, "action:      manifest "+template+" -> "+outDir) {
		t.Errorf("describe: exit %d, want the template and output directory:\n%s", code, stdout)
	}

	code, stdout, stderr = hyperctl(t, append([]string{"schedules", "trigger", name}, addr...)...)
	fields := strings.Fields(stdout)
	if code != exitOK || len(fields) < 5 || fields[2] != "STARTED" || !uuidRE.MatchString(fields[4]) {
		t.Fatalf("trigger: exit %d, stdout %q, stderr %q; want STARTED and an execution id", code, stdout, stderr)
	}
	code, stdout, stderr = hyperctl(t, append([]string{"workflow", "-op", "watch", "-id", fields[4]}, addr...)...)
	if code != exitOK {
		t.Fatalf("watch of the triggered manifest run: exit %d, stderr %q:\n%s", code, stderr, stdout)
	}
	if _, err := os.Stat(filepath.Join(outDir, name+".qcow2")); err != nil {
		t.Errorf("the converted disk is not below -output: %v", err)
	}

	// A template outside the daemon's source roots is refused at creation.
	outside := filepath.Join(t.TempDir(), "outside.yaml")
	if err := os.WriteFile(outside, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	_, other := liveSchedule(t)
	if code, _, stderr := hyperctl(t, append([]string{"schedules", "create", other, "0 0 1 1 *", "-manifest-template", outside}, addr...)...); code != exitInvalidArgument {
		t.Errorf("a template outside the source roots: exit %d, want 5 (stderr %q)", code, stderr)
	}
}

// TestScheduleErrorsFollowTheTable checks the exit statuses and messages of
// refused schedules (docs/wfctl.md's exit-code table).
func TestScheduleErrorsFollowTheTable(t *testing.T) {
	addr, name := liveSchedule(t)
	code, _, stderr := hyperctl(t, append([]string{"schedules", "create", name, "every tuesday-ish", "-workflow", "hello"}, addr...)...)
	if code != exitInvalidArgument || !strings.Contains(stderr, "schedule.spec.cron[0]") {
		t.Errorf("bad cron: exit %d, stderr %q; want 5 naming schedule.spec.cron[0]", code, stderr)
	}
	code, _, stderr = hyperctl(t, append([]string{"schedules", "create", name, "0 0 1 1 *", "-workflow", "no_such_workflow"}, addr...)...)
	if code != exitInvalidArgument || !strings.Contains(stderr, "schedule.action.execute.workflow_id") {
		t.Errorf("unknown workflow: exit %d, stderr %q; want 5 naming schedule.action.execute.workflow_id", code, stderr)
	}
	if code, _, stderr := hyperctl(t, append([]string{"schedules", "create", name, "0 0 1 1 *", "-workflow", "hello"}, addr...)...); code != exitOK {
		t.Fatalf("create: exit %d: %s", code, stderr)
	}
	code, _, stderr = hyperctl(t, append([]string{"schedules", "create", name, "0 0 1 1 *", "-workflow", "hello"}, addr...)...)
	if code != exitRefused || !strings.Contains(stderr, "AlreadyExists") {
		t.Errorf("create of a taken name: exit %d, stderr %q; want 6 and AlreadyExists", code, stderr)
	}

	// -input values are text, converted to each field's type as for
	// `workflow -op submit`.
	_, numbers := liveSchedule(t)
	args := []string{"schedules", "create", numbers, "0 0 1 1 *", "-workflow", "sleeper", "-input", "seconds=0", "-input", "exit_code=0"}
	if code, _, stderr := hyperctl(t, append(args, addr...)...); code != exitOK {
		t.Errorf("create with number inputs given as text: exit %d: %s", code, stderr)
	}
	_, bad := liveSchedule(t)
	args = []string{"schedules", "create", bad, "0 0 1 1 *", "-workflow", "sleeper", "-input", "seconds=soon"}
	if code, _, stderr := hyperctl(t, append(args, addr...)...); code != exitInvalidArgument || !strings.Contains(stderr, "inputs.seconds") {
		t.Errorf("create with a bad number input: exit %d, stderr %q; want 5 naming the input", code, stderr)
	}
}
