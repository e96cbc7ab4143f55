import type { Field, FieldViolation } from "@workflow-manager/workflowd-client";
import { describe, expect, it } from "vitest";

import { inPageNumbering, placeViolations } from "./violations";

const violation = (field: string, description: string) => ({ field, description }) as FieldViolation;
const fields = [{ name: "depth" }, { name: "topic" }] as Field[];

describe("placeViolations", () => {
  it("places inputs.<name> at its field and the rest in the summary", () => {
    expect(
      placeViolations(fields, [violation("inputs.topic", "is required"), violation("timeout", "is too long")]),
    ).toEqual([
      { fieldName: "topic", message: "is required" },
      { fieldName: null, message: "timeout: is too long" },
    ]);
  });

  it("names a phase as the form's checkboxes do, from 1", () => {
    // The daemon's index 1 is the checkbox "Phase 2".
    expect(placeViolations(fields, [violation("inputs.depth", "is required when phase 1 is selected")])).toEqual([
      { fieldName: "depth", message: "is required when phase 2 is selected" },
    ]);
    expect(inPageNumbering("must be a number")).toBe("must be a number");
  });
});
