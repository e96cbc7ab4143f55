// LogView with the jump target kept in the URL through react-router, as the
// execution page keeps it: the router applies URL changes in a transition,
// so LogView renders once with Follow's new state and the old target.
import type { LogEvent, StreamLogsOptions } from "@workflow-manager/workflowd-client";
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes, useSearchParams } from "react-router";
import { afterEach, beforeAll, expect, it, vi } from "vitest";

import { ClientContext } from "../../components/clientContext";
import { fakeClient, fakeLogStream, outputEvent, type StreamTally } from "../../components/testFixtures";
import { LogView } from "./LogView";

vi.mock("../../hooks/daemonStatus", () => ({ useDaemonRecoveries: () => 0 }));
afterEach(cleanup);
beforeAll(() => {
  Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 600 });
  Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 800 });
});

const lines = (n: number): LogEvent[] => Array.from({ length: n }, (_, i) => outputEvent(i + 1, `line ${i + 1}`));
const seqsShown = (log: HTMLElement) =>
  [...log.querySelectorAll("[data-seq]")].map((e) => Number(e.getAttribute("data-seq")));

/** The execution page's wiring of the target to `?seq=`, around a 3-line cap. */
function Page({ logTotal }: { logTotal: number }) {
  const [params, setParams] = useSearchParams();
  const seq = params.get("seq");
  const onJump = (target: number | undefined) =>
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        if (target === undefined) next.delete("seq");
        else next.set("seq", String(target));
        return next;
      },
      { replace: true },
    );
  return (
    <LogView
      executionId="e1"
      onExecutionEvent={() => {}}
      executionEnded={false}
      targetSeq={seq === null ? undefined : Number(seq)}
      onJump={onJump}
      cap={3}
      logTotal={logTotal}
    />
  );
}

function renderLog(events: LogEvent[], logTotal: number, streams: StreamLogsOptions[]) {
  const tally: StreamTally = { open: 0 };
  const client = fakeClient({
    streamLogs: (_id, o = {}) => {
      streams.push(o);
      return fakeLogStream(events, o, undefined, tally);
    },
  });
  render(
    <ClientContext.Provider value={client}>
      <MemoryRouter initialEntries={["/x"]}>
        <Routes>
          <Route path="/x" element={<Page logTotal={logTotal} />} />
        </Routes>
      </MemoryRouter>
    </ClientContext.Provider>,
  );
  return screen.getByRole("region", { name: "Log" });
}

async function jumpTo(log: HTMLElement, seq: number) {
  const user = userEvent.setup();
  const box = within(log).getByRole("spinbutton", { name: "Sequence" });
  await user.clear(box);
  await user.type(box, String(seq));
  await user.click(within(log).getByRole("button", { name: "Jump" }));
}

it("ticking Follow after a jump to dropped lines returns to the live end", async () => {
  const streams: StreamLogsOptions[] = [];
  const log = renderLog(lines(6), 6, streams);
  await waitFor(() => expect(seqsShown(log)).toEqual([4, 5, 6]));
  await jumpTo(log, 1);
  await waitFor(() => expect(seqsShown(log)).toEqual([1, 2, 3]));
  await userEvent.setup().click(within(log).getByRole("checkbox", { name: "Follow" }));
  await waitFor(() => expect(seqsShown(log)).toEqual([4, 5, 6]));
  // One stream for the live end, one for the window, one back to the live
  // end: the old window is not opened again under a ticked Follow.
  expect(streams.map((s) => s.fromSequence)).toEqual([4, 1, 4]);
  expect(within(log).getByRole<HTMLInputElement>("checkbox", { name: "Follow" }).checked).toBe(true);
});

it("a jump to the live log's first sequence, since dropped, opens a window there", async () => {
  const streams: StreamLogsOptions[] = [];
  // The page started the live log at 6 - 3 + 1 = 4; 10 lines came, 4 to 7 were dropped.
  const log = renderLog(lines(10), 6, streams);
  await waitFor(() => expect(seqsShown(log)).toEqual([8, 9, 10]));
  await jumpTo(log, 4);
  await waitFor(() => expect(seqsShown(log)).toEqual([4, 5, 6]));
  expect(streams.map((s) => s.fromSequence)).toEqual([4, 4]);
});
