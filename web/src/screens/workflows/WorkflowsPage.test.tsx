import { cleanup, render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { DiscoveryError, WorkflowList } from "@workflow-manager/workflowd-client";

import { ClientContext } from "../../components/clientContext";
import { fakeClient } from "../../components/testFixtures";
import { WorkflowsPage, type WorkflowsPageClient } from "./WorkflowsPage";
import { field, researchWorkflow, text, workflow } from "./testFixtures";

afterEach(cleanup);

function renderPage(client: WorkflowsPageClient, pollMs?: number) {
  return render(
    <MemoryRouter>
      <ClientContext.Provider value={fakeClient(client)}>
        <WorkflowsPage {...(pollMs !== undefined ? { pollMs } : {})} />
      </ClientContext.Provider>
    </MemoryRouter>,
  );
}

const discoveryError = (programPath: string, message: string) =>
  ({ $typeName: "workflow.v1.DiscoveryError", programPath, message }) as DiscoveryError;

describe("WorkflowsPage", () => {
  it("lists every workflow with its id, description, field count and Run link, and the discovery errors", async () => {
    const list: WorkflowList = {
      workflows: [researchWorkflow(), workflow("hello", [field("name", text())], { name: "Hello" })],
      discoveryErrors: [discoveryError("/opt/workflows/broken", "exit status 2")],
      programsProbing: [],
    };
    renderPage({ listWorkflows: vi.fn(() => Promise.resolve(list)) });
    expect(screen.getByRole("heading", { level: 1, name: "Workflows" })).toBeTruthy();
    const run = await screen.findByRole("link", { name: "Run Research" });
    expect(run.getAttribute("href")).toBe("/workflows/research");
    const card = run.closest("li") as HTMLElement;
    expect(within(card).getByText("research")).toBeTruthy();
    expect(within(card).getByText("6 fields")).toBeTruthy();
    expect(within(card).getByText("Researches a topic in three phases.")).toBeTruthy();
    expect(screen.getByRole("link", { name: "Run Hello" }).getAttribute("href")).toBe("/workflows/hello");
    expect(screen.getByText("1 field")).toBeTruthy();

    const errors = screen.getByRole("region", { name: "Discovery errors" });
    expect(within(errors).getByRole("listitem").textContent).toBe("/opt/workflows/broken: exit status 2");
  });

  it("polls while programs are being probed and stops once they have answered", async () => {
    const probing: WorkflowList = { workflows: [], discoveryErrors: [], programsProbing: ["/opt/workflows/slow"] };
    const done: WorkflowList = { workflows: [workflow("slow", [], { name: "Slow" })], discoveryErrors: [], programsProbing: [] };
    const listWorkflows = vi.fn().mockResolvedValueOnce(probing).mockResolvedValue(done);
    renderPage({ listWorkflows }, 20);
    expect(await screen.findByText(/Still asking 1 program for their metadata: \/opt\/workflows\/slow/)).toBeTruthy();
    expect(await screen.findByRole("link", { name: "Run Slow" })).toBeTruthy();
    expect(screen.queryByText(/Still asking/)).toBeNull();
    expect(within(screen.getByRole("region", { name: "Discovery errors" })).queryByRole("listitem")).toBeNull();
    await new Promise((r) => setTimeout(r, 100));
    expect(listWorkflows).toHaveBeenCalledTimes(2);
  });

  it("says why the list failed and keeps retrying until the daemon answers", async () => {
    const done: WorkflowList = { workflows: [workflow("hello", [], { name: "Hello" })], discoveryErrors: [], programsProbing: [] };
    const listWorkflows = vi.fn().mockRejectedValueOnce(new Error("daemon unreachable")).mockResolvedValue(done);
    renderPage({ listWorkflows }, 20);
    expect((await screen.findByRole("alert")).textContent).toBe("daemon unreachable");
    expect(await screen.findByRole("link", { name: "Run Hello" })).toBeTruthy();
    expect(screen.queryByRole("alert")).toBeNull();
    await new Promise((r) => setTimeout(r, 100));
    expect(listWorkflows).toHaveBeenCalledTimes(2);
  });
});
