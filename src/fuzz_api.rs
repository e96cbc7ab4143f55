//! Entry points for the cargo-fuzz targets in `fuzz/` (docs/fuzzing.md).
//!
//! Why this exists: the fuzz targets are a crate of their own, and the
//! manifest reader and the metadata reader they must drive are
//! crate-private. These thin wrappers reach them without making the parsers
//! themselves public, so the targets run exactly the code the daemon runs on
//! untrusted input. Not an API: hidden from the docs, free to change with
//! the parsers. The event-line and config parsers are public already
//! ([`crate::events::classify_line`], [`crate::config::Config::load`]).

use serde_json::{Map, Value};

use crate::manifest::{self, Context, FormatHint, Problem};
use crate::workflow::WorkflowMetadata;

/// The encoding a manifest is read as (the API's `format` hint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestEncoding {
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

impl ManifestEncoding {
    fn hint(self) -> FormatHint {
        match self {
            ManifestEncoding::Json => FormatHint::Json,
            ManifestEncoding::Yaml => FormatHint::Yaml,
        }
    }
}

/// What validating a manifest gave, in public types.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestCheck {
    /// Every problem found, in the order the API reports them.
    pub problems: Vec<Problem>,
    /// Each VM's pipeline document (`{"name", "pipeline"}`, defaults
    /// applied), as the daemon writes it for the pipeline; empty unless
    /// there is no problem.
    pub vm_documents: Vec<Value>,
}

/// Parses a manifest into its top-level mapping (`manifest::parse`), or
/// the one problem that stops it.
pub fn parse_manifest(
    content: &[u8],
    encoding: ManifestEncoding,
) -> Result<Map<String, Value>, Problem> {
    manifest::parse(content, encoding.hint(), None)
        .map(|(_, document)| document)
        .map_err(|(_, problem)| problem)
}

/// Reads and validates a manifest as a local check does (`manifest::validate`
/// with no file name, base directory or policy).
pub fn validate_manifest(content: &[u8], encoding: ManifestEncoding) -> ManifestCheck {
    let validation = manifest::validate(content, encoding.hint(), Context::default());
    ManifestCheck {
        problems: validation.problems,
        vm_documents: validation.vms.into_iter().map(|vm| vm.document).collect(),
    }
}

/// Reads a program's `--workflow-metadata` answer as discovery does: the
/// checked metadata and its inputs as JSON Schema text, or why the program
/// is not a workflow.
pub fn read_workflow_metadata(out: &[u8]) -> Result<(WorkflowMetadata, String), String> {
    crate::discovery::parse_metadata(out)
}
