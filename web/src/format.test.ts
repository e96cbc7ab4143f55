import { ExecutionState } from "@workflow-manager/workflowd-client";
import { describe, expect, it } from "vitest";

import { estimate, execution, ts } from "./components/testFixtures";
import {
  NONE,
  elapsedMs,
  estimateText,
  formatBytes,
  formatDuration,
  formatRelative,
  parseStateKey,
  percentText,
  progressFraction,
  stateBadgeClass,
  stateKey,
  stateName,
  timestampMs,
} from "./format";

describe("formatDuration", () => {
  it.each([
    [0, "0 s"],
    [999, "0 s"],
    [42_000, "42 s"],
    [59_999, "59 s"],
    [60_000, "1 min 00 s"],
    [130_000, "2 min 10 s"],
    [3_720_000, "1 h 02 min"],
    [86_400_000 + 4 * 3_600_000, "1 d 04 h"],
  ])("%d ms is %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("reads unknown and negative values as unset", () => {
    expect(formatDuration(undefined)).toBe(NONE);
    expect(formatDuration(-1)).toBe(NONE);
    expect(formatDuration(Number.NaN)).toBe(NONE);
  });
});

describe("formatRelative", () => {
  const now = Date.parse("2026-12-06T10:00:00Z");
  it.each([
    [now - 2000, "just now"],
    [now - 30_000, "30 s ago"],
    [now - 5 * 60_000, "5 min ago"],
    [now - 3 * 3_600_000, "3 h ago"],
    [now - 2 * 86_400_000, "2 d ago"],
    [now + 10 * 60_000, "in 10 min"],
  ])("%d is %s", (then, text) => {
    expect(formatRelative(then, now)).toBe(text);
  });
  it("is — when unset", () => {
    expect(formatRelative(undefined, now)).toBe(NONE);
  });
});

describe("states", () => {
  it("names every state and maps failures to the failed badge", () => {
    expect(stateName(ExecutionState.TIMED_OUT)).toBe("Timed out");
    expect(stateBadgeClass(ExecutionState.RUNNING)).toBe("badge state-running");
    expect(stateBadgeClass(ExecutionState.INTERRUPTED)).toBe("badge state-failed");
    expect(stateBadgeClass(ExecutionState.TIMED_OUT)).toBe("badge state-failed");
    expect(stateBadgeClass(ExecutionState.CANCELLED)).toBe("badge state-cancelled");
    expect(stateBadgeClass(ExecutionState.QUEUED)).toBe("badge state-queued");
    expect(stateBadgeClass(ExecutionState.SUCCEEDED)).toBe("badge state-succeeded");
  });

  it("round-trips URL state keys", () => {
    expect(stateKey(ExecutionState.TIMED_OUT)).toBe("TIMED_OUT");
    expect(parseStateKey("timed_out")).toBe(ExecutionState.TIMED_OUT);
    expect(parseStateKey("RUNNING")).toBe(ExecutionState.RUNNING);
    expect(parseStateKey("UNSPECIFIED")).toBeUndefined();
    expect(parseStateKey("bogus")).toBeUndefined();
  });
});

describe("estimates", () => {
  it("shows the remaining time as an ETA", () => {
    expect(estimateText(estimate(0.5, 130_000))).toBe("ETA 2 min 10 s");
  });
  it("is — when unset or without a remaining time", () => {
    expect(estimateText(undefined)).toBe(NONE);
    expect(estimateText(estimate(0.5))).toBe(NONE);
  });
  it("clamps progress and formats it as a percentage", () => {
    expect(progressFraction(estimate(1.4))).toBe(1);
    expect(progressFraction(estimate(undefined))).toBeUndefined();
    expect(percentText(0.426)).toBe("43 %");
    expect(percentText(undefined)).toBe(NONE);
  });
});

describe("formatBytes", () => {
  it.each([
    [512, "512 B"],
    [1536, "1.5 KiB"],
    [20 * 1024 ** 3, "20 GiB"],
    [10n * 1024n ** 4n, "10 TiB"],
  ])("%s is %s", (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });
  it("is — when unknown", () => {
    expect(formatBytes(undefined)).toBe(NONE);
    expect(formatBytes(-1)).toBe(NONE);
  });
});

describe("times", () => {
  it("reads protobuf timestamps with their nanoseconds", () => {
    expect(timestampMs({ $typeName: "google.protobuf.Timestamp", seconds: 10n, nanos: 500_000_000 })).toBe(10_500);
    expect(timestampMs(undefined)).toBeUndefined();
  });
  it("measures elapsed time to the end, or to now while active", () => {
    const start = Date.parse("2026-12-06T08:00:00Z");
    expect(elapsedMs(execution("a", { startTime: ts(start) }), start + 5000)).toBe(5000);
    expect(elapsedMs(execution("a", { startTime: ts(start), endTime: ts(start + 2000) }), start + 5000)).toBe(2000);
    expect(elapsedMs(execution("a"), start)).toBeUndefined();
  });
});
