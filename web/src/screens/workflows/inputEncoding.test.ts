import { describe, expect, it } from "vitest";

import { encodeInputs, formatLabels, initialValues, parseLabels, parsePhaseList, parseTimeoutSeconds } from "./inputEncoding";
import { field, phaseSelector, researchWorkflow, text } from "./testFixtures";

const fields = researchWorkflow().fields;

describe("initialValues", () => {
  it("starts from the declared defaults, a phase list as numbers", () => {
    expect(initialValues(fields)).toEqual({ topic: "", depth: "2", fmt: "md", config: "", phases: [0, 1, 2], resume: "" });
  });

  it("starts from an earlier execution's string inputs when re-running", () => {
    const previous = { topic: "rust", depth: "3", fmt: "html", phases: "0,2", resume: "/tmp/s.json", gone: "x" };
    expect(initialValues(fields, previous)).toEqual({
      topic: "rust",
      depth: "3",
      fmt: "html",
      config: "",
      phases: [0, 2],
      resume: "/tmp/s.json",
    });
  });
});

describe("parsePhaseList", () => {
  it("reads the daemon's comma list, sorted and without repeats or junk", () => {
    expect(parsePhaseList("2, 0,x,,2")).toEqual([0, 2]);
    expect(parsePhaseList("")).toEqual([]);
  });
});

describe("encodeInputs", () => {
  it("sends numbers as numbers, phases as a list, and leaves empty controls out", () => {
    const values = { topic: "rust", depth: "4", fmt: "html", config: "", phases: [2, 0], resume: "  " };
    expect(encodeInputs(fields, values)).toEqual({ topic: "rust", depth: 4, fmt: "html", phases: [0, 2] });
  });

  it("sends a number that does not parse as typed, for the daemon to name", () => {
    expect(encodeInputs(fields, { depth: "4x" })).toEqual({ depth: "4x" });
  });

  it("sends an emptied phase selector with a default as [] but leaves one without a default out", () => {
    expect(encodeInputs(fields, { phases: [] })).toEqual({ phases: [] });
    const noDefault = [field("phases", phaseSelector(3))];
    expect(encodeInputs(noDefault, { phases: [] })).toEqual({});
  });

  it("sends text fields' values untouched (no trimming inside the value)", () => {
    expect(encodeInputs([field("t", text())], { t: " a b " })).toEqual({ t: " a b " });
  });
});

describe("labels and timeout", () => {
  it("reads key=value lines and round-trips them", () => {
    expect(parseLabels("team=vm\n\n owner = ana \n")).toEqual({ labels: { team: "vm", owner: "ana" }, error: null });
    expect(formatLabels({ team: "vm", owner: "ana" })).toBe("team=vm\nowner=ana");
  });

  it("names the line that is not key=value", () => {
    expect(parseLabels("a=1\nnope").error).toBe('Line 2 ("nope") is not key=value.');
    expect(parseLabels("=x").error).not.toBeNull();
  });

  it("reads the timeout in seconds as milliseconds, empty as none", () => {
    expect(parseTimeoutSeconds("")).toEqual({ ms: undefined, error: null });
    expect(parseTimeoutSeconds("90")).toEqual({ ms: 90000, error: null });
    expect(parseTimeoutSeconds("0").error).not.toBeNull();
    expect(parseTimeoutSeconds("-3").error).not.toBeNull();
  });
});
