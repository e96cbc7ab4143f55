import { cleanup, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { afterEach, describe, expect, it } from "vitest";

import { Shell } from "./App";
import { fakeClient, listResponse, status } from "./components/testFixtures";

afterEach(cleanup);

function renderAt(url: string, healthy = true) {
  const client = fakeClient({
    status: () => (healthy ? Promise.resolve(status()) : Promise.reject(new Error("Failed to fetch"))),
    listExecutions: () => Promise.resolve(listResponse([])),
  });
  render(
    <MemoryRouter initialEntries={[url]}>
      <Shell client={client} />
    </MemoryRouter>,
  );
}

describe("App shell", () => {
  it("marks the current page in the navigation and links to the content", async () => {
    renderAt("/history");
    const nav = screen.getByRole("navigation", { name: "Main" });
    expect(nav.querySelector('[aria-current="page"]')?.textContent).toBe("History");
    expect(screen.getByRole("link", { name: "Overview" }).getAttribute("aria-current")).toBeNull();
    expect(screen.getByRole("link", { name: "Skip to content" }).getAttribute("href")).toBe("#main-content");
    expect(screen.getByRole("main").id).toBe("main-content");
    await waitFor(() => expect(screen.getByRole("status", { name: "Connection" }).textContent).toContain("Daemon connected"));
  });

  it("says when the daemon cannot be reached", async () => {
    renderAt("/", false);
    await waitFor(() => expect(screen.getByRole("status", { name: "Connection" }).textContent).toContain("reconnecting"));
  });

  it("has a not-found page", () => {
    renderAt("/no/such/page");
    expect(screen.getByRole("heading", { level: 1, name: "Page not found" })).toBeTruthy();
  });
});
