//! The state of one run, carried from stage to stage: the manifest once
//! load has read it, the disks each stage hands to the next, the scratch
//! directory, and the warnings and artifacts the report will list.

use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use crate::{fs::partial, manifest::output_path::safe_name};

use super::{error::StageError, events::Emitter, manifest::VmManifest, report::Artifact, Options};

/// A disk image and its qemu-img format.
#[derive(Debug, Clone)]
pub(crate) struct Disk {
    pub(crate) path: PathBuf,
    pub(crate) format: String,
}

/// A converted disk and what it was converted from.
#[derive(Debug, Clone)]
pub(crate) struct ConvertedDisk {
    pub(crate) path: PathBuf,
    pub(crate) format: String,
    pub(crate) input: Disk,
}

/// The state of one run, carried from stage to stage.
pub(crate) struct Run {
    pub(crate) options: Options,
    pub(crate) emitter: Emitter,
    pub(crate) cancel: CancellationToken,
    pub(crate) manifest: Option<VmManifest>,
    /// The VM name made safe for file names; the manifest file's stem
    /// until the manifest is read.
    pub(crate) name: String,
    pub(crate) warnings: Vec<String>,
    pub(crate) artifacts: Vec<Artifact>,
    /// The source disks found by load.
    pub(crate) sources: Vec<Disk>,
    /// What convert reads: the sources, or the fixed overlays.
    pub(crate) convert_inputs: Vec<Disk>,
    pub(crate) outputs: Vec<ConvertedDisk>,
    /// `<work dir>/.<name>.work.partial-<pid>/`: unpacked OVAs, overlays,
    /// boot logs; named as a partial so that what a killed run left is
    /// swept like its partial outputs.
    scratch: Option<PathBuf>,
}

impl Run {
    /// A run that has not started any stage.
    pub(crate) fn new(options: Options, emitter: Emitter, cancel: CancellationToken) -> Self {
        let name = safe_name(
            &options
                .manifest
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        Run {
            options,
            emitter,
            cancel,
            manifest: None,
            name,
            warnings: Vec::new(),
            artifacts: Vec::new(),
            sources: Vec::new(),
            convert_inputs: Vec::new(),
            outputs: Vec::new(),
            scratch: None,
        }
    }

    /// Reports progress of a stage's task.
    pub(crate) fn progress(&self, task: &str, message: &str) {
        self.emitter.progress(task, message);
    }

    /// Says a warning now and keeps it for the report.
    pub(crate) fn warn(&mut self, warning: String) {
        self.emitter.say(&format!("warning: {warning}"));
        self.warnings.push(warning);
    }

    /// Prints a tool's output on stdout, prefixed, line by line.
    pub(crate) fn echo(&self, prefix: &str, text: &str) {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            self.emitter.say(&format!("{prefix}: {line}"));
        }
    }

    /// The manifest load read.
    pub(crate) fn manifest(&self) -> &VmManifest {
        self.manifest
            .as_ref()
            .expect("stages after load run only with a manifest")
    }

    /// Resolves a path from the manifest against the working directory.
    pub(crate) fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.options.work_dir.join(path)
        }
    }

    /// The scratch directory, created on first use.
    pub(crate) fn scratch(&mut self) -> Result<PathBuf, StageError> {
        if let Some(dir) = &self.scratch {
            return Ok(dir.clone());
        }
        let dir = self.options.work_dir.join(partial::partial_name(
            format!("{}.work", self.name).as_ref(),
            std::process::id(),
        ));
        std::fs::create_dir_all(&dir).map_err(StageError::io("create", &dir))?;
        self.scratch = Some(dir.clone());
        Ok(dir)
    }

    /// Removes the scratch directory (unpacked OVA, overlays, logs).
    pub(crate) fn remove_scratch(&mut self) {
        if let Some(dir) = self.scratch.take() {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                self.warn(format!(
                    "could not remove the scratch directory {}: {e}",
                    dir.display()
                ));
            }
        }
    }
}
