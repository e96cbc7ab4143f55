//! The model of `manifest create` and `manifest generate`: a single-VM
//! manifest being built ([`Draft`]), filled from flags and prompts, with
//! hyperctl's defaults, and written as the seed's document, checked by the
//! daemon's own validator. The value sets (source types, fix levels, ...)
//! are the manifest's own, read from [`crate::manifest::pipeline`].

use std::path::Path;

use serde::Serialize;
use serde_json::{json, Value};

use crate::cli::{error::CliError, go_flags::GoFlags};
use crate::manifest::{self, pipeline::pipeline_default, Context, FormatHint};

/// A single-VM manifest being built: every answer of the four steps.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Draft {
    /// The VM's name; the source file's stem when not given.
    pub(crate) name: Option<String>,
    /// One of [`SOURCE_TYPES`](crate::manifest::pipeline::SOURCE_TYPES); from the source path's extension when not given.
    pub(crate) source_type: Option<String>,
    /// The disk (or OVA/OVF) to convert, as the daemon will open it.
    pub(crate) source_path: Option<String>,
    /// The AMI id, for source type `ami`.
    pub(crate) ami_id: Option<String>,
    /// The INSPECT stage (with OS detection).
    pub(crate) inspect: bool,
    /// The FIX stage: fstab, grub, initramfs and network.
    pub(crate) fix: bool,
    /// One of [`FSTAB_MODES`](crate::manifest::pipeline::FSTAB_MODES).
    pub(crate) fstab_mode: String,
    /// One of [`FIX_LEVELS`](crate::manifest::pipeline::FIX_LEVELS).
    pub(crate) network_fix_level: String,
    /// The CONVERT stage (written to the document only when off, so a
    /// manifest with it on stays as hyperctl writes it).
    pub(crate) convert: bool,
    /// One of [`OUTPUT_FORMATS`](crate::manifest::pipeline::OUTPUT_FORMATS).
    pub(crate) output_format: String,
    /// Compress the output (qcow2 only).
    pub(crate) compress: bool,
    /// Where the converted disk goes; the daemon's output directory when None.
    pub(crate) output_path: Option<String>,
    /// The VALIDATE stage.
    pub(crate) validate: bool,
    /// Boot the result under qemu as part of VALIDATE.
    pub(crate) boot_test: bool,
    /// How long the boot test lets the guest run (our key, not hyperctl's:
    /// only written when given; the daemon's default otherwise).
    pub(crate) boot_test_seconds: Option<u64>,
    /// The boot test's qemu accelerator (ours too, only written when
    /// given): one of [`BOOT_ACCELERATORS`](crate::manifest::pipeline::BOOT_ACCELERATORS).
    pub(crate) boot_accel: Option<String>,
}

impl Default for Draft {
    /// hyperctl's defaults, which are the manifest's own: inspect with OS
    /// detection, every fix (fstab stabilize-all, grub, initramfs
    /// regenerated, network full), qcow2 compressed, validate without a
    /// boot test. Read from the manifest's tables, never restated.
    fn default() -> Self {
        let flag = |path: &[&str]| {
            pipeline_default(path)
                .and_then(|value| value.as_bool())
                .unwrap_or_else(|| panic!("the manifest tables give {path:?} a boolean default"))
        };
        let choice = |path: &[&str]| {
            pipeline_default(path)
                .and_then(|value| value.as_str().map(str::to_string))
                .unwrap_or_else(|| panic!("the manifest tables give {path:?} a default"))
        };
        Draft {
            name: None,
            source_type: None,
            source_path: None,
            ami_id: None,
            inspect: flag(&["inspect", "enabled"]),
            fix: flag(&["fix", "enabled"]),
            fstab_mode: choice(&["fix", "fstab", "mode"]),
            network_fix_level: choice(&["fix", "network", "fix_level"]),
            convert: flag(&["convert", "enabled"]),
            output_format: choice(&["convert", "output_format"]),
            compress: flag(&["convert", "compress"]),
            output_path: None,
            validate: flag(&["validate", "enabled"]),
            boot_test: flag(&["validate", "boot_test"]),
            boot_test_seconds: None,
            boot_accel: None,
        }
    }
}

impl Draft {
    /// The defaults with every flag given applied (the flag parser has
    /// checked the values of the choices against the manifest's own sets).
    pub(crate) fn from_flags(flags: &GoFlags) -> Result<Draft, CliError> {
        let mut draft = Draft::default();
        let text = |flag: &str| flags.value(flag).map(str::to_string);
        draft.name = text("name");
        draft.source_path = text("source-path").map(|p| absolute_text(&p));
        draft.source_type = text("source-type");
        draft.ami_id = text("ami-id");
        draft.output_path = text("output-path").map(|p| absolute_text(&p));
        if let Some(mode) = text("fstab-mode") {
            draft.fstab_mode = mode;
        }
        if let Some(level) = text("network-fix-level") {
            draft.network_fix_level = level;
        }
        if let Some(format) = text("output-format") {
            draft.output_format = format;
        }
        draft.boot_accel = text("boot-accel");
        if let Some(seconds) = flags.value("boot-test-seconds") {
            let seconds = seconds.parse().map_err(|_| {
                CliError::Usage(format!(
                    "invalid value {seconds:?} for -boot-test-seconds: a whole number of seconds"
                ))
            })?;
            draft.boot_test_seconds = Some(seconds);
        }
        for (flag, field) in [
            ("inspect", &mut draft.inspect),
            ("fix", &mut draft.fix),
            ("compress", &mut draft.compress),
            ("validate", &mut draft.validate),
            ("boot-test", &mut draft.boot_test),
        ] {
            if let Some(on) = flags.bool_value(flag) {
                *field = on;
            }
        }
        Ok(draft)
    }

    /// The source type: as given, else from the source path's extension.
    pub(crate) fn effective_source_type(&self) -> Option<String> {
        self.source_type.clone().or_else(|| {
            self.source_path
                .as_deref()
                .and_then(|p| manifest::pipeline::source_type_of(Path::new(p)))
                .map(str::to_string)
        })
    }

    /// The VM name: as given, else the source file's stem.
    pub(crate) fn effective_name(&self) -> Option<String> {
        self.name.clone().or_else(|| {
            self.source_path
                .as_deref()
                .and_then(|p| Path::new(p).file_stem())
                .and_then(|s| s.to_str())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })
    }

    /// The manifest document, in the seed's single-VM format with every
    /// stage spelled out (so the file says what will run).
    pub(crate) fn document(&self) -> SeedManifest {
        let fix = self.fix;
        SeedManifest {
            version: "1.0",
            name: self.effective_name(),
            pipeline: SeedPipeline {
                load: Load {
                    source_type: self.effective_source_type(),
                    source_path: self.source_path.clone(),
                    ami_id: self.ami_id.clone(),
                },
                inspect: json!({"enabled": self.inspect, "detect_os": self.inspect}),
                fix: json!({
                    "enabled": fix,
                    "fstab": {"enabled": fix, "mode": self.fstab_mode},
                    "grub": {"enabled": fix},
                    "initramfs": {"enabled": fix, "regenerate": fix},
                    "network": {"enabled": fix, "fix_level": self.network_fix_level},
                }),
                convert: Convert {
                    enabled: self.convert,
                    output_format: self.output_format.clone(),
                    // Only qcow2 output can be compressed.
                    compress: self.compress && self.output_format == "qcow2",
                    output_path: self.output_path.clone(),
                },
                validate: self.validate_stage(),
            },
        }
    }

    /// The validate stage; `boot_test_seconds` and `boot_accel` only when
    /// given, so a manifest without them stays as hyperctl writes it.
    fn validate_stage(&self) -> Value {
        let mut stage = json!({"enabled": self.validate, "boot_test": self.boot_test});
        if let Some(seconds) = self.boot_test_seconds {
            stage["boot_test_seconds"] = json!(seconds);
        }
        if let Some(accel) = &self.boot_accel {
            stage["boot_accel"] = json!(accel);
        }
        stage
    }

    /// The document as a file in `format`, and every problem the daemon's
    /// validator finds in it (`path: message`).
    pub(crate) fn render(&self, format: manifest::Format) -> (String, Vec<manifest::Problem>) {
        let document = self.document();
        let text = match format {
            manifest::Format::Json => {
                let mut text = serde_json::to_string_pretty(&document).expect("JSON value");
                text.push('\n');
                text
            }
            manifest::Format::Yaml => crate::yaml::to_string(&document).expect("YAML value"),
        };
        let hint = match format {
            manifest::Format::Json => FormatHint::Json,
            manifest::Format::Yaml => FormatHint::Yaml,
        };
        let validation = manifest::validate(text.as_bytes(), hint, Context::default());
        (text, validation.problems)
    }
}

/// A single-VM manifest as written: a struct rather than a JSON map so the
/// keys come out in the seed's order (version, name, pipeline; load first).
/// The stages whose keys need no order stay JSON values.
#[derive(Debug, Serialize)]
pub(crate) struct SeedManifest {
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    pipeline: SeedPipeline,
}

#[derive(Debug, Serialize)]
struct SeedPipeline {
    load: Load,
    inspect: Value,
    fix: Value,
    convert: Convert,
    validate: Value,
}

#[derive(Debug, Serialize)]
struct Load {
    #[serde(skip_serializing_if = "Option::is_none")]
    source_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ami_id: Option<String>,
}

#[derive(Debug, Serialize)]
struct Convert {
    #[serde(skip_serializing_if = "is_on")]
    enabled: bool,
    output_format: String,
    compress: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_path: Option<String>,
}

/// Whether a stage flag is on, its default: left out of the document.
fn is_on(enabled: &bool) -> bool {
    *enabled
}

/// `path` made absolute against the current directory: the daemon resolves
/// nothing relative to where wfctl ran.
pub(crate) fn absolute_text(path: &str) -> String {
    std::path::absolute(path)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::manifest_builder::CREATE;

    #[test]
    fn the_defaults_are_hyperctls_as_the_manifest_tables_state_them() {
        let draft = Draft::default();
        assert!(draft.inspect && draft.fix && draft.compress && draft.validate);
        assert!(!draft.boot_test);
        assert_eq!(
            (
                draft.fstab_mode.as_str(),
                draft.network_fix_level.as_str(),
                draft.output_format.as_str()
            ),
            ("stabilize-all", "full", "qcow2")
        );
    }

    #[test]
    fn flags_fill_the_draft_and_bad_enum_values_name_the_flag() {
        let args: Vec<String> = [
            "-source-path=/d/web.vmdk",
            "-fix=false",
            "-output-format",
            "raw",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let flags = CREATE.parse(&args).unwrap();
        let draft = Draft::from_flags(&flags).unwrap();
        let document = serde_json::to_value(draft.document()).unwrap();
        assert_eq!(document["name"], "web");
        assert_eq!(document["pipeline"]["load"]["source_type"], "vmdk");
        assert_eq!(document["pipeline"]["fix"]["enabled"], false);
        assert_eq!(document["pipeline"]["convert"]["output_format"], "raw");
        // Only qcow2 compresses.
        assert_eq!(document["pipeline"]["convert"]["compress"], false);
        let (_, problems) = draft.render(manifest::Format::Yaml);
        assert!(problems.is_empty(), "{problems:?}");

        let args = vec!["-fstab-mode=all".to_string()];
        let err = CREATE.parse(&args).unwrap_err();
        assert!(err.to_string().contains("-fstab-mode"), "{err}");
    }

    #[test]
    fn the_boot_test_settings_are_written_only_when_given_and_checked_like_the_daemon() {
        let draft_of = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            CREATE
                .parse(&args)
                .and_then(|flags| Draft::from_flags(&flags))
        };
        let plain = draft_of(&["-source-path=/d/a.raw", "-boot-test"]).unwrap();
        let validate = &serde_json::to_value(plain.document()).unwrap()["pipeline"]["validate"];
        assert_eq!(validate["boot_test"], true);
        assert!(validate.get("boot_test_seconds").is_none(), "{validate}");

        let timed = draft_of(&[
            "-source-path=/d/a.raw",
            "-boot-test",
            "-boot-test-seconds",
            "5",
            "-boot-accel=tcg",
        ])
        .unwrap();
        let document = serde_json::to_value(timed.document()).unwrap();
        assert_eq!(document["pipeline"]["validate"]["boot_test_seconds"], 5);
        assert_eq!(document["pipeline"]["validate"]["boot_accel"], "tcg");
        let (_, problems) = timed.render(manifest::Format::Json);
        assert!(problems.is_empty(), "{problems:?}");

        let zero = draft_of(&["-source-path=/d/a.raw", "-boot-test-seconds=0"]).unwrap();
        let (_, problems) = zero.render(manifest::Format::Json);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "pipeline.validate.boot_test_seconds");

        let err = draft_of(&["-boot-test-seconds=soon"]).unwrap_err();
        assert!(err.to_string().contains("-boot-test-seconds"), "{err}");
        let err = draft_of(&["-boot-accel=hvf"]).unwrap_err();
        assert!(err.to_string().contains("-boot-accel"), "{err}");
    }

    #[test]
    fn convert_is_written_only_when_off() {
        let on = Draft {
            source_path: Some("/d/a.raw".into()),
            ..Draft::default()
        };
        let document = serde_json::to_value(on.document()).unwrap();
        assert!(document["pipeline"]["convert"].get("enabled").is_none());
        let off = Draft {
            convert: false,
            ..on
        };
        let document = serde_json::to_value(off.document()).unwrap();
        assert_eq!(document["pipeline"]["convert"]["enabled"], false);
        let (_, problems) = off.render(manifest::Format::Json);
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn an_ami_without_its_id_is_a_problem_at_its_path() {
        let draft = Draft {
            source_path: Some("/d/x.ami".into()),
            ..Draft::default()
        };
        let (_, problems) = draft.render(manifest::Format::Json);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "pipeline.load.ami_id");
    }
}
