// Accessibility checks through Chromium's own accessibility tree (CDP
// Accessibility.getFullAXTree): what a screen reader would be given.
import type { Page } from "playwright-core";

/** Roles a person operates: each needs a name to be told apart. */
const CONTROL_ROLES = new Set([
  "button",
  "link",
  "textbox",
  "searchbox",
  "spinbutton",
  "combobox",
  "listbox",
  "checkbox",
  "radio",
  "switch",
  "slider",
  "tab",
  "menuitem",
  "progressbar",
]);

export interface UnnamedControl {
  role: string;
  html: string;
}

/** The controls on the page that have no accessible name. */
export async function unnamedControls(page: Page): Promise<UnnamedControl[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send("Accessibility.enable");
    const { nodes } = await cdp.send("Accessibility.getFullAXTree");
    const found: UnnamedControl[] = [];
    for (const node of nodes) {
      const role = String(node.role?.value ?? "");
      if (node.ignored || !CONTROL_ROLES.has(role)) continue;
      const name = String(node.name?.value ?? "").trim();
      if (name !== "") continue;
      let html = "";
      if (node.backendDOMNodeId !== undefined) {
        const { object } = await cdp.send("DOM.resolveNode", { backendNodeId: node.backendDOMNodeId });
        if (object.objectId) {
          const { result } = await cdp.send("Runtime.callFunctionOn", {
            objectId: object.objectId,
            functionDeclaration: "function () { return this.outerHTML ? this.outerHTML.slice(0, 200) : String(this.nodeName); }",
            returnByValue: true,
          });
          html = String(result.value);
        }
      }
      found.push({ role, html });
    }
    return found;
  } finally {
    await cdp.detach();
  }
}

export interface Focused {
  tag: string;
  role: string;
  name: string;
  /** Whether the focused element draws a focus indicator (outline or box shadow). */
  indicated: boolean;
}

/** Presses Tab up to `max` times and records what takes focus each time. */
export async function tabThrough(page: Page, max: number): Promise<Focused[]> {
  const seen: Focused[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const style = getComputedStyle(el);
      const labelled = el.getAttribute("aria-labelledby");
      const name =
        el.getAttribute("aria-label") ??
        (labelled ? (document.getElementById(labelled)?.textContent ?? "") : null) ??
        ((el as HTMLInputElement).labels?.[0]?.textContent ?? null) ??
        el.textContent ??
        "";
      return {
        tag: el.tagName.toLowerCase(),
        role: el.getAttribute("role") ?? "",
        name: name.replace(/\s+/g, " ").trim(),
        indicated: (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== "none",
      };
    });
    if (focused === null) break;
    seen.push(focused);
  }
  return seen;
}
