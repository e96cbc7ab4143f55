import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes, useParams } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Code, WorkflowError, type Execution, type Inputs, type ListExecutionsResponse } from "@workflow-manager/workflowd-client";

import { ClientContext } from "../../components/clientContext";
import { fakeClient as dashboardClient } from "../../components/testFixtures";
import { WorkflowPage, type WorkflowPageClient } from "./WorkflowPage";
import { execution, researchWorkflow } from "./testFixtures";

afterEach(cleanup);

function ExecutionStub() {
  const { executionId } = useParams();
  return <h1>Execution {executionId}</h1>;
}

function fakeClient(overrides: Partial<WorkflowPageClient> = {}) {
  const calls = {
    validateInputs: [] as [string, Inputs | undefined][],
    execute: [] as [string, Inputs | undefined, unknown][],
  };
  const client: WorkflowPageClient = {
    getWorkflow: vi.fn(() => Promise.resolve(researchWorkflow())),
    getExecution: vi.fn(() => Promise.reject(new WorkflowError(Code.NotFound, "no such execution"))),
    listExecutions: vi.fn(() => Promise.resolve({ executions: [] } as unknown as ListExecutionsResponse)),
    validateInputs: vi.fn((id: string, inputs?: Inputs) => {
      calls.validateInputs.push([id, inputs]);
      return Promise.resolve({} as Awaited<ReturnType<WorkflowPageClient["validateInputs"]>>);
    }),
    execute: vi.fn((id: string, inputs?: Inputs, o?: unknown) => {
      calls.execute.push([id, inputs, o]);
      return Promise.resolve(execution("exec-1"));
    }),
    ...overrides,
  };
  return { client, calls };
}

function renderPage(client: WorkflowPageClient, url = "/workflows/research") {
  return render(
    <MemoryRouter initialEntries={[url]}>
      <ClientContext.Provider value={dashboardClient(client)}>
        <Routes>
          <Route path="/workflows/:workflowId" element={<WorkflowPage />} />
          <Route path="/executions/:executionId" element={<ExecutionStub />} />
        </Routes>
      </ClientContext.Provider>
    </MemoryRouter>,
  );
}

function describedText(el: HTMLElement): string {
  return (el.getAttribute("aria-describedby") ?? "")
    .split(" ")
    .map((id) => document.getElementById(id)?.textContent ?? "")
    .join(" | ");
}

describe("WorkflowPage", () => {
  it("renders a labelled control of the right kind for every field, defaults prefilled", async () => {
    const { client } = fakeClient();
    renderPage(client);
    expect(await screen.findByRole("heading", { level: 1, name: "Research" })).toBeTruthy();
    expect(screen.getByText("Researches a topic in three phases.")).toBeTruthy();

    const topic = screen.getByRole("textbox", { name: "Topic" });
    expect(topic.getAttribute("aria-required")).toBe("true");
    expect(describedText(topic)).toContain("What to research.");

    const depth = screen.getByRole<HTMLInputElement>("spinbutton", { name: "Depth" });
    expect([depth.min, depth.max, depth.value]).toEqual(["1", "5", "2"]);

    const fmt = screen.getByRole<HTMLSelectElement>("combobox", { name: "Format" });
    expect(fmt.value).toBe("md");
    expect([...fmt.options].map((o) => o.value)).toEqual(["md", "html"]);

    expect(describedText(screen.getByRole("textbox", { name: "Config file" }))).toContain("matching *.yaml");
    expect(describedText(screen.getByRole("textbox", { name: "Resume from" }))).toContain("Produced by phase 2");

    const boxes = screen.getAllByRole<HTMLInputElement>("checkbox");
    expect(boxes.map((b) => [b.labels?.[0]?.textContent?.trim(), b.checked])).toEqual([
      ["Phase 1", true],
      ["Phase 2", true],
      ["Phase 3", true],
    ]);
    expect(screen.getByRole("group", { name: /Phases/ })).toBeTruthy();
  });

  it("validates the encoded inputs, then executes them with the labels and timeout, then opens the execution", async () => {
    const user = userEvent.setup();
    const { client, calls } = fakeClient();
    renderPage(client);
    await user.type(await screen.findByRole("textbox", { name: "Topic" }), "rust");
    const depth = screen.getByRole("spinbutton", { name: "Depth" });
    await user.clear(depth);
    await user.type(depth, "4");
    await user.selectOptions(screen.getByRole("combobox", { name: "Format" }), "html");
    await user.click(screen.getByRole("checkbox", { name: "Phase 2" }));
    await user.click(screen.getByText("Advanced"));
    await user.type(screen.getByRole("textbox", { name: "Labels" }), "team=vm{Enter}ticket=42");
    await user.type(screen.getByRole("spinbutton", { name: "Timeout (s)" }), "90");
    await user.click(screen.getByRole("button", { name: "Run" }));

    expect(await screen.findByRole("heading", { name: "Execution exec-1" })).toBeTruthy();
    const expected = { topic: "rust", depth: 4, fmt: "html", phases: [0, 2] };
    expect(calls.validateInputs).toEqual([["research", expected]]);
    expect(calls.execute).toHaveLength(1);
    const [id, inputs, options] = calls.execute[0] ?? [];
    expect([id, inputs]).toEqual(["research", expected]);
    expect(options).toMatchObject({ labels: { team: "vm", ticket: "42" }, executionTimeoutMs: 90000 });
    expect(typeof (options as { requestId?: unknown }).requestId).toBe("string");
  });

  it("shows each violation at its field, focuses the first, and does not execute", async () => {
    const user = userEvent.setup();
    const violations = [
      { field: "inputs.resume", description: "is required when phase 2 is selected" },
      { field: "inputs.depth", description: "must be <= 5, got 9" },
      { field: "inputs.extra", description: "unknown input; this workflow takes: topic, depth" },
    ];
    const { client, calls } = fakeClient({
      validateInputs: vi.fn(() => Promise.reject(new WorkflowError(Code.InvalidArgument, "invalid inputs", violations))),
    });
    renderPage(client);
    await user.click(await screen.findByRole("button", { name: "Run" }));

    const depth = screen.getByRole("spinbutton", { name: "Depth" });
    await waitFor(() => expect(depth.getAttribute("aria-invalid")).toBe("true"));
    expect(describedText(depth)).toContain("must be <= 5, got 9");
    expect(depth.parentElement?.querySelector(".field-error")?.textContent).toBe("must be <= 5, got 9");
    const resume = screen.getByRole("textbox", { name: "Resume from" });
    expect(resume.getAttribute("aria-invalid")).toBe("true");
    expect(resume.parentElement?.querySelector(".field-error")?.textContent).toBe("is required when phase 3 is selected"); // the daemon's index 2
    // Fields without a violation stay valid.
    expect(screen.getByRole("textbox", { name: "Topic" }).getAttribute("aria-invalid")).toBe("false");
    // Depth comes before Resume in the form, so it is the first invalid field.
    expect(document.activeElement).toBe(depth);

    const summary = screen.getByRole("heading", { name: "3 problems with the inputs" }).parentElement;
    expect([...(summary?.querySelectorAll("li") ?? [])].map((li) => li.textContent)).toEqual([
      "Depth: must be <= 5, got 9",
      "Resume from: is required when phase 3 is selected",
      "inputs.extra: unknown input; this workflow takes: topic, depth",
    ]);
    expect(calls.execute).toHaveLength(0);
  });

  it("shows an error that is not about the inputs in the banner", async () => {
    const user = userEvent.setup();
    const { client } = fakeClient({
      execute: vi.fn(() => Promise.reject(new WorkflowError(Code.ResourceExhausted, "the queue is full"))),
    });
    renderPage(client);
    await user.type(await screen.findByRole("textbox", { name: "Topic" }), "rust");
    await user.click(screen.getByRole("button", { name: "Run" }));
    const banner = await screen.findByRole("alert");
    expect(banner.className).toBe("error-banner");
    expect(banner.textContent).toBe("RESOURCE_EXHAUSTED: the queue is full");
  });

  it("prefills the form from the execution named by ?rerun, phase names included", async () => {
    const previous = execution("exec-0", {
      inputs: { topic: "go", depth: "3", fmt: "html", phases: "0,2", resume: "/srv/state/run.json" },
      labels: { team: "vm" },
      timeout: { seconds: 120n, nanos: 0 } as Execution["timeout"],
      phases: [
        { index: 0, name: "gather" },
        { index: 1, name: "analyse" },
        { index: 2, name: "write" },
      ] as Execution["phases"],
    });
    const getExecution = vi.fn(() => Promise.resolve(previous));
    const { client } = fakeClient({ getExecution });
    renderPage(client, "/workflows/research?rerun=exec-0");

    const topic = await screen.findByRole<HTMLInputElement>("textbox", { name: "Topic" });
    expect(getExecution).toHaveBeenCalledWith("exec-0", expect.anything());
    expect(topic.value).toBe("go");
    expect(screen.getByRole<HTMLInputElement>("spinbutton", { name: "Depth" }).value).toBe("3");
    expect(screen.getByRole<HTMLSelectElement>("combobox", { name: "Format" }).value).toBe("html");
    expect(screen.getByRole<HTMLInputElement>("textbox", { name: "Resume from" }).value).toBe("/srv/state/run.json");
    expect(screen.getByRole<HTMLInputElement>("checkbox", { name: "Phase 1: gather" }).checked).toBe(true);
    expect(screen.getByRole<HTMLInputElement>("checkbox", { name: "Phase 2: analyse" }).checked).toBe(false);
    expect(screen.getByRole<HTMLInputElement>("checkbox", { name: "Phase 3: write" }).checked).toBe(true);
    expect(screen.getByRole<HTMLTextAreaElement>("textbox", { name: "Labels", hidden: true }).value).toBe("team=vm");
    expect(screen.getByRole<HTMLInputElement>("spinbutton", { name: "Timeout (s)", hidden: true }).value).toBe("120");
  });

  it("names the phases after the workflow's latest run when there is one", async () => {
    const latest = execution("exec-9", {
      phases: [
        { index: 0, name: "gather" },
        { index: 2, name: "write" },
      ] as Execution["phases"],
    });
    const listExecutions = vi.fn(() => Promise.resolve({ executions: [execution("exec-9")] } as unknown as ListExecutionsResponse));
    const getExecution = vi.fn(() => Promise.resolve(latest));
    const { client } = fakeClient({ listExecutions, getExecution });
    renderPage(client);
    expect(await screen.findByRole("checkbox", { name: "Phase 3: write" })).toBeTruthy();
    expect(screen.getByRole("checkbox", { name: "Phase 2" })).toBeTruthy();
    expect(listExecutions).toHaveBeenCalledWith({ workflowId: "research", pageSize: 1 }, expect.anything());
    expect(getExecution).toHaveBeenCalledWith("exec-9", expect.anything());
  });

  it("says so when the workflow does not exist", async () => {
    const { client } = fakeClient({
      getWorkflow: vi.fn(() => Promise.reject(new WorkflowError(Code.NotFound, "workflow nope not found"))),
    });
    renderPage(client, "/workflows/nope");
    expect((await screen.findByRole("alert")).textContent).toBe("NOT_FOUND: workflow nope not found");
  });

  it("reports text a number field cannot read at that field instead of dropping it", async () => {
    const user = userEvent.setup();
    const { client, calls } = fakeClient();
    renderPage(client);
    const depth = await screen.findByRole<HTMLInputElement>("spinbutton", { name: "Depth" });
    await user.type(screen.getByRole("textbox", { name: "Topic" }), "rust");
    // jsdom has no badInput: what the browser says after "abc" in a number field.
    Object.defineProperty(depth, "validity", { configurable: true, get: () => ({ badInput: true, valid: false }) });
    fireEvent.input(depth, { target: { value: "" } });
    await user.click(screen.getByRole("button", { name: "Run" }));
    await waitFor(() => expect(depth.getAttribute("aria-invalid")).toBe("true"));
    expect(depth.parentElement?.querySelector(".field-error")?.textContent).toBe("must be a number");
    expect(screen.getByRole("alert").textContent).toContain("Depth: must be a number");
    expect(calls.execute).toEqual([]);
  });

  it("reports text the timeout field cannot read", async () => {
    const user = userEvent.setup();
    const { client, calls } = fakeClient();
    renderPage(client);
    await user.type(await screen.findByRole("textbox", { name: "Topic" }), "rust");
    await user.click(screen.getByText("Advanced"));
    const timeout = screen.getByRole<HTMLInputElement>("spinbutton", { name: "Timeout (s)" });
    Object.defineProperty(timeout, "validity", { configurable: true, get: () => ({ badInput: true, valid: false }) });
    fireEvent.input(timeout, { target: { value: "" } });
    await user.click(screen.getByRole("button", { name: "Run" }));
    await waitFor(() => expect(timeout.getAttribute("aria-invalid")).toBe("true"));
    expect(screen.getByRole("alert").textContent).toContain("Timeout (s): must be a number");
    expect(calls.execute).toEqual([]);
  });

  it("keeps the request id for a retry of the same form, and makes a new one when labels or the timeout change", async () => {
    const user = userEvent.setup();
    const { client, calls } = fakeClient({
      execute: vi.fn((id: string, inputs?: Inputs, o?: unknown) => {
        calls.execute.push([id, inputs, o]);
        return Promise.reject(new WorkflowError(Code.Unavailable, "daemon restarting"));
      }),
    });
    renderPage(client);
    await user.type(await screen.findByRole("textbox", { name: "Topic" }), "rust");
    const run = screen.getByRole("button", { name: "Run" });
    const idOf = (i: number) => (calls.execute[i]?.[2] as { requestId?: string } | undefined)?.requestId;
    await user.click(run);
    await waitFor(() => expect(calls.execute).toHaveLength(1));
    await waitFor(() => expect((run as HTMLButtonElement).disabled).toBe(false));
    await user.click(run);
    await waitFor(() => expect(calls.execute).toHaveLength(2));
    expect(idOf(1)).toBe(idOf(0));

    await user.click(screen.getByText("Advanced"));
    await user.type(screen.getByRole("textbox", { name: "Labels" }), "team=vm");
    await waitFor(() => expect((run as HTMLButtonElement).disabled).toBe(false));
    await user.click(run);
    await waitFor(() => expect(calls.execute).toHaveLength(3));
    expect(idOf(2)).not.toBe(idOf(1));

    await user.type(screen.getByRole("spinbutton", { name: "Timeout (s)" }), "60");
    await user.click(run);
    await waitFor(() => expect(calls.execute).toHaveLength(4));
    expect(idOf(3)).not.toBe(idOf(2));
  });
});
