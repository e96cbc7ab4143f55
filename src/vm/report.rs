//! The pipeline report (`<name>.report.json`), in the shape of the upstream
//! hyper2kvm report: version, timestamp, pipeline{success, duration_seconds,
//! stages}, artifacts, warnings, errors, summary.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the report format.
pub(crate) const REPORT_VERSION: &str = "1.0";

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Report {
    /// [`REPORT_VERSION`].
    pub(crate) version: String,
    /// When the report was written (RFC 3339, local time with offset).
    pub(crate) timestamp: String,
    /// The VM's name.
    pub(crate) name: String,
    /// The manifest file the run read.
    pub(crate) manifest: PathBuf,
    /// StageOutcome and stages.
    pub(crate) pipeline: PipelineReport,
    /// Files produced.
    pub(crate) artifacts: Vec<Artifact>,
    /// Things a person should know that did not fail the run.
    pub(crate) warnings: Vec<String>,
    /// Why the run failed.
    pub(crate) errors: Vec<String>,
    /// Stage counts.
    pub(crate) summary: Summary,
}

/// StageOutcome and stages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PipelineReport {
    /// Every enabled stage succeeded.
    pub(crate) success: bool,
    /// The run was stopped by a signal (cancel).
    #[serde(default)]
    pub(crate) cancelled: bool,
    /// Wall time of the whole run.
    pub(crate) duration_seconds: f64,
    /// Each stage by name (load, inspect, fix, convert, validate).
    pub(crate) stages: BTreeMap<String, StageReport>,
}

/// How a stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StageStatus {
    /// It ran and did its job.
    Succeeded,
    /// It did not run: disabled in the manifest, nothing to do, or the
    /// tooling it needs is missing (see `result.reason` and the warnings).
    Skipped,
    /// It ran and failed.
    Failed,
    /// An earlier stage failed or the run was cancelled before it.
    NotRun,
}

/// One stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StageReport {
    /// Only true when the stage ran and succeeded.
    pub(crate) success: bool,
    /// The stage did not do its job on purpose (see `status`).
    pub(crate) skipped: bool,
    /// How it ended.
    pub(crate) status: StageStatus,
    /// Seconds it took.
    pub(crate) duration: f64,
    /// What it found or did (succeeded and skipped stages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) result: Option<Value>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// A file the run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Artifact {
    /// Always "disk" for now.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// Absolute path.
    pub(crate) path: PathBuf,
    /// qemu-img format name.
    pub(crate) format: String,
    /// File size in bytes.
    pub(crate) size_bytes: u64,
}

/// Stage counts; they add up to `total_stages`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Summary {
    /// Always 5.
    pub(crate) total_stages: u32,
    /// Stages that succeeded.
    pub(crate) successful_stages: u32,
    /// Stages that failed.
    pub(crate) failed_stages: u32,
    /// Stages skipped on purpose.
    pub(crate) skipped_stages: u32,
    /// Stages that never started (after a failure or a cancel).
    pub(crate) not_run_stages: u32,
}

impl Report {
    /// An empty report for a VM.
    pub(crate) fn new(name: &str, manifest: &Path) -> Self {
        Report {
            version: REPORT_VERSION.to_string(),
            timestamp: String::new(),
            name: name.to_string(),
            manifest: manifest.to_path_buf(),
            pipeline: PipelineReport {
                success: false,
                cancelled: false,
                duration_seconds: 0.0,
                stages: BTreeMap::new(),
            },
            artifacts: Vec::new(),
            warnings: Vec::new(),
            errors: Vec::new(),
            summary: Summary::default(),
        }
    }

    /// Records how a stage ended.
    pub(crate) fn stage(&mut self, name: &str, stage: StageReport) {
        self.pipeline.stages.insert(name.to_string(), stage);
    }

    /// Fills in the summary, the outcome, the duration and the timestamp.
    pub(crate) fn finish(&mut self, duration_seconds: f64, cancelled: bool) {
        let mut summary = Summary {
            total_stages: self.pipeline.stages.len() as u32,
            ..Summary::default()
        };
        for stage in self.pipeline.stages.values() {
            match stage.status {
                StageStatus::Succeeded => summary.successful_stages += 1,
                StageStatus::Skipped => summary.skipped_stages += 1,
                StageStatus::Failed => summary.failed_stages += 1,
                StageStatus::NotRun => summary.not_run_stages += 1,
            }
        }
        self.pipeline.success =
            !cancelled && summary.failed_stages == 0 && summary.not_run_stages == 0;
        self.pipeline.cancelled = cancelled;
        self.pipeline.duration_seconds = duration_seconds;
        self.summary = summary;
        self.timestamp = chrono::Local::now().to_rfc3339();
    }

    /// Writes the report atomically ([`crate::fs::write_atomic`]).
    pub(crate) fn write_atomic(&self, path: &Path) -> std::io::Result<()> {
        let mut json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        json.push(b'\n');
        crate::fs::write_atomic(path, &json, crate::fs::Access::Shared)
    }
}

impl StageReport {
    /// A stage that succeeded.
    pub(crate) fn succeeded(duration: f64, result: Value) -> Self {
        Self {
            success: true,
            skipped: false,
            status: StageStatus::Succeeded,
            duration,
            result: Some(result),
            error: None,
        }
    }

    /// A stage skipped on purpose, with the reason.
    pub(crate) fn skipped(duration: f64, reason: &str, detail: Option<Value>) -> Self {
        let mut result = serde_json::json!({ "reason": reason });
        if let (Some(detail), Some(map)) = (detail, result.as_object_mut()) {
            map.insert("detail".into(), detail);
        }
        Self {
            success: false,
            skipped: true,
            status: StageStatus::Skipped,
            duration,
            result: Some(result),
            error: None,
        }
    }

    /// A stage that failed.
    pub(crate) fn failed(duration: f64, error: &str) -> Self {
        Self {
            success: false,
            skipped: false,
            status: StageStatus::Failed,
            duration,
            result: None,
            error: Some(error.to_string()),
        }
    }

    /// A stage that never started.
    pub(crate) fn not_run(reason: &str) -> Self {
        Self {
            success: false,
            skipped: false,
            status: StageStatus::NotRun,
            duration: 0.0,
            result: Some(serde_json::json!({ "reason": reason })),
            error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_add_up_and_a_skip_is_not_a_failure() {
        let mut report = Report::new("vm", Path::new("/m.json"));
        report.stage("load", StageReport::succeeded(0.1, Value::Null));
        report.stage("fix", StageReport::skipped(0.0, "no tools", None));
        report.finish(1.0, false);
        assert!(report.pipeline.success);
        assert_eq!(report.summary.successful_stages, 1);
        assert_eq!(report.summary.skipped_stages, 1);

        report.stage("convert", StageReport::failed(0.2, "boom"));
        report.stage("validate", StageReport::not_run("convert failed"));
        report.finish(1.0, false);
        assert!(!report.pipeline.success);
        assert_eq!(report.summary.total_stages, 4);
        assert_eq!(report.summary.failed_stages, 1);
        assert_eq!(report.summary.not_run_stages, 1);
    }

    #[test]
    fn the_report_is_written_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vm.report.json");
        let mut report = Report::new("vm", Path::new("/m.json"));
        report.finish(0.5, false);
        report.write_atomic(&path).unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "only the report"
        );
        let back: Report = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(back, report);
    }
}
