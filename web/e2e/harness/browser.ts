// Chromium through playwright-core: Debian's /usr/bin/chromium (Playwright's
// own browser download is not used). Every page records its console errors,
// uncaught exceptions and CSP violations — Chromium reports a violation as a
// console error ("Refused to ... because it violates the following Content
// Security Policy directive"), and an init script could not listen for
// `securitypolicyviolation` under that same policy — so a test can fail on
// any of them.
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env["CHROMIUM_BIN"] ?? "/usr/bin/chromium";

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
  });
}

export interface PageProblems {
  /** Console errors (CSP violations among them) and uncaught exceptions, in order. */
  errors: string[];
  /** The subset of `errors` that are CSP violations. */
  cspViolations: string[];
}

const CSP_VIOLATION = /Content Security Policy|Content-Security-Policy/i;

/** Starts recording a page's problems; the returned object fills as they happen. */
export function recordProblems(page: Page): PageProblems {
  const problems: PageProblems = { errors: [], cspViolations: [] };
  page.on("console", (message) => {
    const text = message.text();
    if (CSP_VIOLATION.test(text)) {
      problems.cspViolations.push(text);
    }
    if (message.type() === "error" || CSP_VIOLATION.test(text)) {
      const where = message.location();
      problems.errors.push(`console.${message.type()}: ${text}${where.url ? ` (${where.url}:${where.lineNumber})` : ""}`);
    }
  });
  page.on("pageerror", (error) => {
    problems.errors.push(`uncaught: ${error.stack ?? error.message}`);
  });
  return problems;
}

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  problems: PageProblems;
}

export async function openPage(
  browser: Browser,
  baseUrl: string,
  options: { viewport?: { width: number; height: number }; colorScheme?: "light" | "dark"; acceptDownloads?: boolean } = {},
): Promise<OpenedPage> {
  const context = await browser.newContext({
    baseURL: baseUrl,
    viewport: options.viewport ?? DESKTOP,
    colorScheme: options.colorScheme ?? "light",
    acceptDownloads: options.acceptDownloads ?? true,
    reducedMotion: "reduce",
  });
  const page = await context.newPage();
  const problems = recordProblems(page);
  return { context, page, problems };
}
