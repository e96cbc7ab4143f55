// The browser tests (e2e/): Chromium driving the dashboard served by a real
// workflowd (WORKFLOWD_BIN, default ../target/release/workflowd). One file
// at a time — each starts its own daemon and browser, and two cores are
// what CI has — with timeouts long enough for a VM conversion but bounded,
// so the whole suite stays under four minutes.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "node",
    include: ["e2e/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
  },
});
