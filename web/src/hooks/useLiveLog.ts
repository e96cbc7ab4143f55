// The execution page's live log: a followLog loop feeding a LogBuffer, with
// React told at most once per animation frame (one setState per event would
// block the main thread at thousands of lines a second).
import { useEffect, useRef, useState } from "react";

import { useClient } from "../components/clientContext";
import { useDaemonRecoveries } from "./daemonStatus";
import { DEFAULT_CAP, LogBuffer } from "../screens/execution/logBuffer";
import { followLog, type LogStreamStatus } from "../screens/execution/logFollower";
import { changesExecution, toLogLine } from "../screens/execution/logLine";

export interface LiveLog {
  buffer: LogBuffer;
  /** Bumped on every flush: the buffer is mutated in place. */
  version: number;
  status: LogStreamStatus;
  error: unknown;
  /**
   * Drops what is in memory and streams again from a sequence: as a window
   * (kept from its start, for a jump) or as the live log.
   */
  restartAt: (seq: number, window: boolean) => void;
}

/**
 * Least time between two flushes for a buffer of `lines` lines. The
 * virtualiser re-lays out every row when the count changes (O(lines) work
 * and several megabytes of garbage per flush at 200,000 lines, which the
 * garbage collector pays for in pauses), so a big log is refreshed less
 * often: 4 times a second still reads as live.
 */
export function flushIntervalMs(lines: number): number {
  if (lines < 20_000) return 0;
  if (lines < 100_000) return 100;
  return 250;
}

const nextFrame: (cb: (time: number) => void) => number =
  typeof requestAnimationFrame === "function"
    ? (cb) => requestAnimationFrame(cb)
    : (cb) => window.setTimeout(() => cb(performance.now()), 16);
const cancelFrame: (id: number) => void =
  typeof cancelAnimationFrame === "function" ? (id) => cancelAnimationFrame(id) : (id) => window.clearTimeout(id);

/**
 * How long the log may lag behind an execution known to have ended before
 * its stream is presumed stalled (a proxy that keeps a dead connection open
 * never reports an error) and is reopened from the last sequence.
 */
export const STALL_AFTER_END_MS = 3000;

/** Where the log starts streaming when it mounts. */
export interface LogStart {
  seq: number;
  /** A jump's window (a ?seq deep link) instead of the live log. */
  window: boolean;
}

export function useLiveLog(
  executionId: string,
  onExecutionEvent?: () => void,
  executionEnded = false,
  cap = DEFAULT_CAP,
  start: LogStart = { seq: 1, window: false },
): LiveLog {
  const client = useClient();
  const [log, setLog] = useState(() => ({ buffer: new LogBuffer(cap, Math.max(1, start.seq), start.window), version: 0 }));
  const [stream, setStream] = useState<{ status: LogStreamStatus; error: unknown }>({ status: "connecting", error: undefined });
  const onEventRef = useRef(onExecutionEvent);
  // Ends the current attempt only; followLog then resumes from the last sequence.
  const restartAttemptRef = useRef<() => void>(() => {});

  useEffect(() => {
    onEventRef.current = onExecutionEvent;
  });

  useEffect(() => {
    const buffer = log.buffer;
    const controller = new AbortController();
    let frame = 0;
    let lastFlush = 0;
    const flush = (time: number) => {
      if (time - lastFlush < flushIntervalMs(buffer.length)) {
        frame = nextFrame(flush);
        return;
      }
      frame = 0;
      lastFlush = time;
      setLog((l) => (l.buffer === buffer ? { buffer, version: l.version + 1 } : l));
    };
    // One listener for the whole loop (not one per attempt): ending the loop
    // ends whichever attempt is open.
    let attempt: AbortController | undefined;
    controller.signal.addEventListener("abort", () => attempt?.abort(), { once: true });
    void followLog({
      open: (fromSequence) => {
        const current = new AbortController();
        attempt = current;
        restartAttemptRef.current = () => current.abort();
        return client.streamLogs(executionId, { follow: true, fromSequence, signal: current.signal });
      },
      fromSequence: buffer.nextSeq,
      signal: controller.signal,
      onEvent: (ev) => {
        buffer.append(toLogLine(ev));
        if (buffer.full) {
          // A jump's window is full: stop here rather than drop its start.
          setStream({ status: "window", error: undefined });
          controller.abort();
        }
        if (changesExecution(ev)) {
          onEventRef.current?.();
        }
        if (frame === 0) {
          frame = nextFrame(flush);
        }
      },
      onStatus: (status, error) => {
        if (!controller.signal.aborted) {
          setStream({ status, error });
        }
      },
    });
    return () => {
      controller.abort();
      restartAttemptRef.current = () => {};
      if (frame !== 0) {
        cancelFrame(frame);
      }
    };
  }, [client, executionId, log.buffer]);

  // Only a recovery after mount says the open stream may be dead: the count
  // of earlier outages is no reason to reopen a stream just opened.
  const recoveries = useDaemonRecoveries();
  const seenRecoveries = useRef(recoveries);
  useEffect(() => {
    if (recoveries > seenRecoveries.current) {
      seenRecoveries.current = recoveries;
      restartAttemptRef.current();
    }
  }, [recoveries]);

  const streamEnded = stream.status === "ended" || stream.status === "failed" || stream.status === "window";
  useEffect(() => {
    if (!executionEnded || streamEnded) {
      return;
    }
    // Re-armed until the log ends: a reopened stream can stall too. A stream
    // still delivering (a long replay catching up) is left alone.
    const buffer = log.buffer;
    let seen = buffer.lastSeq;
    const timer = setInterval(() => {
      if (buffer.lastSeq === seen) {
        restartAttemptRef.current();
      }
      seen = buffer.lastSeq;
    }, STALL_AFTER_END_MS);
    return () => clearInterval(timer);
  }, [executionEnded, streamEnded, log.buffer]);

  return {
    buffer: log.buffer,
    version: log.version,
    status: stream.status,
    error: stream.error,
    restartAt: (seq: number, window: boolean) => setLog({ buffer: new LogBuffer(cap, Math.max(1, seq), window), version: 0 }),
  };
}
