import { describe, expect, it } from "vitest";

import { defaultDraft, draftToManifest, fileStem, manifestFileName, newVm, type ManifestDraft } from "./draft";

/** The single-VM example of the reference (hyper2kvm.md, "The pipeline manifest"), without its output_path. */
const REFERENCE_EXAMPLE = {
  version: "1.0",
  pipeline: {
    load: { source_type: "vmdk", source_path: "/data/my-vm.vmdk" },
    inspect: { enabled: true, detect_os: true },
    fix: {
      fstab: { enabled: true, mode: "stabilize-all" },
      grub: { enabled: true },
      initramfs: { enabled: true, regenerate: true },
      network: { enabled: true, fix_level: "full" },
    },
    convert: { output_format: "qcow2", compress: true },
    validate: { enabled: true, boot_test: false },
  },
};

function withSource(draft: ManifestDraft, sourcePath: string): ManifestDraft {
  return { ...draft, vms: draft.vms.map((vm) => ({ ...vm, sourcePath })) };
}

describe("draftToManifest", () => {
  it("turns a fresh draft into exactly the reference's example (hyperctl's defaults)", () => {
    expect(draftToManifest(withSource(defaultDraft(), "/data/my-vm.vmdk"))).toStrictEqual(REFERENCE_EXAMPLE);
  });

  it("names a single VM only when a name is given, and writes output_path under the output directory", () => {
    const draft = withSource(defaultDraft(), "/data/my-vm.vmdk");
    draft.vms[0]!.name = "web";
    draft.outputDirectory = "migrations/";
    const m = draftToManifest(draft) as { name?: string; pipeline: { convert: Record<string, unknown> } };
    expect(m.name).toBe("web");
    expect(m.pipeline.convert).toStrictEqual({ output_format: "qcow2", compress: true, output_path: "migrations/web.qcow2" });

    draft.vms[0]!.name = "";
    draft.convert.outputFormat = "raw";
    const unnamed = draftToManifest(draft) as { name?: string; pipeline: { convert: Record<string, unknown> } };
    expect(unnamed.name).toBeUndefined();
    expect(unnamed.pipeline.convert.output_path).toBe("migrations/my-vm.raw");
  });

  it("writes the batch form with every VM named and sharing the pipeline choices", () => {
    const draft = defaultDraft();
    draft.batch = true;
    draft.vms = [
      { ...newVm(0), name: "vm1", sourcePath: "/in/a.ova", sourceType: "ova" },
      { ...newVm(1), name: "vm2", sourcePath: "/in/b.vhdx", sourceType: "vhdx" },
    ];
    draft.convert.outputFormat = "vdi";
    const m = draftToManifest(draft) as { version: string; batch: boolean; vms: { name: string; pipeline: Record<string, Record<string, unknown>> }[] };
    expect(Object.keys(m)).toEqual(["version", "batch", "vms"]);
    expect([m.version, m.batch]).toEqual(["1.0", true]);
    expect(m.vms.map((v) => v.name)).toEqual(["vm1", "vm2"]);
    expect(m.vms[1]!.pipeline.load).toStrictEqual({ source_type: "vhdx", source_path: "/in/b.vhdx" });
    expect(m.vms.map((v) => v.pipeline.convert!.output_format)).toEqual(["vdi", "vdi"]);
  });

  it("writes switched-off stages and options as such", () => {
    const draft = withSource(defaultDraft(), "/in/a.vmdk");
    draft.inspect = { enabled: false, detectOs: false };
    draft.fix.enabled = false;
    draft.fix.fstab.mode = "noop";
    draft.fix.network.fixLevel = "basic";
    draft.fix.tool = " hyper2kvm ";
    draft.convert = { enabled: false, outputFormat: "qcow2", compress: false, overwrite: true };
    draft.validate = { enabled: true, bootTest: true, bootTestSeconds: "45", bootAccel: "tcg" };
    const p = (draftToManifest(draft) as { pipeline: Record<string, unknown> }).pipeline;
    expect(p.inspect).toStrictEqual({ enabled: false, detect_os: false });
    expect(p.fix).toStrictEqual({
      enabled: false,
      fstab: { enabled: true, mode: "noop" },
      grub: { enabled: true },
      initramfs: { enabled: true, regenerate: true },
      network: { enabled: true, fix_level: "basic" },
      tool: "hyper2kvm",
    });
    expect(p.convert).toStrictEqual({ enabled: false, output_format: "qcow2", compress: false, overwrite: true });
    expect(p.validate).toStrictEqual({ enabled: true, boot_test: true, boot_test_seconds: 45, boot_accel: "tcg" });
  });

  it("passes a boot test length that is not a number through for the validator to report", () => {
    const draft = withSource(defaultDraft(), "/in/a.vmdk");
    draft.validate.bootTest = true;
    draft.validate.bootTestSeconds = "soon";
    const p = (draftToManifest(draft) as { pipeline: { validate: Record<string, unknown> } }).pipeline;
    expect(p.validate).toStrictEqual({ enabled: true, boot_test: true, boot_test_seconds: "soon" });
  });

  it("adds ami_id for an AMI source only", () => {
    const draft = withSource(defaultDraft(), "/in/export.raw");
    draft.vms[0]!.sourceType = "ami";
    draft.vms[0]!.amiId = "ami-0abc";
    const load = (draftToManifest(draft) as { pipeline: { load: unknown } }).pipeline.load;
    expect(load).toStrictEqual({ source_type: "ami", source_path: "/in/export.raw", ami_id: "ami-0abc" });
  });
});

describe("manifestFileName", () => {
  it("names a single VM's file after the VM, a batch's as hyperctl does", () => {
    const draft = withSource(defaultDraft(), "/data/my-vm.vmdk");
    expect(manifestFileName(draft, new Date())).toBe("my-vm.json");
    draft.vms[0]!.name = "web";
    expect(manifestFileName(draft, new Date())).toBe("web.json");
    draft.batch = true;
    expect(manifestFileName(draft, new Date(2026, 0, 2, 3, 4, 5))).toBe("batch-20260102-030405.json");
  });

  it("takes the stem of the last path element", () => {
    expect(fileStem("/data/my.vm.vmdk")).toBe("my.vm");
    expect(fileStem("disk")).toBe("disk");
    expect(fileStem("")).toBe("");
  });
});
