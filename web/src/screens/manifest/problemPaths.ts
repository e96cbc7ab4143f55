// Where a ValidateManifest problem is shown: its path into the manifest
// (`vms[1].pipeline.convert.output_format`, `pipeline.load.source_path`)
// mapped to the builder control that writes that key. Paths the builder has
// no control for (version, unknown keys, the document as a whole) map to
// null and go to the summary list.
import type { Step } from "./steps";

/** DOM ids of the controls that are not per VM. */
export const CONTROL = {
  inspectEnabled: "inspect-enabled",
  inspectDetectOs: "inspect-detect-os",
  fixEnabled: "fix-enabled",
  fstabEnabled: "fix-fstab-enabled",
  fstabMode: "fix-fstab-mode",
  grubEnabled: "fix-grub-enabled",
  initramfsEnabled: "fix-initramfs-enabled",
  initramfsRegenerate: "fix-initramfs-regenerate",
  networkEnabled: "fix-network-enabled",
  networkFixLevel: "fix-network-fix-level",
  fixTool: "fix-tool",
  convertEnabled: "convert-enabled",
  validateEnabled: "validate-enabled",
  bootTest: "validate-boot-test",
  bootTestSeconds: "validate-boot-test-seconds",
  bootAccel: "validate-boot-accel",
  outputFormat: "convert-output-format",
  compress: "convert-compress",
  overwrite: "convert-overwrite",
  outputDirectory: "output-directory",
} as const;

/** DOM ids of one VM's controls (the source type is a radio group: its fieldset). */
export const vmControl = {
  name: (i: number) => `vm-${i}-name`,
  sourceType: (i: number) => `vm-${i}-source-type`,
  sourcePath: (i: number) => `vm-${i}-source-path`,
  amiId: (i: number) => `vm-${i}-ami-id`,
};

// Keys under `pipeline.` and the control that writes each. A stage's own
// path (`pipeline.fix`, e.g. "must be a mapping") goes to its toggle.
const PIPELINE_CONTROLS: Readonly<Record<string, string>> = {
  inspect: CONTROL.inspectEnabled,
  "inspect.enabled": CONTROL.inspectEnabled,
  "inspect.detect_os": CONTROL.inspectDetectOs,
  fix: CONTROL.fixEnabled,
  "fix.enabled": CONTROL.fixEnabled,
  "fix.fstab": CONTROL.fstabEnabled,
  "fix.fstab.enabled": CONTROL.fstabEnabled,
  "fix.fstab.mode": CONTROL.fstabMode,
  "fix.grub": CONTROL.grubEnabled,
  "fix.grub.enabled": CONTROL.grubEnabled,
  "fix.initramfs": CONTROL.initramfsEnabled,
  "fix.initramfs.enabled": CONTROL.initramfsEnabled,
  "fix.initramfs.regenerate": CONTROL.initramfsRegenerate,
  "fix.network": CONTROL.networkEnabled,
  "fix.network.enabled": CONTROL.networkEnabled,
  "fix.network.fix_level": CONTROL.networkFixLevel,
  "fix.tool": CONTROL.fixTool,
  convert: CONTROL.convertEnabled,
  "convert.enabled": CONTROL.convertEnabled,
  "convert.output_format": CONTROL.outputFormat,
  "convert.compress": CONTROL.compress,
  "convert.overwrite": CONTROL.overwrite,
  "convert.output_path": CONTROL.outputDirectory,
  validate: CONTROL.validateEnabled,
  "validate.enabled": CONTROL.validateEnabled,
  "validate.boot_test": CONTROL.bootTest,
  "validate.boot_test_seconds": CONTROL.bootTestSeconds,
  "validate.boot_accel": CONTROL.bootAccel,
};

const OUTPUT_STEP_CONTROLS: ReadonlySet<string> = new Set([
  CONTROL.outputFormat,
  CONTROL.compress,
  CONTROL.overwrite,
  CONTROL.outputDirectory,
]);

export interface ControlRef {
  /** The DOM id of the control. */
  id: string;
  /** The step that shows it. */
  step: Step;
  /** The VM (position) the problem is about, in a batch. */
  vm: number | null;
}

function vmKeyControl(rest: string, vm: number): string | null {
  switch (rest) {
    case "name":
      return vmControl.name(vm);
    case "pipeline.load":
    case "pipeline.load.source_path":
      return vmControl.sourcePath(vm);
    case "pipeline.load.source_type":
      return vmControl.sourceType(vm);
    case "pipeline.load.ami_id":
      return vmControl.amiId(vm);
    default:
      return null;
  }
}

/**
 * The control a problem path belongs to, for a manifest built as a batch
 * (`vms[i].…`) or as a single VM (`pipeline.…`, `name`); null when the
 * builder has no control for it.
 */
export function controlForProblemPath(path: string, batch: boolean): ControlRef | null {
  let vm: number | null = null;
  let rest = path;
  if (batch) {
    const m = /^vms\[(\d+)\]\.(.+)$/.exec(path);
    if (!m) return null;
    vm = Number(m[1]);
    rest = m[2] ?? "";
  }
  const vmId = vmKeyControl(rest, vm ?? 0);
  if (vmId !== null) return { id: vmId, step: "source", vm };
  if (!rest.startsWith("pipeline.")) return null;
  const id = PIPELINE_CONTROLS[rest.slice("pipeline.".length)];
  if (id === undefined) return null;
  return { id, step: OUTPUT_STEP_CONTROLS.has(id) ? "output" : "pipeline", vm };
}

export interface Problem {
  path: string;
  message: string;
}

export interface PlacedProblems {
  /** Messages by control id (several joined with "; "). */
  byControl: Record<string, string>;
  /** How many problems each step's controls have. */
  byStep: Record<Step, number>;
  /** Problems with no control, as "path: message". */
  unplaced: string[];
  /** Every problem in document order with the control it went to (if any). */
  all: { text: string; control: ControlRef | null }[];
}

/**
 * Places the validator's problems at the builder's controls. vmNames label
 * a batch VM's problem when it lands on a control all VMs share.
 */
export function placeProblems(problems: readonly Problem[], batch: boolean, vmNames: readonly string[] = []): PlacedProblems {
  const placed: PlacedProblems = {
    byControl: {},
    byStep: { source: 0, pipeline: 0, output: 0, review: 0 },
    unplaced: [],
    all: [],
  };
  for (const p of problems) {
    const control = controlForProblemPath(p.path, batch);
    const pathText = p.path === "" ? "manifest" : p.path;
    placed.all.push({ text: `${pathText}: ${p.message}`, control });
    if (control === null) {
      placed.unplaced.push(`${pathText}: ${p.message}`);
      continue;
    }
    placed.byStep[control.step]++;
    // Pipeline controls are shared by every VM of a batch: say which VM.
    const shared = control.step !== "source" && control.vm !== null;
    const who = control.vm !== null ? vmNames[control.vm] || `VM ${control.vm + 1}` : "";
    const message = shared ? `${who}: ${p.message}` : p.message;
    const seen = placed.byControl[control.id];
    if (seen === undefined) placed.byControl[control.id] = message;
    else if (!seen.split("; ").includes(message)) placed.byControl[control.id] = `${seen}; ${message}`;
  }
  return placed;
}
