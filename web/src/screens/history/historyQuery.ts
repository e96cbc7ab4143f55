// The History filters as they live in the URL, and the ListExecutions
// filter they stand for. Paging keeps the current page token in `page` and
// the tokens of the pages before it in `prev`, so Previous needs no call;
// only the newest MAX_PREV_PAGES of those, so the URL stays bounded (older
// pages are reached by starting over from the first).
import type { ExecutionState, ListExecutionsFilter } from "@workflow-manager/workflowd-client";

import { parseStateKey, stateKey } from "../../format";

export const HISTORY_PAGE_SIZE = 50;

/** Most earlier page tokens kept in the URL. */
export const MAX_PREV_PAGES = 20;

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
  /** Earlier pages whose tokens were let go to bound `prev`: for the page number. */
  skipped: number;
}

export const EMPTY_QUERY: HistoryQuery = { workflow: "", states: [], batch: "", labels: [], after: "", before: "", page: "", prev: [], skipped: 0 };

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
    skipped: Math.max(0, Number.parseInt(params.get("skipped") ?? "", 10) || 0),
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
    if (q.skipped > 0) p.set("skipped", String(q.skipped));
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
  const prev = [...q.prev, q.page];
  const over = Math.max(0, prev.length - MAX_PREV_PAGES);
  return { ...q, prev: prev.slice(over), skipped: q.skipped + over, page: token };
}

/** The number of the page shown, from 1. */
export function pageNumberOf(q: HistoryQuery): number {
  return q.page ? q.skipped + q.prev.length + 1 : 1;
}

/**
 * The query of the previous page; none for the first page, nor beyond the
 * oldest token kept (start over from the first page then).
 */
export function previousPage(q: HistoryQuery): HistoryQuery | undefined {
  if (!q.page) return undefined;
  if (q.prev.length === 0 && q.skipped > 0) return undefined;
  const prev = q.prev.slice(0, -1);
  const page = q.prev[q.prev.length - 1] ?? "";
  return page ? { ...q, page, prev } : { ...q, page, prev: [], skipped: 0 };
}

/** The first page of the same filters. */
export function firstPage(q: HistoryQuery): HistoryQuery {
  return { ...q, page: "", prev: [], skipped: 0 };
}

/** The same filters from the first page (a filter change invalidates page tokens). */
export function withFilters(q: HistoryQuery, filters: Omit<HistoryQuery, "page" | "prev" | "skipped">): HistoryQuery {
  return { ...filters, page: "", prev: [], skipped: 0 };
}
