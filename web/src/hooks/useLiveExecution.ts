// One execution kept current: GetExecution whenever its log shows an event
// that changes it (throttled), WaitExecution to learn the end the moment it
// happens, and polling only while the log is not live to tell.
import { Code, isTerminal, WorkflowError, type Execution } from "@workflow-manager/workflowd-client";
import { useCallback, useEffect, useRef, useState } from "react";

import { useClient } from "../components/clientContext";
import { useDaemonRecoveries } from "./daemonStatus";
import { sleep } from "../screens/execution/logFollower";

/** Longest single WaitExecution call; the wait is simply repeated after it. */
export const WAIT_SLICE_MS = 120_000;

export interface LiveExecution {
  execution: Execution | undefined;
  /** A failed load (NOT_FOUND stays; transient errors clear on the next success). */
  error: unknown;
  /** Loads the execution again soon (coalesced: at most one call per throttleMs). */
  refresh: () => void;
}

/** How often the execution is reloaded while its log cannot tell of changes. */
export const POLL_WITHOUT_LOG_MS = 2000;

/**
 * @param pollMs reload this often until the execution ends; for when the log
 *   is not live (a jump's window stops streaming, a reconnect) and so no
 *   event says the tree or state changed. Undefined: no polling.
 */
export function useLiveExecution(executionId: string, throttleMs = 500, pollMs?: number): LiveExecution {
  const client = useClient();
  const [state, setState] = useState<{ id: string; execution?: Execution; error?: unknown }>({ id: executionId });
  const refreshRef = useRef<() => void>(() => {});
  // The daemon coming back restarts both calls: the old ones may hang on a dead connection.
  const recoveries = useDaemonRecoveries();

  useEffect(() => {
    const controller = new AbortController();
    const signal = controller.signal;
    let ended = false;
    let inFlight = false;
    let again = false;
    let lastCall = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const load = async () => {
      inFlight = true;
      lastCall = Date.now();
      try {
        const execution = await client.getExecution(executionId, { signal, timeoutMs: 15_000 });
        // A late GetExecution must not undo the final state WaitExecution gave.
        if (!signal.aborted) {
          setState((s) => (ended && s.execution && !isTerminal(execution.state) ? s : { id: executionId, execution }));
        }
      } catch (error) {
        if (!signal.aborted) {
          setState((s) => ({ ...s, id: executionId, error }));
        }
      } finally {
        inFlight = false;
        if (again && !signal.aborted) {
          again = false;
          schedule();
        }
      }
    };
    const schedule = () => {
      if (inFlight) {
        again = true;
        return;
      }
      if (timer !== undefined) {
        return;
      }
      const delay = Math.max(0, lastCall + throttleMs - Date.now());
      timer = setTimeout(() => {
        timer = undefined;
        void load();
      }, delay);
    };
    refreshRef.current = schedule;

    const waitForEnd = async () => {
      let backoff = 1000;
      while (!signal.aborted) {
        try {
          // Bounded so a connection a proxy silently dropped is replaced.
          const execution = await client.wait(executionId, { signal, timeoutMs: WAIT_SLICE_MS });
          ended = true;
          setState({ id: executionId, execution });
          return;
        } catch (err) {
          if (signal.aborted || (err instanceof WorkflowError && err.code === Code.NotFound)) {
            return;
          }
          if (err instanceof WorkflowError && err.code === Code.DeadlineExceeded) {
            backoff = 1000;
            continue;
          }
          await sleep(backoff, signal);
          backoff = Math.min(10_000, backoff * 2);
        }
      }
    };

    void load();
    void waitForEnd();
    return () => {
      controller.abort();
      clearTimeout(timer);
      refreshRef.current = () => {};
    };
  }, [client, executionId, throttleMs, recoveries]);

  const current = state.id === executionId;
  const terminal = current && state.execution !== undefined && isTerminal(state.execution.state);
  useEffect(() => {
    if (pollMs === undefined || terminal) {
      return;
    }
    const timer = setInterval(() => {
      if (document.visibilityState !== "hidden") {
        refreshRef.current();
      }
    }, pollMs);
    return () => clearInterval(timer);
  }, [pollMs, terminal]);

  const refresh = useCallback(() => refreshRef.current(), []);
  return { execution: current ? state.execution : undefined, error: current ? state.error : undefined, refresh };
}
