// What several tests look for on the dashboard's pages, found the way a
// reader finds them: by role and accessible name, or by the visible text of
// what has no role (the state badge is plain text beside the heading).
import type { Locator, Page } from "playwright-core";

/** The execution page's state badge (a `.badge` in the page header). */
export function executionState(page: Page): Locator {
  return page.getByRole("main").locator(".page-header .badge").first();
}

/** Waits until the execution page's badge reads `state` ("Succeeded", "Cancelled"...). */
export async function waitForExecutionState(page: Page, state: string, timeoutMs = 30_000): Promise<void> {
  await page
    .getByRole("main")
    .locator(".page-header .badge", { hasText: new RegExp(`^${state}$`) })
    .waitFor({ timeout: timeoutMs });
}

/** The execution's id from an /executions/:id URL. */
export function executionIdOf(url: string): string {
  const match = /\/executions\/([^/?#]+)/.exec(url);
  if (!match?.[1]) throw new Error(`not an execution page: ${url}`);
  return decodeURIComponent(match[1]);
}

/** Whether the document is wider than the viewport (a horizontal scroll bar on the page itself). */
export function horizontalOverflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number }> {
  return page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
}

/** The log rows in the DOM now (the list is virtualised: only those near the viewport), as sequence and text. */
export function renderedLogRows(page: Page): Promise<{ seq: number; text: string }[]> {
  return page.getByRole("log", { name: "Log lines" }).evaluate((log) =>
    Array.from(log.querySelectorAll<HTMLElement>("[data-seq]")).map((row) => ({
      seq: Number(row.dataset["seq"]),
      text: row.querySelector(".log-text")?.textContent ?? "",
    })),
  );
}

/**
 * Every row of the virtualised log, read by scrolling it from top to bottom
 * half a viewport at a time and letting the page render after each step (two
 * animation frames: the scroll event, then React's commit).
 */
export async function readWholeLog(page: Page): Promise<Map<number, string>> {
  const log = page.getByRole("log", { name: "Log lines" });
  const rows = new Map<number, string>();
  await log.evaluate((el) => {
    el.scrollTop = 0;
  });
  for (;;) {
    await log.evaluate(() => new Promise<void>((done) => requestAnimationFrame(() => requestAnimationFrame(() => done()))));
    for (const row of await renderedLogRows(page)) rows.set(row.seq, row.text);
    const atEnd = await log.evaluate((el) => {
      if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1) return true;
      el.scrollTop += Math.max(20, Math.floor(el.clientHeight / 2));
      return false;
    });
    if (atEnd) return rows;
  }
}
