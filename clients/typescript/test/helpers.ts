// Shared set-up of the tests against a live workflowd (address in
// WORKFLOWD_ADDR, as scripts/with-test-daemon.sh exports it).
import { randomUUID } from "node:crypto";

import { WorkflowClient, WorkflowError, type LogEvent } from "../src/index.js";

export const addr = process.env.WORKFLOWD_ADDR ?? "";

/**
 * node:test option skipping the live tests when no daemon is configured;
 * live.test.ts then adds one failing test, so npm test does not pass.
 */
export const live = addr === "" ? { skip: "WORKFLOWD_ADDR is not set; these tests need a running workflowd" } : {};

export function client(): WorkflowClient {
  return new WorkflowClient(addr, { timeoutMs: 30_000 });
}

export function unique(): string {
  return randomUUID().replaceAll("-", "");
}

/** Collects every event of a stream. */
export async function collect(events: AsyncIterable<LogEvent>): Promise<LogEvent[]> {
  const out: LogEvent[] = [];
  for await (const ev of events) {
    out.push(ev);
  }
  return out;
}

/** Runs fn and returns the WorkflowError it rejects with (fails otherwise). */
export async function rejection(fn: () => Promise<unknown>): Promise<WorkflowError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof WorkflowError) {
      return err;
    }
    throw new Error(`rejected with ${String(err)}, not a WorkflowError`, { cause: err });
  }
  throw new Error("resolved, expected a WorkflowError");
}
