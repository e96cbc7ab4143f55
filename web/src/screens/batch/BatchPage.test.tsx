import { ExecutionState, type ListExecutionsFilter } from "@workflow-manager/workflowd-client";
import { act, cleanup, render, screen, within } from "@testing-library/react";
import { MemoryRouter, Route, Routes, useNavigate } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";

import { ClientContext } from "../../components/clientContext";
import { batchSummary, estimate, execution, fakeClient, listResponse, ts } from "../../components/testFixtures";
import { BatchPage } from "./BatchPage";
import { BATCH_MAX_PAGES, batchEnded, countByState, loadBatch } from "./batchData";

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe("loadBatch", () => {
  it("follows pages up to a bound and keeps the summary", async () => {
    const calls: ListExecutionsFilter[] = [];
    const client = {
      listExecutions: (filter: ListExecutionsFilter = {}) => {
        calls.push(filter);
        const n = calls.length;
        return Promise.resolve(listResponse([execution(`e${n}`)], `t${n}`, batchSummary("b1")));
      },
    };
    const data = await loadBatch(client, "b1");
    expect(calls).toHaveLength(BATCH_MAX_PAGES);
    expect(calls[1]).toMatchObject({ batchId: "b1", pageToken: "t1" });
    expect(data.truncated).toBe(true);
    expect(data.batch?.batchId).toBe("b1");
    expect(data.executions.map((e) => e.id)).toEqual(["e1", "e2", "e3", "e4", "e5"]);
  });
});

describe("countByState / batchEnded", () => {
  const execs = [
    execution("a", { state: ExecutionState.QUEUED }),
    execution("b", { state: ExecutionState.RUNNING }),
    execution("c", { state: ExecutionState.SUCCEEDED }),
    execution("d", { state: ExecutionState.TIMED_OUT }),
    execution("e", { state: ExecutionState.CANCELLED }),
  ];
  it("counts like BatchSummary: every unsuccessful end is failed", () => {
    expect(countByState(execs)).toEqual({ total: 5, queued: 1, running: 1, succeeded: 1, failed: 2 });
  });
  it("ends when the summary has an end time, or else when every execution has", () => {
    expect(batchEnded({ batch: undefined, executions: execs, truncated: false })).toBe(false);
    expect(batchEnded({ batch: undefined, executions: execs.slice(2), truncated: false })).toBe(true);
    expect(batchEnded({ batch: batchSummary("b"), executions: execs.slice(2), truncated: false })).toBe(false);
    expect(batchEnded({ batch: batchSummary("b", { endTime: ts(1) }), executions: [], truncated: false })).toBe(true);
  });
});

describe("BatchPage", () => {
  it("counts the executions itself when the daemon sends no summary", async () => {
    const client = fakeClient({
      listExecutions: () =>
        Promise.resolve(
          listResponse([
            execution("e1", { labels: { vm: "web01" } }),
            execution("e2", { labels: { vm: "db01" }, state: ExecutionState.SUCCEEDED }),
          ]),
        ),
    });
    render(
      <MemoryRouter initialEntries={["/batches/b-1"]}>
        <ClientContext.Provider value={client}>
          <Routes>
            <Route path="/batches/:batchId" element={<BatchPage />} />
          </Routes>
        </ClientContext.Provider>
      </MemoryRouter>,
    );
    const summary = await screen.findByRole("region", { name: "Summary" });
    expect(within(summary).getByText("Running").nextSibling?.textContent).toBe("1");
    expect(within(summary).getByText("Progress").nextSibling?.textContent).toBe("50 %");
    expect(within(summary).getByText("ETA").nextSibling?.textContent).toBe("—");
  });

  it("shows the batch summary and its executions by VM name", async () => {
    const client = fakeClient({
      listExecutions: (filter = {}) =>
        Promise.resolve(
          listResponse(
            [
              execution("e1", { batchId: filter.batchId ?? "", labels: { vm: "web01" }, currentPhase: "convert", estimate: estimate(0.5, 60_000) }),
              execution("e2", { batchId: filter.batchId ?? "", labels: { vm: "db01" }, state: ExecutionState.SUCCEEDED }),
            ],
            "",
            batchSummary("b-42", { total: 2, running: 1, succeeded: 1, queued: 0, estimate: estimate(0.75, 90_000) }),
          ),
        ),
    });
    render(
      <MemoryRouter initialEntries={["/batches/b-42"]}>
        <ClientContext.Provider value={client}>
          <Routes>
            <Route path="/batches/:batchId" element={<BatchPage />} />
          </Routes>
        </ClientContext.Provider>
      </MemoryRouter>,
    );
    expect(screen.getByRole("heading", { level: 1, name: "Batch b-42" })).toBeTruthy();
    const summary = await screen.findByRole("region", { name: "Summary" });
    expect(within(summary).getByRole("progressbar", { name: "Batch progress" }).getAttribute("value")).toBe("0.75");
    expect(within(summary).getByText("ETA 1 min 30 s")).toBeTruthy();
    expect(within(summary).getByText("Succeeded").nextSibling?.textContent).toBe("1");
    const table = screen.getByRole("region", { name: "Executions" });
    expect(within(table).getByRole("link", { name: "web01" }).getAttribute("href")).toBe("/executions/e1");
    expect(within(table).getByText("convert")).toBeTruthy();
    expect(within(table).getByText("ETA 1 min 00 s")).toBeTruthy();
  });

  it("keeps polling (and retrying) a batch opened after an ended one", async () => {
    vi.useFakeTimers();
    const asked: string[] = [];
    const client = fakeClient({
      listExecutions: (f: ListExecutionsFilter = {}) => {
        asked.push(f.batchId ?? "");
        // The next batch's first answer fails: only polling retries it.
        if (f.batchId === "live" && asked.filter((b) => b === "live").length === 1) {
          return Promise.reject(new Error("unavailable"));
        }
        const state = f.batchId === "done" ? ExecutionState.SUCCEEDED : ExecutionState.RUNNING;
        return Promise.resolve(listResponse([execution(`${f.batchId}-1`, { state, batchId: f.batchId ?? "" })]));
      },
    });
    let go: (to: string) => void = () => {};
    function Navigator() {
      const navigate = useNavigate();
      go = (to) => void navigate(to);
      return null;
    }
    render(
      <MemoryRouter initialEntries={["/batches/done"]}>
        <ClientContext.Provider value={client}>
          <Navigator />
          <Routes>
            <Route path="/batches/:batchId" element={<BatchPage />} />
          </Routes>
        </ClientContext.Provider>
      </MemoryRouter>,
    );
    // In steps: act renders only once its callback is done.
    const wait = async (ms: number) => {
      for (let t = 0; t < ms; t += 250) await act(() => vi.advanceTimersByTimeAsync(250));
    };
    await wait(5000);
    const doneCalls = asked.filter((b) => b === "done").length;
    await wait(5000);
    expect(asked.filter((b) => b === "done")).toHaveLength(doneCalls);
    act(() => go("/batches/live"));
    await wait(5000);
    expect(asked.filter((b) => b === "live").length).toBeGreaterThanOrEqual(2);
  });
});
