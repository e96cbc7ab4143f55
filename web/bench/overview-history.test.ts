// The Overview's first render over a 10,000-execution history against the
// same page over an empty one, in the same run: navigation start to the
// status cards and the tab's list in the DOM, taken in the page by a
// MutationObserver (an init script, which the CSP allows) reading
// performance.now(), whose origin is the navigation's start. Each figure is
// the median of ROUNDS cold loads (a new browser context each time).
// Target: under 1 s with 10,000 executions.
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Browser } from "playwright-core";

import { Api } from "../e2e/harness/api.js";
import { launchBrowser, openPage } from "../e2e/harness/browser.js";
import { startDaemon, type Daemon } from "../e2e/harness/daemon.js";
import { median, report, round } from "./report.js";

const HISTORY = Number(process.env["HISTORY_SIZE"] ?? "10000");
const IN_FLIGHT = 32;
const ROUNDS = 5;
const TARGET_MS = 1000;

let daemon: Daemon;
let api: Api;
let browser: Browser;

beforeAll(async () => {
  [daemon, browser] = await Promise.all([startDaemon({ maxConcurrentJobs: 8, maxQueue: 10_000 }), launchBrowser()]);
  api = new Api(daemon.baseUrl);
});

afterAll(async () => {
  await browser?.close();
  await daemon?.stop();
});

/** Records, in the page, when the Overview first shows its cards and the tab's list (or its empty note). */
const RENDER_PROBE = `
  (() => {
    const done = () => {
      const panel = document.querySelector('[role="tabpanel"]');
      return document.querySelector('section[aria-label="Status"] .stat') !== null &&
        panel !== null && panel.querySelector('tbody tr, p.muted') !== null;
    };
    const observer = new MutationObserver(() => {
      if (window.__overviewRenderedAt === undefined && done()) {
        window.__overviewRenderedAt = performance.now();
        observer.disconnect();
      }
    });
    observer.observe(document, { childList: true, subtree: true });
  })();
`;

async function firstRenderMs(path: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const { context, page, problems } = await openPage(browser, daemon.baseUrl);
    try {
      await page.addInitScript({ content: RENDER_PROBE });
      await page.goto(path);
      const handle = await page.waitForFunction(() => (window as unknown as { __overviewRenderedAt?: number }).__overviewRenderedAt, undefined, {
        timeout: 30_000,
      });
      times.push((await handle.jsonValue()) as number);
      expect(problems.errors).toEqual([]);
    } finally {
      await context.close();
    }
  }
  return times;
}

/** HISTORY executions of `hello`, IN_FLIGHT at a time, each awaited. */
async function fillHistory(): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < HISTORY) {
      next++;
      const e = await api.execute("hello", { name: `n${next}` });
      await api.wait(e.id);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return (performance.now() - started) / 1000;
}

test(`the Overview renders ${HISTORY.toLocaleString("en")} executions' history about as fast as an empty one`, async () => {
  const emptyActive = await firstRenderMs("/");
  const emptyCompleted = await firstRenderMs("/?tab=completed");
  const fillSeconds = await fillHistory();
  const status = await api.status();
  expect(Number(status.totalExecutions)).toBeGreaterThanOrEqual(HISTORY);
  const fullActive = await firstRenderMs("/");
  const fullCompleted = await firstRenderMs("/?tab=completed");

  const figures = {
    history: HISTORY,
    fill_seconds: round(fillSeconds),
    fill_per_second: round(HISTORY / fillSeconds),
    rounds: ROUNDS,
    empty_active_ms: round(median(emptyActive)),
    full_active_ms: round(median(fullActive)),
    active_ratio: round(median(fullActive) / median(emptyActive), 2),
    empty_completed_ms: round(median(emptyCompleted)),
    full_completed_ms: round(median(fullCompleted)),
    completed_ratio: round(median(fullCompleted) / median(emptyCompleted), 2),
    samples_ms: {
      empty_active: emptyActive.map((t) => round(t)),
      full_active: fullActive.map((t) => round(t)),
      empty_completed: emptyCompleted.map((t) => round(t)),
      full_completed: fullCompleted.map((t) => round(t)),
    },
    target_ms: TARGET_MS,
    met: median(fullActive) < TARGET_MS && median(fullCompleted) < TARGET_MS,
  };
  report("overview-history", figures);
  expect(median(fullActive)).toBeLessThan(TARGET_MS);
  expect(median(fullCompleted)).toBeLessThan(TARGET_MS);
});
