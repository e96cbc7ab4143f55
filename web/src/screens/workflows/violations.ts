// Server-side input violations, placed at the form fields they name.
import type { Field, FieldViolation } from "@workflow-manager/workflowd-client";

import { phaseNumber } from "../../format";

export interface InputProblem {
  /** The field the problem is about; null when it names no field of the form. */
  fieldName: string | null;
  message: string;
}

/**
 * The violations of an INVALID_ARGUMENT error, or null for any other error.
 * Duck-typed so that a WorkflowError from another copy of the client module
 * (or a test double of the same shape) is recognised too.
 */
export function violationsOf(err: unknown): readonly FieldViolation[] | null {
  if (typeof err !== "object" || err === null) return null;
  const { codeName, fieldViolations } = err as { codeName?: unknown; fieldViolations?: unknown };
  if (codeName !== "INVALID_ARGUMENT" || !Array.isArray(fieldViolations) || fieldViolations.length === 0) {
    return null;
  }
  return fieldViolations as FieldViolation[];
}

// The daemon names a phase by the program's index (src/inputs.rs); the page
// numbers phases from 1 everywhere (phaseNumber), so a message left as it
// is would point at the wrong checkbox.
const REQUIRED_FOR_PHASE = /^is required when phase (\d+) is selected$/;

/** A daemon message in the page's phase numbering. */
export function inPageNumbering(description: string): string {
  const m = REQUIRED_FOR_PHASE.exec(description);
  return m ? `is required when phase ${phaseNumber(Number(m[1]))} is selected` : description;
}

/** Each violation with the form field it is about (`inputs.<name>` names one). */
export function placeViolations(fields: readonly Field[], violations: readonly FieldViolation[]): InputProblem[] {
  const names = new Set(fields.map((f) => f.name));
  return violations.map((v) => {
    const name = v.field.startsWith("inputs.") ? v.field.slice("inputs.".length) : v.field;
    const message = inPageNumbering(v.description);
    return names.has(name) ? { fieldName: name, message } : { fieldName: null, message: `${v.field}: ${message}` };
  });
}
