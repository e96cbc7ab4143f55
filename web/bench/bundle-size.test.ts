// The dashboard's download: every file of web/dist gzipped at level 9 (what
// a compressing proxy or a release would send at best) and the total.
// Target: under 300 KB.
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

import { expect, test } from "vitest";

import { report } from "./report.js";

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const TARGET_BYTES = 300 * 1000;

test("web/dist gzipped stays under 300 KB", async () => {
  const files: Record<string, { bytes: number; gzipped: number }> = {};
  let total = 0;
  let totalRaw = 0;
  for (const entry of await readdir(DIST, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const content = await readFile(path);
    const gzipped = gzipSync(content, { level: 9 }).length;
    files[relative(DIST, path)] = { bytes: content.length, gzipped };
    total += gzipped;
    totalRaw += content.length;
  }
  expect(Object.keys(files)).toContain("index.html");
  report("bundle-size", { files, total_bytes: totalRaw, total_gzipped_bytes: total, target_gzipped_bytes: TARGET_BYTES, met: total < TARGET_BYTES });
  expect(total).toBeLessThan(TARGET_BYTES);
});
