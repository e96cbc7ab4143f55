package main

// The other two sides: workflowd through its Go client (Execute, then
// WaitExecution), and the program spawned directly.

import (
	"context"
	"fmt"
	"os/exec"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

// side runs one execution of the program to its end.
type side interface {
	name() string
	run(ctx context.Context) error
}

type workflowdSide struct {
	client   *workflowclient.Client
	workflow string
	inputs   map[string]any
}

func (s *workflowdSide) name() string { return "workflowd" }

func (s *workflowdSide) run(ctx context.Context) error {
	ended, err := s.client.ExecuteAndWait(ctx, s.workflow, s.inputs)
	if err != nil {
		return err
	}
	if ended.GetState() != workflowv1.ExecutionState_EXECUTION_STATE_SUCCEEDED {
		return fmt.Errorf("execution %s ended %s: %s", ended.GetId(), ended.GetState(), ended.GetError())
	}
	return nil
}

type directSide struct {
	program string
	args    []string
}

func (s *directSide) name() string { return "direct spawn" }

func (s *directSide) run(ctx context.Context) error {
	return exec.CommandContext(ctx, s.program, s.args...).Run()
}
