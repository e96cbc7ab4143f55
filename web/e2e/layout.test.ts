// Every screen at a phone's 390x844 and a laptop's 1280x800: the document
// never scrolls sideways (wide tables scroll inside their own box), every
// control has an accessible name, and the keyboard reaches the navigation
// and each screen's main controls with a visible focus indicator.
import { beforeAll, describe, expect, test } from "vitest";

import { tabThrough, unnamedControls } from "./harness/a11y.js";
import { DESKTOP, PHONE } from "./harness/browser.js";
import { horizontalOverflow } from "./harness/page.js";
import { fillManifestDraft, screens, type Screen } from "./harness/screens.js";
import { seedHistory, type Seeded } from "./harness/seed.js";
import { dashboardSuite } from "./harness/suite.js";

const suite = dashboardSuite();
let seed: Seeded;
let all: Screen[];

beforeAll(async () => {
  seed = await seedHistory(suite.daemon, suite.api);
  all = screens(seed);
});

describe.each([
  ["phone", PHONE],
  ["desktop", DESKTOP],
] as const)("at %s size", (_, viewport) => {
  test("no screen overflows the viewport sideways and every control has a name", async () => {
    const { page } = await suite.open({ viewport });
    await fillManifestDraft(page, seed.disks[0]!);
    const overflowing: string[] = [];
    const unnamed: string[] = [];
    for (const screen of all) {
      await page.goto(screen.path);
      await screen.ready(page);
      const { scrollWidth, innerWidth } = await horizontalOverflow(page);
      if (scrollWidth > innerWidth) overflowing.push(`${screen.name} (${screen.path}): ${scrollWidth} px wide in ${innerWidth} px`);
      for (const control of await unnamedControls(page)) unnamed.push(`${screen.name}: ${control.role} ${control.html}`);
    }
    expect(overflowing, "screens wider than the viewport").toEqual([]);
    expect(unnamed, "controls without an accessible name").toEqual([]);
  });
});

describe("landmarks", () => {
  test("each screen has exactly one main landmark and one level-1 heading", async () => {
    const { page } = await suite.open();
    await fillManifestDraft(page, seed.disks[0]!);
    const wrong: string[] = [];
    for (const screen of all) {
      await page.goto(screen.path);
      await screen.ready(page);
      const mains = await page.getByRole("main").count();
      const h1s = await page.getByRole("heading", { level: 1 }).count();
      if (mains !== 1 || h1s !== 1) wrong.push(`${screen.name} (${screen.path}): ${mains} main landmarks, ${h1s} h1`);
    }
    expect(wrong).toEqual([]);
  });
});

describe("the keyboard", () => {
  test("Tab reaches the navigation and the Overview's tabs, with a visible focus indicator", async () => {
    const { page } = await suite.open();
    await page.goto("/");
    await screens(seed)[0]!.ready(page);
    const focused = await tabThrough(page, 25);
    const names = focused.map((f) => f.name);
    expect(names[0], "the first stop skips to the content").toBe("Skip to content");
    for (const link of ["Overview", "Workflows", "History", "Manifest builder"]) {
      expect(names, `Tab reaches the ${link} link`).toContain(link);
    }
    const activeTab = focused.find((f) => f.role === "tab");
    expect(activeTab?.name, "Tab reaches the selected tab of the executions").toBe("Active");
    const noIndicator = focused.filter((f) => !f.indicated).map((f) => `${f.tag} "${f.name}"`);
    expect(noIndicator, "focused elements without a visible focus indicator").toEqual([]);
  });

  test("Tab reaches the Run form's fields and its Run button", async () => {
    const { page } = await suite.open();
    await page.goto("/workflows/research_pipeline");
    await page.getByRole("button", { name: "Run", exact: true }).waitFor();
    const focused = await tabThrough(page, 40);
    const names = focused.map((f) => f.name);
    expect(names.some((n) => n.startsWith("Topic")), "Tab reaches the Topic field").toBe(true);
    expect(names, "Tab reaches Run").toContain("Run");
    expect(focused.filter((f) => !f.indicated).map((f) => `${f.tag} "${f.name}"`)).toEqual([]);
  });

  test("Tab reaches the History's filters and the Manifest builder's fields and Next", async () => {
    const { page } = await suite.open();
    await page.goto("/history");
    await all.find((s) => s.name === "history")!.ready(page);
    let names = (await tabThrough(page, 40)).map((f) => f.name);
    for (const control of ["Workflow", "Batch id", "Apply filters"]) {
      expect(names.some((n) => n.startsWith(control)), `Tab reaches ${control} on /history`).toBe(true);
    }
    await page.goto("/manifests/new?step=source");
    await page.getByRole("heading", { name: "Source", level: 2 }).waitFor();
    const focused = await tabThrough(page, 40);
    names = focused.map((f) => f.name);
    for (const control of ["Source path", "Next"]) {
      expect(names.some((n) => n.startsWith(control)), `Tab reaches ${control} on the builder`).toBe(true);
    }
    expect(focused.filter((f) => !f.indicated).map((f) => `${f.tag} "${f.name}"`)).toEqual([]);
  });

  test("Tab reaches the execution page's actions and its log", async () => {
    const { page } = await suite.open();
    await page.goto(`/executions/${seed.researchId}`);
    await screens(seed).find((s) => s.name === "execution")!.ready(page);
    const focused = await tabThrough(page, 60);
    const names = focused.map((f) => f.name);
    for (const control of ["Run again", "Download log", "Jump", "Follow"]) {
      expect(names.some((n) => n === control || n.startsWith(control)), `Tab reaches ${control}`).toBe(true);
    }
    expect(focused.some((f) => f.role === "log"), "Tab reaches the log to scroll it").toBe(true);
    expect(focused.filter((f) => !f.indicated).map((f) => `${f.tag} "${f.name}"`)).toEqual([]);
  });
});
