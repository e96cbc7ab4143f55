// One test file's world: a fresh daemon and one Chromium, started in
// beforeAll and stopped in afterAll; a new browser context per page a test
// opens, closed after the test. After each test, any console error, uncaught
// exception or CSP violation of its pages fails it; a failing test gets the
// daemon's log printed and a screenshot of each of its pages saved, and the
// whole log is kept after a file with a failure.
import { copyFile, mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";

import { Api } from "./api.js";
import { launchBrowser, openPage, type OpenedPage } from "./browser.js";
import { startDaemon, type Daemon, type DaemonOptions } from "./daemon.js";

export interface Suite {
  readonly daemon: Daemon;
  readonly api: Api;
  readonly browser: Browser;
  /** A new page in its own context, checked for problems after the test. */
  open(options?: Parameters<typeof openPage>[2]): Promise<OpenedPage>;
}

/** Where failure screenshots go (kept after the run). */
let failureDir: Promise<string> | undefined;
function failureShots(): Promise<string> {
  return (failureDir ??= mkdtemp(join(tmpdir(), "dashboard-e2e-failures-")));
}

export function dashboardSuite(options: DaemonOptions = {}): Suite {
  let daemon: Daemon | undefined;
  let browser: Browser | undefined;
  let api: Api | undefined;
  let pages: OpenedPage[] = [];
  let anyFailed = false;

  beforeAll(async () => {
    [daemon, browser] = await Promise.all([startDaemon(options), launchBrowser()]);
    api = new Api(daemon.baseUrl);
  });

  afterAll(async () => {
    await browser?.close();
    if (anyFailed && daemon) {
      // The whole log outlives the daemon's temporary directory.
      const kept = join(await failureShots(), `workflowd-${new URL(daemon.baseUrl).port}.log`);
      await copyFile(daemon.logFile, kept).catch(() => undefined);
      console.error(`the daemon's whole log: ${kept}`);
    }
    await daemon?.stop();
  });

  beforeEach((context) => {
    context.onTestFailed(async () => {
      anyFailed = true;
      const log = daemon ? await daemon.log().catch(() => "") : "";
      console.error(`--- workflowd log (last 80 lines) ---\n${log.split("\n").slice(-80).join("\n")}`);
    });
  });

  afterEach(async (context) => {
    const opened = pages;
    pages = [];
    if (context.task.result?.state === "fail") {
      const dir = await failureShots();
      await mkdir(dir, { recursive: true });
      for (const [i, p] of opened.entries()) {
        const file = join(dir, `${context.task.name.replace(/[^a-z0-9]+/gi, "-").slice(0, 80)}-${i}.png`);
        await p.page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
        console.error(`screenshot of page ${i} (${p.page.url()}): ${file}`);
      }
    }
    const problems = opened.flatMap((p) => p.problems.errors.map((e) => `${p.page.url()}: ${e}`));
    await Promise.all(opened.map((p) => p.context.close()));
    expect(problems, "console errors, uncaught exceptions or CSP violations on the page").toEqual([]);
  });

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started (beforeAll failed?)`);
    return value;
  };
  return {
    get daemon() {
      return need(daemon, "the daemon");
    },
    get api() {
      return need(api, "the API");
    },
    get browser() {
      return need(browser, "Chromium");
    },
    async open(openOptions) {
      const opened = await openPage(need(browser, "Chromium"), need(daemon, "the daemon").baseUrl, openOptions);
      pages.push(opened);
      return opened;
    },
  };
}
