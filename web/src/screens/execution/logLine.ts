// How each LogEvent reads as one log line: output lines as printed,
// structured and lifecycle events as their event name and a short summary.
import { OutputStream, type LogEvent } from "@workflow-manager/workflowd-client";

import { durationMs, formatDuration, phaseNumber, stateName, timestampMs } from "../../format";
import { KIND_EVENT, KIND_STDERR, KIND_STDOUT, type LineKind, type LogLine } from "./logBuffer";

const quote = (s: string) => JSON.stringify(s);
const opt = (prefix: string, s: string | undefined) => (s ? `${prefix}${s}` : "");

function summary(ev: LogEvent): { kind: LineKind; label: string; text: string } {
  const p = ev.payload;
  switch (p.case) {
    case "output": {
      const stderr = p.value.stream === OutputStream.STDERR;
      let text = p.value.text;
      if (p.value.malformedEvent) text += "  [malformed event]";
      if (p.value.truncated) text += "  [truncated]";
      return { kind: stderr ? KIND_STDERR : KIND_STDOUT, label: stderr ? "stderr" : "stdout", text };
    }
    case "rawOutput": {
      const stderr = p.value.stream === "stderr";
      return { kind: stderr ? KIND_STDERR : KIND_STDOUT, label: stderr ? "stderr" : "stdout", text: p.value.line };
    }
    case "phaseStarted":
      return { kind: KIND_EVENT, label: "phase_started", text: `phase ${phaseNumber(p.value.phase)}/${p.value.totalPhases} ${quote(p.value.name)}` };
    case "phaseCompleted":
      return { kind: KIND_EVENT, label: "phase_completed", text: `phase ${phaseNumber(p.value.phase)} ${quote(p.value.name)}` };
    case "phaseFailed":
      return { kind: KIND_EVENT, label: "phase_failed", text: `phase ${phaseNumber(p.value.phase)} ${quote(p.value.name)}: ${p.value.error}` };
    case "taskStarted":
      return { kind: KIND_EVENT, label: "task_started", text: `${p.value.taskId}${opt(": ", p.value.description)}` };
    case "taskProgress":
      return { kind: KIND_EVENT, label: "task_progress", text: `${p.value.taskId}: ${p.value.message}` };
    case "taskCompleted":
      return { kind: KIND_EVENT, label: "task_completed", text: `${p.value.taskId}${opt(" → ", p.value.result)}` };
    case "taskFailed":
      return { kind: KIND_EVENT, label: "task_failed", text: `${p.value.taskId}: ${p.value.error}` };
    case "agentStarted":
      return { kind: KIND_EVENT, label: "agent_started", text: `${p.value.taskId}/${p.value.agentName}${opt(": ", p.value.description)}` };
    case "agentMessage":
      return { kind: KIND_EVENT, label: "agent_message", text: `${p.value.taskId}/${p.value.agentName}: ${p.value.message}` };
    case "agentCompleted":
      return { kind: KIND_EVENT, label: "agent_completed", text: `${p.value.taskId}/${p.value.agentName}${opt(" → ", p.value.result)}` };
    case "agentFailed":
      return { kind: KIND_EVENT, label: "agent_failed", text: `${p.value.taskId}/${p.value.agentName}: ${p.value.error}` };
    case "stateFileCreated":
      return { kind: KIND_EVENT, label: "state_file_created", text: `${p.value.filePath}${opt(" — ", p.value.description)}` };
    case "queued":
      return { kind: KIND_EVENT, label: "queued", text: `queue position ${p.value.queuePosition}` };
    case "started":
      return { kind: KIND_EVENT, label: "started", text: `pid ${p.value.pid}: ${p.value.argv.join(" ")}` };
    case "exited":
      return {
        kind: KIND_EVENT,
        label: "exited",
        text: p.value.signal !== undefined ? `signal ${p.value.signal}` : `exit code ${p.value.exitCode ?? "?"}`,
      };
    case "cancelRequested":
      return {
        kind: KIND_EVENT,
        label: "cancel_requested",
        text: `${p.value.reason || "client"}${p.value.force ? ", force" : `, grace ${formatDuration(durationMs(p.value.gracePeriod))}`}`,
      };
    case "killed":
      return { kind: KIND_EVENT, label: "killed", text: `signal ${p.value.signal}` };
    case "timedOut":
      return { kind: KIND_EVENT, label: "timed_out", text: `after ${formatDuration(durationMs(p.value.timeout))}` };
    case "interrupted":
      return { kind: KIND_EVENT, label: "interrupted", text: p.value.reason };
    case "finished":
      return { kind: KIND_EVENT, label: "finished", text: `${stateName(p.value.state)}${opt(": ", p.value.error)}` };
    default:
      return { kind: KIND_EVENT, label: "event", text: "" };
  }
}

/** The line an event is shown as. */
export function toLogLine(ev: LogEvent): LogLine {
  return { seq: Number(ev.sequence), timeMs: timestampMs(ev.time) ?? 0, ...summary(ev) };
}

/** Whether an event may change what GetExecution returns (tree, state, artifacts). */
export function changesExecution(ev: LogEvent): boolean {
  return ev.payload.case !== "output" && ev.payload.case !== "rawOutput" && ev.payload.case !== undefined;
}

/** Whether this is the execution's final event, after which the log never grows. */
export function isFinished(ev: LogEvent): boolean {
  return ev.payload.case === "finished";
}

/** The plain-text form of a line in a downloaded log. */
export function lineAsText(line: LogLine, isoTime: string): string {
  return `${line.seq}\t${isoTime}\t${line.label}\t${line.text}`;
}
