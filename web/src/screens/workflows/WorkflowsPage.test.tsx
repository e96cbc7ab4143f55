import { cleanup, render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { DiscoveryError, WorkflowList } from "@workflow-manager/workflowd-client";

import { WorkflowsPage } from "./WorkflowsPage";
import { field, researchWorkflow, text, workflow } from "./testFixtures";

afterEach(cleanup);

const discoveryError = (programPath: string, message: string) =>
  ({ $typeName: "workflow.v1.DiscoveryError", programPath, message }) as DiscoveryError;

describe("WorkflowsPage", () => {
  it("lists every workflow with its id, description, field count and Run link, and the discovery errors", async () => {
    const list: WorkflowList = {
      workflows: [researchWorkflow(), workflow("hello", [field("name", text())], { name: "Hello" })],
      discoveryErrors: [discoveryError("/opt/workflows/broken", "exit status 2")],
      programsProbing: [],
    };
    render(
      <MemoryRouter>
        <WorkflowsPage client={{ listWorkflows: vi.fn(() => Promise.resolve(list)) }} />
      </MemoryRouter>,
    );
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
    render(
      <MemoryRouter>
        <WorkflowsPage client={{ listWorkflows }} pollMs={20} />
      </MemoryRouter>,
    );
    expect(await screen.findByText(/Still asking 1 program for their metadata: \/opt\/workflows\/slow/)).toBeTruthy();
    expect(await screen.findByRole("link", { name: "Run Slow" })).toBeTruthy();
    expect(screen.queryByText(/Still asking/)).toBeNull();
    expect(within(screen.getByRole("region", { name: "Discovery errors" })).queryByRole("listitem")).toBeNull();
    await new Promise((r) => setTimeout(r, 100));
    expect(listWorkflows).toHaveBeenCalledTimes(2);
  });
});
