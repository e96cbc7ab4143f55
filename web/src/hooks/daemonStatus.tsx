// One GetStatus poll for the whole page: the header's connection indicator
// and the Overview read the same answer instead of polling twice.
import type { GetStatusResponse } from "@workflow-manager/workflowd-client";
import { createContext, useContext, type ReactNode } from "react";

import { useClient } from "../components/clientContext";
import { usePolled, type Polled } from "./usePolled";

export const STATUS_INTERVAL_MS = 2000;

/** How the daemon answers: not asked yet, answering, or failing (we keep retrying). */
export type Connection = "connecting" | "connected" | "reconnecting";

export interface DaemonStatus extends Polled<GetStatusResponse> {
  connection: Connection;
}

const StatusContext = createContext<DaemonStatus | undefined>(undefined);

export function connectionOf(polled: Pick<Polled<unknown>, "data" | "failures" | "loading">): Connection {
  if (polled.failures > 0) {
    return "reconnecting";
  }
  return polled.loading && polled.data === undefined ? "connecting" : "connected";
}

export function DaemonStatusProvider({ children }: { children: ReactNode }) {
  const client = useClient();
  const polled = usePolled((signal) => client.status({ signal, timeoutMs: 10_000 }), {
    intervalMs: STATUS_INTERVAL_MS,
    key: "status",
  });
  return <StatusContext.Provider value={{ ...polled, connection: connectionOf(polled) }}>{children}</StatusContext.Provider>;
}

/**
 * How many times the daemon came back after being unreachable (0 outside a
 * provider). Live views reopen their streams when it changes: a connection
 * that died with the daemon may never report it (some proxies hold it open).
 */
export function useDaemonRecoveries(): number {
  return useContext(StatusContext)?.recoveries ?? 0;
}

/** The daemon's status, polled every 2 s by the nearest DaemonStatusProvider. */
export function useDaemonStatus(): DaemonStatus {
  const status = useContext(StatusContext);
  if (!status) {
    throw new Error("useDaemonStatus outside DaemonStatusProvider");
  }
  return status;
}
