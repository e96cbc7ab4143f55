// One GetStatus poll for the whole page: the header's connection indicator,
// the API token gate and the Overview read the same answer instead of
// polling each.
import type { GetStatusResponse } from "@workflow-manager/workflowd-client";
import { createContext, useContext, useMemo, type ReactNode } from "react";

import { useClient } from "../components/clientContext";
import { isUnauthenticated } from "../components/ErrorBanner";
import { usePolled, type Polled } from "./usePolled";

export const STATUS_INTERVAL_MS = 2000;

/**
 * How the daemon answers: not asked yet, answering, failing (we keep
 * retrying), or refusing the page for want of a valid API token.
 */
export type Connection = "connecting" | "connected" | "reconnecting" | "unauthenticated";

export interface DaemonStatus extends Polled<GetStatusResponse> {
  connection: Connection;
}

const StatusContext = createContext<DaemonStatus | undefined>(undefined);
// Apart from the status: the live views need only this count, and a number
// as the value re-renders them when it changes, not on every 2 s poll.
const RecoveriesContext = createContext(0);

export function connectionOf(polled: Pick<Polled<unknown>, "data" | "error" | "failures" | "loading">): Connection {
  if (polled.failures > 0) {
    return isUnauthenticated(polled.error) ? "unauthenticated" : "reconnecting";
  }
  return polled.loading && polled.data === undefined ? "connecting" : "connected";
}

export function DaemonStatusProvider({ children }: { children: ReactNode }) {
  const client = useClient();
  const polled = usePolled((signal) => client.status({ signal, timeoutMs: 10_000 }), {
    intervalMs: STATUS_INTERVAL_MS,
    key: "status",
  });
  const { data, error, failures, loading, recoveries, refresh } = polled;
  const value = useMemo(
    () => ({ data, error, failures, loading, recoveries, refresh, connection: connectionOf({ data, error, failures, loading }) }),
    [data, error, failures, loading, recoveries, refresh],
  );
  return (
    <StatusContext.Provider value={value}>
      <RecoveriesContext.Provider value={recoveries}>{children}</RecoveriesContext.Provider>
    </StatusContext.Provider>
  );
}

/**
 * How many times the daemon came back after being unreachable (0 outside a
 * provider). Live views reopen their streams when it changes: a connection
 * that died with the daemon may never report it (some proxies hold it open).
 */
export function useDaemonRecoveries(): number {
  return useContext(RecoveriesContext);
}

/** The daemon's status, polled every 2 s by the nearest DaemonStatusProvider. */
export function useDaemonStatus(): DaemonStatus {
  const status = useContext(StatusContext);
  if (!status) {
    throw new Error("useDaemonStatus outside DaemonStatusProvider");
  }
  return status;
}
