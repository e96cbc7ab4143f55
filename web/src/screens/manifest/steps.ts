// The builder's four steps (HyperSDK's step indicator: Source, Pipeline,
// Output, Review), named in the URL as ?step=.
export const STEPS = ["source", "pipeline", "output", "review"] as const;
export type Step = (typeof STEPS)[number];

export const STEP_TITLES: Readonly<Record<Step, string>> = {
  source: "Source",
  pipeline: "Pipeline",
  output: "Output",
  review: "Review",
};

/** The step a ?step= value names; the first step for anything else. */
export function parseStep(value: string | null): Step {
  return STEPS.find((s) => s === value) ?? "source";
}

export function nextStep(step: Step): Step | null {
  return STEPS[STEPS.indexOf(step) + 1] ?? null;
}

export function previousStep(step: Step): Step | null {
  const i = STEPS.indexOf(step);
  return i > 0 ? (STEPS[i - 1] ?? null) : null;
}
