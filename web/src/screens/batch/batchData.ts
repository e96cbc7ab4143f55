// Loads a batch: its summary and its executions, following pages up to a
// bound so a huge batch cannot make one poll unbounded.
import { ExecutionState, isTerminal, type BatchSummary, type Execution } from "@workflow-manager/workflowd-client";

import type { DashboardClient } from "../../components/clientContext";

export type { BatchSummary };
export type DashboardClientList = Pick<DashboardClient, "listExecutions">;

export const BATCH_PAGE_SIZE = 200;
export const BATCH_MAX_PAGES = 5;

export interface BatchData {
  batch: BatchSummary | undefined;
  executions: Execution[];
  /** More executions exist than were loaded. */
  truncated: boolean;
}

export async function loadBatch(client: DashboardClientList, batchId: string, signal?: AbortSignal): Promise<BatchData> {
  const executions: Execution[] = [];
  let batch: BatchSummary | undefined;
  let pageToken = "";
  for (let page = 0; page < BATCH_MAX_PAGES; page++) {
    const resp = await client.listExecutions(
      { batchId, pageSize: BATCH_PAGE_SIZE, ...(pageToken ? { pageToken } : {}) },
      { ...(signal ? { signal } : {}), timeoutMs: 15_000 },
    );
    batch ??= resp.batch;
    executions.push(...resp.executions);
    pageToken = resp.nextPageToken;
    if (!pageToken) {
      return { batch, executions, truncated: false };
    }
  }
  return { batch, executions, truncated: true };
}

/** Counts of a batch's executions by state, as BatchSummary has them. */
export interface BatchCounts {
  total: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
}

/**
 * The counts from the executions themselves: what the page shows while the
 * daemon sends no BatchSummary (older daemons) or when it listed only part.
 */
export function countByState(executions: readonly Execution[]): BatchCounts {
  const c: BatchCounts = { total: executions.length, queued: 0, running: 0, succeeded: 0, failed: 0 };
  for (const e of executions) {
    switch (e.state) {
      case ExecutionState.QUEUED:
        c.queued++;
        break;
      case ExecutionState.RUNNING:
        c.running++;
        break;
      case ExecutionState.SUCCEEDED:
        c.succeeded++;
        break;
      case ExecutionState.UNSPECIFIED:
        break;
      default:
        c.failed++;
    }
  }
  return c;
}

/** Whether nothing in the batch can change any more, so polling can stop. */
export function batchEnded(data: BatchData): boolean {
  if (data.batch) {
    return data.batch.endTime !== undefined;
  }
  return data.executions.length > 0 && data.executions.every((e) => isTerminal(e.state));
}
