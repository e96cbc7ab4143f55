import { DaemonRole, DropFolderMode, ExecutionState, type DaemonStatus, type ListExecutionsFilter } from "@workflow-manager/workflowd-client";
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, useLocation } from "react-router";
import { afterEach, describe, expect, it } from "vitest";

import { ClientContext } from "../../components/clientContext";
import { batchSummary, estimate, execution, fakeClient, listResponse, status, ts } from "../../components/testFixtures";
import { DaemonStatusProvider } from "../../hooks/daemonStatus";
import { OverviewPage } from "./OverviewPage";

afterEach(cleanup);

function Location() {
  const loc = useLocation();
  return <output aria-label="location">{loc.pathname + loc.search}</output>;
}

function daemon(id: string, role: DaemonRole, extra: Partial<Omit<DaemonStatus, "$typeName">> = {}): DaemonStatus {
  return {
    $typeName: "workflow.v1.DaemonStatus",
    id,
    host: "conv-1",
    pid: 4242,
    role,
    slots: 4,
    running: 0,
    startTime: ts(Date.now() - 600_000),
    lastHeartbeat: ts(Date.now() - 1_000),
    alive: true,
    draining: false,
    ...extra,
  };
}

function setup(url = "/") {
  const calls: ListExecutionsFilter[] = [];
  const client = fakeClient({
    status: () =>
      Promise.resolve(
        status({
          historyWriteFailure: { $typeName: "workflow.v1.HistoryWriteFailure", error: "database or disk is full", since: ts(Date.parse("2026-12-06T07:00:00Z")) },
          dropFolders: [
            {
              $typeName: "workflow.v1.DropFolder",
              path: "/srv/drop",
              mode: DropFolderMode.MANIFEST,
              filesWaiting: 4,
              filesProcessing: 1,
              processedToday: 9n,
              failedToday: 2n,
              watching: true,
            },
          ],
          activeBatches: [batchSummary("batch-7", { estimate: estimate(0.5, 130_000) })],
          daemons: [
            daemon("0193aaaa-0000-7000-8000-000000000001", DaemonRole.WRITER, { running: 1, draining: true }),
            daemon("0193bbbb-0000-7000-8000-000000000002", DaemonRole.STANDBY, { alive: false, host: "conv-2" }),
          ],
        }),
      ),
    listExecutions: (filter = {}) => {
      calls.push(filter);
      const state = filter.states?.[0] ?? ExecutionState.RUNNING;
      return Promise.resolve(
        listResponse([
          execution(`exec-${ExecutionState[state]}`, {
            state,
            currentPhase: "convert",
            labels: { vm: `vm-${ExecutionState[state].toLowerCase()}` },
            estimate: estimate(0.25, 42_000),
          }),
        ]),
      );
    },
  });
  render(
    <MemoryRouter initialEntries={[url]}>
      <ClientContext.Provider value={client}>
        <DaemonStatusProvider>
          <OverviewPage />
          <Location />
        </DaemonStatusProvider>
      </ClientContext.Provider>
    </MemoryRouter>,
  );
  return { calls };
}

describe("OverviewPage", () => {
  it("shows the status cards, history failure, drop folders and active batches", async () => {
    setup();
    expect(screen.getByRole("heading", { level: 1, name: "Overview" })).toBeTruthy();
    const statusRegion = await screen.findByRole("region", { name: "Status" });
    expect(within(statusRegion).getByText("2 / 100")).toBeTruthy();
    expect(within(statusRegion).getByText("1 / 4")).toBeTruthy();
    expect(within(statusRegion).getByText("1 h 02 min")).toBeTruthy();
    expect(within(statusRegion).getByRole("alert").textContent).toMatch(/History cannot be written: database or disk is full since/);

    const folder = screen.getByRole("article", { name: "Drop folder /srv/drop" });
    expect(within(folder).getByText("To be processed").nextSibling?.textContent).toBe("4");
    expect(within(folder).getByText("Failed today").nextSibling?.textContent).toBe("2");

    const daemons = within(screen.getByRole("region", { name: "Daemons" })).getAllByRole("row");
    expect(daemons.map((row) => row.textContent)).toEqual([
      "DaemonRoleHostRunningLast reportState",
      expect.stringMatching(/\(this one\)Writingconv-1 \(pid 4242\)1 \/ 4just nowDraining$/),
      expect.stringMatching(/Standing byconv-2 \(pid 4242\)0 \/ 4just nowNot heard from$/),
    ]);

    const batches = screen.getByRole("region", { name: "Active batches" });
    expect(within(batches).getByRole("link", { name: "Batch batch-7" }).getAttribute("href")).toBe("/batches/batch-7");
    expect(within(batches).getByText("ETA 2 min 10 s")).toBeTruthy();
  });

  it("lists the active tab's executions live and switches tabs through the URL", async () => {
    const user = userEvent.setup();
    const { calls } = setup();
    const link = await screen.findByRole("link", { name: "vm-running" });
    expect(link.getAttribute("href")).toBe("/executions/exec-RUNNING");
    expect(calls[0]?.states).toEqual([ExecutionState.RUNNING]);
    const panel = screen.getByRole("tabpanel");
    expect(within(panel).getByText("convert")).toBeTruthy();
    expect(within(panel).getByText("ETA 42 s")).toBeTruthy();
    expect(within(panel).getByRole("progressbar", { name: "Progress of vm-running" })).toBeTruthy();

    await user.click(screen.getByRole("tab", { name: "Failed" }));
    expect(screen.getByRole("tab", { name: "Failed" }).getAttribute("aria-selected")).toBe("true");
    expect(screen.getByLabelText("location").textContent).toBe("/?tab=failed");
    await screen.findByRole("link", { name: "vm-failed" });
    expect(calls.at(-1)?.states).toEqual([
      ExecutionState.FAILED,
      ExecutionState.CANCELLED,
      ExecutionState.TIMED_OUT,
      ExecutionState.INTERRUPTED,
    ]);

    // Arrow keys move between tabs (WAI-ARIA tabs pattern).
    await user.keyboard("{ArrowLeft}");
    expect(screen.getByLabelText("location").textContent).toBe("/?tab=completed");
    expect(document.activeElement).toBe(screen.getByRole("tab", { name: "Completed" }));
    await waitFor(() => expect(calls.at(-1)?.states).toEqual([ExecutionState.SUCCEEDED]));
  });

  it("opens the tab named in the URL", async () => {
    const { calls } = setup("/?tab=pending");
    await screen.findByRole("link", { name: "vm-queued" });
    expect(calls[0]?.states).toEqual([ExecutionState.QUEUED]);
    expect(screen.getByRole("tab", { name: "Pending" }).getAttribute("aria-selected")).toBe("true");
  });
});
