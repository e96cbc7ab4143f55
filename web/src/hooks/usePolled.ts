// Polling for the calls the API offers no stream for (GetStatus,
// ListExecutions): one call at a time, the next one interval after the last
// answer, paused while the tab is hidden and refreshed as soon as it shows.
import { useCallback, useEffect, useRef, useState } from "react";

export interface Polled<T> {
  /** The latest answer for the current key; kept through later failures. */
  data: T | undefined;
  /** The latest failure, cleared by the next success. */
  error: unknown;
  /** Consecutive failures since the last success. */
  failures: number;
  /** Whether no answer for the current key has arrived yet. */
  loading: boolean;
  /** Times an answer came after failures: each is a recovery, e.g. the daemon back up. */
  recoveries: number;
  /** Calls again now. */
  refresh: () => void;
}

interface PollState<T> {
  key: string;
  data: T | undefined;
  error: unknown;
  failures: number;
  recoveries: number;
  settled: boolean;
}

export interface PollOptions {
  /** Milliseconds between an answer and the next call. */
  intervalMs: number;
  /**
   * Identifies what is loaded: a new key drops the old data and calls at
   * once (e.g. the filters of a list).
   */
  key: string;
  /**
   * When false, load once and stop (e.g. a batch that has ended); turning
   * false stops the polling without another call, turning true resumes it.
   */
  live?: boolean;
}

export interface PollOptionsOf<T> extends PollOptions {
  /**
   * Whether an answer calls for more polling (e.g. some program is still
   * being probed): false stops at that answer, with no call after it.
   */
  continueWhile?: (data: T) => boolean;
}

export function usePolled<T>(
  load: (signal: AbortSignal) => Promise<T>,
  { intervalMs, key, live = true, continueWhile }: PollOptionsOf<T>,
): Polled<T> {
  const [state, setState] = useState<PollState<T>>({ key, data: undefined, error: undefined, failures: 0, recoveries: 0, settled: false });
  const loadRef = useRef(load);
  const runRef = useRef<() => void>(() => {});
  // Read when a poll is due rather than restarting the loop: the answer
  // that ends polling must not itself cause one more call.
  const liveRef = useRef(live);
  const continueRef = useRef(continueWhile);

  useEffect(() => {
    loadRef.current = load;
    continueRef.current = continueWhile;
  });

  useEffect(() => {
    const resumed = live && !liveRef.current;
    liveRef.current = live;
    if (resumed) {
      runRef.current();
    }
  }, [live]);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let inFlight: AbortController | undefined;
    // The last answer said polling is over (continueWhile).
    let finished = false;

    const schedule = () => {
      if (!stopped && liveRef.current && document.visibilityState !== "hidden") {
        timer = setTimeout(() => {
          if (liveRef.current) run();
        }, intervalMs);
      }
    };
    const run = () => {
      clearTimeout(timer);
      inFlight?.abort();
      const controller = new AbortController();
      inFlight = controller;
      loadRef.current(controller.signal).then(
        (data) => {
          if (stopped || controller.signal.aborted) return;
          setState((s) => ({
            key,
            data,
            error: undefined,
            failures: 0,
            recoveries: s.key === key && s.failures > 0 ? s.recoveries + 1 : s.recoveries,
            settled: true,
          }));
          finished = continueRef.current?.(data) === false;
          if (!finished) schedule();
        },
        (error: unknown) => {
          if (stopped || controller.signal.aborted) return;
          setState((s) => ({
            key,
            data: s.key === key ? s.data : undefined,
            error,
            failures: s.key === key ? s.failures + 1 : 1,
            recoveries: s.recoveries,
            settled: true,
          }));
          schedule();
        },
      );
    };
    const onVisibility = () => {
      if (document.visibilityState === "visible" && liveRef.current && !finished) {
        run();
      } else {
        clearTimeout(timer);
      }
    };
    runRef.current = run;
    run();
    document.addEventListener("visibilitychange", onVisibility);
    return () => {
      stopped = true;
      clearTimeout(timer);
      inFlight?.abort();
      document.removeEventListener("visibilitychange", onVisibility);
    };
  }, [key, intervalMs]);

  const refresh = useCallback(() => runRef.current(), []);
  const current = state.key === key;
  return {
    data: current ? state.data : undefined,
    error: current ? state.error : undefined,
    failures: current ? state.failures : 0,
    recoveries: state.recoveries,
    loading: !current || !state.settled,
    refresh,
  };
}
