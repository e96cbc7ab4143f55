// The History filters as they live in the URL, and the ListExecutions
// filter they stand for. Paging keeps the current page token in `page` and
// the tokens of the pages before it in `prev`, so Previous needs no call.
import type { ExecutionState, ListExecutionsFilter } from "@workflow-manager/workflowd-client";

import { parseStateKey, stateKey } from "../../format";

export const HISTORY_PAGE_SIZE = 50;

export interface HistoryQuery {
  workflow: string;
  states: ExecutionState[];
  batch: string;
  /** `key=value` strings. */
  labels: string[];
  /** ISO date (YYYY-MM-DD, local midnight) or date-time; "" for none. */
  after: string;
  before: string;
  /** Page token of the page shown; "" for the first. */
  page: string;
  /** Page tokens of the earlier pages, oldest first ("" is the first page). */
  prev: string[];
}

export const EMPTY_QUERY: HistoryQuery = { workflow: "", states: [], batch: "", labels: [], after: "", before: "", page: "", prev: [] };

export function parseHistoryQuery(params: URLSearchParams): HistoryQuery {
  const states: ExecutionState[] = [];
  for (const s of params.getAll("state")) {
    const state = parseStateKey(s);
    if (state !== undefined && !states.includes(state)) {
      states.push(state);
    }
  }
  return {
    workflow: params.get("workflow") ?? "",
    states,
    batch: params.get("batch") ?? "",
    labels: params.getAll("label").filter((l) => l.includes("=")),
    after: params.get("after") ?? "",
    before: params.get("before") ?? "",
    page: params.get("page") ?? "",
    prev: params.getAll("prev"),
  };
}

export function historySearchParams(q: HistoryQuery): URLSearchParams {
  const p = new URLSearchParams();
  if (q.workflow) p.set("workflow", q.workflow);
  for (const s of q.states) p.append("state", stateKey(s));
  if (q.batch) p.set("batch", q.batch);
  for (const l of q.labels) p.append("label", l);
  if (q.after) p.set("after", q.after);
  if (q.before) p.set("before", q.before);
  if (q.page) {
    p.set("page", q.page);
    for (const t of q.prev) p.append("prev", t);
  }
  return p;
}

/** A date from the URL: YYYY-MM-DD is the start of that local day; undefined when unparsable. */
export function parseDateParam(value: string): Date | undefined {
  if (value === "") return undefined;
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const d = day ? new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3])) : new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** `key=value` strings as a label map; the first `=` splits, so values may contain `=`. */
export function labelMap(labels: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of labels) {
    const i = l.indexOf("=");
    if (i > 0) {
      out[l.slice(0, i).trim()] = l.slice(i + 1).trim();
    }
  }
  return out;
}

/** Splits the label field's text ("a=1, b=2") into `key=value` strings. */
export function splitLabels(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s.indexOf("=") > 0);
}

/** The ListExecutions request of a query: one server-side page, never a scan. */
export function toListFilter(q: HistoryQuery): ListExecutionsFilter {
  const after = parseDateParam(q.after);
  const before = parseDateParam(q.before);
  const labels = labelMap(q.labels);
  return {
    pageSize: HISTORY_PAGE_SIZE,
    ...(q.page ? { pageToken: q.page } : {}),
    ...(q.workflow ? { workflowId: q.workflow } : {}),
    ...(q.states.length > 0 ? { states: q.states } : {}),
    ...(q.batch ? { batchId: q.batch } : {}),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(after ? { createTimeAfter: after } : {}),
    ...(before ? { createTimeBefore: before } : {}),
  };
}

/** The query of the next page. */
export function nextPage(q: HistoryQuery, token: string): HistoryQuery {
  return { ...q, prev: [...q.prev, q.page], page: token };
}

/** The query of the previous page; the first page has none. */
export function previousPage(q: HistoryQuery): HistoryQuery | undefined {
  if (!q.page) return undefined;
  const prev = q.prev.slice(0, -1);
  const page = q.prev[q.prev.length - 1] ?? "";
  return { ...q, page, prev: page ? prev : [] };
}

/** The same filters from the first page (a filter change invalidates page tokens). */
export function withFilters(q: HistoryQuery, filters: Omit<HistoryQuery, "page" | "prev">): HistoryQuery {
  return { ...filters, page: "", prev: [] };
}
