//! The manifest formats as tables ([`schema`](super::schema)): the one
//! statement of their keys, types, defaults and allowed values, from which
//! both the validator and the published JSON Schema
//! (`docs/manifest.schema.json`, [`json_schema`](super::json_schema)) come.
//! The checks a table cannot express are in [`plan`](super::plan).
//!
//! Formats (docs/manifests.md): the seed's pipeline manifest, single VM
//! (`{version, pipeline}`) or batch (`{version, batch: true, vms: [...]}`),
//! and hyper2kvm's later Artifact Manifest v1 (`{manifest_version, disks,
//! ...}`), which becomes one pipeline per disk, run as a batch.

use std::path::Path;

use serde_json::{Map, Value};

use super::schema::{flag, one_of, rule, Absent, Rule, Ty};
use super::Kind;

/// Source types of the seed's format.
pub(crate) const SOURCE_TYPES: &[&str] = &["vmdk", "ova", "ovf", "vhd", "vhdx", "raw", "ami"];
/// fstab fix modes.
pub(crate) const FSTAB_MODES: &[&str] = &["stabilize-all", "bypath-only", "noop"];
/// Network fix levels.
pub(crate) const FIX_LEVELS: &[&str] = &["full", "basic", "none"];
/// Output disk formats (the seed's three, plus vmdk as the TUI offers).
pub(crate) const OUTPUT_FORMATS: &[&str] = &["qcow2", "raw", "vdi", "vmdk"];
/// How long the boot test lets a guest run unless the manifest says.
pub(crate) const DEFAULT_BOOT_TEST_SECONDS: i64 = 20;
/// The longest boot test a manifest may ask for: an hour.
pub(crate) const MAX_BOOT_TEST_SECONDS: i64 = 3600;
/// qemu accelerators of the boot test, the default first: KVM when it
/// works, else TCG; TCG alone, for machines where KVM is nested and crawls
/// (every exit of a guest firmware takes milliseconds there, as
/// libguestfs's `force_tcg` setting knows); KVM alone, to fail rather than
/// emulate.
pub(crate) const BOOT_ACCELERATORS: [&str; 3] = ["kvm:tcg", "tcg", "kvm"];
/// Disk formats of Artifact Manifest v1.
pub(crate) const ARTIFACT_SOURCE_FORMATS: &[&str] = &["vmdk", "qcow2", "raw", "vhd", "vhdx", "vdi"];
/// The versions this daemon reads, as strings (`version: 1.0` in YAML is
/// the number 1, which counts too).
pub(crate) const VERSIONS: &[&str] = &["1", "1.0"];

const INSPECT: &[Rule] = &[
    flag("enabled", true).doc("Run the stage."),
    flag("detect_os", true).doc("Detect the guest OS with libguestfs."),
];
const FSTAB: &[Rule] = &[
    flag("enabled", true),
    one_of("mode", FSTAB_MODES, "stabilize-all")
        .doc("How /etc/fstab entries are rewritten: all to stable identifiers, only by-path ones, or none."),
];
const GRUB: &[Rule] = &[flag("enabled", true)];
const INITRAMFS: &[Rule] = &[
    flag("enabled", true),
    flag("regenerate", true).doc("Regenerate the initramfs (virtio drivers)."),
];
const NETWORK: &[Rule] = &[
    flag("enabled", true),
    one_of("fix_level", FIX_LEVELS, "full")
        .doc("How much of the network configuration is rewritten."),
];
const FIX: &[Rule] = &[
    flag("enabled", true).doc("Run the stage."),
    rule("fstab", Ty::Object(FSTAB), Absent::Defaults).doc("/etc/fstab device names."),
    rule("grub", Ty::Object(GRUB), Absent::Defaults).doc("Boot loader configuration."),
    rule("initramfs", Ty::Object(INITRAMFS), Absent::Defaults).doc("Initramfs (virtio drivers)."),
    rule("network", Ty::Object(NETWORK), Absent::Defaults).doc("Network configuration."),
    rule("tool", Ty::Str, Absent::Skip).doc(
        "Ours: the guest-fix tool to use, by the name the operator configured it under \
         (setting fix_tools); when absent, the program's default.",
    ),
];
const VALIDATE: &[Rule] = &[
    flag("enabled", true).doc("Run the stage."),
    flag("boot_test", false)
        .doc("Boot the output headless for a short while (needs qemu-system-x86_64)."),
    // A Windows guest may need longer than a Linux one to show trouble.
    rule(
        "boot_test_seconds",
        Ty::Int {
            min: 1,
            max: MAX_BOOT_TEST_SECONDS,
        },
        Absent::Int(DEFAULT_BOOT_TEST_SECONDS),
    )
    .doc("Ours: how long the boot test lets the guest run, in seconds."),
    rule("boot_accel", Ty::Enum(&BOOT_ACCELERATORS), Absent::Skip).doc(
        "Ours: the boot test's qemu accelerator: kvm:tcg (KVM, else emulation), tcg (where KVM \
         is nested and slow) or kvm; when absent, the program's --boot-accel (default kvm:tcg).",
    ),
];

/// `load` of a pipeline; `source_type` is required in a single-VM
/// manifest, which must say what its source is, and inferred from the
/// extension in a batch.
const fn load(source_type: Absent) -> [Rule; 3] {
    [
        rule("source_type", Ty::Enum(SOURCE_TYPES), source_type)
            .doc("What the source is; ami needs ami_id."),
        rule("source_path", Ty::Str, Absent::Required).doc(
            "The source disk; absolute through the API, relative to the folder in a drop folder. \
             It must be inside a source root (setting source_roots).",
        ),
        rule("ami_id", Ty::Str, Absent::Skip).doc("The AMI id, for source_type ami."),
    ]
}

/// `convert` of a pipeline; `output_format` is required in a single-VM
/// manifest and qcow2 by default in a batch.
const fn convert(output_format: Absent) -> [Rule; 5] {
    [
        flag("enabled", true).doc("Run the stage."),
        rule("output_format", Ty::Enum(OUTPUT_FORMATS), output_format)
            .doc("The output disk format."),
        flag("compress", true).doc("Compress the output (qcow2 only)."),
        rule("output_path", Ty::Str, Absent::Skip).doc(
            "Where the output goes, relative to the output directory (setting output_dir), inside \
             which it must stay; default OUTPUT_DIR/YYYY-MM-DD/<name>/<name>.<format>.",
        ),
        rule("overwrite", Ty::Bool, Absent::Skip)
            .doc("Ours: replace an output file that already exists (default false)."),
    ]
}

/// The five stages of one VM's pipeline.
const fn stages(load: &'static [Rule], convert: &'static [Rule]) -> [Rule; 5] {
    [
        rule("load", Ty::Object(load), Absent::Defaults)
            .doc("Where the source disk is and what it is."),
        rule("inspect", Ty::Object(INSPECT), Absent::Defaults)
            .doc("Facts about the disk and its OS."),
        rule("fix", Ty::Object(FIX), Absent::Defaults).doc("Guest fixes."),
        rule("convert", Ty::Object(convert), Absent::Defaults).doc("The conversion."),
        rule("validate", Ty::Object(VALIDATE), Absent::Defaults).doc("Checks of the output."),
    ]
}

const PIPELINE_SINGLE: &[Rule] = &stages(&load(Absent::Required), &convert(Absent::Required));
/// A single-VM manifest.
pub(crate) const SINGLE: &[Rule] = &[
    rule("version", Ty::Version, Absent::Required).doc("The format's version: \"1.0\"."),
    // Not in the seed's single format.
    rule("name", Ty::Str, Absent::Skip)
        .doc("The VM's name; default the file name's stem, else the source file's stem."),
    rule(
        "batch",
        Ty::Exactly {
            value: false,
            meaning: "false (or left out) in a manifest without vms",
        },
        Absent::Skip,
    ),
    rule("pipeline", Ty::Object(PIPELINE_SINGLE), Absent::Required)
        .doc("The VM's pipeline: load, inspect, fix, convert, validate."),
];

const PIPELINE_BATCH: &[Rule] = &stages(&load(Absent::Skip), &convert(Absent::Str("qcow2")));
/// One VM of a batch, and the per-VM document the daemon writes for the
/// VM pipeline program (`{name, pipeline}`, normalized).
pub(crate) const VM: &[Rule] = &[
    rule("name", Ty::Str, Absent::Required).doc("The VM's name, unique in the batch."),
    rule("pipeline", Ty::Object(PIPELINE_BATCH), Absent::Required)
        .doc("The VM's pipeline: load, inspect, fix, convert, validate."),
];
const VM_ITEM: Ty = Ty::Object(VM);
/// A batch manifest.
pub(crate) const BATCH: &[Rule] = &[
    rule("version", Ty::Version, Absent::Required).doc("The format's version: \"1.0\"."),
    rule(
        "batch",
        Ty::Exactly {
            value: true,
            meaning: "true (or left out) in a manifest with vms",
        },
        Absent::Skip,
    )
    .doc("true (or left out)."),
    rule(
        "vms",
        Ty::List {
            item: &VM_ITEM,
            min: 1,
        },
        Absent::Required,
    )
    .doc("The VMs, each run as one execution of a batch."),
];

// Artifact Manifest v1.
const ARTIFACT_VM: &[Rule] = &[
    rule("name", Ty::Str, Absent::Skip),
    rule("cpu", Ty::at_least(1), Absent::Skip),
    rule("mem_gb", Ty::Positive, Absent::Skip),
    rule(
        "firmware",
        Ty::Enum(&["bios", "uefi", "unknown"]),
        Absent::Skip,
    ),
    rule("secure_boot", Ty::Bool, Absent::Skip),
    rule("os_hint", Ty::Str, Absent::Skip),
];
const DISK: &[Rule] = &[
    rule(
        "id",
        Ty::Pattern {
            regex: "^[a-zA-Z0-9_-]+$",
            meaning: "letters, digits, _ and - only",
        },
        Absent::Required,
    )
    .doc("Names the disk's pipeline (unique) and its output <id>.<format>."),
    rule(
        "source_format",
        Ty::Enum(ARTIFACT_SOURCE_FORMATS),
        Absent::Required,
    ),
    rule("bytes", Ty::at_least(0), Absent::Required),
    rule("local_path", Ty::Str, Absent::Required)
        .doc("The disk file; it must be inside a source root (setting source_roots)."),
    rule(
        "checksum",
        Ty::Pattern {
            regex: "^sha256:[0-9a-fA-F]{64}$",
            meaning: "\"sha256:\" followed by 64 hex digits",
        },
        Absent::Skip,
    )
    .doc("Checked for its form only."),
    rule("boot_order_hint", Ty::at_least(0), Absent::Skip),
    rule("disk_type", Ty::Str, Absent::Skip),
];
const DISK_ITEM: Ty = Ty::Object(DISK);
const ARTIFACT_CONVERT: &[Rule] = &[
    flag("enabled", true).doc("Run the stage."),
    rule("output_format", Ty::Enum(OUTPUT_FORMATS), Absent::Skip)
        .doc("The output disk format when output.format is absent; default qcow2."),
    flag("compress", true).doc("Compress the output (qcow2 only)."),
    rule("overwrite", Ty::Bool, Absent::Skip)
        .doc("Ours: replace an output file that already exists (default false)."),
];
const ARTIFACT_PIPELINE: &[Rule] = &[
    rule("inspect", Ty::Object(INSPECT), Absent::Defaults).doc("Facts about the disk and its OS."),
    rule("fix", Ty::Object(FIX), Absent::Defaults).doc("Guest fixes."),
    rule("convert", Ty::Object(ARTIFACT_CONVERT), Absent::Defaults).doc("The conversion."),
    rule("validate", Ty::Object(VALIDATE), Absent::Defaults).doc("Checks of the output."),
];
const ARTIFACT_OUTPUT: &[Rule] = &[
    rule("directory", Ty::Str, Absent::Skip)
        .doc("Where the outputs go (<directory>/<id>.<format>), inside the output directory."),
    rule("format", Ty::Enum(OUTPUT_FORMATS), Absent::Skip).doc("The output disk format."),
    rule("filename", Ty::Str, Absent::Skip).doc("The output's file name, for a single disk."),
];
/// An Artifact Manifest v1.
pub(crate) const ARTIFACT: &[Rule] = &[
    rule("manifest_version", Ty::Version, Absent::Required).doc("The format's version: \"1.0\"."),
    rule("source", Ty::AnyObject, Absent::Skip).doc("Where the artifacts came from (free-form)."),
    rule("vm", Ty::Object(ARTIFACT_VM), Absent::Skip)
        .doc("What is known of the VM; checked for its form, not used."),
    rule(
        "disks",
        Ty::List {
            item: &DISK_ITEM,
            min: 1,
        },
        Absent::Required,
    )
    .doc("The disks, each converted by a pipeline of its own, run as a batch."),
    rule("pipeline", Ty::Object(ARTIFACT_PIPELINE), Absent::Defaults)
        .doc("The stages every disk's pipeline runs."),
    rule("output", Ty::Object(ARTIFACT_OUTPUT), Absent::Skip)
        .doc("Where the outputs go and their format (default qcow2)."),
];

/// Which format a parsed document is in.
pub(crate) fn kind_of(document: &Map<String, Value>) -> Kind {
    if document.contains_key("manifest_version") || document.contains_key("disks") {
        Kind::ArtifactV1
    } else if document.contains_key("vms") || document.get("batch") == Some(&Value::Bool(true)) {
        Kind::Batch
    } else {
        Kind::Single
    }
}

/// The source type a file's extension implies.
pub(crate) fn source_type_of(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "vmdk" => "vmdk",
        "ova" => "ova",
        "ovf" => "ovf",
        "vhd" => "vhd",
        "vhdx" => "vhdx",
        "raw" | "img" => "raw",
        "ami" => "ami",
        _ => return None,
    })
}

/// The value a batch VM's pipeline gets for `path` (keys below
/// `pipeline`, e.g. `["fix", "fstab", "mode"]`) when the manifest leaves
/// it out, as the tables state it; None for a key without a default. For
/// clients that start from the manifest's defaults (wfctl's builder), so
/// they never restate them.
#[cfg(feature = "wfctl")]
pub(crate) fn pipeline_default(path: &[&str]) -> Option<Value> {
    let mut rules = PIPELINE_BATCH;
    let (last, parents) = path.split_last()?;
    for key in parents {
        match rules.iter().find(|rule| rule.key == *key)?.ty {
            Ty::Object(nested) => rules = nested,
            _ => return None,
        }
    }
    match rules.iter().find(|rule| rule.key == *last)?.absent {
        Absent::Bool(value) => Some(Value::Bool(value)),
        Absent::Str(value) => Some(Value::from(value)),
        Absent::Int(value) => Some(Value::from(value)),
        Absent::Skip | Absent::Required | Absent::Defaults => None,
    }
}
