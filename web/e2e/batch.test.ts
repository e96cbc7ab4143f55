// The batch page: a two-VM batch manifest (submitted through the JSON API,
// with real raw disks made by qemu-img) shows both VMs and reaches 100 %.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

import { describe, expect, test } from "vitest";

import { dashboardSuite } from "./harness/suite.js";

const run = promisify(execFile);
const suite = dashboardSuite();

describe("the batch page", () => {
  test("a two-VM batch lists both VMs and reaches 100 %", async () => {
    const disks = ["batch-a.raw", "batch-b.raw"].map((name) => join(suite.daemon.sourceRoot, name));
    await Promise.all(disks.map((disk) => run("qemu-img", ["create", "-f", "raw", disk, "8M"])));
    const manifest = {
      version: "1.0",
      batch: true,
      vms: [
        { name: "vm-a", pipeline: { load: { source_type: "raw", source_path: disks[0] }, convert: { output_format: "qcow2" } } },
        { name: "vm-b", pipeline: { load: { source_type: "raw", source_path: disks[1] }, convert: { output_format: "raw" } } },
      ],
    };
    const submitted = await suite.api.submitManifest(JSON.stringify(manifest), "e2e-batch.json");
    const batchId = submitted.batchId ?? "";
    expect(batchId).not.toBe("");
    expect(submitted.vms.map((vm) => vm.name)).toEqual(["vm-a", "vm-b"]);

    const { page } = await suite.open();
    await page.goto(`/batches/${batchId}`);
    await page.getByRole("heading", { name: `Batch ${batchId}`, level: 1 }).waitFor();
    const table = page.getByRole("table", { name: `Executions of batch ${batchId}` });
    for (const vm of ["vm-a", "vm-b"]) {
      await table.getByRole("row").filter({ has: page.getByRole("link", { name: vm, exact: true }) }).waitFor();
    }
    const summary = page.getByRole("region", { name: "Summary" });
    await summary.getByText("100 %").waitFor({ timeout: 30_000 });
    expect(await summary.getByRole("progressbar", { name: "Batch progress", exact: true }).getAttribute("value")).toBe("1");
    for (const vm of ["vm-a", "vm-b"]) {
      await table.getByRole("row").filter({ has: page.getByRole("link", { name: vm, exact: true }) }).getByText("Succeeded", { exact: true }).waitFor();
    }
    // The row links to the VM's execution page.
    await table.getByRole("link", { name: "vm-a", exact: true }).click();
    await page.waitForURL(/\/executions\//);
    await page.getByRole("link", { name: batchId }).waitFor();
  });
});
