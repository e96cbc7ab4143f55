//! Running the pipeline program: directly (its events on stderr and its
//! report file), or as the `vm_pipeline` workflow of a real daemon.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command as StdCommand,
};

use serde_json::{json, Value};
use tempfile::TempDir;
use workflow_manager::events::{WorkflowEvent, EVENT_PREFIX};

use super::images::s;
use crate::helper::*;

pub(super) const PROGRAM: &str = env!("CARGO_BIN_EXE_workflow-vm-pipeline");

/// What one direct run of the program did.
pub(super) struct Direct {
    pub(super) code: i32,
    pub(super) events: Vec<WorkflowEvent>,
    pub(super) stdout: String,
    pub(super) report_path: PathBuf,
    pub(super) report: Value,
}

/// The policy of [`run_direct`]: the test's temp dir (the parent of the
/// working directory) is both the source root and the output directory.
pub(super) fn test_policy(work_dir: &Path) -> Value {
    let dir = work_dir
        .parent()
        .expect("the work dir is in the test's dir");
    json!({"output_dir": dir, "source_roots": [dir]})
}

/// Runs the program in `work_dir` under [`test_policy`] and reads its
/// events and its report.
pub(super) fn run_direct(work_dir: &Path, manifest: &Path, extra: &[&str]) -> Direct {
    run_direct_with(work_dir, manifest, extra, &test_policy(work_dir))
}

/// Runs the program in `work_dir` with this policy (WORKFLOWD_POLICY) and
/// reads its events and its report.
pub(super) fn run_direct_with(
    work_dir: &Path,
    manifest: &Path,
    extra: &[&str],
    policy: &Value,
) -> Direct {
    fs::create_dir_all(work_dir).unwrap();
    let out = StdCommand::new(PROGRAM)
        .arg("--manifest")
        .arg(manifest)
        .args(extra)
        .current_dir(work_dir)
        .env("WORKFLOWD_POLICY", policy.to_string())
        .output()
        .expect("run workflow-vm-pipeline");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events: Vec<WorkflowEvent> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix(EVENT_PREFIX))
        .map(|json| serde_json::from_str(json).expect("every event line parses"))
        .collect();
    let report_path = events
        .iter()
        .find_map(|e| match e {
            WorkflowEvent::StateFileCreated {
                phase: 4,
                file_path,
                description,
            } if description == "pipeline report" => Some(PathBuf::from(file_path)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no report announced; stderr:\n{stderr}"));
    let report = serde_json::from_slice(&fs::read(&report_path).unwrap()).unwrap();
    Direct {
        code: out.status.code().unwrap_or(-1),
        events,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        report_path,
        report,
    }
}

impl Direct {
    pub(super) fn stage(&self, name: &str) -> &Value {
        &self.report["pipeline"]["stages"][name]
    }

    pub(super) fn status(&self, name: &str) -> &str {
        self.stage(name)["status"].as_str().unwrap_or("?")
    }

    pub(super) fn warnings(&self) -> String {
        self.report["warnings"].to_string()
    }

    pub(super) fn convert_percents(&self) -> Vec<i64> {
        self.events
            .iter()
            .filter_map(|e| match e {
                WorkflowEvent::TaskProgress { task_id, message } if task_id == "convert" => message
                    .strip_prefix("converting ")?
                    .strip_suffix('%')?
                    .parse()
                    .ok(),
                _ => None,
            })
            .collect()
    }

    pub(super) fn output(&self) -> PathBuf {
        PathBuf::from(
            self.report["artifacts"][0]["path"]
                .as_str()
                .expect("an artifact"),
        )
    }

    /// Asserts a successful run with fix skipped (no guest tooling here).
    pub(super) fn assert_succeeded(&self) {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nreport: {:#}",
            self.stdout, self.report
        );
        assert_eq!(self.report["pipeline"]["success"], true);
        for stage in ["load", "inspect", "convert", "validate"] {
            assert_eq!(self.status(stage), "succeeded", "{stage}");
        }
        assert_eq!(self.status("fix"), "skipped");
        assert_eq!(
            self.report["summary"],
            json!({"total_stages": 5, "successful_stages": 4, "failed_stages": 0,
                   "skipped_stages": 1, "not_run_stages": 0})
        );
        let phases: Vec<(i32, i32)> = self
            .events
            .iter()
            .filter_map(|e| match e {
                WorkflowEvent::PhaseStarted {
                    phase,
                    total_phases,
                    ..
                } => Some((*phase, *total_phases)),
                _ => None,
            })
            .collect();
        assert_eq!(phases, [(0, 5), (1, 5), (2, 5), (3, 5), (4, 5)]);
        let percents = self.convert_percents();
        assert!(
            percents.windows(2).all(|w| w[0] < w[1]) && percents.last() == Some(&100),
            "at most one event per whole percent, ending at 100: {percents:?}"
        );
        assert!(matches!(
            self.events.last(),
            Some(WorkflowEvent::StateFileCreated { .. })
        ));
        let artifact = &self.report["artifacts"][0];
        assert_eq!(artifact["type"], "disk");
        assert_eq!(
            artifact["size_bytes"].as_u64(),
            Some(fs::metadata(self.output()).unwrap().len())
        );
    }
}

/// A workflow directory holding only a symlink to the pipeline binary.
pub(super) fn pipeline_dir() -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix("vm-pipeline-workflows-")
        .tempdir()
        .unwrap();
    std::os::unix::fs::symlink(PROGRAM, dir.path().join("workflow-vm-pipeline")).unwrap();
    dir
}

pub(super) async fn pipeline_daemon() -> (Daemon, TempDir) {
    let dir = pipeline_dir();
    let daemon = Daemon::builder().workflow_dir(dir.path()).start().await;
    (daemon, dir)
}

/// The report the execution announced as an artifact.
pub(super) fn execution_report(exec: &pb::Execution) -> Value {
    let artifact = exec
        .artifacts
        .iter()
        .find(|a| a.description == "pipeline report" && a.phase == 4)
        .unwrap_or_else(|| panic!("no report artifact: {:?}", exec.artifacts));
    serde_json::from_slice(&fs::read(&artifact.path).unwrap()).unwrap()
}

/// Executes `vm_pipeline` with `manifest`, writing into `out_dir`, and
/// waits until its convert stage reports progress.
pub(super) async fn start_converting(
    daemon: &Daemon,
    manifest: &Path,
    out_dir: &Path,
) -> pb::Execution {
    let exec = daemon
        .execute(
            "vm_pipeline",
            &[
                ("manifest", text(s(manifest))),
                ("output_dir", text(s(out_dir))),
            ],
        )
        .await;
    daemon
        .wait_for_event(&exec.id, "the first convert progress", |e| {
            matches!(&e.payload, Some(Payload::TaskProgress(p))
                if p.task_id == "convert" && p.message.ends_with('%'))
        })
        .await;
    exec
}
