import { describe, expect, it } from "vitest";

import { CONTROL, controlForProblemPath, placeProblems } from "./problemPaths";

describe("controlForProblemPath", () => {
  it("maps every key the builder writes to its control and step (single VM)", () => {
    const cases: [string, string, string][] = [
      ["name", "vm-0-name", "source"],
      ["pipeline.load.source_type", "vm-0-source-type", "source"],
      ["pipeline.load.source_path", "vm-0-source-path", "source"],
      ["pipeline.load", "vm-0-source-path", "source"],
      ["pipeline.load.ami_id", "vm-0-ami-id", "source"],
      ["pipeline.inspect", CONTROL.inspectEnabled, "pipeline"],
      ["pipeline.inspect.enabled", CONTROL.inspectEnabled, "pipeline"],
      ["pipeline.inspect.detect_os", CONTROL.inspectDetectOs, "pipeline"],
      ["pipeline.fix.enabled", CONTROL.fixEnabled, "pipeline"],
      ["pipeline.fix.fstab.enabled", CONTROL.fstabEnabled, "pipeline"],
      ["pipeline.fix.fstab.mode", CONTROL.fstabMode, "pipeline"],
      ["pipeline.fix.grub.enabled", CONTROL.grubEnabled, "pipeline"],
      ["pipeline.fix.initramfs.enabled", CONTROL.initramfsEnabled, "pipeline"],
      ["pipeline.fix.initramfs.regenerate", CONTROL.initramfsRegenerate, "pipeline"],
      ["pipeline.fix.network.enabled", CONTROL.networkEnabled, "pipeline"],
      ["pipeline.fix.network.fix_level", CONTROL.networkFixLevel, "pipeline"],
      ["pipeline.fix.tool", CONTROL.fixTool, "pipeline"],
      ["pipeline.convert.enabled", CONTROL.convertEnabled, "pipeline"],
      ["pipeline.validate.enabled", CONTROL.validateEnabled, "pipeline"],
      ["pipeline.validate.boot_test", CONTROL.bootTest, "pipeline"],
      ["pipeline.validate.boot_test_seconds", CONTROL.bootTestSeconds, "pipeline"],
      ["pipeline.validate.boot_accel", CONTROL.bootAccel, "pipeline"],
      ["pipeline.convert.output_format", CONTROL.outputFormat, "output"],
      ["pipeline.convert.compress", CONTROL.compress, "output"],
      ["pipeline.convert.overwrite", CONTROL.overwrite, "output"],
      ["pipeline.convert.output_path", CONTROL.outputDirectory, "output"],
    ];
    for (const [path, id, step] of cases) {
      expect(controlForProblemPath(path, false), path).toEqual({ id, step, vm: null });
    }
  });

  it("maps a batch VM's keys to that VM's source controls and to the shared pipeline controls", () => {
    expect(controlForProblemPath("vms[1].pipeline.convert.output_format", true)).toEqual({
      id: CONTROL.outputFormat,
      step: "output",
      vm: 1,
    });
    expect(controlForProblemPath("vms[12].pipeline.load.source_path", true)).toEqual({ id: "vm-12-source-path", step: "source", vm: 12 });
    expect(controlForProblemPath("vms[2].name", true)).toEqual({ id: "vm-2-name", step: "source", vm: 2 });
  });

  it("has no control for paths the builder does not write", () => {
    for (const [path, batch] of [
      ["", false],
      ["version", false],
      ["vms", true],
      ["vms[3].extra", true],
      ["pipeline.convert.compres", false],
      ["pipeline", false],
      // A single VM's path read as a batch, and the other way round.
      ["pipeline.load.source_path", true],
      ["vms[0].pipeline.load.source_path", false],
    ] as const) {
      expect(controlForProblemPath(path, batch), path).toBeNull();
    }
  });
});

describe("placeProblems", () => {
  it("puts messages at controls, counts them per step, names the VM on shared controls, and keeps the rest", () => {
    const placed = placeProblems(
      [
        { path: "version", message: 'unsupported version "2"' },
        { path: "vms[0].pipeline.load.source_path", message: "is outside every source root" },
        { path: "vms[1].pipeline.convert.output_format", message: 'must be one of qcow2, raw, vdi, vmdk; got "qcow3"' },
        { path: "vms[2].pipeline.convert.output_format", message: 'must be one of qcow2, raw, vdi, vmdk; got "qcow3"' },
      ],
      true,
      ["web", "db", ""],
    );
    expect(placed.byControl).toEqual({
      "vm-0-source-path": "is outside every source root",
      [CONTROL.outputFormat]: 'db: must be one of qcow2, raw, vdi, vmdk; got "qcow3"; VM 3: must be one of qcow2, raw, vdi, vmdk; got "qcow3"',
    });
    expect(placed.byStep).toEqual({ source: 1, pipeline: 0, output: 2, review: 0 });
    expect(placed.unplaced).toEqual(['version: unsupported version "2"']);
    expect(placed.all).toHaveLength(4);
  });

  it("calls a problem with an empty path one about the manifest", () => {
    expect(placeProblems([{ path: "", message: "not a mapping" }], false).unplaced).toEqual(["manifest: not a mapping"]);
  });
});
