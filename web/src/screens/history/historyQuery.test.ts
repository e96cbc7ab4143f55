import { ExecutionState } from "@workflow-manager/workflowd-client";
import { describe, expect, it } from "vitest";

import {
  EMPTY_QUERY,
  HISTORY_PAGE_SIZE,
  MAX_PREV_PAGES,
  firstPage,
  historySearchParams,
  nextPage,
  pageNumberOf,
  parseHistoryQuery,
  previousPage,
  splitLabels,
  toListFilter,
  withFilters,
} from "./historyQuery";

describe("history query ↔ URL", () => {
  it("parses every filter from the URL", () => {
    const q = parseHistoryQuery(
      new URLSearchParams("workflow=vm_pipeline&state=FAILED&state=timed_out&state=bogus&batch=b1&label=vm%3Dweb01&label=env%3Da%3Db&after=2026-12-01&before=2026-12-06&page=tok2&prev="),
    );
    expect(q).toEqual({
      workflow: "vm_pipeline",
      states: [ExecutionState.FAILED, ExecutionState.TIMED_OUT],
      batch: "b1",
      labels: ["vm=web01", "env=a=b"],
      after: "2026-12-01",
      before: "2026-12-06",
      page: "tok2",
      prev: [""],
      skipped: 0,
    });
  });

  it("round-trips through the URL", () => {
    const q = { ...EMPTY_QUERY, workflow: "w", states: [ExecutionState.RUNNING, ExecutionState.QUEUED], labels: ["a=1"], page: "p3", prev: ["", "p2"] };
    const params = historySearchParams(q);
    expect(params.getAll("state")).toEqual(["RUNNING", "QUEUED"]);
    expect(parseHistoryQuery(new URLSearchParams(params.toString()))).toEqual(q);
  });

  it("leaves empty filters out of the URL", () => {
    expect(historySearchParams(EMPTY_QUERY).toString()).toBe("");
  });

  it("maps to one server-side page of ListExecutions", () => {
    const q = parseHistoryQuery(new URLSearchParams("workflow=w&state=SUCCEEDED&label=vm%3Dweb01&label=env%3Da%3Db&after=2026-12-01&page=tok"));
    const f = toListFilter(q);
    expect(f.pageSize).toBe(HISTORY_PAGE_SIZE);
    expect(f.pageToken).toBe("tok");
    expect(f.workflowId).toBe("w");
    expect(f.states).toEqual([ExecutionState.SUCCEEDED]);
    expect(f.labels).toEqual({ vm: "web01", env: "a=b" });
    expect(f.createTimeAfter?.getTime()).toBe(new Date(2026, 11, 1).getTime());
    expect(f.createTimeBefore).toBeUndefined();
    expect(f.batchId).toBeUndefined();
  });

  it("ignores an unparsable date instead of sending a bad filter", () => {
    expect(toListFilter({ ...EMPTY_QUERY, after: "yesterday-ish" }).createTimeAfter).toBeUndefined();
  });

  it("pages forward and back with the tokens kept in the URL", () => {
    const p1 = { ...EMPTY_QUERY, workflow: "w" };
    const p2 = nextPage(p1, "t2");
    const p3 = nextPage(p2, "t3");
    expect(p3).toMatchObject({ page: "t3", prev: ["", "t2"] });
    const back = parseHistoryQuery(new URLSearchParams(historySearchParams(p3).toString()));
    expect(previousPage(back)).toEqual(p2);
    expect(previousPage(p2)).toEqual(p1);
    expect(previousPage(p1)).toBeUndefined();
  });

  it("keeps at most MAX_PREV_PAGES earlier tokens in the URL, counting pages on", () => {
    let q = { ...EMPTY_QUERY, workflow: "w" };
    for (let i = 2; i <= 60; i++) q = nextPage(q, `t${i}`);
    expect(q.prev).toHaveLength(MAX_PREV_PAGES);
    expect(q.prev.at(-1)).toBe("t59");
    expect(pageNumberOf(q)).toBe(60);
    const url = historySearchParams(q);
    expect(url.getAll("prev")).toHaveLength(MAX_PREV_PAGES);
    const back = parseHistoryQuery(new URLSearchParams(url.toString()));
    expect(pageNumberOf(back)).toBe(60);
    expect(pageNumberOf(previousPage(back) ?? EMPTY_QUERY)).toBe(59);
    // Back past the oldest kept token: only starting over remains.
    let p: typeof q | undefined = back;
    for (let i = 0; i < MAX_PREV_PAGES; i++) p = p && previousPage(p);
    expect(p && pageNumberOf(p)).toBe(40);
    expect(p && previousPage(p)).toBeUndefined();
    expect(p && firstPage(p)).toMatchObject({ page: "", prev: [], skipped: 0, workflow: "w" });
  });

  it("goes back to the first page when filters change", () => {
    const q = nextPage({ ...EMPTY_QUERY, workflow: "w" }, "t2");
    const changed = withFilters(q, { ...q, workflow: "other" });
    expect(changed.page).toBe("");
    expect(changed.prev).toEqual([]);
  });

  it("splits the labels field", () => {
    expect(splitLabels("vm=web01, env=prod,broken, =x")).toEqual(["vm=web01", "env=prod"]);
  });
});
