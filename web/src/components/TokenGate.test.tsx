import { cleanup, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { afterEach, describe, expect, it } from "vitest";

import { Shell } from "../App";
import { readToken } from "../apiToken";
import { fakeClient, listResponse, status } from "./testFixtures";

const GOOD = "wft_0123456789abcdef_good";

afterEach(() => {
  cleanup();
  sessionStorage.clear();
});

/** An UNAUTHENTICATED WorkflowError as the page's client rejects with it. */
function unauthenticated(rawMessage: string): Error {
  return Object.assign(new Error(`UNAUTHENTICATED: ${rawMessage}`), { codeName: "UNAUTHENTICATED", rawMessage });
}

/** A daemon run with --auth tokens that knows one token, GOOD; the client sends the tab's. */
function renderShell() {
  const client = fakeClient({
    status: () => {
      const token = readToken();
      if (token === GOOD) return Promise.resolve(status());
      return Promise.reject(unauthenticated(token === undefined ? "no API token" : `unknown API token ${token}`));
    },
    listExecutions: () => Promise.resolve(listResponse([])),
  });
  render(
    <MemoryRouter initialEntries={["/"]}>
      <Shell client={client} />
    </MemoryRouter>,
  );
}

describe("TokenGate", () => {
  it("asks for a token, keeps it for the tab only, and forgets it", async () => {
    const user = userEvent.setup();
    renderShell();
    await screen.findByRole("heading", { level: 1, name: "API token needed" });
    expect(screen.getByRole("main").textContent).toContain("This daemon needs an API token: make one with wfctl token create --role viewer");
    expect(screen.getByRole("status", { name: "Connection" }).textContent).toContain("API token needed");
    expect(screen.queryByRole("alert")).toBeNull();
    expect(screen.queryByRole("button", { name: "Forget token" })).toBeNull();
    const input = screen.getByLabelText("API token");
    expect(input.getAttribute("type")).toBe("password");

    // A token the daemon does not know: stored, sent, refused with the daemon's reason.
    await user.type(input, "wft_wrong");
    await user.click(screen.getByRole("button", { name: "Use token" }));
    expect(sessionStorage.getItem("workflowd.apiToken")).toBe("wft_wrong");
    expect((await screen.findByRole("alert")).textContent).toContain("The daemon refused the token: UNAUTHENTICATED: unknown API token wft_wrong");

    // The right one (blanks around it dropped): the screens come back.
    await user.type(screen.getByLabelText("API token"), ` ${GOOD} {Enter}`);
    await screen.findByRole("heading", { level: 1, name: "Overview" });
    expect(readToken()).toBe(GOOD);
    expect(localStorage.length).toBe(0);
    expect(screen.queryByRole("heading", { name: "API token needed" })).toBeNull();
    expect(screen.getByRole("status", { name: "Connection" }).textContent).toContain("Daemon connected");

    // Forgetting it removes it from the tab, and the daemon asks again.
    const header = screen.getByRole("banner");
    await user.click(within(header).getByRole("button", { name: "Forget token" }));
    expect(sessionStorage.getItem("workflowd.apiToken")).toBeNull();
    await screen.findByRole("heading", { level: 1, name: "API token needed" });
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("leaves the screens alone when the daemon is merely unreachable", async () => {
    render(
      <MemoryRouter initialEntries={["/no/such/page"]}>
        <Shell client={fakeClient({ status: () => Promise.reject(new Error("Failed to fetch")) })} />
      </MemoryRouter>,
    );
    await screen.findByText(/reconnecting/);
    expect(screen.getByRole("heading", { level: 1, name: "Page not found" })).toBeTruthy();
    expect(screen.queryByLabelText("API token")).toBeNull();
  });
});
