//! What a schedule is, as the daemon keeps it: its spec, action and
//! policies, stored as one JSON document (the store's `definition`), and
//! the checks a new or changed one must pass before anything is stored.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::Violation;
use crate::manifest::FormatHint;
use crate::retry_policy::RetryPolicy;

/// The longest schedule id.
const MAX_ID_LEN: usize = 63;

/// Catch-up window when none is given.
pub(crate) const DEFAULT_CATCH_UP_WINDOW_MS: u64 = 3_600_000;

/// A schedule's definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Definition {
    /// Cron expressions, 5 or 6 fields.
    pub(crate) cron: Vec<String>,
    /// IANA time zone; empty: UTC.
    #[serde(default)]
    pub(crate) time_zone: String,
    /// Largest delay added to each time.
    #[serde(default)]
    pub(crate) jitter_ms: u64,
    /// Not due before.
    #[serde(default)]
    pub(crate) start_ms: Option<i64>,
    /// Not due after.
    #[serde(default)]
    pub(crate) end_ms: Option<i64>,
    /// What it does.
    pub(crate) action: Action,
    /// When the previous run is still going.
    pub(crate) overlap: Overlap,
    /// The times it fell due while the daemon was down.
    pub(crate) catch_up: CatchUp,
    /// How far back START_ONE reaches.
    pub(crate) catch_up_window_ms: u64,
    /// Free text.
    #[serde(default)]
    pub(crate) description: String,
    /// The namespace its executions run in (schedules from before
    /// namespaces: `default`).
    #[serde(default = "default_namespace")]
    pub(crate) namespace: String,
}

fn default_namespace() -> String {
    crate::namespaces::DEFAULT.to_string()
}

/// What a schedule does when it falls due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Action {
    /// Execute a workflow.
    Execute {
        /// The workflow.
        workflow_id: String,
        /// Its inputs.
        inputs: BTreeMap<String, Value>,
        /// Wall-clock limit of each run.
        timeout_ms: Option<u64>,
        /// Labels of each execution.
        labels: BTreeMap<String, String>,
        /// Retries of each run; None: the workflow's default.
        #[serde(default)]
        retry: Option<RetryPolicy>,
    },
    /// Submit a manifest.
    Manifest {
        /// Where the document comes from.
        source: ManifestSource,
        /// Its encoding.
        format: FormatHint,
        /// Output directory of the runs, inside the daemon's.
        output_dir: Option<PathBuf>,
        /// Labels of each execution.
        labels: BTreeMap<String, String>,
    },
}

/// Where a scheduled manifest comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ManifestSource {
    /// The document, kept with the schedule (base64: it may not be UTF-8).
    Inline(#[serde(with = "base64_bytes")] Vec<u8>),
    /// A file read at each run, inside the source roots.
    Template(PathBuf),
}

/// What happens when it falls due while its previous run is still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Overlap {
    /// Recorded SKIPPED.
    #[default]
    Skip,
    /// Recorded BUFFERED, started when the previous one ends.
    BufferOne,
    /// Started alongside.
    AllowAll,
    /// The previous one is cancelled first.
    CancelPrevious,
}

/// What happens to the times it fell due while the daemon was down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CatchUp {
    /// The latest, within the window, starts; the others are MISSED.
    #[default]
    StartOne,
    /// All MISSED.
    Skip,
}

impl Definition {
    /// The stored form.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).expect("definitions serialize")
    }

    /// The definition stored as `json`.
    pub(crate) fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

/// Violations of a schedule id.
pub(crate) fn check_id(id: &str) -> Option<Violation> {
    let field = "schedule.id";
    let bad = |why: &str| Some(Violation::new(field, why));
    if id.is_empty() {
        return bad("is required");
    }
    if id.len() > MAX_ID_LEN {
        return bad("must be at most 63 characters");
    }
    let first_ok = id
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !first_ok || !rest_ok {
        return bad("must be a-z, 0-9, '.', '_' and '-', starting with a letter or digit");
    }
    None
}

/// Serde for bytes as standard base64.
mod base64_bytes {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_lowercase_names() {
        assert!(check_id("nightly-backup.v2").is_none());
        assert!(check_id("0clock").is_none());
        for bad in ["", "Nightly", "-x", "a b", "a/b", &"x".repeat(64)] {
            assert!(check_id(bad).is_some(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_definition_round_trips_through_its_stored_form() {
        let definition = Definition {
            cron: vec!["0 2 * * *".into()],
            time_zone: "Europe/Paris".into(),
            jitter_ms: 5_000,
            start_ms: Some(1),
            end_ms: None,
            action: Action::Manifest {
                source: ManifestSource::Inline(vec![0xff, b'{']),
                format: FormatHint::Yaml,
                output_dir: Some("/srv/out/nightly".into()),
                labels: BTreeMap::from([("team".into(), "a".into())]),
            },
            overlap: Overlap::BufferOne,
            catch_up: CatchUp::Skip,
            catch_up_window_ms: 60_000,
            description: "nightly".into(),
            namespace: "default".into(),
        };
        let json = definition.to_json();
        assert_eq!(Definition::from_json(&json).unwrap(), definition);
    }
}
