// Messages and a fake client for the core screens' tests, built by hand: the
// dashboard does not depend on @bufbuild/protobuf itself, so there is no create().
import {
  ExecutionState,
  OutputStream,
  type BatchSummary,
  type Estimate,
  type Execution,
  type GetStatusResponse,
  type ListExecutionsResponse,
  type LogEvent,
  type StreamLogsOptions,
  type Workflow,
} from "@workflow-manager/workflowd-client";

import type { DashboardClient } from "./clientContext";

type Timestamp = NonNullable<Execution["createTime"]>;
type Duration = NonNullable<Execution["timeout"]>;

export function ts(ms: number): Timestamp {
  return { $typeName: "google.protobuf.Timestamp", seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

export function dur(ms: number): Duration {
  return { $typeName: "google.protobuf.Duration", seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

export function estimate(progress: number | undefined, remainingMs?: number): Estimate {
  return {
    $typeName: "workflow.v1.Estimate",
    progress,
    basis: 0,
    historyRuns: 0,
    ...(remainingMs !== undefined ? { remaining: dur(remainingMs) } : {}),
  };
}

export function execution(id: string, extra: Partial<Omit<Execution, "$typeName">> = {}): Execution {
  return {
    $typeName: "workflow.v1.Execution",
    id,
    workflowId: "hello",
    workflowName: "Hello",
    state: ExecutionState.RUNNING,
    createTime: ts(Date.parse("2026-12-06T08:00:00Z")),
    error: "",
    inputs: {},
    argv: [],
    labels: {},
    requestId: "",
    phases: [],
    artifacts: [],
    pid: 0,
    batchId: "",
    namespace: "default",
    currentPhase: "",
    scheduleId: "",
    attempt: 1,
    firstAttemptId: "",
    nextAttemptId: "",
    ...extra,
  };
}

export function status(extra: Partial<Omit<GetStatusResponse, "$typeName">> = {}): GetStatusResponse {
  return {
    $typeName: "workflow.v1.GetStatusResponse",
    version: "1.2.3",
    uptimeSeconds: 3720n,
    maxWorkers: 4,
    running: 1,
    queued: 2,
    maxQueue: 100,
    succeededToday: 7n,
    failedToday: 1n,
    totalExecutions: 10n,
    totalsByState: {},
    workflowDirectories: [],
    workflowsDiscovered: 1,
    discoveryErrors: 0,
    databasePath: "/var/lib/workflowd/history.db",
    dropFolders: [],
    outputDir: "/srv/out",
    programsProbing: 0,
    programLimitsEnforcement: "process group watch and setrlimit",
    activeBatches: [],
    daemons: [],
    ...extra,
  };
}

export function batchSummary(batchId: string, extra: Partial<Omit<BatchSummary, "$typeName">> = {}): BatchSummary {
  return { $typeName: "workflow.v1.BatchSummary", batchId, total: 3, queued: 1, running: 1, succeeded: 1, failed: 0, ...extra };
}

export function listResponse(executions: Execution[], nextPageToken = "", batch?: BatchSummary): ListExecutionsResponse {
  return { $typeName: "workflow.v1.ListExecutionsResponse", executions, nextPageToken, ...(batch ? { batch } : {}) };
}

export function outputEvent(seq: number, text: string, stderr = false): LogEvent {
  return {
    $typeName: "workflow.v1.LogEvent",
    sequence: BigInt(seq),
    time: ts(Date.parse("2026-12-06T08:00:00Z") + seq),
    payload: {
      case: "output",
      value: {
        $typeName: "workflow.v1.OutputLine",
        stream: stderr ? OutputStream.STDERR : OutputStream.STDOUT,
        text,
        malformedEvent: false,
        truncated: false,
      },
    },
  };
}

export function finishedEvent(seq: number, state = ExecutionState.SUCCEEDED): LogEvent {
  return {
    $typeName: "workflow.v1.LogEvent",
    sequence: BigInt(seq),
    time: ts(Date.parse("2026-12-06T08:00:00Z") + seq),
    payload: { case: "finished", value: { $typeName: "workflow.v1.Finished", state, error: "" } },
  };
}

export function phaseStartedEvent(seq: number, phase: number, name: string, totalPhases: number): LogEvent {
  return {
    $typeName: "workflow.v1.LogEvent",
    sequence: BigInt(seq),
    time: ts(Date.parse("2026-12-06T08:00:00Z") + seq),
    payload: { case: "phaseStarted", value: { $typeName: "workflow.v1.PhaseStarted", phase, name, totalPhases } },
  };
}

/** A client whose every method fails unless the test provides it. */
export function fakeClient(methods: Partial<DashboardClient>): DashboardClient {
  // Rejects like a failing call would, so a screen's error path shows it.
  const missing = (name: string) => () => Promise.reject(new Error(`fake client: ${name} not provided`));
  return {
    status: missing("status"),
    listExecutions: missing("listExecutions"),
    getExecution: missing("getExecution"),
    wait: missing("wait"),
    streamLogs: missing("streamLogs"),
    cancel: missing("cancel"),
    listWorkflows: missing("listWorkflows"),
    getWorkflow: missing("getWorkflow"),
    validateInputs: missing("validateInputs"),
    execute: missing("execute"),
    validateManifest: missing("validateManifest"),
    submitManifest: missing("submitManifest"),
    ...methods,
  } as DashboardClient;
}

/** Rejects, like the client does, once the signal aborts (at once if it has): for calls that never answer. */
export function untilAborted<T>(signal: AbortSignal | undefined): Promise<T> {
  return new Promise<T>((_resolve, reject) => {
    if (signal?.aborted) {
      reject(new Error("aborted"));
      return;
    }
    signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
  });
}

/** Counts the fake streams still open, so a test can see one that outlived its abort. */
export interface StreamTally {
  open: number;
}

/**
 * A fake client.streamLogs: `events` from o.fromSequence, then `later` (if
 * given) when it resolves, then, when following a log that has not
 * finished, open until aborted. It stops at an abort like the client does
 * (rejecting), not just when it next has something to send.
 */
export async function* fakeLogStream(
  events: readonly LogEvent[],
  o: StreamLogsOptions = {},
  later?: Promise<readonly LogEvent[]>,
  tally?: StreamTally,
): AsyncGenerator<LogEvent, void, undefined> {
  const from = Number(o.fromSequence ?? 1);
  const check = () => {
    if (o.signal?.aborted) throw new Error("aborted");
  };
  if (tally) tally.open++;
  try {
    let last = events.at(-1);
    for (const ev of events) {
      check();
      if (Number(ev.sequence) >= from) yield ev;
    }
    check();
    if (!o.follow || last?.payload.case === "finished") return;
    if (later) {
      const more = await Promise.race([later, untilAborted<readonly LogEvent[]>(o.signal)]);
      for (const ev of more) {
        check();
        if (Number(ev.sequence) >= from) yield ev;
      }
      last = more.at(-1) ?? last;
      if (last?.payload.case === "finished") return;
    }
    await untilAborted(o.signal);
  } finally {
    if (tally) tally.open--;
  }
}

export function workflowMsg(id: string, name = id): Workflow {
  return {
    $typeName: "workflow.v1.Workflow",
    id,
    name,
    description: "",
    schemaVersion: "1.0.0",
    fields: [],
    inputJsonSchema: "{}",
    programPath: `/opt/workflows/${id}`,
    namespaces: ["default"],
  };
}
