// The live log survives a reload in the middle of a fast stream: after the
// run, the page shows every numbered line exactly once (read by scrolling
// the virtualised list) and its Download holds them all too. Also the
// security headers of the page and the absence of CSP violations.
import { readFile } from "node:fs/promises";

import { describe, expect, test } from "vitest";

import { dashboardSuite } from "./harness/suite.js";
import { readWholeLog, renderedLogRows, waitForExecutionState } from "./harness/page.js";

const suite = dashboardSuite();

const RATE = 300;
const SECONDS = 6;
const TOTAL = RATE * SECONDS;

/** The numbers of the "line N stdout|stderr" lines among texts. */
function lineNumbers(texts: Iterable<string>): number[] {
  const numbers: number[] = [];
  for (const text of texts) {
    const match = /line (\d+) (?:stdout|stderr)$/.exec(text.trimEnd());
    if (match?.[1]) numbers.push(Number(match[1]));
  }
  return numbers;
}

function expectEachLineOnce(numbers: number[], what: string): void {
  const sorted = [...numbers].sort((a, b) => a - b);
  const duplicates = sorted.filter((n, i) => i > 0 && sorted[i - 1] === n);
  const seen = new Set(sorted);
  const missing: number[] = [];
  for (let n = 1; n <= TOTAL; n++) if (!seen.has(n)) missing.push(n);
  expect({ what, count: numbers.length, missing: missing.slice(0, 20), duplicates: duplicates.slice(0, 20) }).toEqual({
    what,
    count: TOTAL,
    missing: [],
    duplicates: [],
  });
}

describe("the execution page's log", () => {
  test("/ is served with a strict Content-Security-Policy and no inline script or style", async () => {
    const response = await fetch(`${suite.daemon.baseUrl}/`, { headers: { accept: "text/html" } });
    expect(response.status).toBe(200);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await response.text();
    expect(html, "every script is a file").not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html, "no style element or attribute").not.toMatch(/<style|\sstyle=/i);
    expect(html, "no external resource").not.toMatch(/(src|href)="(https?:)?\/\//i);
    // A deep link is the same page.
    const deep = await fetch(`${suite.daemon.baseUrl}/executions/some-id?seq=5`, { headers: { accept: "text/html" } });
    expect(deep.status).toBe(200);
    expect(deep.headers.get("content-security-policy")).toBe(csp);
  });

  test("a reload mid-stream: every numbered line once, on the page and in the download", async () => {
    const execution = await suite.api.execute("paced", { rate: RATE, seconds: SECONDS });
    const { page, problems } = await suite.open();
    await page.goto(`/executions/${execution.id}`);
    await waitForExecutionState(page, "Running");
    // Some hundreds of lines in, while it is still printing:
    await page.waitForFunction(
      (min) => Array.from(document.querySelectorAll<HTMLElement>("[role=log] [data-seq]")).some((row) => Number(row.dataset["seq"]) > min),
      300,
    );
    expect((await suite.api.getExecution(execution.id)).state).toBe("EXECUTION_STATE_RUNNING");
    await page.reload();
    await page.getByRole("log", { name: "Log lines" }).locator("[data-seq]").first().waitFor();
    expect((await suite.api.getExecution(execution.id)).state, "the reload happened mid-stream").toBe("EXECUTION_STATE_RUNNING");

    await waitForExecutionState(page, "Succeeded", 30_000);
    await page.getByRole("region", { name: "Log" }).getByRole("status").filter({ hasText: "Ended" }).waitFor();
    // Following pulled the view to the end: the last line is on screen.
    expect(lineNumbers((await renderedLogRows(page)).map((r) => r.text))).toContain(TOTAL);

    await page.getByRole("checkbox", { name: "Follow" }).uncheck();
    const rows = await readWholeLog(page);
    const seqs = [...rows.keys()].sort((a, b) => a - b);
    expect(seqs[0]).toBe(1);
    expect(seqs.at(-1)! - seqs[0]! + 1, "sequence numbers without gaps").toBe(seqs.length);
    expectEachLineOnce(lineNumbers(rows.values()), "rendered log");

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download log" }).click()]);
    expect(download.suggestedFilename()).toBe(`execution-${execution.id}.log`);
    const text = await readFile(await download.path(), "utf8");
    const lines = text.split("\n").filter((l) => l !== "");
    expect(lines.length, "the download has the rows the page shows").toBe(rows.size);
    expectEachLineOnce(lineNumbers(lines), "downloaded log");

    // A deep link to a sequence number opens the log there.
    await page.goto(`/executions/${execution.id}?seq=500`);
    const target = page.getByRole("log", { name: "Log lines" }).locator('[data-seq="500"]');
    await target.waitFor();
    expect(await target.isVisible()).toBe(true);
    expect(await page.getByRole("spinbutton", { name: "Sequence" }).inputValue()).toBe("500");

    expect(problems.cspViolations).toEqual([]);
  });
});
