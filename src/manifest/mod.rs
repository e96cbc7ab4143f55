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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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
mod tests;
