// Every screen of the dashboard with the URL that shows it and what says it
// has loaded its data (so a check or a screenshot never sees "Loading…").
import type { Page } from "playwright-core";

import type { Seeded } from "./seed.js";

export interface Screen {
  /** File-name friendly: docs/images/dashboard-<name>-<light|dark>.png */
  name: string;
  path: string;
  ready(page: Page): Promise<void>;
}

export function screens(seed: Seeded): Screen[] {
  const step = (name: string, title: string): Screen => ({
    name: `manifest-${name}`,
    path: `/manifests/new?step=${name}`,
    ready: async (page) => {
      await page.getByRole("heading", { name: title, level: 2 }).waitFor();
      await page.getByRole("status").filter({ hasText: /valid|problem/ }).first().waitFor();
    },
  });
  return [
    {
      name: "overview",
      path: "/",
      ready: async (page) => {
        await page.getByRole("region", { name: "Status" }).waitFor();
        await page.getByRole("tabpanel").locator("table, p.muted").first().waitFor();
      },
    },
    {
      name: "workflows",
      path: "/workflows",
      ready: async (page) => {
        await page.getByRole("link", { name: "Run Research pipeline" }).waitFor();
      },
    },
    {
      name: "run-form",
      path: "/workflows/research_pipeline",
      ready: async (page) => {
        await page.getByRole("button", { name: "Run", exact: true }).waitFor();
      },
    },
    {
      name: "execution",
      path: `/executions/${seed.researchId}`,
      ready: async (page) => {
        await page.getByRole("region", { name: "Tree" }).getByText("Phase 3/3: write").waitFor();
        await page.getByRole("region", { name: "Log" }).getByRole("status").filter({ hasText: "Ended" }).waitFor();
        // Following: the view has scrolled to the program's last output line.
        await page.getByRole("log", { name: "Log lines" }).getByText("phase write done").waitFor();
      },
    },
    {
      name: "history",
      path: "/history",
      ready: async (page) => {
        await page.getByRole("region", { name: "Results" }).getByRole("link").first().waitFor();
      },
    },
    step("source", "Source"),
    step("pipeline", "Pipeline"),
    step("output", "Output"),
    step("review", "Review"),
    {
      name: "batch",
      path: `/batches/${seed.batchId}`,
      ready: async (page) => {
        await page.getByRole("table", { name: `Executions of batch ${seed.batchId}` }).getByRole("link", { name: "web-01" }).waitFor();
      },
    },
  ];
}

/** Fills the Manifest builder's draft (kept in session storage) so its steps show a real manifest. */
export async function fillManifestDraft(page: Page, sourcePath: string): Promise<void> {
  await page.goto("/manifests/new?step=source");
  await page.getByRole("group", { name: "Source type" }).getByRole("radio", { name: "RAW" }).check();
  await page.getByRole("textbox", { name: "VM name (optional)" }).fill("web-01");
  await page.getByRole("textbox", { name: "Source path" }).fill(sourcePath);
  await page.getByRole("status").filter({ hasText: "The manifest is valid." }).waitFor();
}
