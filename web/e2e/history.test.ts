// The History: its filters live in the URL (deep links and reloads land on
// the same results), the filter form writes them there, and paging through
// more than a page of executions goes forward and back.
import { beforeAll, describe, expect, test } from "vitest";
import type { Page } from "playwright-core";

import { dashboardSuite } from "./harness/suite.js";

const suite = dashboardSuite();
/** One more than a History page holds (HISTORY_PAGE_SIZE, 50). */
const HELLOS = 51;
let helloIds: string[] = [];
let failedId = "";
let researchId = "";

beforeAll(async () => {
  const hellos = [];
  for (let i = 0; i < HELLOS; i++) hellos.push(suite.api.execute("hello", { name: `h${i}` }));
  const [failed, research, ...rest] = await Promise.all([
    suite.api.execute("phased", { phase_seconds: 0, fail_at: 0 }),
    suite.api.execute("research_pipeline", { topic: "history" }, { team: "research" }),
    ...hellos,
  ]);
  failedId = failed.id;
  researchId = research.id;
  helloIds = rest.map((e) => e.id);
  await Promise.all([failedId, researchId, ...helloIds].map((id) => suite.api.wait(id)));
});

const results = (page: Page) => page.getByRole("region", { name: "Results" });
const executionLink = (page: Page, id: string) => results(page).getByRole("link", { name: `Execution ${id}`, exact: true });
const resultLinks = (page: Page) => results(page).getByRole("link", { name: /^Execution / });

describe("the History", () => {
  test("a deep link with workflow and state filters shows just those executions, also after a reload", async () => {
    const { page } = await suite.open();
    await page.goto("/history?workflow=phased&state=FAILED");
    await page.getByRole("heading", { name: "History", level: 1 }).waitFor();
    await executionLink(page, failedId).waitFor();
    expect(await resultLinks(page).count()).toBe(1);
    // The form shows the filters it came with.
    const filters = page.getByRole("form", { name: "Filters" });
    expect(await filters.getByRole("combobox", { name: "Workflow" }).inputValue()).toBe("phased");
    expect(await filters.getByRole("checkbox", { name: "Failed" }).isChecked()).toBe(true);

    await page.reload();
    await executionLink(page, failedId).waitFor();
    expect(await resultLinks(page).count()).toBe(1);

    await page.goto("/history?label=team%3Dresearch");
    await executionLink(page, researchId).waitFor();
    expect(await resultLinks(page).count()).toBe(1);
  });

  test("the filter form writes the URL, and Next and Previous page through the results", async () => {
    const { page } = await suite.open();
    await page.goto("/history");
    await resultLinks(page).first().waitFor();
    const filters = page.getByRole("form", { name: "Filters" });
    await filters.getByRole("combobox", { name: "Workflow" }).selectOption("hello");
    await filters.getByRole("button", { name: "Apply filters" }).click();
    await page.waitForURL(/\/history\?workflow=hello$/);
    await executionLink(page, failedId).waitFor({ state: "detached" });
    await expect.poll(() => resultLinks(page).count()).toBe(50);

    const pager = page.getByRole("navigation", { name: "Pages" });
    await pager.getByRole("button", { name: "Next" }).click();
    await page.waitForURL(/[?&]page=/);
    await pager.getByText("Page 2").waitFor();
    await expect.poll(() => resultLinks(page).count()).toBe(HELLOS - 50);
    // Checked below: the two pages together hold each hello exactly once.
    const second = await resultLinks(page).evaluateAll((links) => links.map((a) => a.getAttribute("href")));
    await page.reload();
    await pager.getByText("Page 2").waitFor();
    await expect.poll(() => resultLinks(page).count()).toBe(HELLOS - 50);

    await pager.getByRole("button", { name: "Previous" }).click();
    await pager.getByText("Page 1").waitFor();
    await expect.poll(() => resultLinks(page).count()).toBe(50);
    const first = await resultLinks(page).evaluateAll((links) => links.map((a) => a.getAttribute("href")));
    const all = new Set([...first, ...second]);
    expect(all.size).toBe(HELLOS);
    expect([...all].sort()).toEqual(helloIds.map((id) => `/executions/${id}`).sort());
  });
});
