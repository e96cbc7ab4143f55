//! One VM's pipeline, as the daemon hands it to `workflow-vm-pipeline`:
//! `{"name": "<vm>", "pipeline": {load, inspect, fix, convert, validate}}`
//! in the seed's format (docs/vm-pipeline.md).
//!
//! This is a plain typed struct with the documented defaults (each
//! struct's `Default`, which serde fills missing keys from), not a
//! validator: the daemon validates whole manifests (every problem with its
//! path) before it starts a run. Missing optional keys get their defaults,
//! unknown keys are ignored, and a value outside an allowed set is a load
//! error with serde's message (which names the allowed values).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// An enum of the names a manifest key takes: each variant with its name
/// (serde's and [`as_str`](SourceType::as_str)'s, written once) and
/// `NAMES`, every name in order, which a test compares with the daemon's
/// tables.
macro_rules! named_values {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$variant_meta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every name, in order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The name used in manifests.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }
    };
}

/// Errors reading a per-VM pipeline document (not a whole manifest: that is
/// [`crate::manifest::ManifestError`]'s business).
#[derive(Debug, thiserror::Error)]
pub enum VmDocumentError {
    /// The file could not be read.
    #[error("cannot read manifest {path}: {source}")]
    Read {
        /// The manifest file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a pipeline document.
    #[error("manifest {path} is not a valid VM pipeline: {source}")]
    Parse {
        /// The manifest file.
        path: PathBuf,
        /// What serde found wrong (names the key and the allowed values).
        source: serde_json::Error,
    },
}

/// One VM: its name and its pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmManifest {
    /// The VM's name; names the output file and the report. When missing,
    /// the stem of the source file is used.
    #[serde(default)]
    pub name: String,
    /// The five stages.
    pub pipeline: Pipeline,
}

impl VmManifest {
    /// Reads and parses a manifest file, filling in the name when missing.
    pub fn load(path: &Path) -> Result<Self, VmDocumentError> {
        let text = std::fs::read(path).map_err(|source| VmDocumentError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut manifest: VmManifest =
            serde_json::from_slice(&text).map_err(|source| VmDocumentError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        if manifest.name.trim().is_empty() {
            manifest.name = manifest
                .pipeline
                .load
                .source_path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        Ok(manifest)
    }
}

/// The stages of one VM's pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Where the source disk is and what it is.
    pub load: LoadStage,
    /// Facts about the disk (and its OS, with libguestfs).
    #[serde(default)]
    pub inspect: InspectStage,
    /// Guest fixes (need guest tooling).
    #[serde(default)]
    pub fix: FixStage,
    /// The conversion.
    #[serde(default)]
    pub convert: ConvertStage,
    /// Checks of the output.
    #[serde(default)]
    pub validate: ValidateStage,
}

named_values! {
    /// What kind of source `load.source_path` is.
    pub enum SourceType {
        /// A VMware disk.
        Vmdk = "vmdk",
        /// A tar archive holding an .ovf and its disks.
        Ova = "ova",
        /// An OVF descriptor with its disk files next to it.
        Ovf = "ovf",
        /// A Hyper-V / Virtual PC disk (qemu's `vpc`).
        Vhd = "vhd",
        /// A Hyper-V disk.
        Vhdx = "vhdx",
        /// A raw disk image.
        Raw = "raw",
        /// An AWS machine image exported as a raw file (`load.ami_id` recorded).
        Ami = "ami",
        /// A qcow2 image (not in the seed's list; accepted as a plus).
        Qcow2 = "qcow2",
        /// A VirtualBox disk (not in the seed's list; accepted as a plus).
        Vdi = "vdi",
    }
}

impl SourceType {
    /// The format `qemu-img info` reports for a disk of this type, or None
    /// for the container types (ova, ovf) whose disks may be of any format.
    pub fn qemu_format(self) -> Option<&'static str> {
        match self {
            Self::Vmdk => Some("vmdk"),
            Self::Vhd => Some("vpc"),
            Self::Vhdx => Some("vhdx"),
            Self::Raw | Self::Ami => Some("raw"),
            Self::Qcow2 => Some("qcow2"),
            Self::Vdi => Some("vdi"),
            Self::Ova | Self::Ovf => None,
        }
    }
}

/// The load stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadStage {
    /// What the source is.
    pub source_type: SourceType,
    /// The source file; relative paths are resolved against the working
    /// directory of the run.
    pub source_path: PathBuf,
    /// The AMI id, for `source_type: ami` (recorded in the report).
    #[serde(default)]
    pub ami_id: Option<String>,
}

/// The inspect stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InspectStage {
    /// Run the stage (default true).
    pub enabled: bool,
    /// Detect the guest OS with libguestfs (default true).
    pub detect_os: bool,
}

impl Default for InspectStage {
    fn default() -> Self {
        Self {
            enabled: true,
            detect_os: true,
        }
    }
}

/// The fix stage: each guest fix with its options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FixStage {
    /// Run the stage at all (default true; the seed format has no such key,
    /// the later upstream format does).
    pub enabled: bool,
    /// /etc/fstab device names.
    pub fstab: FstabFix,
    /// Boot loader configuration.
    pub grub: GrubFix,
    /// Initramfs (virtio drivers).
    pub initramfs: InitramfsFix,
    /// Network configuration.
    pub network: NetworkFix,
    /// The guest-fix tool to use, by the name the operator configured it
    /// under (setting `fix_tools`); ours, not hyper2kvm's. When None the
    /// program's `fix_tool` input decides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
}

impl Default for FixStage {
    fn default() -> Self {
        Self {
            enabled: true,
            fstab: FstabFix::default(),
            grub: GrubFix::default(),
            initramfs: InitramfsFix::default(),
            network: NetworkFix::default(),
            tool: None,
        }
    }
}

impl FixStage {
    /// The fixes this stage asks for, as short descriptions; empty when
    /// there is nothing to do.
    pub fn requested(&self) -> Vec<String> {
        let mut fixes = Vec::new();
        if self.fstab.enabled && self.fstab.mode != FstabMode::Noop {
            fixes.push(format!("fstab ({})", self.fstab.mode.as_str()));
        }
        if self.grub.enabled {
            fixes.push("grub".to_string());
        }
        if self.initramfs.enabled && self.initramfs.regenerate {
            fixes.push("initramfs (regenerate)".to_string());
        }
        if self.network.enabled && self.network.fix_level != FixLevel::None {
            fixes.push(format!("network ({})", self.network.fix_level.as_str()));
        }
        fixes
    }
}

/// The fstab fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FstabFix {
    /// Default true.
    pub enabled: bool,
    /// Default stabilize-all.
    pub mode: FstabMode,
}

impl Default for FstabFix {
    fn default() -> Self {
        Self {
            enabled: true,
            mode: FstabMode::default(),
        }
    }
}

named_values! {
    /// How fstab entries are rewritten.
    #[derive(Default)]
    pub enum FstabMode {
        /// Every entry to a stable identifier (UUID / LABEL).
        #[default]
        StabilizeAll = "stabilize-all",
        /// Only /dev/disk/by-path entries.
        BypathOnly = "bypath-only",
        /// Leave fstab alone.
        Noop = "noop",
    }
}

/// The grub fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GrubFix {
    /// Default true.
    pub enabled: bool,
}

impl Default for GrubFix {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// The initramfs fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InitramfsFix {
    /// Default true.
    pub enabled: bool,
    /// Regenerate it (default true).
    pub regenerate: bool,
}

impl Default for InitramfsFix {
    fn default() -> Self {
        Self {
            enabled: true,
            regenerate: true,
        }
    }
}

/// The network fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkFix {
    /// Default true.
    pub enabled: bool,
    /// Default full.
    pub fix_level: FixLevel,
}

impl Default for NetworkFix {
    fn default() -> Self {
        Self {
            enabled: true,
            fix_level: FixLevel::default(),
        }
    }
}

named_values! {
    /// How much of the network configuration is rewritten.
    #[derive(Default)]
    pub enum FixLevel {
        /// Everything.
        #[default]
        Full = "full",
        /// Interface names only.
        Basic = "basic",
        /// Nothing.
        None = "none",
    }
}

/// The convert stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConvertStage {
    /// Run the stage (default true).
    pub enabled: bool,
    /// Default qcow2.
    pub output_format: DiskFormat,
    /// Compress the output (qcow2 only; default true).
    pub compress: bool,
    /// Where the output goes; relative paths are resolved against the
    /// output directory, and every output must be inside it. Default
    /// OUTPUT_DIR/YYYY-MM-DD/<name>/<name>.<format>.
    pub output_path: Option<PathBuf>,
    /// Replace an output file that already exists (ours, default false).
    pub overwrite: bool,
}

impl Default for ConvertStage {
    fn default() -> Self {
        Self {
            enabled: true,
            output_format: DiskFormat::default(),
            compress: true,
            output_path: None,
            overwrite: false,
        }
    }
}

named_values! {
    /// The format of a converted disk: the qemu-img format name, also the
    /// output file's extension.
    #[derive(Default)]
    pub enum DiskFormat {
        /// qcow2 (compressible).
        #[default]
        Qcow2 = "qcow2",
        /// Raw.
        Raw = "raw",
        /// VirtualBox.
        Vdi = "vdi",
        /// VMware.
        Vmdk = "vmdk",
    }
}

/// The validate stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ValidateStage {
    /// Run the stage (default true).
    pub enabled: bool,
    /// Boot the output headless for a short while (needs qemu-system-x86_64;
    /// default false).
    pub boot_test: bool,
    /// How long the boot test lets the guest run (default 20; 1 to 3600,
    /// checked here too, since the program can be run without the daemon).
    #[serde(deserialize_with = "boot_test_seconds_in_range")]
    pub boot_test_seconds: u64,
    /// The boot test's qemu accelerator, one of
    /// [`crate::manifest::pipeline::BOOT_ACCELERATORS`]; when None the
    /// program's `--boot-accel` input decides.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "known_boot_accel"
    )]
    pub boot_accel: Option<String>,
}

impl Default for ValidateStage {
    fn default() -> Self {
        Self {
            enabled: true,
            boot_test: false,
            boot_test_seconds: crate::manifest::pipeline::DEFAULT_BOOT_TEST_SECONDS as u64,
            boot_accel: None,
        }
    }
}

/// The daemon's range for `validate.boot_test_seconds`: 0 would pass a
/// boot test without booting anything.
fn boot_test_seconds_in_range<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<u64, D::Error> {
    let seconds = u64::deserialize(deserializer)?;
    let max = crate::manifest::pipeline::MAX_BOOT_TEST_SECONDS as u64;
    if (1..=max).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(serde::de::Error::custom(format!(
            "validate.boot_test_seconds must be from 1 to {max}, got {seconds}"
        )))
    }
}

fn known_boot_accel<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let accel = String::deserialize(deserializer)?;
    let known = crate::manifest::pipeline::BOOT_ACCELERATORS;
    if known.contains(&accel.as_str()) {
        Ok(Some(accel))
    } else {
        Err(serde::de::Error::custom(format!(
            "validate.boot_accel must be one of {}, got {accel:?}",
            known.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::pipeline::{
        ARTIFACT_SOURCE_FORMATS, FIX_LEVELS, FSTAB_MODES, OUTPUT_FORMATS, SOURCE_TYPES, VM,
    };
    use crate::manifest::schema::{check, sample, Ty};
    use serde_json::{json, Value};

    /// The daemon writes each VM's document by its tables
    /// ([`crate::manifest::pipeline`]); this model must read every key they
    /// accept with every allowed value, and write nothing they would not.
    #[test]
    fn the_model_reads_every_key_and_value_of_the_daemons_documents() {
        let document = Ty::Object(VM);
        for pick in 0..SOURCE_TYPES.len() {
            let written = sample(&document, pick);
            let read: VmManifest = serde_json::from_value(written.clone())
                .unwrap_or_else(|e| panic!("{e}: {written:#}"));
            assert_eq!(serde_json::to_value(&read).unwrap(), written);
        }
        // Keys left out get the tables' defaults here too.
        let minimal = json!({"name": "x", "pipeline": {"load": {"source_type": "raw", "source_path": "/d/x.raw"}}});
        let mut problems = Vec::new();
        let daemons = check(&minimal, &document, "", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let read: VmManifest = serde_json::from_value(minimal).unwrap();
        assert_defaults_agree(&daemons, &serde_json::to_value(&read).unwrap(), "");
        assert_eq!(FstabMode::NAMES, FSTAB_MODES);
        assert_eq!(FixLevel::NAMES, FIX_LEVELS);
        assert_eq!(DiskFormat::NAMES, OUTPUT_FORMATS);
        // An Artifact Manifest v1's source_format becomes load.source_type.
        for name in SOURCE_TYPES.iter().chain(ARTIFACT_SOURCE_FORMATS) {
            assert!(SourceType::NAMES.contains(name), "{name}");
        }
    }

    /// Every value the daemon's normalized document has, the model has
    /// too (the model also writes the keys the daemon leaves out).
    fn assert_defaults_agree(daemons: &Value, models: &Value, path: &str) {
        match daemons {
            Value::Object(keys) => {
                for (key, value) in keys {
                    let path = format!("{path}.{key}");
                    assert_defaults_agree(value, &models[key.as_str()], &path);
                }
            }
            _ => assert_eq!(daemons, models, "{path}"),
        }
    }

    #[test]
    fn missing_optional_keys_get_the_documented_defaults() {
        let m: VmManifest = serde_json::from_str(
            r#"{"pipeline":{"load":{"source_type":"vmdk","source_path":"/d/web-01.vmdk"}}}"#,
        )
        .unwrap();
        let p = &m.pipeline;
        assert!(p.inspect.enabled && p.inspect.detect_os);
        assert_eq!(p.fix.fstab.mode, FstabMode::StabilizeAll);
        assert_eq!(p.fix.network.fix_level, FixLevel::Full);
        assert!(p.fix.enabled);
        assert_eq!(p.fix.requested().len(), 4);
        assert_eq!(p.convert.output_format, DiskFormat::Qcow2);
        assert!(p.convert.compress && p.convert.output_path.is_none());
        assert!(p.validate.enabled && !p.validate.boot_test);
    }

    #[test]
    fn the_seed_example_parses() {
        let m: VmManifest = serde_json::from_str(
            r#"{"name":"my-vm","pipeline":{
               "load":{"source_type":"vhd","source_path":"/data/my-vm.vhd"},
               "inspect":{"enabled":true,"detect_os":true},
               "fix":{"fstab":{"enabled":true,"mode":"bypath-only"},"grub":{"enabled":false},
                      "initramfs":{"enabled":true,"regenerate":false},
                      "network":{"enabled":true,"fix_level":"none"}},
               "convert":{"output_format":"vdi","compress":false,"output_path":"my-vm.vdi"},
               "validate":{"enabled":true,"boot_test":false}}}"#,
        )
        .unwrap();
        assert_eq!(m.pipeline.load.source_type.qemu_format(), Some("vpc"));
        assert_eq!(m.pipeline.fix.requested(), vec!["fstab (bypath-only)"]);
        assert_eq!(m.pipeline.convert.output_format, DiskFormat::Vdi);
    }

    #[test]
    fn an_unknown_source_type_names_the_allowed_values() {
        let err = serde_json::from_str::<VmManifest>(
            r#"{"pipeline":{"load":{"source_type":"iso","source_path":"/x"}}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("iso") && err.contains("vmdk"), "{err}");
    }

    #[test]
    fn a_boot_test_length_outside_the_daemons_range_is_refused() {
        let with_seconds = |seconds: &str| {
            serde_json::from_str::<VmManifest>(&format!(
                r#"{{"pipeline":{{"load":{{"source_type":"raw","source_path":"/x"}},
                   "validate":{{"boot_test":true,"boot_test_seconds":{seconds}}}}}}}"#
            ))
        };
        for bad in ["0", "3601"] {
            let err = with_seconds(bad).unwrap_err().to_string();
            assert!(
                err.contains("validate.boot_test_seconds must be from 1 to 3600"),
                "{err}"
            );
        }
        let ok = with_seconds("3600").unwrap();
        assert_eq!(ok.pipeline.validate.boot_test_seconds, 3600);
    }

    #[test]
    fn the_boot_accelerator_is_optional_and_checked() {
        let with_accel = |validate: &str| {
            serde_json::from_str::<VmManifest>(&format!(
                r#"{{"pipeline":{{"load":{{"source_type":"raw","source_path":"/x"}},
                   "validate":{validate}}}}}"#
            ))
        };
        let absent = with_accel(r#"{"boot_test":true}"#).unwrap();
        assert_eq!(absent.pipeline.validate.boot_accel, None);
        let tcg = with_accel(r#"{"boot_accel":"tcg"}"#).unwrap();
        assert_eq!(tcg.pipeline.validate.boot_accel.as_deref(), Some("tcg"));
        let err = with_accel(r#"{"boot_accel":"hvf"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("validate.boot_accel must be one of kvm:tcg, tcg, kvm"),
            "{err}"
        );
    }
}
