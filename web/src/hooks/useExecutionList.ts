import type { ListExecutionsFilter, ListExecutionsResponse } from "@workflow-manager/workflowd-client";

import { useClient } from "../components/clientContext";
import { usePolled, type Polled } from "./usePolled";

export const LIST_INTERVAL_MS = 2000;

/** Stable text of a filter (dates and arrays included) to key the poll by. */
export function filterKey(filter: ListExecutionsFilter): string {
  return JSON.stringify(filter, (_k, v: unknown) => (v instanceof Date ? v.toISOString() : v));
}

/** One page of ListExecutions for a filter, polled while live. */
export function useExecutionList(filter: ListExecutionsFilter, live = true): Polled<ListExecutionsResponse> {
  const client = useClient();
  return usePolled((signal) => client.listExecutions(filter, { signal, timeoutMs: 15_000 }), {
    intervalMs: LIST_INTERVAL_MS,
    key: filterKey(filter),
    live,
  });
}
