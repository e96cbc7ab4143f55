import { Code, WorkflowError, type LogEvent } from "@workflow-manager/workflowd-client";
import { describe, expect, it } from "vitest";

import { finishedEvent, outputEvent } from "../../components/testFixtures";
import { followLog, type LogStreamStatus } from "./logFollower";

type Attempt = { events: LogEvent[]; then?: "fail" | "close"; error?: Error };

/** A fake streamLogs: each call plays the next scripted attempt and records where it started. */
function scripted(attempts: Attempt[]) {
  const starts: number[] = [];
  const open = (from: number) => {
    starts.push(from);
    const attempt = attempts.shift();
    return (async function* () {
      for (const ev of attempt?.events ?? []) {
        await Promise.resolve();
        yield ev;
      }
      if (attempt?.then === "fail") {
        throw attempt.error ?? new WorkflowError(Code.Unavailable, "connection lost");
      }
    })();
  };
  return { open, starts };
}

async function run(attempts: Attempt[], fromSequence = 1) {
  const { open, starts } = scripted(attempts);
  const seen: number[] = [];
  const statuses: LogStreamStatus[] = [];
  const sleeps: number[] = [];
  const controller = new AbortController();
  const next = await followLog({
    open,
    fromSequence,
    signal: controller.signal,
    onEvent: (ev) => seen.push(Number(ev.sequence)),
    onStatus: (s) => statuses.push(s),
    sleep: (ms) => {
      sleeps.push(ms);
      // Give up after a few retries so a broken resume cannot hang the test.
      if (sleeps.length > 5) controller.abort();
      return Promise.resolve();
    },
  });
  return { seen, starts, statuses, sleeps, next };
}

describe("followLog", () => {
  it("resumes at last + 1 after a dropped connection and ends at finished", async () => {
    const r = await run([
      { events: [outputEvent(1, "a"), outputEvent(2, "b"), outputEvent(3, "c")], then: "fail" },
      { events: [outputEvent(4, "d"), finishedEvent(5)] },
    ]);
    expect(r.starts).toEqual([1, 4]);
    expect(r.seen).toEqual([1, 2, 3, 4, 5]);
    expect(r.statuses).toEqual(["connecting", "live", "reconnecting", "reconnecting", "live", "ended"]);
    expect(r.next).toBe(6);
  });

  it("drops events replayed after a resume", async () => {
    const r = await run([
      { events: [outputEvent(1, "a"), outputEvent(2, "b")], then: "fail" },
      // A proxy replaying from an earlier point: 1 and 2 again.
      { events: [outputEvent(1, "a"), outputEvent(2, "b"), outputEvent(3, "c"), finishedEvent(4)] },
    ]);
    expect(r.starts).toEqual([1, 3]);
    expect(r.seen).toEqual([1, 2, 3, 4]);
  });

  it("backs off exponentially while the daemon is away, resetting after progress", async () => {
    const r = await run([
      { events: [], then: "fail" },
      { events: [], then: "fail" },
      { events: [outputEvent(7, "x")], then: "fail" },
      { events: [finishedEvent(8)] },
    ], 7);
    expect(r.starts).toEqual([7, 7, 7, 8]);
    expect(r.sleeps).toEqual([500, 1000, 500]);
    expect(r.seen).toEqual([7, 8]);
  });

  it("reconnects when a follow stream closes without finished", async () => {
    const r = await run([{ events: [outputEvent(1, "a")], then: "close" }, { events: [finishedEvent(2)] }]);
    expect(r.starts).toEqual([1, 2]);
    expect(r.seen).toEqual([1, 2]);
  });

  it("stops on NOT_FOUND: retrying cannot bring a deleted execution back", async () => {
    const r = await run([{ events: [outputEvent(1, "a")], then: "fail", error: new WorkflowError(Code.NotFound, "gone") }]);
    expect(r.starts).toEqual([1]);
    expect(r.statuses.at(-1)).toBe("failed");
  });
});

describe("followLog time slicing", () => {
  it("yields to the browser when handling events takes longer than a slice", async () => {
    const { open } = scripted([{ events: [1, 2, 3, 4].map((n) => outputEvent(n, "x")).concat(finishedEvent(5)) }]);
    let clock = 0;
    let yields = 0;
    await followLog({
      open,
      fromSequence: 1,
      signal: new AbortController().signal,
      // Each event costs 5 ms of "work".
      onEvent: () => (clock += 5),
      onStatus: () => {},
      now: () => clock,
      yieldToBrowser: () => {
        yields++;
        return Promise.resolve();
      },
    });
    // 20 ms of work in 12 ms slices: a yield after the 3rd event (15 ms).
    expect(yields).toBe(1);
  });
});
