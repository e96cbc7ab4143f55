package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

const schedulesUsage = `usage: hyperctl schedules create NAME CRON [CRON...] -workflow-mode workflow -workflow ID [-input k=v ...] [-timeout D] [flags]
       hyperctl schedules create NAME CRON [CRON...] -workflow-mode manifest -manifest-template FILE [-output DIR] [flags]
       hyperctl schedules list [-json]
       hyperctl schedules describe NAME [-next N] [-runs N] [-json]   (or get)
       hyperctl schedules pause NAME [-note TEXT] [-json]              (or disable)
       hyperctl schedules unpause NAME [-note TEXT] [-json]            (or enable)
       hyperctl schedules trigger NAME [-json]
       hyperctl schedules delete NAME

create's other flags: [-timezone TZ] [-jitter D] [-overlap skip|buffer-one|allow-all|cancel-previous]
  [-catch-up start-one|skip] [-catch-up-window D] [-label k=v ...] [-description TEXT] [-namespace N]
Run 'hyperctl schedules create -h' for the flags.
`

// errRunNotStarted is returned by `schedules trigger` when the daemon
// recorded the triggered run SKIPPED or FAILED (exit status 6); the run,
// with the daemon's reason, has been printed.
var errRunNotStarted = errors.New("the triggered run did not start")

// scheduleFlags are the flags of `hyperctl schedules VERB`.
type scheduleFlags struct {
	daemon        daemonFlags
	json          bool
	mode          string
	workflow      string
	inputs        keyValues
	labels        keyValues
	timeout       time.Duration
	template      string
	output        string
	timezone      string
	jitter        time.Duration
	overlap       string
	catchUp       string
	catchUpWindow time.Duration
	description   string
	namespace     string
	note          string
	next          int
	runs          int
}

// scheduleVerbs maps each verb of `hyperctl schedules`, and HyperSDK's
// enable/disable, to the verb it runs.
var scheduleVerbs = map[string]string{
	"create": "create", "list": "list", "describe": "describe", "get": "describe",
	"pause": "pause", "disable": "pause", "unpause": "unpause", "enable": "unpause",
	"trigger": "trigger", "delete": "delete",
}

// runSchedules is `hyperctl schedules VERB`, HyperSDK's schedule commands on
// workflowd's schedule RPCs. Flags may come before or after NAME and CRON.
func runSchedules(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, schedulesUsage)
		return exitUsage
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, schedulesUsage)
		return exitOK
	}
	verb, ok := scheduleVerbs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "hyperctl schedules: unknown verb %q\n%s", args[0], schedulesUsage)
		return exitUsage
	}
	f := scheduleFlags{inputs: keyValues{}, labels: keyValues{}}
	fs := scheduleFlagSet(&f, args[0], stderr)
	positional, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}

	err = checkScheduleArgs(verb, positional)
	if err == nil && (f.next < 0 || f.runs < 0) {
		err = usagef("-next and -runs must not be negative")
	}
	var schedule *workflowv1.Schedule
	if err == nil && verb == "create" {
		schedule, err = scheduleFromFlags(positional[0], positional[1:], &f)
	}
	if err != nil {
		notef(stderr, "hyperctl schedules %s: %v\n", args[0], err)
		return exitUsage
	}

	ctx, client, done, ok := connect(f.daemon, stderr)
	if !ok {
		return exitUsage
	}
	defer done()

	out := &printer{w: stdout, json: f.json}
	switch verb {
	case "create":
		err = scheduleCreate(ctx, client, schedule, out, stderr)
	case "list":
		err = scheduleList(ctx, client, out)
	case "describe":
		err = scheduleDescribe(ctx, client, positional[0], &f, out)
	case "pause", "unpause":
		err = schedulePause(ctx, client, positional[0], verb == "pause", f.note, out)
	case "trigger":
		err = scheduleTrigger(ctx, client, positional[0], out)
	case "delete":
		err = scheduleDelete(ctx, client, positional[0], stderr)
	}
	if err != nil {
		notef(stderr, "hyperctl: %s\n", describeError(err))
	}
	return exitCode(err)
}

// scheduleFlagSet declares the flags of `hyperctl schedules VERB` into f;
// one set for every verb, each flag's usage says which verbs read it.
func scheduleFlagSet(f *scheduleFlags, verb string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hyperctl schedules "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addDaemonFlags(fs, &f.daemon)
	fs.BoolVar(&f.json, "json", false, "print JSON (protobuf JSON mapping) instead of text")
	fs.StringVar(&f.mode, "workflow-mode", "", "create: what each run does, workflow or manifest (default: the one the other flags name)")
	fs.StringVar(&f.workflow, "workflow", "", "create, workflow mode: the workflow id to execute")
	fs.Var(f.inputs, "input", "create, workflow mode: input `name=value` (repeatable)")
	fs.DurationVar(&f.timeout, "timeout", 0, "create, workflow mode: wall-clock limit of each execution (e.g. 10m)")
	fs.StringVar(&f.template, "manifest-template", "", "create, manifest mode: manifest `file` the daemon reads again at each run (inside its source roots)")
	fs.StringVar(&f.output, "output", "", "create, manifest mode: output `directory` of each run's VMs (inside the daemon's output directory)")
	fs.Var(f.labels, "label", "create: label `key=value` of each execution (repeatable)")
	fs.StringVar(&f.timezone, "timezone", "", "create: IANA time zone of the cron expressions (default UTC)")
	fs.DurationVar(&f.jitter, "jitter", 0, "create: start each run up to this much after its time")
	fs.StringVar(&f.overlap, "overlap", "", "create: when the previous run still goes: skip (default), buffer-one, allow-all or cancel-previous")
	fs.StringVar(&f.catchUp, "catch-up", "", "create: times missed while the daemon was down: start-one (default) or skip")
	fs.DurationVar(&f.catchUpWindow, "catch-up-window", 0, "create: with start-one, how old a missed time may be (daemon default 1h)")
	fs.StringVar(&f.description, "description", "", "create: free text for people")
	fs.StringVar(&f.namespace, "namespace", "", "create: the namespace its runs start in (default: default)")
	fs.StringVar(&f.note, "note", "", "pause, unpause: why")
	fs.IntVar(&f.next, "next", 0, "describe: how many next fire times (daemon default 5)")
	fs.IntVar(&f.runs, "runs", 0, "describe: how many recent runs (daemon default 10)")
	return fs
}

// checkScheduleArgs checks the number of arguments besides the flags.
func checkScheduleArgs(verb string, positional []string) error {
	switch {
	case verb == "create" && len(positional) < 2:
		return usagef("create needs NAME and CRON (e.g. create nightly '0 2 * * *' ...)")
	case verb == "list" && len(positional) > 0:
		return usagef("unexpected arguments %q", positional)
	case verb != "create" && verb != "list" && len(positional) != 1:
		return usagef("%s needs exactly one NAME, got %q", verb, positional)
	}
	return nil
}

// parseInterspersed parses fs's flags wherever they stand among args and
// returns the other arguments in order: Go's flag package stops at the first
// argument that is not a flag, and HyperSDK's grammar puts the flags after
// `NAME CRON`. Everything after "--" is an argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// scheduleFromFlags is the schedule `create NAME CRON...` asks for. The cron
// expressions, time zone and jitter go to the daemon as given (it checks
// them); the template path is made absolute, since the daemon reads it.
func scheduleFromFlags(name string, crons []string, f *scheduleFlags) (*workflowv1.Schedule, error) {
	mode := f.mode
	if mode == "" {
		switch {
		case f.workflow != "" && f.template != "":
			return nil, usagef("-workflow and -manifest-template exclude each other (-workflow-mode workflow or manifest)")
		case f.workflow != "":
			mode = "workflow"
		case f.template != "":
			mode = "manifest"
		default:
			return nil, usagef("create needs -workflow-mode workflow -workflow ID, or -workflow-mode manifest -manifest-template FILE")
		}
	}
	var action *workflowv1.ScheduleAction
	switch mode {
	case "workflow":
		if f.workflow == "" {
			return nil, usagef("-workflow-mode workflow needs -workflow ID")
		}
		if f.template != "" || f.output != "" {
			return nil, usagef("-manifest-template and -output are for -workflow-mode manifest")
		}
		inputs := make(map[string]any, len(f.inputs))
		for k, v := range f.inputs {
			inputs[k] = v // the daemon converts text to each field's type
		}
		var err error
		if action, err = workflowclient.ExecuteAction(f.workflow, inputs, f.timeout, labelsOrNil(f.labels)); err != nil {
			return nil, err
		}
	case "manifest":
		if f.template == "" {
			return nil, usagef("-workflow-mode manifest needs -manifest-template FILE")
		}
		if f.workflow != "" || len(f.inputs) > 0 || f.timeout != 0 {
			return nil, usagef("-workflow, -input and -timeout are for -workflow-mode workflow")
		}
		template, err := filepath.Abs(f.template)
		if err != nil {
			return nil, usagef("-manifest-template %s: %v", f.template, err)
		}
		action = workflowclient.ManifestTemplateAction(template, f.output, labelsOrNil(f.labels))
	default:
		return nil, usagef("unknown -workflow-mode %q (workflow or manifest)", mode)
	}

	s := &workflowv1.Schedule{
		Id:          name,
		Spec:        &workflowv1.ScheduleSpec{Cron: crons, TimeZone: f.timezone},
		Action:      action,
		Description: f.description,
		Namespace:   f.namespace,
	}
	if f.jitter != 0 {
		s.Spec.Jitter = durationpb.New(f.jitter)
	}
	if f.catchUpWindow != 0 {
		s.CatchUpWindow = durationpb.New(f.catchUpWindow)
	}
	if f.overlap != "" {
		p, ok := workflowclient.OverlapPolicyOf(f.overlap)
		if !ok {
			return nil, usagef("unknown -overlap %q (skip, buffer-one, allow-all, cancel-previous)", f.overlap)
		}
		s.OverlapPolicy = p
	}
	if f.catchUp != "" {
		p, ok := workflowclient.CatchUpPolicyOf(f.catchUp)
		if !ok {
			return nil, usagef("unknown -catch-up %q (start-one, skip)", f.catchUp)
		}
		s.CatchUpPolicy = p
	}
	return s, nil
}

func labelsOrNil(kv keyValues) map[string]string {
	if len(kv) == 0 {
		return nil
	}
	return kv
}

func scheduleCreate(ctx context.Context, c *workflowclient.Client, s *workflowv1.Schedule, out *printer, stderr io.Writer) error {
	created, err := c.CreateSchedule(ctx, s)
	if err != nil {
		return err
	}
	if out.json {
		return out.message(created)
	}
	out.printf("%s\n", created.GetId())
	if next := created.GetNextFireTimes(); len(next) > 0 {
		notef(stderr, "schedule %s created, next run %s\n", created.GetId(), formatTime(next[0]))
	}
	return nil
}

func scheduleList(ctx context.Context, c *workflowclient.Client, out *printer) error {
	schedules, err := c.ListSchedules(ctx)
	if err != nil {
		return err
	}
	if out.json {
		return out.message(&workflowv1.ListSchedulesResponse{Schedules: schedules})
	}
	printScheduleTable(out, schedules)
	return nil
}

func scheduleDescribe(ctx context.Context, c *workflowclient.Client, name string, f *scheduleFlags, out *printer) error {
	s, err := c.GetSchedule(ctx, name, f.next, f.runs)
	if err != nil {
		return err
	}
	if out.json {
		return out.message(s)
	}
	printSchedule(out, s)
	return nil
}

func schedulePause(ctx context.Context, c *workflowclient.Client, name string, pause bool, note string, out *printer) error {
	var (
		s   *workflowv1.Schedule
		err error
	)
	if pause {
		s, err = c.PauseSchedule(ctx, name, note)
	} else {
		s, err = c.UnpauseSchedule(ctx, name, note)
	}
	if err != nil {
		return err
	}
	if out.json {
		return out.message(s)
	}
	out.printf("%s %s\n", s.GetId(), pauseState(s))
	return nil
}

// scheduleTrigger runs the schedule now; a run the daemon recorded SKIPPED
// or FAILED is printed and fails with errRunNotStarted (exit status 6).
func scheduleTrigger(ctx context.Context, c *workflowclient.Client, name string, out *printer) error {
	run, err := c.TriggerSchedule(ctx, name)
	if err != nil {
		return err
	}
	if out.json {
		err = out.message(run)
	} else {
		printRun(out, run)
	}
	if err != nil {
		return err
	}
	switch run.GetOutcome() {
	case workflowv1.ScheduleRunOutcome_SCHEDULE_RUN_OUTCOME_STARTED, workflowv1.ScheduleRunOutcome_SCHEDULE_RUN_OUTCOME_BUFFERED:
		return nil
	}
	return fmt.Errorf("%w: %s", errRunNotStarted, workflowclient.RunOutcomeName(run.GetOutcome()))
}

func scheduleDelete(ctx context.Context, c *workflowclient.Client, name string, stderr io.Writer) error {
	if err := c.DeleteSchedule(ctx, name); err != nil {
		return err
	}
	notef(stderr, "schedule %s deleted\n", name)
	return nil
}
