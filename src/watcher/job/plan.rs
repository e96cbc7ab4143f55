//! Planning a dropped file: read it (a symbolic link only within the
//! folder), check it as a manifest, a disk image or a job config, and turn
//! it into the VMs to run, or into the reason it cannot run.

use std::path::Path;

use super::super::layout::{self, Layout};
use super::super::DropMode;
use crate::manifest::disk::{self, DiskFile};
use crate::manifest::{self, Context, FormatHint, Kind, Problem, Validation, MAX_MANIFEST_BYTES};
use crate::policy::WorkflowPolicy;
use crate::store::DropFileRecord;

/// A file that cannot be run, and why.
pub(super) struct Rejection {
    pub(super) error: String,
    pub(super) problems: Vec<Problem>,
}

fn reject(error: impl Into<String>) -> Rejection {
    Rejection {
        error: error.into(),
        problems: Vec::new(),
    }
}

/// Reads and checks the file; blocking.
pub(super) fn plan(
    layout: &Layout,
    mode: DropMode,
    policy: &WorkflowPolicy,
    record: &DropFileRecord,
) -> Result<Validation, Rejection> {
    let path = &record.processing_path;
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| reject(format!("cannot inspect the file: {e}")))?;
    let source = if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path)
            .map_err(|e| reject(format!("cannot read the symbolic link: {e}")))?;
        // Relative links were made relative to to_be_processed/, where the
        // link was dropped.
        let target = if target.is_relative() {
            layout.incoming.join(target)
        } else {
            target
        };
        let resolved = std::fs::canonicalize(&target).map_err(|_| {
            reject(format!(
                "the file is a symbolic link to {}, which does not exist",
                target.display()
            ))
        })?;
        if !resolved.starts_with(&layout.root) {
            return Err(reject(format!(
                "the file is a symbolic link to {}, outside the drop folder {}; only links within the folder are followed",
                resolved.display(),
                layout.root.display()
            )));
        }
        if !resolved.is_file() {
            return Err(reject(format!(
                "the file is a symbolic link to {}, which is not a regular file",
                resolved.display()
            )));
        }
        resolved
    } else if meta.is_dir() {
        return Err(reject(
            "this is a directory; only files dropped at the top level of to_be_processed/ are processed",
        ));
    } else if !meta.is_file() {
        return Err(reject(
            "this is not a regular file (a fifo, socket or device); it was not read",
        ));
    } else {
        path.clone()
    };
    let len = std::fs::metadata(&source)
        .map_err(|e| reject(format!("cannot inspect the file: {e}")))?
        .len();
    if len == 0 {
        return Err(reject("the file is empty"));
    }
    let original = record.original_name.as_str();
    let stem = layout::stem(std::ffi::OsStr::new(original));
    let read = || -> Result<Vec<u8>, Rejection> {
        if len > MAX_MANIFEST_BYTES as u64 {
            return Err(reject(format!(
                "the file is {len} bytes; a manifest or job config may have at most {} MiB",
                MAX_MANIFEST_BYTES >> 20
            )));
        }
        std::fs::read(&source).map_err(|e| reject(format!("cannot read the file: {e}")))
    };
    let validation = match mode {
        DropMode::Manifest => manifest::validate(
            &read()?,
            FormatHint::Detect,
            Context {
                file_name: Some(original),
                base_dir: Some(&layout.root),
                policy: Some(policy),
            },
        ),
        DropMode::Disk => match disk::classify(Path::new(original)) {
            DiskFile::Disk => {
                let plan = disk::disk_plan(&source, &stem).map_err(|p| reject(p.message))?;
                Validation {
                    format: None,
                    kind: Some(Kind::Single),
                    problems: Vec::new(),
                    vms: vec![plan],
                }
            }
            DiskFile::JobConfig => {
                disk::job_config(&read()?, original, &stem, &layout.root, policy)
            }
            DiskFile::Other => {
                return Err(reject(format!(
                    "not a disk image (.{}) or a job config (.{})",
                    disk::DISK_EXTENSIONS.join(" ."),
                    disk::JOB_EXTENSIONS.join(" .")
                )))
            }
        },
    };
    if !validation.is_valid() {
        let what = match mode {
            DropMode::Manifest => "manifest",
            DropMode::Disk => "job config",
        };
        return Err(Rejection {
            error: format!(
                "invalid {what}: {} problem{}",
                validation.problems.len(),
                if validation.problems.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ),
            problems: validation.problems,
        });
    }
    Ok(validation)
}
