// Stopping executions from their page: Cancel (SIGTERM, then the daemon's
// SIGKILL after the grace period given in the dialog) on a program that
// ignores SIGTERM, and Force kill.
import { describe, expect, test } from "vitest";

import { dashboardSuite } from "./harness/suite.js";
import { executionState, waitForExecutionState } from "./harness/page.js";

const suite = dashboardSuite();

describe("cancel and force kill", () => {
  test("Cancel with a 1 s grace period ends a SIGTERM-ignoring execution as Cancelled", async () => {
    const execution = await suite.api.execute("ignore_sigterm", { seconds: 600 });
    const { page } = await suite.open();
    await page.goto(`/executions/${execution.id}`);
    await waitForExecutionState(page, "Running");
    await page.getByRole("log", { name: "Log lines" }).getByText("running with grandchild").waitFor();

    const actions = page.getByRole("group", { name: "Actions" });
    await actions.getByRole("button", { name: "Cancel", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Cancel this execution?" });
    await dialog.waitFor();
    await dialog.getByRole("spinbutton", { name: "Grace period (seconds)" }).fill("1");
    const cancelled = page.waitForResponse((r) => r.url().includes("/Cancel"));
    await dialog.getByRole("button", { name: "Confirm cancel" }).click();
    const confirmedAt = Date.now();
    expect((await cancelled).ok()).toBe(true);
    await dialog.waitFor({ state: "hidden" });

    // The program says it ignored SIGTERM; only the SIGKILL a second later ends it.
    await page.getByRole("log", { name: "Log lines" }).getByText("got SIGTERM, ignoring it").waitFor();
    await waitForExecutionState(page, "Cancelled", 15_000);
    expect(Date.now() - confirmedAt, "the grace period was waited out").toBeGreaterThanOrEqual(900);
    const final = await suite.api.getExecution(execution.id);
    expect(final.state).toBe("EXECUTION_STATE_CANCELLED");
    expect(final.signal, "SIGKILL ended it").toBe(9);
    await page.locator(".facts div", { hasText: "Signal" }).getByText("9", { exact: true }).waitFor();
    // An ended execution offers no Cancel any more.
    expect(await actions.getByRole("button", { name: "Cancel", exact: true }).count()).toBe(0);
  });

  test("Force kill ends another at once as Cancelled", async () => {
    const execution = await suite.api.execute("ignore_sigterm", { seconds: 600 });
    const { page } = await suite.open();
    await page.goto(`/executions/${execution.id}`);
    await waitForExecutionState(page, "Running");

    await page.getByRole("group", { name: "Actions" }).getByRole("button", { name: "Force kill" }).click();
    const dialog = page.getByRole("dialog", { name: "Force kill this execution?" });
    await dialog.waitFor();
    // Escape keeps it running: the dialog is a real modal.
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    expect(await executionState(page).textContent()).toBe("Running");

    await page.getByRole("group", { name: "Actions" }).getByRole("button", { name: "Force kill" }).click();
    await dialog.getByRole("button", { name: "Confirm force kill" }).click();
    // No SIGTERM round: the grace period of 10 s would otherwise show.
    await waitForExecutionState(page, "Cancelled", 5_000);
    expect((await suite.api.getExecution(execution.id)).state).toBe("EXECUTION_STATE_CANCELLED");
  });
});
