// The Overview against a live daemon: the status cards follow the history
// (processed and failed today), the Active tab lists a running execution
// with its stage, the Failed tab a failed one, and the tab is in the URL:
// a deep link and a reload land on it.
import { describe, expect, test } from "vitest";
import type { Page } from "playwright-core";

import { dashboardSuite } from "./harness/suite.js";

const suite = dashboardSuite();

function stat(page: Page, label: string) {
  return page.getByRole("region", { name: "Status" }).locator(".stat", { hasText: label }).locator(".stat-value");
}

/** Waits until a status card shows `value` (the page polls GetStatus). */
async function waitForStat(page: Page, label: string, value: string): Promise<void> {
  await page
    .getByRole("region", { name: "Status" })
    .locator(".stat", { hasText: label })
    .locator(".stat-value", { hasText: new RegExp(`^${value}$`) })
    .waitFor({ timeout: 10_000 });
}

/** The link to one execution's page (its text is the workflow and a short form of the id). */
function executionLink(page: Page, workflowName: string, id: string) {
  return page.getByRole("link", { name: new RegExp(`^${workflowName} `) }).and(page.locator(`[href="/executions/${id}"]`));
}

function tab(page: Page, name: string, selected?: boolean) {
  return page.getByRole("tablist", { name: "Executions by state" }).getByRole("tab", { name, ...(selected === undefined ? {} : { selected }) });
}

describe("the Overview", () => {
  test("processed and failed today count up as executions end", async () => {
    const { page } = await suite.open();
    await page.goto("/");
    await page.getByRole("heading", { name: "Overview", level: 1 }).waitFor();
    await waitForStat(page, "Processed today", "0");
    await waitForStat(page, "Failed today", "0");

    const hello = await suite.api.execute("hello", { name: "overview" });
    expect((await suite.api.wait(hello.id)).state).toBe("EXECUTION_STATE_SUCCEEDED");
    await waitForStat(page, "Processed today", "1");

    const failing = await suite.api.execute("phased", { phase_seconds: 0, fail_at: 0 });
    expect((await suite.api.wait(failing.id)).state).toBe("EXECUTION_STATE_FAILED");
    await waitForStat(page, "Failed today", "1");
    expect(await stat(page, "Processed today").textContent()).toBe("1");
  });

  test("the Active tab lists a running execution with its stage, progress and ETA", async () => {
    const running = await suite.api.execute("phased", { phase_seconds: 4 });
    try {
      const { page } = await suite.open();
      await page.goto("/");
      await tab(page, "Active", true).waitFor();
      const table = page.getByRole("table", { name: "Active executions" });
      const row = table.getByRole("row").filter({ has: executionLink(page, "Phased", running.id) });
      await row.waitFor();
      await row.getByText("Running", { exact: true }).waitFor();
      // The stage is the running phase's name (Execution.current_phase).
      await row.getByRole("cell", { name: /^(prepare|copy|convert|verify)$/ }).waitFor({ timeout: 10_000 });
      // Its progress and ETA are the daemon's estimate (docs/estimates.md):
      // the phases done out of the four announced, and the pace so far.
      await row.getByRole("cell", { name: /^ETA \d/ }).waitFor({ timeout: 10_000 });
      const progress = row.getByRole("progressbar");
      await progress.waitFor();
      expect(Number(await progress.getAttribute("value"))).toBeGreaterThan(0);
      expect(Number(await progress.getAttribute("value"))).toBeLessThan(1);
    } finally {
      // It may have ended by itself when a check above timed out.
      await suite.api.cancel(running.id, { force: true }).catch(() => undefined);
    }
  });

  test("the Failed tab lists a failed execution, by click, by deep link and after a reload", async () => {
    const failed = await suite.api.execute("phased", { phase_seconds: 0, fail_at: 1 });
    expect((await suite.api.wait(failed.id)).state).toBe("EXECUTION_STATE_FAILED");
    const link = (page: Page) => executionLink(page, "Phased", failed.id);

    const { page } = await suite.open();
    await page.goto("/");
    await tab(page, "Failed").click();
    await page.waitForURL(/\?tab=failed$/);
    const table = page.getByRole("table", { name: "Failed executions" });
    await table.getByRole("row").filter({ has: link(page) }).getByText("Failed", { exact: true }).waitFor();

    await page.reload();
    await table.waitFor();
    await tab(page, "Failed", true).waitFor();
    await table.getByRole("row").filter({ has: link(page) }).waitFor();

    // A deep link to another tab; arrow keys move between tabs and the URL follows.
    await page.goto("/?tab=completed");
    await tab(page, "Completed", true).waitFor();
    await page.getByRole("table", { name: "Completed executions" }).or(page.getByText("No completed executions.")).first().waitFor();
    await tab(page, "Completed").focus();
    await page.keyboard.press("ArrowRight");
    await page.waitForURL(/\?tab=failed$/);
    await tab(page, "Failed", true).waitFor();
    await link(page).waitFor();

    // The link opens the execution.
    await link(page).click();
    await page.waitForURL(new RegExp(`/executions/${failed.id}$`));
    await page.getByRole("main").locator(".page-header .badge", { hasText: /^Failed$/ }).waitFor();
  });
});
