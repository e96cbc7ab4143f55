// Workflow messages for the tests, built by hand: the dashboard does not
// depend on @bufbuild/protobuf itself, so there is no create() here.
import type { Execution, Field, FieldType, Workflow } from "@workflow-manager/workflowd-client";

type Kind = FieldType["kind"];

export function fieldType(kind: Kind): FieldType {
  return { $typeName: "workflow.v1.FieldType", kind };
}

export const text = (): Kind => ({ case: "text", value: { $typeName: "workflow.v1.FieldType.Text" } });
export const number = (min?: bigint, max?: bigint): Kind => ({
  case: "number",
  value: { $typeName: "workflow.v1.FieldType.Number", min, max },
});
export const select = (...options: string[]): Kind => ({
  case: "select",
  value: { $typeName: "workflow.v1.FieldType.Select", options },
});
export const filePath = (pattern?: string): Kind => ({
  case: "filePath",
  value: { $typeName: "workflow.v1.FieldType.FilePath", pattern },
});
export const phaseSelector = (totalPhases: number): Kind => ({
  case: "phaseSelector",
  value: { $typeName: "workflow.v1.FieldType.PhaseSelector", totalPhases },
});
export const stateFile = (pattern: string, phase?: number): Kind => ({
  case: "stateFile",
  value: { $typeName: "workflow.v1.FieldType.StateFile", pattern, phase },
});

export function field(name: string, kind: Kind, extra: Partial<Omit<Field, "$typeName" | "type">> = {}): Field {
  return {
    $typeName: "workflow.v1.Field",
    name,
    label: "",
    description: "",
    cliArg: `--${name}`,
    required: false,
    requiredForPhases: [],
    type: fieldType(kind),
    ...extra,
  };
}

export function workflow(id: string, fields: Field[], extra: Partial<Omit<Workflow, "$typeName">> = {}): Workflow {
  return {
    $typeName: "workflow.v1.Workflow",
    id,
    name: id,
    description: "",
    schemaVersion: "1.0.0",
    fields,
    inputJsonSchema: "{}",
    programPath: `/opt/workflows/${id}`,
    namespaces: ["default"],
    ...extra,
  };
}

/** An execution with only the members the Run form reads. */
export function execution(id: string, extra: Partial<Execution> = {}): Execution {
  return {
    id,
    workflowId: "research",
    inputs: {},
    labels: {},
    phases: [],
    ...extra,
  } as unknown as Execution;
}

/** The research workflow of the daemon's own tests (src/inputs.rs), one field of every type. */
export function researchWorkflow(): Workflow {
  return workflow(
    "research",
    [
      field("topic", text(), { label: "Topic", description: "What to research.", required: true }),
      field("depth", number(1n, 5n), { label: "Depth", defaultValue: "2" }),
      field("fmt", select("md", "html"), { label: "Format", defaultValue: "md" }),
      field("config", filePath("*.yaml"), { label: "Config file" }),
      field("phases", phaseSelector(3), { label: "Phases", defaultValue: "0,1,2" }),
      field("resume", stateFile("*.json", 1), { label: "Resume from", requiredForPhases: [2] }),
    ],
    { name: "Research", description: "Researches a topic in three phases." },
  );
}
