import { ExecutionState, type ListExecutionsFilter } from "@workflow-manager/workflowd-client";
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes, useLocation } from "react-router";
import { afterEach, describe, expect, it } from "vitest";

import { ClientContext } from "../../components/clientContext";
import { execution, fakeClient, listResponse, workflowMsg } from "../../components/testFixtures";
import { HistoryPage } from "./HistoryPage";

afterEach(cleanup);

function Location() {
  const loc = useLocation();
  return <output aria-label="location">{loc.pathname + loc.search}</output>;
}

function setup(url: string) {
  const calls: ListExecutionsFilter[] = [];
  const client = fakeClient({
    listWorkflows: () => Promise.resolve({ workflows: [workflowMsg("hello"), workflowMsg("vm_pipeline", "VM pipeline")], discoveryErrors: [], programsProbing: [] }),
    listExecutions: (filter = {}) => {
      calls.push(filter);
      const page = filter.pageToken ?? "";
      return Promise.resolve(
        listResponse(
          [execution(`exec-page-${page || "1"}`, { state: ExecutionState.SUCCEEDED })],
          page === "" ? "tok2" : page === "tok2" ? "tok3" : "",
        ),
      );
    },
  });
  render(
    <MemoryRouter initialEntries={[url]}>
      <ClientContext.Provider value={client}>
        <Routes>
          <Route path="/history" element={<HistoryPage />} />
        </Routes>
        <Location />
      </ClientContext.Provider>
    </MemoryRouter>,
  );
  return { calls };
}

const location = () => new URL(screen.getByLabelText("location").textContent ?? "", "http://x");

describe("HistoryPage", () => {
  it("puts the filters in the URL and asks the daemon for one page", async () => {
    const user = userEvent.setup();
    const { calls } = setup("/history");
    expect(screen.getByRole("heading", { level: 1, name: "History" })).toBeTruthy();
    await screen.findByRole("option", { name: "VM pipeline" });
    const form = screen.getByRole("form", { name: "Filters" });
    await user.selectOptions(within(form).getByRole("combobox", { name: "Workflow" }), "vm_pipeline");
    await user.click(within(form).getByRole("checkbox", { name: "Failed" }));
    await user.click(within(form).getByRole("checkbox", { name: "Timed out" }));
    await user.type(within(form).getByRole("textbox", { name: "Batch id" }), "b-1");
    await user.type(within(form).getByRole("textbox", { name: /Labels/ }), "vm=web01");
    await user.click(within(form).getByRole("button", { name: "Apply filters" }));

    const params = location().searchParams;
    expect(params.get("workflow")).toBe("vm_pipeline");
    expect(params.getAll("state")).toEqual(["FAILED", "TIMED_OUT"]);
    expect(params.get("batch")).toBe("b-1");
    expect(params.getAll("label")).toEqual(["vm=web01"]);
    await waitFor(() =>
      expect(calls.at(-1)).toMatchObject({
        pageSize: 50,
        workflowId: "vm_pipeline",
        states: [ExecutionState.FAILED, ExecutionState.TIMED_OUT],
        batchId: "b-1",
        labels: { vm: "web01" },
      }),
    );
  });

  it("fills the form from the URL", async () => {
    setup("/history?state=RUNNING&batch=b-7&after=2026-12-01");
    const form = screen.getByRole("form", { name: "Filters" });
    expect(within(form).getByRole<HTMLInputElement>("checkbox", { name: "Running" }).checked).toBe(true);
    expect(within(form).getByRole<HTMLInputElement>("textbox", { name: "Batch id" }).value).toBe("b-7");
    expect(within(form).getByLabelText<HTMLInputElement>("Created after").value).toBe("2026-12-01");
    await screen.findByRole("link", { name: "Execution exec-page-1" });
  });

  it("pages with Next and Previous through tokens in the URL", async () => {
    const user = userEvent.setup();
    const { calls } = setup("/history?workflow=hello");
    await screen.findByRole("link", { name: "Execution exec-page-1" });
    expect(screen.getByRole<HTMLButtonElement>("button", { name: "Previous" }).disabled).toBe(true);

    await user.click(screen.getByRole("button", { name: "Next" }));
    await screen.findByRole("link", { name: "Execution exec-page-tok2" });
    expect(location().searchParams.get("page")).toBe("tok2");
    expect(calls.at(-1)).toMatchObject({ pageToken: "tok2", workflowId: "hello" });

    await user.click(screen.getByRole("button", { name: "Next" }));
    await screen.findByRole("link", { name: "Execution exec-page-tok3" });
    expect(screen.getByRole<HTMLButtonElement>("button", { name: "Next" }).disabled).toBe(true);

    await user.click(screen.getByRole("button", { name: "Previous" }));
    await screen.findByRole("link", { name: "Execution exec-page-tok2" });
    await user.click(screen.getByRole("button", { name: "Previous" }));
    await screen.findByRole("link", { name: "Execution exec-page-1" });
    expect(location().search).toBe("?workflow=hello");
  });

  it("numbers pages beyond the tokens it keeps, and offers to start over where Previous cannot go", async () => {
    const user = userEvent.setup();
    setup("/history?workflow=hello&page=tok2&skipped=29");
    const pages = screen.getByRole("navigation", { name: "Pages" });
    expect(within(pages).getByText("Page 30")).toBeTruthy();
    expect(within(pages).getByRole<HTMLButtonElement>("button", { name: "Previous" }).disabled).toBe(true);
    await user.click(within(pages).getByRole("button", { name: "First page" }));
    await waitFor(() => expect(location().search).toBe("?workflow=hello"));
    expect(within(pages).getByText("Page 1")).toBeTruthy();
    expect(within(pages).queryByRole("button", { name: "First page" })).toBeNull();
  });
});
