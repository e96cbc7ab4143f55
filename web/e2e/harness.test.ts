// The harness's own checks can fail: a CSP violation, an uncaught error, an
// unnamed control and a page wider than the viewport are each caught when
// planted in the real page. Without this, a check that silently sees
// nothing would pass every screen.
import { describe, expect, test } from "vitest";

import { unnamedControls } from "./harness/a11y.js";
import { PHONE } from "./harness/browser.js";
import { horizontalOverflow } from "./harness/page.js";
import { dashboardSuite } from "./harness/suite.js";

const suite = dashboardSuite();

describe("the harness", () => {
  test("records CSP violations and uncaught errors", async () => {
    const { page, problems } = await suite.open();
    await page.goto("/");
    await page.getByRole("heading", { name: "Overview", level: 1 }).waitFor();
    expect(problems.errors).toEqual([]);
    const reported = page.waitForEvent("console", (m) => /Content Security Policy/i.test(m.text()));
    await page.evaluate(() => document.body.setAttribute("style", "color: red"));
    await reported;
    expect(problems.cspViolations.length).toBe(1);
    const thrown = page.waitForEvent("pageerror");
    await page.evaluate(() => {
      setTimeout(() => {
        throw new Error("planted");
      });
    });
    await thrown;
    expect(problems.errors.some((e) => e.includes("planted"))).toBe(true);
    // Planted on purpose: not this test's failure.
    problems.errors.length = 0;
    problems.cspViolations.length = 0;
  });

  test("finds an unnamed control and sideways overflow", async () => {
    const { page } = await suite.open({ viewport: PHONE });
    await page.goto("/");
    await page.getByRole("heading", { name: "Overview", level: 1 }).waitFor();
    expect(await unnamedControls(page)).toEqual([]);
    expect((await horizontalOverflow(page)).scrollWidth).toBeLessThanOrEqual(PHONE.width);
    await page.evaluate(() => {
      const button = document.createElement("button");
      button.className = "planted";
      document.querySelector("main")?.append(button);
      const wide = document.createElement("div");
      // CSSOM, which the policy allows (a style attribute it would refuse).
      wide.style.width = "2000px";
      wide.style.height = "1px";
      document.querySelector("main")?.append(wide);
    });
    const unnamed = await unnamedControls(page);
    expect(unnamed.map((c) => c.role)).toEqual(["button"]);
    expect(unnamed[0]?.html).toContain("planted");
    const { scrollWidth, innerWidth } = await horizontalOverflow(page);
    expect(scrollWidth).toBeGreaterThan(innerWidth);
  });
});
