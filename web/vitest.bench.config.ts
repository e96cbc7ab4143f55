// The dashboard's benchmarks (bench/): the Overview over a 10,000-execution
// history, the execution page under a fast log, and the bundle's size.
// Not part of the e2e suite: they take minutes (DURATION, default 60 s, for
// the log bench) and print their figures as one JSON line each.
import { defineConfig } from "vitest/config";

const durationSeconds = Number(process.env["DURATION"] ?? "60");

export default defineConfig({
  test: {
    environment: "node",
    include: ["bench/**/*.test.ts"],
    fileParallelism: false,
    // The log bench measures two windows of DURATION; filling the history takes minutes on a debug build.
    testTimeout: (2 * durationSeconds + 180) * 1000,
    hookTimeout: 600_000,
    teardownTimeout: 30_000,
  },
});
