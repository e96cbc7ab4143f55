import type { LogEvent, StreamLogsOptions } from "@workflow-manager/workflowd-client";
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { ClientContext } from "../../components/clientContext";
import { fakeClient, finishedEvent, outputEvent, untilAborted } from "../../components/testFixtures";
import { fetchLogText } from "./downloadLog";
import { LogView } from "./LogView";

afterEach(cleanup);

beforeAll(() => {
  // jsdom lays nothing out; give the log's scroller a size so rows render.
  Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 600 });
  Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 800 });
});

const EVENTS: LogEvent[] = [1, 2, 3, 4, 5, 6].map((n) => outputEvent(n, `line ${n}`));

function fakeLogClient(events: LogEvent[]) {
  const streams: StreamLogsOptions[] = [];
  const client = fakeClient({
    streamLogs: (_id, o = {}) => {
      streams.push(o);
      const from = Number(o.fromSequence ?? 1);
      return (async function* () {
        for (const ev of events) {
          if (Number(ev.sequence) >= from) yield ev;
        }
        if (o.follow && events.at(-1)?.payload.case !== "finished") {
          await untilAborted(o.signal);
        }
      })();
    },
  });
  return { client, streams };
}

function Harness({ cap }: { cap: number }) {
  const [seq, setSeq] = useState<number | undefined>(undefined);
  return <LogView executionId="e1" onExecutionEvent={() => {}} executionEnded={false} targetSeq={seq} onJump={setSeq} cap={cap} />;
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

    await user.type(within(log).getByRole("spinbutton", { name: "Sequence" }), "2");
    await user.click(within(log).getByRole("button", { name: "Jump" }));
    await waitFor(() => expect(streams.at(-1)).toMatchObject({ follow: true, fromSequence: 2 }));
    // The window keeps its start (2, 3, 4) and stops at the memory limit.
    await waitFor(() => expect(log.querySelector('[data-seq="2"]')?.classList.contains("log-target")).toBe(true));
    expect(log.querySelector('[data-seq="5"]')).toBeNull();
    expect(within(log).getByText("Paused at the memory limit")).toBeTruthy();
    const notes = within(log).getAllByRole("note").map((n) => n.textContent);
    expect(notes.join(" ")).toMatch(/Showing sequences 2–4/);
    expect(notes.join(" ")).toMatch(/Showing from sequence 2; lines before it are not loaded/);

    // Following again starts over at the live end.
    await user.click(within(log).getByRole("checkbox", { name: "Follow" }));
    await waitFor(() => expect(streams.at(-1)).toMatchObject({ follow: true, fromSequence: 1 }));
    await waitFor(() => expect(log.querySelector('[data-seq="6"]')).not.toBeNull());
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
});
