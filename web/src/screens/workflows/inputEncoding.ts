// Converts between the Run form's values and the API's inputs. The daemon
// takes JSON values (ValidateInputsRequest.inputs) and reports what ran as
// strings (Execution.inputs, defaults applied; a phase list as "0,1,2", see
// src/inputs.rs), so both directions live here.
import type { Field, Inputs } from "@workflow-manager/workflowd-client";

/** One field's value in the form: text for most fields, the checked phases for a phase selector. */
export type FormValue = string | readonly number[];
export type FormValues = Readonly<Record<string, FormValue>>;

function isPhaseSelector(field: Field): boolean {
  return field.type?.kind.case === "phaseSelector";
}

/** "0, 2,1" -> [0, 1, 2]; anything that is not a whole number is dropped. */
export function parsePhaseList(text: string): number[] {
  const phases = text
    .split(",")
    .map((p) => p.trim())
    .filter((p) => /^\d+$/.test(p))
    .map(Number);
  return [...new Set(phases)].sort((a, b) => a - b);
}

/** A field's form value from the daemon's string form of it. */
export function decodeValue(field: Field, text: string): FormValue {
  return isPhaseSelector(field) ? parsePhaseList(text) : text;
}

/**
 * The form's starting values: an earlier execution's inputs when re-running,
 * else the declared defaults, else empty.
 */
export function initialValues(fields: readonly Field[], previousInputs?: Readonly<Record<string, string>>): Record<string, FormValue> {
  const values: Record<string, FormValue> = {};
  for (const field of fields) {
    const text = previousInputs?.[field.name] ?? field.defaultValue;
    values[field.name] = text === undefined ? (isPhaseSelector(field) ? [] : "") : decodeValue(field, text);
  }
  return values;
}

/**
 * The inputs to send. An empty control is left out so the daemon applies the
 * default or reports "is required" itself; the one exception is a phase
 * selector with a default whose boxes were all cleared, sent as [] so the
 * daemon says "must select at least one phase" instead of silently running
 * the default phases.
 */
export function encodeInputs(fields: readonly Field[], values: FormValues): Inputs {
  const inputs: Record<string, Inputs[string]> = {};
  for (const field of fields) {
    const value = values[field.name];
    if (value === undefined) continue;
    if (typeof value !== "string") {
      if (value.length > 0 || field.defaultValue !== undefined) {
        inputs[field.name] = [...value].sort((a, b) => a - b);
      }
      continue;
    }
    if (value.trim() === "") continue;
    if (field.type?.kind.case === "number") {
      const n = Number(value);
      // A value that is not a number goes as typed: the daemon's message
      // ("must be a number, got ...") is the one shown at the field.
      inputs[field.name] = Number.isFinite(n) ? n : value;
    } else {
      inputs[field.name] = value;
    }
  }
  return inputs;
}

export interface ParsedLabels {
  labels: Record<string, string>;
  /** Why the text is not a list of key=value lines; null when it is. */
  error: string | null;
}

/** "key=value" lines (blank lines ignored) as execution labels. */
export function parseLabels(text: string): ParsedLabels {
  const labels: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? "").trim();
    if (line === "") continue;
    const eq = line.indexOf("=");
    if (eq <= 0) {
      return { labels, error: `Line ${i + 1} ("${line}") is not key=value.` };
    }
    labels[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return { labels, error: null };
}

/** Labels as the "key=value" lines the Labels box shows. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");
}

export interface ParsedTimeout {
  /** The execution timeout in milliseconds; undefined for none. */
  ms: number | undefined;
  error: string | null;
}

/** The "Timeout (s)" box: empty for no limit, else a positive number of seconds. */
export function parseTimeoutSeconds(text: string): ParsedTimeout {
  if (text.trim() === "") return { ms: undefined, error: null };
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    return { ms: undefined, error: "Must be a positive number of seconds, or empty for no limit." };
  }
  return { ms: Math.round(seconds * 1000), error: null };
}
