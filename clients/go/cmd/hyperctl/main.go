// Command hyperctl is a command-line client of workflowd with the grammar of
// HyperSDK's hyperctl (Go flag style, single-dash flags):
//
//	hyperctl workflow -op status    [-addr A] [-json]
//	hyperctl workflow -op list      [-addr A] [-json] [-filter all|active|pending|completed|failed] [-workflow ID] [-limit N]
//	hyperctl workflow -op queue     [-addr A] [-json]
//	hyperctl workflow -op workflows [-addr A] [-json]
//	hyperctl workflow -op submit    [-addr A] [-json] -workflow ID [-input k=v ...] [-label k=v ...] [-request-id R] [-timeout D] [-wait]
//	hyperctl workflow -op watch     [-addr A] [-json] [-id EXECUTION] [-from N] [-interval D] [-count N]
//	hyperctl workflow -op cancel    [-addr A] [-json] -id EXECUTION [-force] [-grace D]
//	hyperctl manifest validate -file F | submit -file F [-wait] | status -id ID
//	hyperctl schedules create NAME CRON [CRON...] -workflow-mode workflow -workflow ID [-input k=v ...] [-timeout D] [flags]
//	hyperctl schedules create NAME CRON [CRON...] -workflow-mode manifest -manifest-template FILE [-output DIR] [flags]
//	hyperctl schedules list | describe NAME | pause NAME [-note T] | unpause NAME [-note T] | trigger NAME | delete NAME
//
// create's other flags: -timezone TZ, -jitter D, -overlap
// skip|buffer-one|allow-all|cancel-previous, -catch-up start-one|skip,
// -catch-up-window D, -label k=v, -description TEXT. HyperSDK's
// `schedules enable|disable NAME` are unpause and pause; `get` is describe.
//
// The daemon address defaults to $WORKFLOWD_ADDR, else 127.0.0.1:50051;
// every command takes -token, the API token of a daemon run with --auth
// tokens (default $WORKFLOW_TOKEN).
// Data goes to stdout, diagnostics to stderr. Exit statuses are the client
// family's one table (docs/wfctl.md, "Exit codes"; exitcodes.go): 0 success,
// 1 a waited-for execution did not succeed, 2 bad usage, 3 daemon
// unavailable, 4 not found, 5 invalid argument, 6 refused otherwise.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
