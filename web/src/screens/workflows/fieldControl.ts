// What control a workflow input field is edited with, decided once from the
// field's declared type so the form and its tests agree on one mapping.
import type { Field } from "@workflow-manager/workflowd-client";

import { phaseNumber } from "../../format";

export interface PhaseOption {
  index: number;
  label: string;
}

export type FieldControl =
  | { kind: "text"; hint: string | null }
  | { kind: "number"; min: number | null; max: number | null; hint: string | null }
  | { kind: "select"; options: string[]; emptyOption: string | null }
  | { kind: "phases"; phases: PhaseOption[] };

/** The DOM id of a field's control (the first checkbox for a phase selector). */
export function controlId(fieldName: string): string {
  return `input-${fieldName}`;
}

export function descriptionId(fieldName: string): string {
  return `input-${fieldName}-description`;
}

export function errorId(fieldName: string): string {
  return `input-${fieldName}-error`;
}

function rangeHint(min: number | null, max: number | null): string | null {
  if (min !== null && max !== null) return `Between ${min} and ${max}.`;
  if (min !== null) return `At least ${min}.`;
  if (max !== null) return `At most ${max}.`;
  return null;
}

/**
 * The control for a field. phaseNames are the names an earlier run reported
 * for each phase index (the workflow's metadata does not carry them).
 */
export function fieldControl(field: Field, phaseNames: ReadonlyMap<number, string> = new Map()): FieldControl {
  const kind = field.type?.kind;
  switch (kind?.case) {
    case "number": {
      const min = kind.value.min === undefined ? null : Number(kind.value.min);
      const max = kind.value.max === undefined ? null : Number(kind.value.max);
      return { kind: "number", min, max, hint: rangeHint(min, max) };
    }
    case "select": {
      // A select always shows a value, so an empty choice is offered whenever
      // "nothing chosen" is a legitimate or the initial state.
      const hasDefault = field.defaultValue !== undefined && kind.value.options.includes(field.defaultValue);
      let emptyOption: string | null = null;
      if (!hasDefault) emptyOption = field.required ? "Choose…" : "(none)";
      return { kind: "select", options: [...kind.value.options], emptyOption };
    }
    case "filePath": {
      const pattern = kind.value.pattern;
      return {
        kind: "text",
        hint: pattern === undefined ? "An absolute path to an existing file." : `An absolute path to an existing file matching ${pattern}.`,
      };
    }
    case "stateFile": {
      const { pattern, phase } = kind.value;
      const producer =
        phase === undefined ? "" : ` Produced by phase ${phaseNumber(phase)}${phaseNames.has(phase) ? ` (${phaseNames.get(phase)})` : ""}.`;
      return { kind: "text", hint: `A state file of an earlier run matching ${pattern}.${producer}` };
    }
    case "phaseSelector": {
      const phases: PhaseOption[] = [];
      for (let index = 0; index < kind.value.totalPhases; index++) {
        const name = phaseNames.get(index);
        phases.push({ index, label: name === undefined ? `Phase ${phaseNumber(index)}` : `Phase ${phaseNumber(index)}: ${name}` });
      }
      return { kind: "phases", phases };
    }
    case "text":
    case undefined:
      return { kind: "text", hint: null };
  }
}

/** The phase names of an execution's tree, by index. */
export function phaseNamesOf(phases: readonly { index: number; name: string }[]): Map<number, string> {
  const names = new Map<number, string>();
  for (const p of phases) {
    if (p.name !== "") names.set(p.index, p.name);
  }
  return names;
}
