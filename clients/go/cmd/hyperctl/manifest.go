package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

// runManifest is `hyperctl manifest validate|submit|status`, as HyperSDK's
// hyperctl spells it, on workflowd's ValidateManifest / SubmitManifest /
// GetExecution.
func runManifest(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "usage: hyperctl manifest validate -file F | submit -file F [-namespace N] [-wait] | status -id ID\n")
		return exitUsage
	}
	verb := args[0]
	fs := flag.NewFlagSet("hyperctl manifest "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var daemon daemonFlags
	addDaemonFlags(fs, &daemon)
	file := fs.String("file", "", "manifest file (JSON or YAML; validate, submit)")
	id := fs.String("id", "", "execution id (status)")
	requestID := fs.String("request-id", "", "submit: idempotency key")
	namespace := fs.String("namespace", "", namespaceUsage("submit"))
	wait := fs.Bool("wait", false, "submit: follow every VM until it ends")
	asJSON := fs.Bool("json", false, "print JSON (protobuf JSON mapping)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	var content []byte
	switch verb {
	case "validate", "submit":
		if *file == "" {
			fmt.Fprintf(stderr, "hyperctl manifest %s: -file is required\n", verb)
			return exitUsage
		}
		var err error
		if content, err = os.ReadFile(*file); err != nil {
			notef(stderr, "hyperctl: %v\n", err)
			return exitUsage
		}
	case "status":
		if *id == "" {
			fmt.Fprint(stderr, "hyperctl manifest status: -id is required\n")
			return exitUsage
		}
	default:
		fmt.Fprintf(stderr, "hyperctl manifest: unknown verb %q (validate, submit or status)\n", verb)
		return exitUsage
	}

	ctx, client, done, ok := connect(daemon, stderr)
	if !ok {
		return exitUsage
	}
	defer done()
	out := &printer{w: stdout, json: *asJSON}
	switch verb {
	case "validate":
		resp, err := client.ValidateManifest(ctx, content, filepath.Base(*file))
		if err != nil {
			notef(stderr, "hyperctl: %s\n", describeError(err))
			return exitCode(err)
		}
		if out.json {
			_ = out.message(resp)
		} else if resp.GetValid() {
			out.printf("%s: valid (%d VM(s))\n", *file, len(resp.GetVms()))
		} else {
			out.printf("%s: invalid\n", *file)
			for _, p := range resp.GetProblems() {
				out.printf("  %s: %s\n", p.GetPath(), p.GetMessage())
			}
		}
		if !resp.GetValid() {
			return exitCode(errInvalidManifest)
		}
	case "submit":
		resp, err := client.SubmitManifest(ctx, content, filepath.Base(*file), *requestID,
			workflowclient.SubmitInNamespace(*namespace))
		if err != nil {
			notef(stderr, "hyperctl: %s\n", describeError(err))
			return exitCode(err)
		}
		if out.json {
			_ = out.message(resp)
		} else {
			if resp.GetBatchId() != "" {
				out.printf("batch %s\n", resp.GetBatchId())
			}
			for _, vm := range resp.GetVms() {
				out.printf("%s\t%s\t%s\n", vm.GetName(), vm.GetExecution().GetId(), stateName(vm.GetExecution().GetState()))
			}
		}
		if *wait {
			failed := false
			for _, vm := range resp.GetVms() {
				final, err := client.Wait(ctx, vm.GetExecution().GetId())
				if err != nil {
					notef(stderr, "hyperctl: %s\n", describeError(err))
					return exitCode(err)
				}
				notef(stderr, "%s: %s %s\n", vm.GetName(), stateName(final.GetState()), final.GetError())
				failed = failed || stateName(final.GetState()) != "SUCCEEDED"
			}
			if failed {
				return exitCode(errNotSucceeded)
			}
		}
	case "status":
		execution, err := client.GetExecution(ctx, *id)
		if err != nil {
			notef(stderr, "hyperctl: %s\n", describeError(err))
			return exitCode(err)
		}
		if out.json {
			_ = out.message(execution)
		} else {
			out.printf("%s\t%s\t%s\t%s\n", execution.GetId(), execution.GetWorkflowId(), stateName(execution.GetState()), execution.GetError())
		}
	}
	return exitOK
}
