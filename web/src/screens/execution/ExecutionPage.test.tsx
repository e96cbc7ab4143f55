import {
  ExecutionState,
  type CancelOptions,
  type Execution,
  type LogEvent,
  type StreamLogsOptions,
} from "@workflow-manager/workflowd-client";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { ClientContext } from "../../components/clientContext";
import {
  dur,
  execution,
  fakeClient,
  fakeLogStream,
  finishedEvent,
  outputEvent,
  phaseStartedEvent,
  untilAborted,
} from "../../components/testFixtures";
import { ExecutionPage } from "./ExecutionPage";

afterEach(cleanup);

beforeAll(() => {
  // jsdom lays nothing out; give the log's scroller a size so rows render.
  Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 600 });
  Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 800 });
});

interface SetupOptions {
  /** Resolves WaitExecution (else it waits until aborted). */
  ended?: Promise<Execution>;
  /** Every log stream fails (a proxy down), so the log never goes live. */
  streamFails?: boolean;
  /** Overrides the execution GetExecution returns. */
  extra?: Partial<Omit<Execution, "$typeName">>;
}

function setup(events: LogEvent[], url = "/executions/e1", opts: SetupOptions = {}) {
  const streams: StreamLogsOptions[] = [];
  const cancels: CancelOptions[] = [];
  let gets = 0;
  const exec = execution("e1", {
    workflowName: "VM pipeline",
    workflowId: "vm_pipeline",
    inputs: { manifest: "/srv/m.yaml" },
    argv: ["/opt/vm_pipeline", "--manifest", "/srv/m.yaml"],
    batchId: "batch-9",
    artifacts: [{ $typeName: "workflow.v1.Artifact", phase: 0, path: "/tmp/state.json", description: "state" }],
    ...opts.extra,
  });
  const client = fakeClient({
    getExecution: () => {
      gets++;
      return Promise.resolve(exec);
    },
    wait: (_id, o) => opts.ended ?? untilAborted(o?.signal),
    streamLogs: (_id, o = {}) => {
      streams.push(o);
      if (opts.streamFails) {
        return (async function* () {
          await Promise.resolve();
          yield* [];
          throw new Error("connection reset");
        })();
      }
      return fakeLogStream(events, o);
    },
    cancel: (_id, o = {}) => {
      cancels.push(o);
      return Promise.resolve({
        $typeName: "workflow.v1.CancelResponse",
        execution: exec,
        alreadyRequested: false,
        retryCalledOff: false,
      });
    },
  });
  render(
    <MemoryRouter initialEntries={[url]}>
      <ClientContext.Provider value={client}>
        <Routes>
          <Route path="/executions/:executionId" element={<ExecutionPage />} />
        </Routes>
      </ClientContext.Provider>
    </MemoryRouter>,
  );
  return { streams, cancels, gets: () => gets };
}

describe("ExecutionPage", () => {
  it("shows the execution, its regions and its streamed log", async () => {
    const { streams } = setup([outputEvent(1, "hello"), outputEvent(2, "oops", true), phaseStartedEvent(3, 0, "load", 5), finishedEvent(4)]);
    expect(await screen.findByRole("heading", { level: 1, name: "VM pipeline" })).toBeTruthy();
    for (const name of ["Log", "Tree", "Inputs", "Artifacts"]) {
      expect(screen.getByRole("region", { name })).toBeTruthy();
    }
    expect(screen.getByRole("link", { name: "Run again" }).getAttribute("href")).toBe("/workflows/vm_pipeline?rerun=e1");
    expect(screen.getByRole("link", { name: "batch-9" }).getAttribute("href")).toBe("/batches/batch-9");
    expect(within(screen.getByRole("region", { name: "Inputs" })).getByText("/srv/m.yaml")).toBeTruthy();
    expect(within(screen.getByRole("region", { name: "Artifacts" })).getByText("/tmp/state.json")).toBeTruthy();

    const log = screen.getByRole("region", { name: "Log" });
    await waitFor(() => expect(within(log).getByText("Ended")).toBeTruthy());
    expect(within(log).getByText("4 lines")).toBeTruthy();
    expect(streams[0]).toMatchObject({ follow: true, fromSequence: 1 });
    const lines = within(log).getByRole("log", { name: "Log lines" });
    await waitFor(() => expect(within(lines).getByText("hello")).toBeTruthy());
    expect(within(lines).getByText('phase 1/5 "load"')).toBeTruthy();
  });

  it("shows what the run used once it has ended", async () => {
    setup([finishedEvent(1)], "/executions/e1", {
      extra: {
        usage: {
          $typeName: "workflow.v1.ResourceUsage",
          peakMemoryBytes: 3n * 1024n * 1024n,
          cpuTime: dur(1500),
        },
      },
    });
    expect(await screen.findByText("3.0 MiB peak memory, 1.50 s CPU")).toBeTruthy();
  });

  it("filters the log by stream and text", async () => {
    const user = userEvent.setup();
    setup([outputEvent(1, "hello"), outputEvent(2, "Oops", true), outputEvent(3, "bye"), finishedEvent(4)]);
    const log = await screen.findByRole("region", { name: "Log" });
    await waitFor(() => expect(within(log).getByText("4 lines")).toBeTruthy());

    await user.click(within(log).getByRole("checkbox", { name: "stdout" }));
    expect(within(log).getByText("2 lines of 4")).toBeTruthy();
    await user.click(within(log).getByRole("checkbox", { name: "stdout" }));
    await user.type(within(log).getByRole("searchbox", { name: "Search log" }), "OOPS");
    expect(within(log).getByText("1 line of 4")).toBeTruthy();
  });

  it("cancels with the daemon's default grace period unless one is given", async () => {
    const user = userEvent.setup();
    const { cancels } = setup([outputEvent(1, "working")]);
    await user.click(await screen.findByRole("button", { name: "Cancel" }));
    const dialog = screen.getByRole("dialog", { name: "Cancel this execution?" });
    const grace = within(dialog).getByRole<HTMLInputElement>("spinbutton", { name: "Grace period (seconds)" });
    expect(grace.value).toBe("");
    expect(grace.placeholder).toBe("daemon default");
    await user.click(within(dialog).getByRole("button", { name: "Confirm cancel" }));
    await waitFor(() => expect(cancels).toEqual([{}]));
  });

  it("refuses a grace period the browser cannot read as a number", async () => {
    const user = userEvent.setup();
    const { cancels } = setup([outputEvent(1, "working")]);
    await user.click(await screen.findByRole("button", { name: "Cancel" }));
    const dialog = screen.getByRole("dialog", { name: "Cancel this execution?" });
    const grace = within(dialog).getByRole<HTMLInputElement>("spinbutton", { name: "Grace period (seconds)" });
    // jsdom has no badInput: the browser's answer for "abc" in a number field.
    Object.defineProperty(grace, "validity", { configurable: true, get: () => ({ badInput: true, valid: false }) });
    fireEvent.input(grace, { target: { value: "" } });
    expect(grace.getAttribute("aria-invalid")).toBe("true");
    expect(within(dialog).getByText("A number of seconds, 0 or more.")).toBeTruthy();
    await user.click(within(dialog).getByRole("button", { name: "Confirm cancel" }));
    expect(cancels).toEqual([]);
  });

  it("moves focus to Run again when the run ends with the Cancel dialog open", async () => {
    const user = userEvent.setup();
    let end!: (e: Execution) => void;
    const ended = new Promise<Execution>((r) => (end = r));
    setup([outputEvent(1, "working")], "/executions/e1", { ended });
    await user.click(await screen.findByRole("button", { name: "Cancel" }));
    const dialog = screen.getByRole("dialog", { name: "Cancel this execution?" });
    // showModal() focuses this in a browser; jsdom has no showModal.
    within(dialog).getByRole("button", { name: "Keep running" }).focus();
    expect(dialog.contains(document.activeElement)).toBe(true);
    end(execution("e1", { state: ExecutionState.SUCCEEDED, workflowId: "vm_pipeline", workflowName: "VM pipeline" }));
    await waitFor(() => expect(screen.queryByRole("button", { name: "Cancel" })).toBeNull());
    await waitFor(() => expect(document.activeElement).toBe(screen.getByRole("link", { name: "Run again" })));
  });

  it("keeps the execution current by polling while its log cannot stream", async () => {
    const { gets } = setup([], "/executions/e1", { streamFails: true });
    const log = await screen.findByRole("region", { name: "Log" });
    await waitFor(() => expect(within(log).getByText(/Reconnecting/)).toBeTruthy());
    // No log event says the tree changed, yet it is loaded again.
    await waitFor(() => expect(gets()).toBeGreaterThanOrEqual(2), { timeout: 3500 });
  });

  it("cancels with the grace period after confirmation", async () => {
    const user = userEvent.setup();
    const { cancels } = setup([outputEvent(1, "working")]);
    await user.click(await screen.findByRole("button", { name: "Cancel" }));
    const dialog = screen.getByRole("dialog", { name: "Cancel this execution?" });
    const grace = within(dialog).getByRole("spinbutton", { name: "Grace period (seconds)" });
    await user.clear(grace);
    await user.type(grace, "30");
    await user.click(within(dialog).getByRole("button", { name: "Confirm cancel" }));
    await waitFor(() => expect(cancels).toEqual([{ gracePeriodMs: 30_000 }]));
  });

  it("force kills only after confirmation", async () => {
    const user = userEvent.setup();
    const { cancels } = setup([outputEvent(1, "working")]);
    await user.click(await screen.findByRole("button", { name: "Force kill" }));
    const dialog = screen.getByRole("dialog", { name: "Force kill this execution?" });
    await user.click(within(dialog).getByRole("button", { name: "Keep running" }));
    expect(cancels).toEqual([]);
    await user.click(screen.getByRole("button", { name: "Force kill" }));
    await user.click(within(screen.getByRole("dialog", { name: "Force kill this execution?" })).getByRole("button", { name: "Confirm force kill" }));
    await waitFor(() => expect(cancels).toEqual([{ force: true }]));
  });

  it("jumps to ?seq=N and stops following", async () => {
    setup([1, 2, 3, 4, 5].map((n) => outputEvent(n, `line ${n}`)).concat(finishedEvent(6)), "/executions/e1?seq=3");
    const log = await screen.findByRole("region", { name: "Log" });
    await waitFor(() => expect(log.querySelector('[data-seq="3"]')?.classList.contains("log-target")).toBe(true));
    expect(within(log).getByRole<HTMLInputElement>("checkbox", { name: "Follow" }).checked).toBe(false);
    expect(within(log).getByRole<HTMLInputElement>("spinbutton", { name: "Sequence" }).value).toBe("3");
  });

  it("jumps within memory without opening a new stream", async () => {
    const user = userEvent.setup();
    const { streams } = setup([1, 2, 3].map((n) => outputEvent(n, `line ${n}`)));
    const log = await screen.findByRole("region", { name: "Log" });
    await waitFor(() => expect(within(log).getByText("3 lines")).toBeTruthy());
    // Sequence 2 is in memory: no new stream.
    await user.type(within(log).getByRole("spinbutton", { name: "Sequence" }), "2");
    await user.click(within(log).getByRole("button", { name: "Jump" }));
    expect(streams).toHaveLength(1);
    expect(log.querySelector('[data-seq="2"]')?.classList.contains("log-target")).toBe(true);
  });

  it("keeps the final state terminal once the log has ended", async () => {
    // WaitExecution reports the end; GetExecution (asked again on the log's
    // `finished` event) still answers with the stale running state.
    const done = execution("e1", { state: ExecutionState.SUCCEEDED, workflowId: "vm_pipeline", workflowName: "VM pipeline" });
    const { gets } = setup([outputEvent(1, "working"), finishedEvent(2, ExecutionState.SUCCEEDED)], "/executions/e1", {
      ended: Promise.resolve(done),
    });
    const log = await screen.findByRole("region", { name: "Log" });
    await waitFor(() => expect(within(log).getByText("Ended")).toBeTruthy());
    await waitFor(() => expect(gets()).toBeGreaterThanOrEqual(2), { timeout: 2000 });
    await new Promise((r) => setTimeout(r, 50));
    const header = screen.getByRole("heading", { level: 1, name: "VM pipeline" }).parentElement as HTMLElement;
    expect(within(header).getByText("Succeeded")).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Cancel" })).toBeNull();
  });
});
