package main

import (
	"fmt"
	"sort"
	"strings"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

// The text forms of schedules; -json prints the messages (protojson).

// printScheduleTable prints one line per schedule (`schedules list`).
func printScheduleTable(out *printer, schedules []*workflowv1.Schedule) {
	out.printf("%-24s  %-6s  %-19s  %-16s  %s\n", "ID", "STATE", "NEXT RUN", "CRON", "ACTION")
	for _, s := range schedules {
		state := "active"
		if s.GetPaused() {
			state = "paused"
		}
		next := "-"
		if times := s.GetNextFireTimes(); len(times) > 0 {
			next = formatTime(times[0])
		}
		out.printf("%-24s  %-6s  %-19s  %-16s  %s\n",
			s.GetId(), state, next, strings.Join(s.GetSpec().GetCron(), " | "), actionSummary(s.GetAction()))
	}
}

// printSchedule prints every field of one schedule (`schedules describe`).
func printSchedule(out *printer, s *workflowv1.Schedule) {
	spec := s.GetSpec()
	out.printf("id:          %s\n", s.GetId())
	out.printf("state:       %s\n", pauseState(s))
	for _, cron := range spec.GetCron() {
		out.printf("cron:        %s\n", cron)
	}
	zone := spec.GetTimeZone()
	if zone == "" {
		zone = "UTC"
	}
	out.printf("time zone:   %s\n", zone)
	if spec.GetJitter() != nil {
		out.printf("jitter:      %s\n", spec.GetJitter().AsDuration())
	}
	if spec.GetStartTime() != nil || spec.GetEndTime() != nil {
		out.printf("between:     %s and %s\n", formatTime(spec.GetStartTime()), formatTime(spec.GetEndTime()))
	}
	out.printf("action:      %s\n", actionSummary(s.GetAction()))
	out.printf("overlap:     %s\n", policyName(workflowclient.OverlapPolicyName(s.GetOverlapPolicy()), "skip"))
	catchUp := policyName(workflowclient.CatchUpPolicyName(s.GetCatchUpPolicy()), "start-one")
	if w := s.GetCatchUpWindow(); w != nil {
		catchUp += fmt.Sprintf(" (window %s)", w.AsDuration())
	}
	out.printf("catch-up:    %s\n", catchUp)
	if s.GetDescription() != "" {
		out.printf("description: %s\n", s.GetDescription())
	}
	out.printf("created:     %s\n", formatTime(s.GetCreateTime()))
	out.printf("updated:     %s\n", formatTime(s.GetUpdateTime()))
	if next := s.GetNextFireTimes(); len(next) > 0 {
		out.printf("next runs:\n")
		for _, t := range next {
			out.printf("  %s\n", formatTime(t))
		}
	}
	if runs := s.GetRecentRuns(); len(runs) > 0 {
		out.printf("recent runs:\n  %-19s  %-8s  %-7s  %s\n", "SCHEDULED", "OUTCOME", "BY", "EXECUTIONS / ERROR")
		for _, r := range runs {
			out.printf("  %s\n", runLine(r))
		}
	}
}

// printRun prints the run `schedules trigger` started (or did not).
func printRun(out *printer, r *workflowv1.ScheduleRun) {
	out.printf("%s\n", runLine(r))
}

// runLine is one run as a line: scheduled time, outcome, whether a
// trigger or the cron started it, its executions or its error.
func runLine(r *workflowv1.ScheduleRun) string {
	by := "cron"
	if r.GetTriggered() {
		by = "trigger"
	}
	what := strings.Join(r.GetExecutionIds(), " ")
	if r.GetBatchId() != "" {
		what = "batch " + r.GetBatchId() + ": " + what
	}
	if r.GetError() != "" {
		what = strings.TrimSpace(what + " " + r.GetError())
	}
	return fmt.Sprintf("%-19s  %-8s  %-7s  %s", formatTime(r.GetScheduledTime()), workflowclient.RunOutcomeName(r.GetOutcome()), by, what)
}

// pauseState is "active", or "paused" with the note (which says why).
func pauseState(s *workflowv1.Schedule) string {
	state := "active"
	if s.GetPaused() {
		state = "paused"
	}
	if s.GetNote() != "" {
		state += " (" + s.GetNote() + ")"
	}
	return state
}

// policyName is a policy's short name, or the default's for UNSPECIFIED.
func policyName(name, unspecified string) string {
	if name == "unspecified" {
		return unspecified
	}
	return name
}

// actionSummary is what a schedule does, in one line.
func actionSummary(a *workflowv1.ScheduleAction) string {
	if e := a.GetExecute(); e != nil {
		parts := []string{"workflow " + e.GetWorkflowId()}
		names := make([]string, 0, len(e.GetInputs()))
		for name := range e.GetInputs() {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			parts = append(parts, fmt.Sprintf("%s=%v", name, e.GetInputs()[name].AsInterface()))
		}
		if e.GetTimeout() != nil {
			parts = append(parts, "timeout "+e.GetTimeout().AsDuration().String())
		}
		return strings.Join(parts, " ")
	}
	m := a.GetManifest()
	if m == nil {
		return "-"
	}
	summary := fmt.Sprintf("manifest (%d bytes, stored)", len(m.GetContent()))
	if m.GetTemplatePath() != "" {
		summary = "manifest " + m.GetTemplatePath()
	}
	if m.GetOutputDir() != "" {
		summary += " -> " + m.GetOutputDir()
	}
	return summary
}
