package main

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Exit statuses: the one exit-code table of workflowd's clients, shared with
// wfctl and documented once in docs/wfctl.md ("Exit codes"). Scripts rely on
// them, so they never change meaning.
const (
	// exitOK: success (for a waited-for execution: it SUCCEEDED).
	exitOK = 0
	// exitNotSucceeded: the execution waited for or watched ended FAILED,
	// CANCELLED, TIMED_OUT or INTERRUPTED.
	exitNotSucceeded = 1
	// exitUsage: bad command line, or a file named on it cannot be read.
	exitUsage = 2
	// exitUnavailable: the daemon cannot be reached, the connection was
	// lost, it did not answer in time (DEADLINE_EXCEEDED, a passed
	// deadline is not a refusal), or it cannot take the request now.
	exitUnavailable = 3
	// exitNotFound: the workflow or execution does not exist.
	exitNotFound = 4
	// exitInvalidArgument: the daemon rejected an argument (field
	// violations are printed), or a manifest is invalid.
	exitInvalidArgument = 5
	// exitRefused: the daemon refused the request for another reason
	// (queue full, execution already finished, schedule id taken, a
	// triggered run skipped or failed, internal error).
	exitRefused = 6
)

// errInvalidManifest is returned by `manifest validate` for a manifest the
// daemon found invalid; its problems have been printed.
var errInvalidManifest = errors.New("the manifest is not valid")

// errLogEnded is returned when an execution's log ended before its
// finished event: the daemon stopped reporting on it.
var errLogEnded = errors.New("the log ended before the execution finished")

// exitCode maps the outcome of a command to its exit status.
func exitCode(err error) int {
	var usage errUsage
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage):
		return exitUsage
	case errors.Is(err, errNotSucceeded):
		return exitNotSucceeded
	case errors.Is(err, errInvalidManifest):
		return exitInvalidArgument
	case errors.Is(err, errLogEnded):
		return exitUnavailable
	case errors.Is(err, errRunNotStarted):
		return exitRefused
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return exitUnavailable
	}
	st, ok := status.FromError(err)
	if !ok {
		return exitRefused
	}
	switch st.Code() {
	case codes.NotFound:
		return exitNotFound
	case codes.InvalidArgument:
		return exitInvalidArgument
	case codes.Unavailable, codes.DeadlineExceeded:
		return exitUnavailable
	default:
		return exitRefused
	}
}
