//! hyper2kvm manifests: reading them (JSON or YAML, format detected),
//! validating them with every problem reported at once with its path, and
//! turning a valid one into one pipeline document per VM, defaults applied,
//! which the workflow `vm_pipeline` runs ([`submit`]).
//!
//! - [`schema`]: the table-driven validator (types, required keys,
//!   defaults, unknown keys);
//! - [`pipeline`]: the seed's pipeline manifest (single VM and batch) and
//!   Artifact Manifest v1 as tables, the one statement of their shape;
//! - [`json_schema`]: the same tables as a JSON Schema for editors
//!   (`docs/manifest.schema.json`);
//! - [`plan`] and [`checks`]: what the tables cannot express, and one
//!   pipeline document per VM;
//! - [`disk`]: the drop folder's disk mode (a disk file, or a job config
//!   with `input`, `output_format`, ...; a `jobs:` list is a batch);
//! - [`submit`]: starting the executions.

mod checks;
pub(crate) mod disk;
// Only its tests run it: they write and drift-check docs/manifest.schema.json.
#[cfg(test)]
mod json_schema;
pub(crate) mod output_path;
pub(crate) mod pipeline;
mod plan;
pub(crate) mod schema;
pub(crate) mod submit;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

pub(crate) use submit::{ManifestRunner, SubmitOptions};

use crate::engine::EngineError;
use crate::policy::WorkflowPolicy;

/// Largest manifest (or job config) read, in bytes.
pub(crate) const MAX_MANIFEST_BYTES: usize = 16 << 20;

/// How a manifest is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

impl Format {
    /// The file-name extension of the format, without the dot.
    #[cfg(feature = "wfctl")]
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Yaml => "yaml",
        }
    }
}

/// What the client says about the encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum FormatHint {
    /// JSON.
    Json,
    /// YAML.
    Yaml,
    /// From the file name, else from the content.
    #[default]
    Detect,
}

/// Which manifest format a document is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One VM: `{version, pipeline}`.
    Single,
    /// Several VMs: `{version, batch: true, vms}`.
    Batch,
    /// Artifact Manifest v1: one pipeline per disk, run as a batch.
    ArtifactV1,
}

impl Kind {
    /// Whether its executions share a batch id.
    pub(crate) fn is_batch(self) -> bool {
        !matches!(self, Kind::Single)
    }
}

/// One problem in a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: `vms[2].pipeline.convert.output_format`; empty for the whole
    /// document.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: &str, message: impl Into<String>) -> Self {
        Problem {
            path: path.to_string(),
            message: message.into(),
        }
    }

    /// As `{"path": ..., "message": ...}`.
    pub fn to_json(&self) -> Value {
        json!({"path": self.path, "message": self.message})
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// One VM's pipeline as it will run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VmPlan {
    /// VM name.
    pub name: String,
    /// `{"name": ..., "pipeline": {...}}`, defaults applied.
    pub document: Value,
}

impl VmPlan {
    pub(crate) fn new(name: String, pipeline: Value) -> Self {
        VmPlan {
            document: json!({"name": name, "pipeline": pipeline}),
            name,
        }
    }
}

/// The outcome of reading and validating a manifest.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Validation {
    /// The encoding used (None when the bytes could not be read as text).
    pub format: Option<Format>,
    /// The manifest format recognised (None when it is not a mapping).
    pub kind: Option<Kind>,
    /// Every problem found.
    pub problems: Vec<Problem>,
    /// The VMs' pipelines; empty unless valid.
    pub vms: Vec<VmPlan>,
}

impl Validation {
    /// Whether there is no problem.
    pub(crate) fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    /// Each problem as (path, message), for tests to compare at once.
    #[cfg(test)]
    pub(crate) fn problem_pairs(&self) -> Vec<(&str, &str)> {
        self.problems
            .iter()
            .map(|p| (p.path.as_str(), p.message.as_str()))
            .collect()
    }

    /// Whether the VMs run as a batch.
    pub(crate) fn is_batch(&self) -> bool {
        self.kind.is_some_and(Kind::is_batch)
    }

    /// The outcome of a document that could be read: its problems in
    /// order, and its VMs when there is none.
    pub(crate) fn finished(
        format: Format,
        kind: Kind,
        mut problems: Vec<Problem>,
        vms: Vec<VmPlan>,
    ) -> Self {
        sort_problems(&mut problems);
        Validation {
            format: Some(format),
            kind: Some(kind),
            vms: if problems.is_empty() { vms } else { Vec::new() },
            problems,
        }
    }

    /// The outcome of a document that could not be read.
    pub(crate) fn failed(format: Option<Format>, problem: Problem) -> Self {
        Validation {
            format,
            kind: None,
            problems: vec![problem],
            vms: Vec::new(),
        }
    }
}

/// Where a manifest came from, for what only the context can tell.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Context<'a> {
    /// Its file name: format detection, and the name of a single VM whose
    /// manifest does not name it.
    pub file_name: Option<&'a str>,
    /// What relative source paths are relative to; None makes them a
    /// problem (the API cannot know).
    pub base_dir: Option<&'a Path>,
    /// The operator's policy the daemon checks paths and fix tools
    /// against (sources in the source roots, outputs in the output
    /// directory, known tool names); None for a local check (`wfctl
    /// manifest create`), which cannot know it.
    pub policy: Option<&'a WorkflowPolicy>,
}

/// Reads and validates a pipeline manifest.
pub(crate) fn validate(content: &[u8], hint: FormatHint, context: Context<'_>) -> Validation {
    let (format, document) = match parse(content, hint, context.file_name) {
        Ok(parsed) => parsed,
        Err((format, problem)) => return Validation::failed(format, problem),
    };
    let kind = pipeline::kind_of(&document);
    let default_name = context
        .file_name
        .and_then(|n| Path::new(n).file_stem())
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty());
    let mut problems = Vec::new();
    let vms = plan::plans(&document, kind, default_name, context, &mut problems);
    Validation::finished(format, kind, problems, vms)
}

/// Orders problems by path, list indices numerically (`vms[2]` before
/// `vms[10]`), so a document's problems read top to bottom per item.
fn sort_problems(problems: &mut [Problem]) {
    let key = |path: &str| {
        let mut key = String::with_capacity(path.len() + 16);
        let mut digits = String::new();
        for c in path.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            if !digits.is_empty() {
                key.push_str(&format!("{:0>12}", digits));
                digits.clear();
            }
            key.push(c);
        }
        key.push_str(&digits);
        key
    };
    problems.sort_by_cached_key(|p| key(&p.path));
}

/// The encoding of `content`: the hint, else the file name's extension,
/// else JSON when the text starts with `{` or `[`, YAML otherwise.
fn detect_format(content: &str, hint: FormatHint, file_name: Option<&str>) -> Format {
    match hint {
        FormatHint::Json => return Format::Json,
        FormatHint::Yaml => return Format::Yaml,
        FormatHint::Detect => {}
    }
    let ext = file_name
        .and_then(|n| Path::new(n).extension())
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("json") => Format::Json,
        Some("yaml" | "yml") => Format::Yaml,
        _ if content.trim_start().starts_with(['{', '[']) => Format::Json,
        _ => Format::Yaml,
    }
}

/// A parsed manifest: its top-level mapping.
pub(crate) type Document = serde_json::Map<String, Value>;

/// Why a document could not be parsed: the one problem, and the encoding
/// when it got that far.
pub(crate) type ParseFailure = (Option<Format>, Problem);

/// Parses a document into a JSON mapping, or the one problem that stops it
/// (with the encoding, when it got that far).
pub(crate) fn parse(
    content: &[u8],
    hint: FormatHint,
    file_name: Option<&str>,
) -> Result<(Format, Document), ParseFailure> {
    if content.len() > MAX_MANIFEST_BYTES {
        return Err((
            None,
            Problem::new(
                "",
                format!(
                    "the document is {} bytes, more than the {} MiB a manifest may have",
                    content.len(),
                    MAX_MANIFEST_BYTES >> 20
                ),
            ),
        ));
    }
    let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    let text = std::str::from_utf8(content).map_err(|e| {
        (
            None,
            Problem::new(
                "",
                format!(
                    "the document is not UTF-8 text (binary data?): invalid byte at offset {}",
                    e.valid_up_to()
                ),
            ),
        )
    })?;
    if text.contains('\0') {
        return Err((
            None,
            Problem::new("", "the document contains NUL bytes (binary data?)"),
        ));
    }
    let format = detect_format(text, hint, file_name);
    if text.trim().is_empty() {
        return Err((Some(format), Problem::new("", "the document is empty")));
    }
    let value: Value = match format {
        Format::Json => serde_json::from_str(text)
            .map_err(|e| (Some(format), Problem::new("", format!("invalid JSON: {e}"))))?,
        Format::Yaml => crate::yaml::from_str(text)
            .map_err(|e| (Some(format), Problem::new("", format!("invalid YAML: {e}"))))?,
    };
    match value {
        Value::Object(map) => Ok((format, map)),
        other => Err((
            Some(format),
            Problem::new(
                "",
                format!(
                    "the document must be a mapping at the top level, got {}",
                    schema::describe(&other)
                ),
            ),
        )),
    }
}

/// Why a manifest could not be submitted.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The manifest has problems.
    #[error("invalid manifest: {} problem(s): {}", .0.len(), summarize(.0))]
    Invalid(Vec<Problem>),
    /// The workflow that runs pipelines is not discovered.
    #[error(
        "the workflow {0:?} that runs VM pipelines is not discovered; start workflowd \
         with its bundled workflows, or put workflow-vm-pipeline into a workflow directory"
    )]
    WorkflowMissing(String),
    /// A pipeline document could not be written.
    #[error("cannot write the pipeline document {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The engine refused an execution.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

fn summarize(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A local check (no policy, no file name) of `content`.
    fn local(content: &[u8]) -> Validation {
        validate(content, FormatHint::Detect, Context::default())
    }

    fn paths(content: &str) -> Vec<String> {
        local(content.as_bytes())
            .problems
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn a_minimal_single_manifest_gets_hyperctls_defaults() {
        let v = local(
            br#"{"version":"1.0","pipeline":{"load":{"source_type":"vmdk","source_path":"/d/web.vmdk"},"convert":{"output_format":"qcow2"}}}"#,
        );
        assert!(v.is_valid(), "{:?}", v.problems);
        assert_eq!(v.kind, Some(Kind::Single));
        assert_eq!(v.vms.len(), 1);
        assert_eq!(v.vms[0].name, "web");
        let p = &v.vms[0].document["pipeline"];
        assert_eq!(p["inspect"], json!({"enabled": true, "detect_os": true}));
        assert_eq!(p["fix"]["fstab"]["mode"], "stabilize-all");
        assert_eq!(p["fix"]["network"]["fix_level"], "full");
        assert_eq!(p["fix"]["initramfs"]["regenerate"], true);
        assert_eq!(p["convert"]["compress"], true);
        assert_eq!(
            p["validate"],
            json!({"enabled": true, "boot_test": false, "boot_test_seconds": 20})
        );
    }

    #[test]
    fn yaml_batches_are_detected_and_types_inferred() {
        let v = local(
            b"version: 1.0\nbatch: true\nvms:\n  - name: a\n    pipeline:\n      load: {source_path: /d/a.img}\n  - name: b\n    pipeline:\n      load: {source_path: /d/b.vhdx}\n",
        );
        assert!(v.is_valid(), "{:?}", v.problems);
        assert_eq!((v.format, v.kind), (Some(Format::Yaml), Some(Kind::Batch)));
        assert_eq!(v.vms[0].document["pipeline"]["load"]["source_type"], "raw");
        assert_eq!(v.vms[1].document["pipeline"]["load"]["source_type"], "vhdx");
        assert_eq!(
            v.vms[1].document["pipeline"]["convert"]["output_format"],
            "qcow2"
        );
    }

    #[test]
    fn every_problem_of_a_batch_has_its_path() {
        let got = paths(
            r#"{"version":"2","vms":[
                {"name":"a","pipeline":{"load":{"source_path":"/x.iso"}}},
                {"name":"a","pipeline":{"load":{"source_path":"rel.vmdk","source_type":"ami"},"convert":{"output_format":"qcow3","compres":true}}},
                {"pipeline":{"load":{}}}]}"#,
        );
        assert_eq!(
            got,
            [
                "version",
                "vms[0].pipeline.load.source_type",
                "vms[1].name",
                "vms[1].pipeline.convert.compres",
                "vms[1].pipeline.convert.output_format",
                "vms[1].pipeline.load.ami_id",
                "vms[1].pipeline.load.source_path",
                "vms[2].name",
                "vms[2].pipeline.load.source_path",
            ]
        );
    }

    #[test]
    fn outputs_that_would_collide_are_found_without_a_policy_too() {
        let v = local(
            br#"{"version":"1.0","vms":[
                {"name":"web 01","pipeline":{"load":{"source_path":"/d/a.raw"}}},
                {"name":"web?01","pipeline":{"load":{"source_path":"/d/b.raw"}}},
                {"name":"c","pipeline":{"load":{"source_path":"/d/c.raw"},"convert":{"output_path":"x/../c.qcow2"}}},
                {"name":"d","pipeline":{"load":{"source_path":"/d/d.raw"},"convert":{"output_path":"c.qcow2"}}}]}"#,
        );
        let problems = v.problem_pairs();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].0, "vms[1]");
        assert!(
            problems[0]
                .1
                .starts_with(r#"vms[0] ("web 01") and vms[1] ("web?01") would both write"#),
            "{problems:?}"
        );
        assert_eq!(problems[1].0, "vms[3]");
        assert!(
            problems[1].1.contains("/OUTPUT_DIR/c.qcow2"),
            "{problems:?}"
        );
    }

    #[test]
    fn policy_checks_name_the_field_and_the_setting() {
        let policy = WorkflowPolicy {
            output_dir: "/srv/out".into(),
            source_roots: vec!["/srv/in".into()],
            fix_tools: Default::default(),
        };
        let context = Context {
            policy: Some(&policy),
            ..Context::default()
        };
        let v = validate(
            br#"{"version":"1.0","pipeline":{"load":{"source_type":"raw","source_path":"/srv/in/../etc/shadow"},
                 "fix":{"tool":"sh"},
                 "convert":{"output_format":"raw","output_path":"/etc/cron.d/x"}}}"#,
            FormatHint::Detect,
            context,
        );
        let problems = v.problem_pairs();
        assert_eq!(
            problems,
            [
                (
                    "pipeline.convert.output_path",
                    "/etc/cron.d/x is outside the output directory (setting output_dir: /srv/out)"
                ),
                (
                    "pipeline.fix.tool",
                    "\"sh\" is not a configured fix tool; the configured ones (setting \
                     fix_tools) are: virt-customize"
                ),
                (
                    "pipeline.load.source_path",
                    "/srv/in/../etc/shadow has `..` after /srv/in, which does not exist: where it \
                     leads cannot be judged"
                ),
            ]
        );
    }

    #[test]
    fn an_unknown_boot_accelerator_names_the_known_ones() {
        let v = local(
            br#"{"version":"1.0","pipeline":{"load":{"source_type":"raw","source_path":"/d/a.raw"},
                 "convert":{"output_format":"qcow2"},"validate":{"boot_test":true,"boot_accel":"hvf"}}}"#,
        );
        assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
        assert_eq!(v.problems[0].path, "pipeline.validate.boot_accel");
        assert!(
            v.problems[0].message.contains("kvm:tcg"),
            "{}",
            v.problems[0].message
        );
        // A known one reaches the VM's document as given.
        let v = local(
            br#"{"version":"1.0","pipeline":{"load":{"source_type":"raw","source_path":"/d/a.raw"},
                 "convert":{"output_format":"qcow2"},"validate":{"boot_test":true,"boot_accel":"tcg"}}}"#,
        );
        assert!(v.is_valid(), "{:?}", v.problems);
        assert_eq!(
            v.vms[0].document["pipeline"]["validate"]["boot_accel"],
            "tcg"
        );
    }

    #[test]
    fn a_boot_test_longer_than_an_hour_is_refused_with_the_range() {
        let v = local(
            br#"{"version":"1.0","pipeline":{"load":{"source_type":"raw","source_path":"/d/a.raw"},
                 "convert":{"output_format":"qcow2"},"validate":{"boot_test":true,"boot_test_seconds":3601}}}"#,
        );
        let problems = v.problem_pairs();
        assert_eq!(
            problems,
            [(
                "pipeline.validate.boot_test_seconds",
                "must be from 1 to 3600, got 3601"
            )]
        );
    }

    #[test]
    fn unreadable_documents_are_one_problem_for_the_whole() {
        for content in ["", "  \n", "[1, 2]", "{\"version\": ", "\u{0}\u{1}"] {
            let got = paths(content);
            assert_eq!(got, [""], "{content:?}");
        }
        let v = local(b"\xff\xfe\x00junk");
        assert!(v.problems[0].message.contains("not UTF-8"));
    }

    #[test]
    fn artifact_manifests_become_one_pipeline_per_disk() {
        let v = local(
            br#"{"manifest_version":"1.0","vm":{"cpu":2,"firmware":"uefi"},
                "disks":[{"id":"boot","source_format":"qcow2","bytes":1024,"local_path":"/d/boot.qcow2"},
                         {"id":"data-1","source_format":"vmdk","bytes":2048,"local_path":"/d/data.vmdk","checksum":"sha256:00"}],
                "output":{"directory":"/out","format":"raw"}}"#,
        );
        assert_eq!(
            v.problems
                .iter()
                .map(|p| p.path.as_str())
                .collect::<Vec<_>>(),
            ["disks[1].checksum"]
        );
        let v = local(
            br#"{"manifest_version":"1.0","disks":[{"id":"boot","source_format":"qcow2","bytes":1,"local_path":"/d/boot.qcow2"}],
                "output":{"directory":"/out","format":"raw"}}"#,
        );
        assert!(v.is_valid(), "{:?}", v.problems);
        assert_eq!(v.kind, Some(Kind::ArtifactV1));
        let p = &v.vms[0].document["pipeline"];
        assert_eq!(p["load"]["source_type"], "qcow2");
        assert_eq!(p["convert"]["output_path"], "/out/boot.raw");
    }
}
