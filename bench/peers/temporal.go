package main

// The Temporal side: a one-activity workflow whose activity spawns the
// program, a worker (its own process, as Temporal workers are) and the
// starter that runs it to completion.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

const taskQueue = "peers"

// RunProgram is the workflow: one activity, no retries, as one execution
// of workflowd runs the program once.
func RunProgram(ctx workflow.Context, program string, args []string) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	return workflow.ExecuteActivity(ctx, SpawnProgram, program, args).Get(ctx, nil)
}

// SpawnProgram is the activity: the program, run to its end.
func SpawnProgram(ctx context.Context, program string, args []string) error {
	return exec.CommandContext(ctx, program, args...).Run()
}

// dialTemporal connects, waiting up to a minute for the dev server to
// come up.
func dialTemporal(address string) (client.Client, error) {
	quiet := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := client.Dial(client.Options{HostPort: address, Logger: quiet})
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("temporal at %s: %w", address, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// runWorker serves the workflow and activity until interrupted.
func runWorker(address string) error {
	c, err := dialTemporal(address)
	if err != nil {
		return err
	}
	defer c.Close()
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(RunProgram)
	w.RegisterActivity(SpawnProgram)
	return w.Run(worker.InterruptCh())
}

// temporalSide starts RunProgram and waits for its result.
type temporalSide struct {
	client  client.Client
	program string
	args    []string
}

func (s *temporalSide) name() string { return "temporal" }

func (s *temporalSide) run(ctx context.Context) error {
	run, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: taskQueue}, RunProgram, s.program, s.args)
	if err != nil {
		return err
	}
	return run.Get(ctx, nil)
}
