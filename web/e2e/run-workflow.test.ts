// Running a workflow from its form: the daemon's validation shown at the
// field, the submit landing on the execution page, and that page filling
// live (tree and log) until the run ends.
import { describe, expect, test } from "vitest";

import { dashboardSuite } from "./harness/suite.js";
import { executionIdOf, executionState, waitForExecutionState } from "./harness/page.js";

const suite = dashboardSuite();

describe("the Run form", () => {
  test("research_pipeline: a missing Topic is shown at its field, then the run succeeds", async () => {
    const { page } = await suite.open();
    await page.goto("/workflows");
    await page.getByRole("heading", { name: "Workflows", level: 1 }).waitFor();
    await page.getByRole("link", { name: "Run Research pipeline" }).click();
    await page.waitForURL(/\/workflows\/research_pipeline$/);
    await page.getByRole("heading", { name: "Research pipeline", level: 1 }).waitFor();

    const topic = page.getByRole("textbox", { name: "Topic" });
    await topic.waitFor();
    expect(await topic.inputValue()).toBe("");
    const validated = page.waitForResponse((r) => r.url().includes("ValidateInputs"));
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await validated;
    await page.locator("#" + (await topic.getAttribute("id"))! + "[aria-invalid=true]").waitFor();
    // The message is the field's own, tied to it by aria-describedby.
    const describedBy = (await topic.getAttribute("aria-describedby")) ?? "";
    const messages = await Promise.all(describedBy.split(" ").map((id) => page.locator(`[id="${id}"]`).textContent()));
    expect(messages.join(" ")).toMatch(/required|missing|topic/i);
    expect(page.url()).toMatch(/\/workflows\/research_pipeline$/);

    await topic.fill("soil microbes");
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page.waitForURL(/\/executions\/[^/]+$/);
    const id = executionIdOf(page.url());

    const tree = page.getByRole("region", { name: "Tree" });
    for (const phase of ["Phase 1/3: plan", "Phase 2/3: research", "Phase 3/3: write"]) {
      await tree.getByText(phase).waitFor();
    }
    await page.getByRole("log", { name: "Log lines" }).getByText("phase write done").waitFor();
    await waitForExecutionState(page, "Succeeded");
    expect((await suite.api.getExecution(id)).state).toBe("EXECUTION_STATE_SUCCEEDED");
    // The state file the program reported is listed.
    await page.getByRole("region", { name: "Artifacts" }).getByText("plan.state.json").waitFor();
    await page.getByRole("region", { name: "Inputs" }).getByText("soil microbes").first().waitFor();

    // Run again: the form again, filled with this execution's inputs.
    await page.getByRole("group", { name: "Actions" }).getByRole("link", { name: "Run again" }).click();
    await page.waitForURL(new RegExp(`/workflows/research_pipeline\\?rerun=${id}$`));
    await page.getByRole("link", { name: id }).waitFor();
    expect(await page.getByRole("textbox", { name: "Topic" }).inputValue()).toBe("soil microbes");
  });

  test("phased: the tree and the log fill while the execution runs", async () => {
    const { page } = await suite.open();
    await page.goto("/workflows/phased");
    await page.getByRole("heading", { name: "Phased", level: 1 }).waitFor();
    await page.getByRole("spinbutton", { name: "Seconds per phase" }).fill("1.5");
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page.waitForURL(/\/executions\/[^/]+$/);

    const tree = page.getByRole("region", { name: "Tree" });
    const log = page.getByRole("log", { name: "Log lines" });
    await tree.getByText("Phase 1/4: prepare").waitFor();
    // The second phase and the first phase's output arrive while the run is
    // still going: the page is fed by the stream, not loaded once.
    await tree.getByText("Phase 2/4: copy").waitFor();
    await log.getByText("phase prepare done").waitFor();
    expect(await executionState(page).textContent()).toBe("Running");
    // The daemon's estimate, shown while it runs: stage, progress, ETA.
    await page.locator(".facts div", { hasText: "Stage" }).getByText(/^(copy|convert|verify)$/).waitFor();
    const progress = page.getByRole("progressbar", { name: "Execution progress" });
    await progress.waitFor();
    expect(Number(await progress.getAttribute("value"))).toBeGreaterThanOrEqual(0.25);
    await page.locator(".facts div", { hasText: "Estimate" }).getByText(/^ETA \d/).waitFor();
    await tree.getByText("Phase 4/4: verify").waitFor({ timeout: 20_000 });
    await waitForExecutionState(page, "Succeeded", 20_000);
    await log.getByText("phase verify done").waitFor();
    await page.getByRole("region", { name: "Artifacts" }).getByText("phased.state.json").waitFor();
  });
});
