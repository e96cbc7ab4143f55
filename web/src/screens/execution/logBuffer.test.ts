import { describe, expect, it } from "vitest";

import { FilteredView, SHOW_ALL } from "./filteredView";
import { KIND_EVENT, KIND_STDERR, KIND_STDOUT, LogBuffer, type LineKind, type LogLine } from "./logBuffer";

const line = (seq: number, text = `line ${seq}`, kind: LineKind = KIND_STDOUT): LogLine => ({
  seq,
  timeMs: 1000 + seq,
  kind,
  label: kind === KIND_STDERR ? "stderr" : kind === KIND_EVENT ? "phase_started" : "stdout",
  text,
});

describe("LogBuffer", () => {
  it("keeps lines in order and resumes after the last one", () => {
    const b = new LogBuffer(10);
    for (let s = 1; s <= 3; s++) expect(b.append(line(s))).toBe(true);
    expect(b.length).toBe(3);
    expect(b.nextSeq).toBe(4);
    expect(b.at(b.startPos + 1)?.text).toBe("line 2");
  });

  it("drops duplicates of sequences it already holds", () => {
    const b = new LogBuffer(10);
    b.append(line(1));
    b.append(line(2));
    expect(b.append(line(2, "again"))).toBe(false);
    expect(b.append(line(1, "again"))).toBe(false);
    expect(b.length).toBe(2);
    expect(b.at(b.endPos - 1)?.text).toBe("line 2");
  });

  it("drops the oldest lines beyond its cap and counts them", () => {
    const b = new LogBuffer(5000);
    for (let s = 1; s <= 12_000; s++) b.append(line(s));
    expect(b.length).toBe(5000);
    expect(b.dropped).toBe(7000);
    expect(b.oldestSeq).toBe(7001);
    expect(b.at(b.startPos)?.seq).toBe(7001);
    expect(b.at(b.endPos - 1)?.seq).toBe(12_000);
    expect(b.at(b.startPos - 1)).toBeUndefined();
    expect(b.positionOfSeq(8000)).toBe(b.startPos + 999);
    expect(b.positionOfSeq(100)).toBe(b.startPos);
    expect(b.positionOfSeq(12_001)).toBeUndefined();
  });

  it("can start at a later sequence (a jump into dropped lines)", () => {
    const b = new LogBuffer(10, 500);
    expect(b.nextSeq).toBe(500);
    expect(b.append(line(499))).toBe(false);
    expect(b.append(line(500))).toBe(true);
    expect(b.oldestSeq).toBe(500);
  });
});

describe("LogBuffer window", () => {
  it("keeps its start and refuses lines once full", () => {
    const b = new LogBuffer(3, 10, true);
    for (let s = 10; s <= 15; s++) b.append(line(s));
    expect(b.full).toBe(true);
    expect(b.dropped).toBe(0);
    expect([b.oldestSeq, b.lastSeq]).toEqual([10, 12]);
  });
});

describe("FilteredView", () => {
  it("shows everything without filters, tracking appends", () => {
    const b = new LogBuffer(100);
    const v = new FilteredView(b, SHOW_ALL);
    b.append(line(1));
    b.append(line(2));
    v.update();
    expect(v.count).toBe(2);
    expect(b.at(v.positionAt(1))?.seq).toBe(2);
  });

  it("filters by stream and case-insensitive text, incrementally", () => {
    const b = new LogBuffer(100);
    const v = new FilteredView(b, { stdout: false, stderr: true, events: true, query: "DISK" });
    b.append(line(1, "disk one", KIND_STDOUT));
    b.append(line(2, "Disk two", KIND_STDERR));
    b.append(line(3, "nothing", KIND_STDERR));
    v.update();
    expect(v.count).toBe(1);
    b.append(line(4, "converting disk", KIND_EVENT));
    v.update();
    expect(v.count).toBe(2);
    expect([0, 1].map((r) => b.at(v.positionAt(r))?.seq)).toEqual([2, 4]);
    expect(v.rowAtOrAfter(b.positionOfSeq(3) ?? -1)).toBe(1);
  });

  it("forgets rows whose lines were dropped", () => {
    const b = new LogBuffer(3);
    const v = new FilteredView(b, { ...SHOW_ALL, query: "x" });
    for (let s = 1; s <= 6; s++) b.append(line(s, s % 2 === 0 ? "x" : "y"));
    v.update();
    // Kept: 4, 5, 6; matching: 4 and 6.
    expect(v.count).toBe(2);
    expect(b.at(v.positionAt(0))?.seq).toBe(4);
  });
});
