import type { LogEvent, StreamLogsOptions } from "@workflow-manager/workflowd-client";
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

import { ClientContext } from "../../components/clientContext";
import {
  fakeClient,
  fakeLogStream,
  finishedEvent,
  outputEvent,
  phaseStartedEvent,
  untilAborted,
  type StreamTally,
} from "../../components/testFixtures";
import { fetchLogText } from "./downloadLog";
import type { LogStreamStatus } from "./logFollower";
import { LogView, ROW_HEIGHT, liveStartSeq } from "./LogView";

// The live views read the daemon's recoveries; tests set them here.
const daemon = vi.hoisted(() => ({ recoveries: 0 }));
vi.mock("../../hooks/daemonStatus", () => ({ useDaemonRecoveries: () => daemon.recoveries }));

afterEach(() => {
  cleanup();
  daemon.recoveries = 0;
});

beforeAll(() => {
  // jsdom lays nothing out; give the log's scroller a size so rows render.
  Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 600 });
  Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 800 });
});

const lines = (n: number) => Array.from({ length: n }, (_, i) => outputEvent(i + 1, `line ${i + 1}`));
const EVENTS: LogEvent[] = lines(6);

function fakeLogClient(events: LogEvent[], later?: Promise<readonly LogEvent[]>) {
  const streams: StreamLogsOptions[] = [];
  const tally: StreamTally = { open: 0 };
  const client = fakeClient({
    streamLogs: (_id, o = {}) => {
      streams.push(o);
      return fakeLogStream(events, o, later, tally);
    },
  });
  return { client, streams, tally };
}

interface HarnessProps {
  cap: number;
  logTotal?: number;
  initialSeq?: number;
  onExecutionEvent?: () => void;
  onStatus?: (s: LogStreamStatus) => void;
}

function Harness({ cap, logTotal, initialSeq, onExecutionEvent = () => {}, onStatus }: HarnessProps) {
  const [seq, setSeq] = useState<number | undefined>(initialSeq);
  return (
    <LogView
      executionId="e1"
      onExecutionEvent={onExecutionEvent}
      executionEnded={false}
      targetSeq={seq}
      onJump={setSeq}
      cap={cap}
      {...(logTotal !== undefined ? { logTotal } : {})}
      {...(onStatus ? { onStatus } : {})}
    />
  );
}

const seqsShown = (log: HTMLElement) => [...log.querySelectorAll("[data-seq]")].map((e) => Number(e.getAttribute("data-seq")));

async function jumpTo(log: HTMLElement, seq: number) {
  const user = userEvent.setup();
  const box = within(log).getByRole("spinbutton", { name: "Sequence" });
  await user.clear(box);
  await user.type(box, String(seq));
  await user.click(within(log).getByRole("button", { name: "Jump" }));
}

describe("LogView", () => {
  it("keeps only the newest lines, says so, and streams dropped ones again on a jump", async () => {
    const user = userEvent.setup();
    const { client, streams } = fakeLogClient(EVENTS);
    render(
      <ClientContext.Provider value={client}>
        <Harness cap={3} />
      </ClientContext.Provider>,
    );
    const log = screen.getByRole("region", { name: "Log" });
    await waitFor(() => expect(within(log).getByText("3 lines")).toBeTruthy());
    expect(within(log).getByRole("note").textContent).toMatch(/3 earlier lines are no longer kept in memory/);
    expect(log.querySelector('[data-seq="4"]')).not.toBeNull();

    await jumpTo(log, 2);
    await waitFor(() => expect(streams.at(-1)).toMatchObject({ follow: true, fromSequence: 2 }));
    // The window keeps its start (2, 3, 4) and stops at the memory limit.
    await waitFor(() => expect(log.querySelector('[data-seq="2"]')?.classList.contains("log-target")).toBe(true));
    expect(log.querySelector('[data-seq="5"]')).toBeNull();
    expect(within(log).getByText("Paused at the memory limit")).toBeTruthy();
    const notes = within(log).getAllByRole("note").map((n) => n.textContent);
    expect(notes.join(" ")).toMatch(/Showing sequences 2–4/);
    expect(notes.join(" ")).toMatch(/Showing from sequence 2; lines before it are not loaded/);

    await user.click(within(log).getByRole("checkbox", { name: "Follow" }));
    await waitFor(() => expect(log.querySelector('[data-seq="6"]')).not.toBeNull());
  });

  it("starts the live log at the newest lines that fit, also when following again after a jump", async () => {
    const user = userEvent.setup();
    const { client, streams } = fakeLogClient(EVENTS);
    render(
      <ClientContext.Provider value={client}>
        <Harness cap={3} logTotal={6} />
      </ClientContext.Provider>,
    );
    const log = screen.getByRole("region", { name: "Log" });
    await waitFor(() => expect(seqsShown(log)).toEqual([4, 5, 6]));
    // Not a replay from 1 whose first lines would only be dropped.
    expect(streams.map((s) => s.fromSequence)).toEqual([4]);
    expect(within(log).getByRole("note").textContent).toMatch(/Showing from sequence 4; lines before it are not loaded/);

    await jumpTo(log, 1);
    await waitFor(() => expect(seqsShown(log)).toEqual([1, 2, 3]));
    await user.click(within(log).getByRole("checkbox", { name: "Follow" }));
    await waitFor(() => expect(seqsShown(log)).toEqual([4, 5, 6]));
    expect(streams.at(-1)).toMatchObject({ follow: true, fromSequence: 4 });
  });

  it("opens a ?seq deep link straight into a window at the target", async () => {
    const { client, streams } = fakeLogClient(lines(10));
    render(
      <ClientContext.Provider value={client}>
        <Harness cap={3} logTotal={10} initialSeq={5} />
      </ClientContext.Provider>,
    );
    const log = screen.getByRole("region", { name: "Log" });
    await waitFor(() => expect(log.querySelector('[data-seq="5"]')?.classList.contains("log-target")).toBe(true));
    expect(seqsShown(log)).toEqual([5, 6, 7]);
    expect(streams.map((s) => s.fromSequence)).toEqual([5]);
  });

  it("loads a window at a target past the end of a full window", async () => {
    const { client, streams, tally } = fakeLogClient(lines(10));
    render(
      <ClientContext.Provider value={client}>
        <Harness cap={3} />
      </ClientContext.Provider>,
    );
    const log = screen.getByRole("region", { name: "Log" });
    await waitFor(() => expect(log.querySelector('[data-seq="10"]')).not.toBeNull());
    await jumpTo(log, 2);
    await waitFor(() => expect(seqsShown(log)).toEqual([2, 3, 4]));
    await waitFor(() => expect(within(log).getByText("Paused at the memory limit")).toBeTruthy());
    // The full window stopped its stream: none outlives the abort.
    await waitFor(() => expect(tally.open).toBe(0));

    await jumpTo(log, 8);
    await waitFor(() => expect(log.querySelector('[data-seq="8"]')?.classList.contains("log-target")).toBe(true));
    expect(streams.at(-1)).toMatchObject({ follow: true, fromSequence: 8 });
  });

  it("reports a window that stopped streaming, so the page can keep the execution current", async () => {
    const statuses: LogStreamStatus[] = [];
    const { client } = fakeLogClient(lines(10));
    render(
      <ClientContext.Provider value={client}>
        <Harness cap={3} initialSeq={2} onStatus={(s) => statuses.push(s)} />
      </ClientContext.Provider>,
    );
    await waitFor(() => expect(statuses.at(-1)).toBe("window"));
  });

  it("opens one stream after an earlier daemon outage, and reopens it on a new recovery", async () => {
    daemon.recoveries = 1;
    let release!: (evs: readonly LogEvent[]) => void;
    const later = new Promise<readonly LogEvent[]>((r) => (release = r));
    const { client, streams } = fakeLogClient(lines(3), later);
    const { rerender } = render(
      <ClientContext.Provider value={client}>
        <Harness cap={100} />
      </ClientContext.Provider>,
    );
    const log = screen.getByRole("region", { name: "Log" });
    await waitFor(() => expect(log.querySelector('[data-seq="3"]')).not.toBeNull());
    await new Promise((r) => setTimeout(r, 50));
    expect(streams).toHaveLength(1);

    daemon.recoveries = 2;
    rerender(
      <ClientContext.Provider value={client}>
        <Harness cap={100} />
      </ClientContext.Provider>,
    );
    await waitFor(() => expect(streams).toHaveLength(2), { timeout: 3000 });
    expect(streams[1]).toMatchObject({ fromSequence: 4 });
    release([phaseStartedEvent(4, 0, "load", 1)]);
  });

  it("scrolls to a jump's target once, not again on every update while old lines are dropped", async () => {
    let release!: (evs: readonly LogEvent[]) => void;
    const later = new Promise<readonly LogEvent[]>((r) => (release = r));
    const { client, streams } = fakeLogClient(lines(6), later);
    render(
      <ClientContext.Provider value={client}>
        <Harness cap={6} />
      </ClientContext.Provider>,
    );
    const log = screen.getByRole("region", { name: "Log" });
    const scroller = within(log).getByRole("log", { name: "Log lines" });
    const scrollTo = vi.fn();
    // jsdom has no Element.scrollTo; the virtualiser scrolls with it.
    Object.defineProperty(scroller, "scrollTo", { configurable: true, value: scrollTo });
    await waitFor(() => expect(log.querySelector('[data-seq="6"]')).not.toBeNull());
    await jumpTo(log, 5);
    await waitFor(() => expect(scrollTo).toHaveBeenCalled());
    await new Promise((r) => setTimeout(r, 100));
    const afterJump = scrollTo.mock.calls.length;
    // New lines push 1 and 2 out: the target's row moves, the reader stays.
    release([outputEvent(7, "line 7"), outputEvent(8, "line 8")]);
    await waitFor(() => expect(log.querySelector('[data-seq="8"]')).not.toBeNull());
    await new Promise((r) => setTimeout(r, 100));
    expect(log.querySelector('[data-seq="1"]')).toBeNull();
    expect(scrollTo.mock.calls.length).toBe(afterJump);
    expect(streams).toHaveLength(1);
  });

  it("stops following when the reader scrolls up, by any means, but not for its own scrolling", async () => {
    const { client } = fakeLogClient(lines(100));
    render(
      <ClientContext.Provider value={client}>
        <Harness cap={1000} />
      </ClientContext.Provider>,
    );
    const log = screen.getByRole("region", { name: "Log" });
    const scroller = within(log).getByRole("log", { name: "Log lines" });
    Object.defineProperty(scroller, "scrollHeight", { configurable: true, get: () => 100 * ROW_HEIGHT });
    const follow = within(log).getByRole<HTMLInputElement>("checkbox", { name: "Follow" });
    await waitFor(() => expect(scroller.scrollTop).toBeGreaterThan(0));
    // Following put it at the bottom.
    const bottom = 100 * ROW_HEIGHT - 600;
    act(() => {
      scroller.scrollTop = bottom;
      fireEvent.scroll(scroller);
    });
    expect(follow.checked).toBe(true);
    act(() => {
      scroller.scrollTop = bottom - 10 * ROW_HEIGHT;
      fireEvent.scroll(scroller);
    });
    expect(follow.checked).toBe(false);
  });

  it("stops a download on request", async () => {
    const user = userEvent.setup();
    let aborted = false;
    const client = fakeClient({
      streamLogs: (_id, o = {}) =>
        (async function* () {
          if (!o.follow) {
            o.signal?.addEventListener("abort", () => (aborted = true));
            yield outputEvent(1, "one");
          }
          await untilAborted(o.signal);
        })(),
    });
    render(
      <ClientContext.Provider value={client}>
        <Harness cap={10} />
      </ClientContext.Provider>,
    );
    const log = screen.getByRole("region", { name: "Log" });
    await user.click(within(log).getByRole("button", { name: "Download log" }));
    await user.click(await within(log).findByRole("button", { name: "Stop download" }));
    expect(aborted).toBe(true);
    await waitFor(() => expect(within(log).getByRole("button", { name: "Download log" })).toBeTruthy());
    expect(within(log).queryByRole("alert")).toBeNull();
  });
});

describe("liveStartSeq", () => {
  it("starts where the newest cap lines begin, never before 1", () => {
    expect(liveStartSeq(0, 100)).toBe(1);
    expect(liveStartSeq(100, 100)).toBe(1);
    expect(liveStartSeq(250, 100)).toBe(151);
  });
});

describe("fetchLogText", () => {
  it("fetches the whole log from sequence 1 without following", async () => {
    const { client, streams } = fakeLogClient([outputEvent(1, "hello"), outputEvent(2, "oops", true), finishedEvent(3)]);
    const blob = await fetchLogText(client, "e1");
    const text = await blob.text();
    expect(streams).toEqual([{ fromSequence: 1, follow: false }]);
    expect(text.split("\n")).toEqual([
      "1\t2026-12-06T08:00:00.001Z\tstdout\thello",
      "2\t2026-12-06T08:00:00.002Z\tstderr\toops",
      "3\t2026-12-06T08:00:00.003Z\tfinished\tSucceeded",
      "",
    ]);
  });

  it("lets the browser run between slices of lines", async () => {
    const { client } = fakeLogClient(lines(5));
    let clock = 0;
    let pauses = 0;
    // Each line "takes" 10 ms: past the 12 ms slice every second line.
    await fetchLogText(client, "e1", {
      now: () => (clock += 10),
      yieldToBrowser: () => {
        pauses++;
        return Promise.resolve();
      },
    });
    expect(pauses).toBeGreaterThanOrEqual(2);
  });

  it("stops when aborted", async () => {
    const { client } = fakeLogClient(lines(5));
    const controller = new AbortController();
    controller.abort();
    await expect(fetchLogText(client, "e1", { signal: controller.signal })).rejects.toThrow();
  });
});

describe("untilAborted", () => {
  it("rejects at once for a signal already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(untilAborted(controller.signal)).rejects.toThrow("aborted");
  });
});
