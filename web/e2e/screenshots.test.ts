// Screenshots of every screen in the light and the dark theme at 1280x800,
// always written to a temporary directory (and checked to be real PNGs);
// with UPDATE_SCREENSHOTS=1 they also replace docs/images/dashboard-*.png,
// the pictures docs/dashboard.md shows.
import { copyFile, mkdir, mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, test } from "vitest";

import { DESKTOP } from "./harness/browser.js";
import { REPO_ROOT } from "./harness/daemon.js";
import { fillManifestDraft, screens, type Screen } from "./harness/screens.js";
import { seedHistory, type Seeded } from "./harness/seed.js";
import { dashboardSuite } from "./harness/suite.js";

const DOCS_IMAGES = join(REPO_ROOT, "docs", "images");
const UPDATE = process.env["UPDATE_SCREENSHOTS"] === "1";
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const suite = dashboardSuite();
let seed: Seeded;
let all: Screen[];
let outDir: string;
let runningId = "";
/** The page's colours per theme: the dark theme must really differ. */
const backgrounds = new Map<string, string>();

beforeAll(async () => {
  seed = await seedHistory(suite.daemon, suite.api);
  all = screens(seed);
  outDir = await mkdtemp(join(tmpdir(), "dashboard-screenshots-"));
  // Something running, so the Overview's Active tab is not empty.
  runningId = (await suite.api.execute("phased", { phase_seconds: 60 })).id;
  await suite.api.waitForState(runningId, ["EXECUTION_STATE_RUNNING"]);
  if (UPDATE) await mkdir(DOCS_IMAGES, { recursive: true });
});

afterAll(async () => {
  if (runningId) await suite.api.cancel(runningId, { force: true }).catch(() => undefined);
  console.log(`screenshots in ${outDir}${UPDATE ? ` and ${DOCS_IMAGES}` : ""}`);
});

describe.each(["light", "dark"] as const)("%s theme", (colorScheme) => {
  test("every screen", async () => {
    const { page } = await suite.open({ viewport: DESKTOP, colorScheme });
    await page.emulateMedia({ colorScheme });
    await fillManifestDraft(page, seed.disks[0]!);
    await page.goto("/");
    backgrounds.set(
      colorScheme,
      await page.evaluate(() => `${getComputedStyle(document.documentElement).backgroundColor} ${getComputedStyle(document.body).backgroundColor} ${getComputedStyle(document.body).color}`),
    );
    if (colorScheme === "dark") expect(backgrounds.get("dark")).not.toBe(backgrounds.get("light"));
    for (const screen of all) {
      await page.goto(screen.path);
      await screen.ready(page);
      // The theme is the system's: the page must have followed it.
      expect(await page.evaluate(() => matchMedia("(prefers-color-scheme: dark)").matches)).toBe(colorScheme === "dark");
      const file = join(outDir, `dashboard-${screen.name}-${colorScheme}.png`);
      await page.screenshot({ path: file, animations: "disabled", caret: "hide" });
      const png = await readFile(file);
      expect(png.subarray(0, 8).equals(PNG_MAGIC), `${file} is a PNG`).toBe(true);
      expect(png.length, `${file} is not blank`).toBeGreaterThan(10_000);
      if (UPDATE) await copyFile(file, join(DOCS_IMAGES, `dashboard-${screen.name}-${colorScheme}.png`));
    }
  });
});
