package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

const defaultAddr = "127.0.0.1:50051"

const usageText = `usage: hyperctl workflow -op status|list|queue|workflows|submit|watch|cancel [flags]
       hyperctl manifest validate -file F | submit -file F [-namespace N] [-wait] | status -id ID
       hyperctl schedules create|list|describe|pause|unpause|trigger|delete ...

Run 'hyperctl workflow -h' or 'hyperctl schedules' for the flags.
`

// errUsage marks an error as bad usage (exit status 2).
type errUsage struct{ msg string }

func (e errUsage) Error() string { return e.msg }

func usagef(format string, args ...any) error { return errUsage{fmt.Sprintf(format, args...)} }

// errNotSucceeded is returned when a waited-for execution ended in another
// state than SUCCEEDED; the execution has already been printed.
var errNotSucceeded = errors.New("execution did not succeed")

// keyValues is a repeatable `-flag k=v` flag.
type keyValues map[string]string

func (kv keyValues) String() string {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k+"="+kv[k])
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

func (kv keyValues) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	kv[k] = v
	return nil
}

// daemonFlags are the flags of every command that reach the daemon:
// declared in one place (addDaemonFlags), dialled in one (connect).
type daemonFlags struct {
	addr  string
	token string
}

// addDaemonFlags declares -addr and -token into fs. The token's default is
// not shown in -h (it is a secret): an empty -token leaves it to
// workflowclient.Dial, which reads $WORKFLOW_TOKEN.
func addDaemonFlags(fs *flag.FlagSet, d *daemonFlags) {
	fs.StringVar(&d.addr, "addr", envOr("WORKFLOWD_ADDR", defaultAddr), "daemon address host:port")
	fs.StringVar(&d.token, "token", "", "API token of a daemon run with --auth tokens (default $"+workflowclient.TokenEnv+")")
}

// namespaceUsage is the usage of -namespace on the commands whose verb
// (e.g. "submit") starts work.
func namespaceUsage(verb string) string {
	return verb + ": the namespace to start in (default: the token's only namespace, else default)"
}

// workflowFlags are the flags of `hyperctl workflow`.
type workflowFlags struct {
	op        string
	daemon    daemonFlags
	json      bool
	workflow  string
	inputs    keyValues
	labels    keyValues
	requestID string
	namespace string
	timeout   time.Duration
	wait      bool
	id        string
	from      uint64
	filter    string
	limit     int
	interval  time.Duration
	count     int
	force     bool
	grace     time.Duration
}

// run is the whole program, parameterised for tests.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	switch args[0] {
	case "workflow":
		return runWorkflow(args[1:], stdout, stderr)
	case "manifest":
		return runManifest(args[1:], stdout, stderr)
	case "schedules":
		return runSchedules(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	default:
		fmt.Fprintf(stderr, "hyperctl: unknown command %q (this hyperctl talks to workflowd: `workflow`, `manifest` or `schedules`)\n%s", args[0], usageText)
		return exitUsage
	}
}

func runWorkflow(args []string, stdout, stderr io.Writer) int {
	f := workflowFlags{inputs: keyValues{}, labels: keyValues{}}
	fs := flag.NewFlagSet("hyperctl workflow", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.op, "op", "", "operation: status, list, queue, workflows, submit, watch or cancel")
	addDaemonFlags(fs, &f.daemon)
	fs.BoolVar(&f.json, "json", false, "print JSON (protobuf JSON mapping) instead of text")
	fs.StringVar(&f.workflow, "workflow", "", "workflow id (submit; filter for list)")
	fs.Var(f.inputs, "input", "input `name=value` for submit (repeatable)")
	fs.Var(f.labels, "label", "label `key=value` for submit (repeatable)")
	fs.StringVar(&f.requestID, "request-id", "", "idempotency key for submit")
	fs.StringVar(&f.namespace, "namespace", "", namespaceUsage("submit"))
	fs.DurationVar(&f.timeout, "timeout", 0, "wall-clock limit of the submitted execution (e.g. 10m)")
	fs.BoolVar(&f.wait, "wait", false, "submit: follow the log until the execution ends")
	fs.StringVar(&f.id, "id", "", "execution id (watch, cancel)")
	fs.Uint64Var(&f.from, "from", 0, "watch: first log sequence number to show")
	fs.StringVar(&f.filter, "filter", "all", "list: all, active, pending, completed or failed")
	fs.IntVar(&f.limit, "limit", 20, "list: at most this many executions")
	fs.DurationVar(&f.interval, "interval", 2*time.Second, "watch without -id: time between status reports")
	fs.IntVar(&f.count, "count", 0, "watch without -id: number of status reports (0 = until interrupted)")
	fs.BoolVar(&f.force, "force", false, "cancel: SIGKILL at once")
	fs.DurationVar(&f.grace, "grace", 0, "cancel: time between SIGTERM and SIGKILL (daemon default when 0)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hyperctl workflow: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}

	ctx, client, done, ok := connect(f.daemon, stderr)
	if !ok {
		return exitUsage
	}
	defer done()

	out := &printer{w: stdout, json: f.json}
	err := dispatch(ctx, client, &f, out, stderr)
	var usage errUsage
	switch {
	case err == nil, errors.Is(err, errNotSucceeded):
		// A finished execution has been printed; its state is the message.
	case errors.As(err, &usage):
		notef(stderr, "hyperctl workflow: %v\n", err)
	default:
		notef(stderr, "hyperctl: %s\n", describeError(err))
	}
	return exitCode(err)
}

// connect dials the daemon of d, with d's token if any, and a context that
// SIGINT and SIGTERM cancel; done releases both. When the address or the
// token is unusable it says why on stderr and returns ok false.
func connect(d daemonFlags, stderr io.Writer) (ctx context.Context, client *workflowclient.Client, done func(), ok bool) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var opts []grpc.DialOption
	if d.token != "" {
		opts = append(opts, workflowclient.WithToken(d.token))
	}
	client, err := workflowclient.Dial(d.addr, opts...)
	if err != nil {
		stop()
		notef(stderr, "hyperctl: %v\n", err)
		return nil, nil, nil, false
	}
	return ctx, client, func() {
		client.Close()
		stop()
	}, true
}

// dispatch routes -op to its handler; every operation is listed here.
func dispatch(ctx context.Context, c *workflowclient.Client, f *workflowFlags, out *printer, stderr io.Writer) error {
	switch f.op {
	case "status":
		return opStatus(ctx, c, out)
	case "list":
		return opList(ctx, c, f, out)
	case "queue":
		return opQueue(ctx, c, out)
	case "workflows":
		return opWorkflows(ctx, c, out, stderr)
	case "submit":
		return opSubmit(ctx, c, f, out, stderr)
	case "watch":
		return opWatch(ctx, c, f, out)
	case "cancel":
		return opCancel(ctx, c, f, out)
	case "":
		return usagef("-op is required (status, list, queue, workflows, submit, watch, cancel)")
	default:
		return usagef("unknown -op %q (status, list, queue, workflows, submit, watch, cancel)", f.op)
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// describeError renders a gRPC error with its code and field violations.
func describeError(err error) string {
	var b strings.Builder
	b.WriteString(err.Error())
	for _, v := range workflowclient.FieldViolations(err) {
		fmt.Fprintf(&b, "\n  %s: %s", v.Field, v.Description)
	}
	return b.String()
}

// printer writes data to stdout as text or protobuf JSON.
type printer struct {
	w    io.Writer
	json bool
}

// message prints m as indented protobuf JSON, terminal-safe
// (jsonTerminalSafe: program text in it cannot act on a terminal).
func (p *printer) message(m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
	if err != nil {
		return err
	}
	return p.jsonLine(b)
}

// line prints m as one line of protobuf JSON (for streams), terminal-safe.
func (p *printer) line(m proto.Message) error {
	b, err := protojson.Marshal(m)
	if err != nil {
		return err
	}
	return p.jsonLine(b)
}

// jsonLine writes marshalled JSON and a newline, made terminal-safe
// (jsonTerminalSafe): every JSON output of hyperctl goes through here.
func (p *printer) jsonLine(b []byte) error {
	_, err := fmt.Fprintln(p.w, string(jsonTerminalSafe(bytes.TrimRight(b, "\n"))))
	return err
}

// printf prints human output; its string arguments (which carry program
// text) are made terminal-safe.
func (p *printer) printf(format string, args ...any) {
	fmt.Fprintf(p.w, format, safeArgs(args)...)
}
