// Server-side input violations, placed at the form fields they name.
import type { Field, FieldViolation } from "@workflow-manager/workflowd-client";

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

/** Each violation with the form field it is about (`inputs.<name>` names one). */
export function placeViolations(fields: readonly Field[], violations: readonly FieldViolation[]): InputProblem[] {
  const names = new Set(fields.map((f) => f.name));
  return violations.map((v) => {
    const name = v.field.startsWith("inputs.") ? v.field.slice("inputs.".length) : v.field;
    return names.has(name) ? { fieldName: name, message: v.description } : { fieldName: null, message: `${v.field}: ${v.description}` };
  });
}
