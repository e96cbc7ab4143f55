// The Manifest builder end to end: a real raw disk (qemu-img) under the
// daemon's source root, the four steps walked, the daemon's validation
// problem shown at the source path field and fixed, the manifest
// submitted, and the vm_pipeline run converting the disk for real.
import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

import { describe, expect, test } from "vitest";

import { dashboardSuite } from "./harness/suite.js";
import { executionIdOf, waitForExecutionState } from "./harness/page.js";

const run = promisify(execFile);
const suite = dashboardSuite();

async function findFile(dir: string, name: string): Promise<string | undefined> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name === name) return join(entry.parentPath, entry.name);
  }
  return undefined;
}

describe("the Manifest builder", () => {
  test("Source → Pipeline → Output → Review with a bad path fixed, then the disk is converted", async () => {
    const disk = join(suite.daemon.sourceRoot, "e2e-disk.raw");
    await run("qemu-img", ["create", "-f", "raw", disk, "16M"]);

    const { page } = await suite.open();
    await page.goto("/manifests/new");
    await page.getByRole("heading", { name: "Manifest builder", level: 1 }).waitFor();
    await page.getByRole("heading", { name: "Source", level: 2 }).waitFor();
    const steps = page.getByRole("navigation", { name: "Manifest builder steps" });
    expect(await steps.getByRole("link", { name: "Source" }).getAttribute("aria-current")).toBe("step");

    await page.getByRole("group", { name: "Source type" }).getByRole("radio", { name: "RAW" }).check();
    const sourcePath = page.getByRole("textbox", { name: "Source path" });
    // The fresh draft's empty path is a problem already; a relative one is
    // another: the daemon cannot know what it is relative to.
    await sourcePath.fill("e2e-disk.raw");
    const fieldId = (await sourcePath.getAttribute("id"))!;
    await page.locator(`[id="${fieldId}-error"]`, { hasText: /absolute/i }).waitFor();
    expect(await sourcePath.getAttribute("aria-invalid")).toBe("true");
    expect((await sourcePath.getAttribute("aria-describedby")) ?? "", "the problem is tied to the field").toContain(`${fieldId}-error`);
    // The step indicator counts it too.
    await steps.getByText("1 problem").waitFor();

    await sourcePath.fill(disk);
    await page.getByRole("status").filter({ hasText: "The manifest is valid." }).waitFor();
    expect(await sourcePath.getAttribute("aria-invalid")).toBe("false");

    await page.getByRole("button", { name: "Next" }).click();
    await page.waitForURL(/step=pipeline/);
    await page.getByRole("heading", { name: "Pipeline", level: 2 }).waitFor();
    await page.getByRole("button", { name: "Next" }).click();
    await page.waitForURL(/step=output/);
    await page.getByRole("heading", { name: "Output", level: 2 }).waitFor();
    expect(await page.getByRole("combobox", { name: "Output format" }).inputValue()).toBe("qcow2");
    await page.getByRole("button", { name: "Next" }).click();
    await page.waitForURL(/step=review/);
    await page.getByRole("heading", { name: "Review", level: 2 }).waitFor();
    // The review shows the manifest with the path as typed.
    await page.getByRole("heading", { name: "Manifest (JSON)" }).waitFor();
    expect(await page.locator("pre.manifest-text").first().textContent()).toContain(disk);
    // A reload keeps the step (URL) and the draft (session storage).
    await page.reload();
    await page.getByRole("heading", { name: "Review", level: 2 }).waitFor();

    const submit = page.getByRole("button", { name: "Submit", exact: true });
    await page.getByRole("status").filter({ hasText: "The manifest is valid." }).waitFor();
    await expectEnabled(submit);
    const submitted = page.waitForResponse((r) => r.url().includes("SubmitManifest"));
    await submit.click();
    expect((await submitted).ok()).toBe(true);
    await page.waitForURL(/\/executions\/[^/]+$/);
    const id = executionIdOf(page.url());
    await waitForExecutionState(page, "Succeeded", 45_000);
    const final = await suite.api.getExecution(id);
    expect(final.workflowId).toBe("vm_pipeline");
    expect(final.state).toBe("EXECUTION_STATE_SUCCEEDED");

    const output = await findFile(suite.daemon.outputDir, "e2e-disk.qcow2");
    expect(output, `e2e-disk.qcow2 under ${suite.daemon.outputDir}`).toBeDefined();
    const info = JSON.parse((await run("qemu-img", ["info", "--output=json", output!])).stdout) as { format: string; "virtual-size": number };
    expect(info.format).toBe("qcow2");
    expect(info["virtual-size"]).toBe(16 * 1024 * 1024);
  });
});

async function expectEnabled(button: import("playwright-core").Locator): Promise<void> {
  await expect.poll(() => button.isEnabled(), { timeout: 10_000 }).toBe(true);
}
