// A small, realistic history for the tests that visit every screen (layout,
// keyboard, accessible names, screenshots): finished runs of several
// workflows, a failed one, and a two-VM batch converted from real raw disks.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

import type { Api } from "./api.js";
import type { Daemon } from "./daemon.js";

const run = promisify(execFile);

export interface Seeded {
  /** A finished research_pipeline run (tree, log, artifact). */
  researchId: string;
  /** A failed phased run. */
  failedId: string;
  batchId: string;
  /** The batch's source disks, under the daemon's source root. */
  disks: string[];
}

export async function seedHistory(daemon: Daemon, api: Api): Promise<Seeded> {
  const disks = ["web-01.raw", "db-01.raw"].map((name) => join(daemon.sourceRoot, name));
  await Promise.all(disks.map((disk) => run("qemu-img", ["create", "-f", "raw", disk, "16M"])));
  const manifest = {
    version: "1.0",
    batch: true,
    vms: [
      { name: "web-01", pipeline: { load: { source_type: "raw", source_path: disks[0] }, convert: { output_format: "qcow2" } } },
      { name: "db-01", pipeline: { load: { source_type: "raw", source_path: disks[1] }, convert: { output_format: "qcow2" } } },
    ],
  };
  const batch = await api.submitManifest(JSON.stringify(manifest), "nightly.json");

  const started = await Promise.all([
    api.execute("hello", { name: "dashboard" }),
    api.execute("research_pipeline", { topic: "soil microbes" }, { team: "research" }),
    api.execute("phased", { phase_seconds: 0.2, fail_at: 2 }),
  ]);
  const ids = [...started.map((e) => e.id), ...batch.vms.map((vm) => vm.execution?.id ?? "")];
  await Promise.all(ids.filter((id) => id !== "").map((id) => api.wait(id)));
  return {
    researchId: started[1].id,
    failedId: started[2].id,
    batchId: batch.batchId ?? "",
    disks,
  };
}
