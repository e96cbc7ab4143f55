// Display formatting shared by every screen: durations, times, execution
// states, estimates and sizes. Pure functions so they are unit-tested and the
// screens agree on one spelling.
import { ExecutionState, type Estimate, type Execution } from "@workflow-manager/workflowd-client";

/** The protobuf Timestamp / Duration shapes (seconds as bigint, nanos). */
type Timestamp = NonNullable<Execution["createTime"]>;
type Duration = NonNullable<Execution["timeout"]>;

/** Shown wherever a value is unknown or unset. */
export const NONE = "—";

/** Milliseconds since the epoch of a protobuf Timestamp; undefined when unset. */
export function timestampMs(ts: Timestamp | undefined): number | undefined {
  if (!ts) {
    return undefined;
  }
  return Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
}

/** Milliseconds of a protobuf Duration; undefined when unset. */
export function durationMs(d: Duration | undefined): number | undefined {
  if (!d) {
    return undefined;
  }
  return Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6);
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/**
 * A duration for people: "42 s", "2 min 05 s", "1 h 02 min", "3 d 04 h".
 * Negative or non-finite values read as unknown.
 */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
    return NONE;
  }
  const totalSeconds = Math.floor(ms / 1000);
  if (totalSeconds < 60) {
    return `${totalSeconds} s`;
  }
  const totalMinutes = Math.floor(totalSeconds / 60);
  if (totalMinutes < 60) {
    return `${totalMinutes} min ${pad2(totalSeconds % 60)} s`;
  }
  const totalHours = Math.floor(totalMinutes / 60);
  if (totalHours < 24) {
    return `${totalHours} h ${pad2(totalMinutes % 60)} min`;
  }
  return `${Math.floor(totalHours / 24)} d ${pad2(totalHours % 24)} h`;
}

/** "5 s ago", "3 min ago", "in 2 h"; "just now" within 5 seconds. */
export function formatRelative(thenMs: number | undefined, nowMs: number): string {
  if (thenMs === undefined) {
    return NONE;
  }
  const delta = nowMs - thenMs;
  const abs = Math.abs(delta);
  if (abs < 5000) {
    return "just now";
  }
  let text: string;
  if (abs < 60_000) {
    text = `${Math.floor(abs / 1000)} s`;
  } else if (abs < 3_600_000) {
    text = `${Math.floor(abs / 60_000)} min`;
  } else if (abs < 86_400_000) {
    text = `${Math.floor(abs / 3_600_000)} h`;
  } else {
    text = `${Math.floor(abs / 86_400_000)} d`;
  }
  return delta >= 0 ? `${text} ago` : `in ${text}`;
}

/** A local date and time, e.g. for tables and tooltips; "—" when unset. */
export function formatDateTime(ms: number | undefined): string {
  if (ms === undefined) {
    return NONE;
  }
  return new Date(ms).toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** HH:MM:SS.mmm in local time: the log's time column. */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

const STATE_NAMES: Readonly<Record<ExecutionState, string>> = {
  [ExecutionState.UNSPECIFIED]: "Unknown",
  [ExecutionState.QUEUED]: "Queued",
  [ExecutionState.RUNNING]: "Running",
  [ExecutionState.SUCCEEDED]: "Succeeded",
  [ExecutionState.FAILED]: "Failed",
  [ExecutionState.CANCELLED]: "Cancelled",
  [ExecutionState.TIMED_OUT]: "Timed out",
  [ExecutionState.INTERRUPTED]: "Interrupted",
};

/** The state as people read it: "Running", "Timed out". */
export function stateName(state: ExecutionState): string {
  return STATE_NAMES[state] ?? "Unknown";
}

/** The API's state name, as the URL spells it: "RUNNING", "TIMED_OUT". */
export function stateKey(state: ExecutionState): string {
  return ExecutionState[state] ?? "UNSPECIFIED";
}

/** The ExecutionState of a URL state name ("running" or "RUNNING"); undefined when unknown. */
export function parseStateKey(key: string): ExecutionState | undefined {
  const upper = key.toUpperCase();
  return ALL_STATES.find((s) => ExecutionState[s] === upper);
}

/** Every real state, in lifecycle order: for filters. */
export const ALL_STATES: readonly ExecutionState[] = [
  ExecutionState.QUEUED,
  ExecutionState.RUNNING,
  ExecutionState.SUCCEEDED,
  ExecutionState.FAILED,
  ExecutionState.CANCELLED,
  ExecutionState.TIMED_OUT,
  ExecutionState.INTERRUPTED,
];

/**
 * The badge classes of a state. Timed out and interrupted runs are failures
 * to the reader, so they share the failed colour.
 */
export function stateBadgeClass(state: ExecutionState): string {
  switch (state) {
    case ExecutionState.RUNNING:
      return "badge state-running";
    case ExecutionState.SUCCEEDED:
      return "badge state-succeeded";
    case ExecutionState.QUEUED:
      return "badge state-queued";
    case ExecutionState.CANCELLED:
      return "badge state-cancelled";
    case ExecutionState.FAILED:
    case ExecutionState.TIMED_OUT:
    case ExecutionState.INTERRUPTED:
      return "badge state-failed";
    default:
      return "badge";
  }
}

/** "ETA 2 min 10 s" from an estimate's remaining time; "—" when unknown. */
export function estimateText(estimate: Estimate | undefined): string {
  const remaining = durationMs(estimate?.remaining);
  if (remaining === undefined) {
    return NONE;
  }
  return `ETA ${formatDuration(remaining)}`;
}

/** The progress fraction clamped to 0..1; undefined when unreported. */
export function progressFraction(estimate: Estimate | undefined): number | undefined {
  const p = estimate?.progress;
  if (p === undefined || !Number.isFinite(p)) {
    return undefined;
  }
  return Math.min(1, Math.max(0, p));
}

/** "42 %" of a 0..1 fraction; "—" when unknown. */
export function percentText(fraction: number | undefined): string {
  return fraction === undefined ? NONE : `${Math.round(fraction * 100)} %`;
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** "512 B", "1.5 KiB", "20 GiB": binary units, one decimal below 10. */
export function formatBytes(bytes: number | bigint | undefined): string {
  if (bytes === undefined) {
    return NONE;
  }
  let n = Number(bytes);
  if (!Number.isFinite(n) || n < 0) {
    return NONE;
  }
  let unit = 0;
  while (n >= 1024 && unit < BYTE_UNITS.length - 1) {
    n /= 1024;
    unit++;
  }
  const digits = unit === 0 || n >= 10 ? 0 : 1;
  return `${n.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** How long an execution has run: to its end, or to now while active. */
export function elapsedMs(execution: Pick<Execution, "startTime" | "endTime">, nowMs: number): number | undefined {
  const start = timestampMs(execution.startTime);
  if (start === undefined) {
    return undefined;
  }
  const end = timestampMs(execution.endTime) ?? nowMs;
  return Math.max(0, end - start);
}

/**
 * A short form of an id for tables. Ids are UUIDv7, whose leading digits are
 * a timestamp shared by everything started at about the same time, so the
 * random tail is what tells rows apart.
 */
export function shortId(id: string): string {
  return id.length > 12 ? `…${id.slice(-8)}` : id;
}

/**
 * How a phase index (0-based, as programs report and take it) is shown: as
 * its position ("Phase 1/3"), the same N in the tree, the log, the
 * artifacts and the Run form's phase checkboxes.
 */
export function phaseNumber(index: number): number {
  return index + 1;
}
