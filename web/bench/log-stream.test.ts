// The execution page while `paced` prints 5,000 lines a second for DURATION
// seconds (default 60), against the same page idle on a finished execution
// for as long: long tasks (a PerformanceObserver for 'longtask', installed
// by an init script, which the CSP allows) and the JS heap (CDP
// Performance.getMetrics JSHeapUsedSize) sampled every 5 s, first against
// last, and after a forced GC at the end. Figures only, no target: the
// JSON line is for comparing runs.
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Browser, Page } from "playwright-core";

import { Api } from "../e2e/harness/api.js";
import { launchBrowser, openPage } from "../e2e/harness/browser.js";
import { startDaemon, type Daemon } from "../e2e/harness/daemon.js";
import { report, round } from "./report.js";

const DURATION_S = Number(process.env["DURATION"] ?? "60");
const RATE = Number(process.env["RATE"] ?? "5000");
const SAMPLE_EVERY_MS = 5000;

let daemon: Daemon;
let api: Api;
let browser: Browser;

beforeAll(async () => {
  [daemon, browser] = await Promise.all([startDaemon({ maxConcurrentJobs: 2 }), launchBrowser()]);
  api = new Api(daemon.baseUrl);
});

afterAll(async () => {
  await browser?.close();
  await daemon?.stop();
});

const LONG_TASK_PROBE = `
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
  }).observe({ type: 'longtask', buffered: true });
`;

interface WindowFigures {
  long_tasks: number;
  long_tasks_over_50ms: number;
  max_long_task_ms: number;
  total_long_task_ms: number;
  heap_samples_mb: number[];
  heap_first_mb: number;
  heap_last_mb: number;
  heap_after_gc_mb: number;
}

const mb = (bytes: number) => round(bytes / 1024 / 1024, 2);

/** Watches the open page for `ms`: long tasks in that window and the heap every 5 s. */
async function measure(page: Page, ms: number): Promise<WindowFigures> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  const heap = async () => {
    const { metrics } = await cdp.send("Performance.getMetrics");
    return metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? NaN;
  };
  // Only the window's long tasks: what loading the page cost is not the stream's.
  await page.evaluate(() => {
    (window as unknown as { __longTasks: number[] }).__longTasks.length = 0;
  });
  const samples = [await heap()];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, Math.min(SAMPLE_EVERY_MS, end - Date.now())));
    samples.push(await heap());
  }
  const tasks = await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks.slice());
  await cdp.send("HeapProfiler.collectGarbage");
  const afterGc = await heap();
  await cdp.detach();
  return {
    long_tasks: tasks.length,
    long_tasks_over_50ms: tasks.filter((d) => d > 50).length,
    max_long_task_ms: round(Math.max(0, ...tasks)),
    total_long_task_ms: round(tasks.reduce((a, b) => a + b, 0)),
    heap_samples_mb: samples.map(mb),
    heap_first_mb: mb(samples[0]!),
    heap_last_mb: mb(samples.at(-1)!),
    heap_after_gc_mb: mb(afterGc),
  };
}

async function lineCount(page: Page): Promise<string> {
  return (await page.getByRole("region", { name: "Log" }).locator(".log-header .muted").textContent()) ?? "";
}

test(`the execution page under ${RATE} lines/s for ${DURATION_S} s, against the page idle`, async () => {
  const execution = await api.execute("paced", { rate: RATE, seconds: DURATION_S });

  const streaming = await openPage(browser, daemon.baseUrl);
  await streaming.page.addInitScript({ content: LONG_TASK_PROBE });
  await streaming.page.goto(`/executions/${execution.id}`);
  await streaming.page.getByRole("log", { name: "Log lines" }).locator("[data-seq]").first().waitFor({ timeout: 30_000 });
  const whileStreaming = await measure(streaming.page, DURATION_S * 1000);
  const final = await api.wait(execution.id);
  expect(final.state).toBe("EXECUTION_STATE_SUCCEEDED");
  await streaming.page.getByRole("region", { name: "Log" }).getByRole("status").filter({ hasText: "Ended" }).waitFor({ timeout: 60_000 });
  const streamedLines = await lineCount(streaming.page);
  const streamingErrors = streaming.problems.errors.slice();
  await streaming.context.close();

  // The baseline: the same page on the finished execution, idle.
  const idle = await openPage(browser, daemon.baseUrl);
  await idle.page.addInitScript({ content: LONG_TASK_PROBE });
  await idle.page.goto(`/executions/${execution.id}`);
  await idle.page.getByRole("region", { name: "Log" }).getByRole("status").filter({ hasText: "Ended" }).waitFor({ timeout: 60_000 });
  const whileIdle = await measure(idle.page, DURATION_S * 1000);
  const idleErrors = idle.problems.errors.slice();
  await idle.context.close();

  report("log-stream", {
    rate_lines_per_s: RATE,
    duration_s: DURATION_S,
    lines_printed: RATE * DURATION_S,
    page_line_count: streamedLines,
    streaming: whileStreaming,
    idle: whileIdle,
  });
  expect(streamingErrors).toEqual([]);
  expect(idleErrors).toEqual([]);
});
