// The Manifest Builder's draft and the manifest it stands for. The choices
// and defaults are hyperctl's (docs/manifests.md, reference hyper2kvm.md
// "The pipeline manifest"): a fresh draft yields exactly the reference's
// example manifest once a source path is filled in.

export const SOURCE_TYPES = ["vmdk", "ova", "ovf", "vhd", "vhdx", "raw", "ami"] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

/** qcow2, raw and vdi are hyper2kvm's; the TUI and web UI also offer vmdk. */
export const OUTPUT_FORMATS = ["qcow2", "raw", "vdi", "vmdk"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const FSTAB_MODES = ["stabilize-all", "bypath-only", "noop"] as const;
export type FstabMode = (typeof FSTAB_MODES)[number];

export const NETWORK_FIX_LEVELS = ["full", "basic", "none"] as const;
export type NetworkFixLevel = (typeof NETWORK_FIX_LEVELS)[number];

/** "" leaves `validate.boot_accel` out: the program's default, kvm:tcg. */
export const BOOT_ACCELS = ["", "kvm:tcg", "tcg", "kvm"] as const;
export type BootAccel = (typeof BOOT_ACCELS)[number];

export const MANIFEST_VERSION = "1.0";
export const DEFAULT_BOOT_TEST_SECONDS = 20;

export interface VmDraft {
  /** Stable React key; problem paths use the VM's position instead. */
  key: number;
  name: string;
  sourceType: SourceType;
  sourcePath: string;
  amiId: string;
}

export interface ManifestDraft {
  batch: boolean;
  vms: VmDraft[];
  nextKey: number;
  inspect: { enabled: boolean; detectOs: boolean };
  fix: {
    enabled: boolean;
    fstab: { enabled: boolean; mode: FstabMode };
    grub: { enabled: boolean };
    initramfs: { enabled: boolean; regenerate: boolean };
    network: { enabled: boolean; fixLevel: NetworkFixLevel };
    /** A configured guest-fix tool's name; "" for the program's default. */
    tool: string;
  };
  convert: { enabled: boolean; outputFormat: OutputFormat; compress: boolean; overwrite: boolean };
  validate: { enabled: boolean; bootTest: boolean; bootTestSeconds: string; bootAccel: BootAccel };
  /** A folder inside the daemon's output directory; "" for the daemon's default layout. */
  outputDirectory: string;
}

export function newVm(key: number): VmDraft {
  return { key, name: "", sourceType: "vmdk", sourcePath: "", amiId: "" };
}

/** hyperctl's defaults: inspect on with detect_os; fstab stabilize-all; grub on; initramfs regenerate; network full; qcow2; compress on; validate on; boot_test off. */
export function defaultDraft(): ManifestDraft {
  return {
    batch: false,
    vms: [newVm(0)],
    nextKey: 1,
    inspect: { enabled: true, detectOs: true },
    fix: {
      enabled: true,
      fstab: { enabled: true, mode: "stabilize-all" },
      grub: { enabled: true },
      initramfs: { enabled: true, regenerate: true },
      network: { enabled: true, fixLevel: "full" },
      tool: "",
    },
    convert: { enabled: true, outputFormat: "qcow2", compress: true, overwrite: false },
    validate: { enabled: true, bootTest: false, bootTestSeconds: String(DEFAULT_BOOT_TEST_SECONDS), bootAccel: "" },
    outputDirectory: "",
  };
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** "/data/my-vm.vmdk" -> "my-vm". */
export function fileStem(path: string): string {
  const base = path.split("/").filter((p) => p !== "").pop() ?? "";
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(0, dot) : base;
}

/** The name the daemon will give the VM: its own, else (single VM) the source file's stem. */
export function vmDisplayName(vm: VmDraft): string {
  return vm.name.trim() || fileStem(vm.sourcePath);
}

/** A text box's number when it holds one; otherwise the text, for the validator to report. */
function numberOrText(text: string): number | string {
  const n = Number(text);
  return text.trim() !== "" && Number.isFinite(n) ? n : text;
}

function pipelineOf(draft: ManifestDraft, vm: VmDraft): JsonObject {
  const load: JsonObject = { source_type: vm.sourceType, source_path: vm.sourcePath };
  if (vm.sourceType === "ami") load.ami_id = vm.amiId;

  const fix: JsonObject = {};
  // Stages are written with `enabled` only where the reference's own
  // example has it (inspect, validate) or where it is switched off.
  if (!draft.fix.enabled) fix.enabled = false;
  fix.fstab = { enabled: draft.fix.fstab.enabled, mode: draft.fix.fstab.mode };
  fix.grub = { enabled: draft.fix.grub.enabled };
  fix.initramfs = { enabled: draft.fix.initramfs.enabled, regenerate: draft.fix.initramfs.regenerate };
  fix.network = { enabled: draft.fix.network.enabled, fix_level: draft.fix.network.fixLevel };
  if (draft.fix.tool.trim() !== "") fix.tool = draft.fix.tool.trim();

  const convert: JsonObject = {};
  if (!draft.convert.enabled) convert.enabled = false;
  convert.output_format = draft.convert.outputFormat;
  convert.compress = draft.convert.compress;
  const dir = draft.outputDirectory.trim().replace(/\/+$/, "");
  if (dir !== "") convert.output_path = `${dir}/${vmDisplayName(vm) || "vm"}.${draft.convert.outputFormat}`;
  if (draft.convert.overwrite) convert.overwrite = true;

  const validate: JsonObject = { enabled: draft.validate.enabled, boot_test: draft.validate.bootTest };
  if (draft.validate.bootTest) {
    validate.boot_test_seconds = numberOrText(draft.validate.bootTestSeconds);
    if (draft.validate.bootAccel !== "") validate.boot_accel = draft.validate.bootAccel;
  }

  return {
    load,
    inspect: { enabled: draft.inspect.enabled, detect_os: draft.inspect.detectOs },
    fix,
    convert,
    validate,
  };
}

/**
 * The manifest: the single form `{version, [name], pipeline}` or the batch
 * form `{version, batch: true, vms: [{name, pipeline}]}`, every VM of a
 * batch with the same pipeline choices (as hyperctl's batch submit does).
 */
export function draftToManifest(draft: ManifestDraft): JsonObject {
  if (draft.batch) {
    return {
      version: MANIFEST_VERSION,
      batch: true,
      vms: draft.vms.map((vm) => ({ name: vm.name, pipeline: pipelineOf(draft, vm) })),
    };
  }
  const vm = draft.vms[0] ?? newVm(0);
  const manifest: JsonObject = { version: MANIFEST_VERSION };
  if (vm.name.trim() !== "") manifest.name = vm.name;
  manifest.pipeline = pipelineOf(draft, vm);
  return manifest;
}

export function manifestJson(draft: ManifestDraft): string {
  return JSON.stringify(draftToManifest(draft), null, 2);
}

const pad = (n: number) => String(n).padStart(2, "0");

/**
 * The file name sent with the manifest: it names a single VM that has no
 * name of its own (the daemon takes the stem), and becomes the executions'
 * `manifest` label. Batches follow hyperctl: batch-YYYYMMDD-HHMMSS.json.
 */
export function manifestFileName(draft: ManifestDraft, now: Date | null): string {
  if (draft.batch) {
    if (now === null) return "batch.json";
    const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
    return `batch-${stamp}.json`;
  }
  const vm = draft.vms[0];
  return `${(vm && vmDisplayName(vm)) || "manifest"}.json`;
}
