// Follows an execution's log across dropped connections: every attempt
// resumes at the sequence after the last one delivered, so the caller sees
// each event once and in order, and a `finished` event ends it for good.
import { Code, WorkflowError, type LogEvent } from "@workflow-manager/workflowd-client";

import { isFinished } from "./logLine";

/** "window": a jump's window reached the memory limit and streaming stopped. */
export type LogStreamStatus = "connecting" | "live" | "reconnecting" | "ended" | "failed" | "window";

export interface FollowLogOptions {
  /** Opens one stream from a sequence (client.streamLogs with follow). */
  open: (fromSequence: number, signal: AbortSignal) => AsyncIterable<LogEvent>;
  fromSequence: number;
  signal: AbortSignal;
  /** Each new event, once, in sequence order. */
  onEvent: (ev: LogEvent) => void;
  onStatus: (status: LogStreamStatus, error?: unknown) => void;
  /** Waits between attempts; injectable so tests need no timers. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Lets the browser run between slices of events; injectable for tests. */
  yieldToBrowser?: () => Promise<void>;
  now?: () => number;
}

/**
 * Longest run of event handling between two yields to the browser. A
 * history replay arrives far faster than live output and is decoded in
 * microtasks, which never yield on their own: without this, catching up on
 * a long log would block input and painting for seconds.
 */
export const SLICE_MS = 12;

/** Resolves on a fresh macrotask (MessageChannel: no 4 ms setTimeout clamp). */
export function yieldToBrowser(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

// Errors no retry can fix: the execution is gone or the request is wrong.
const FATAL_CODES: ReadonlySet<Code> = new Set([
  Code.NotFound,
  Code.InvalidArgument,
  Code.PermissionDenied,
  Code.Unauthenticated,
  Code.Unimplemented,
]);

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Streams until the `finished` event, a fatal error or the signal aborts;
 * resolves with the next sequence to ask for.
 */
export async function followLog(o: FollowLogOptions): Promise<number> {
  const wait = o.sleep ?? sleep;
  const initial = o.initialBackoffMs ?? 500;
  const max = o.maxBackoffMs ?? 10_000;
  let next = o.fromSequence;
  let backoff = initial;
  let attempt = 0;
  const pause = o.yieldToBrowser ?? yieldToBrowser;
  const now = o.now ?? (() => performance.now());
  let sliceStart = now();
  while (!o.signal.aborted) {
    o.onStatus(attempt === 0 ? "connecting" : "reconnecting");
    attempt++;
    let failure: unknown;
    try {
      let first = true;
      for await (const ev of o.open(next, o.signal)) {
        const seq = Number(ev.sequence);
        if (first) {
          o.onStatus("live");
          first = false;
        }
        // A replayed event (the daemon or a proxy resending) is dropped.
        if (seq < next) {
          continue;
        }
        next = seq + 1;
        backoff = initial;
        o.onEvent(ev);
        if (isFinished(ev)) {
          o.onStatus("ended");
          return next;
        }
        if (now() - sliceStart > SLICE_MS) {
          await pause();
          sliceStart = now();
        }
      }
      if (first) {
        // An empty stream that closed: nothing new yet, so the stream was live.
        o.onStatus("live");
      }
    } catch (err) {
      failure = err;
    }
    if (o.signal.aborted) {
      break;
    }
    if (failure !== undefined) {
      const code = failure instanceof WorkflowError ? failure.code : undefined;
      if (code !== undefined && FATAL_CODES.has(code)) {
        o.onStatus("failed", failure);
        return next;
      }
    }
    // Closed without `finished` or failed: come back from where we were.
    o.onStatus("reconnecting", failure);
    await wait(backoff, o.signal);
    backoff = Math.min(max, backoff * 2);
  }
  return next;
}
