import { describe, expect, it } from "vitest";

import { fieldControl } from "./fieldControl";
import { field, filePath, number, phaseSelector, select, stateFile, text } from "./testFixtures";

describe("fieldControl", () => {
  it("edits free text in a text input without a hint", () => {
    expect(fieldControl(field("topic", text()))).toEqual({ kind: "text", hint: null });
  });

  it("gives a number its bounds, as numbers, and says them", () => {
    expect(fieldControl(field("depth", number(1n, 5n)))).toEqual({ kind: "number", min: 1, max: 5, hint: "Between 1 and 5." });
    expect(fieldControl(field("n", number(undefined, 9n)))).toEqual({ kind: "number", min: null, max: 9, hint: "At most 9." });
    expect(fieldControl(field("n", number()))).toEqual({ kind: "number", min: null, max: null, hint: null });
  });

  it("offers a select's options, with an empty choice only when no default is among them", () => {
    expect(fieldControl(field("fmt", select("md", "html"), { defaultValue: "md" }))).toEqual({
      kind: "select",
      options: ["md", "html"],
      emptyOption: null,
    });
    expect(fieldControl(field("fmt", select("md", "html"), { required: true }))).toMatchObject({ emptyOption: "Choose…" });
    expect(fieldControl(field("fmt", select("md", "html")))).toMatchObject({ emptyOption: "(none)" });
  });

  it("edits a file path as text with its glob pattern as the hint", () => {
    expect(fieldControl(field("config", filePath("*.yaml")))).toEqual({
      kind: "text",
      hint: "An absolute path to an existing file matching *.yaml.",
    });
    expect(fieldControl(field("config", filePath()))).toEqual({ kind: "text", hint: "An absolute path to an existing file." });
  });

  it("edits a state file as text, naming its pattern and producing phase", () => {
    expect(fieldControl(field("resume", stateFile("*.json", 1)), new Map([[1, "analyse"]]))).toEqual({
      kind: "text",
      hint: "A state file of an earlier run matching *.json. Produced by phase 2 (analyse).",
    });
    expect(fieldControl(field("resume", stateFile("*.json")))).toEqual({
      kind: "text",
      hint: "A state file of an earlier run matching *.json.",
    });
  });

  it("makes one checkbox per phase, named when the names are known", () => {
    expect(fieldControl(field("phases", phaseSelector(3)), new Map([[0, "gather"], [2, "write"]]))).toEqual({
      kind: "phases",
      phases: [
        { index: 0, label: "Phase 1: gather" },
        { index: 1, label: "Phase 2" },
        { index: 2, label: "Phase 3: write" },
      ],
    });
  });

  it("treats a field without a type as text", () => {
    const untyped = { ...field("x", text()), type: undefined };
    expect(fieldControl(untyped)).toEqual({ kind: "text", hint: null });
  });
});
