//! The convert stage: `qemu-img convert` of each disk convert reads (the
//! sources, or the fix stage's overlays) to the output format, with live
//! progress, into the output directory the operator allows. An output
//! appears under its final name only once complete.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::{
    fs::partial,
    manifest::output_path::{first_output, further_disk, today},
    vm::{
        error::StageError,
        image_chain,
        manifest::DiskFormat,
        qemu::{self, ConvertJob},
        report::Artifact,
        run::{ConvertedDisk, Run},
    },
};

use super::{partial_output::PartialOutput, StageOutcome, StageResult};

/// Runs the convert stage.
pub(super) async fn run(run: &mut Run) -> StageResult {
    let convert = run.manifest().pipeline.convert.clone();
    let format = convert.output_format;
    let compress = convert.compress && format == DiskFormat::Qcow2;
    if convert.compress && format != DiskFormat::Qcow2 {
        run.warn(format!(
            "compress is only supported for qcow2 output; {} output is not compressed",
            format.as_str()
        ));
    }
    let first = output_path(run, convert.output_path.as_deref(), format)?;
    // Checked again right before they are read: the fix stage may have
    // taken minutes, during which the source directory may have changed.
    for source in run.sources.clone() {
        image_chain::verify(&source.path, &source.format, &run.cancel).await?;
    }
    let inputs = run.convert_inputs.clone();
    let count = inputs.len();
    let mut last_percent = -1i64;
    let mut results = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let destination = if i == 0 {
            first.clone()
        } else {
            further_disk(&first, i + 1)
        };
        if let Some(reserved) = partial::partial_component(&destination) {
            return Err(StageError::failed(format!(
                "the output path {} contains {:?}, a name of the form \
                 .<name>.partial-<pid> that is reserved for unfinished outputs",
                destination.display(),
                reserved
            )));
        }
        // Nothing already there is replaced unless the manifest says
        // so; the move into place checks again (no-replace link).
        if !convert.overwrite && destination.symlink_metadata().is_ok() {
            return Err(StageError::failed(format!(
                "convert.output_path: {} already exists; it is replaced only when the \
                 manifest says convert.overwrite: true",
                destination.display()
            )));
        }
        for source in &run.sources {
            if same_file(&source.path, &destination) {
                return Err(StageError::failed(format!(
                    "the output {} is the source itself",
                    destination.display()
                )));
            }
        }
        run.progress(
            "convert",
            &format!(
                "converting {} ({}) to {} ({}{})",
                input.path.display(),
                input.format,
                destination.display(),
                format.as_str(),
                if compress { ", compressed" } else { "" }
            ),
        );
        let target = PartialOutput::prepare(&destination, &run.options.policy)?;
        let job = ConvertJob {
            source: &input.path,
            source_format: &input.format,
            destination: &target.file,
            format: format.as_str(),
            compress,
        };
        let emitter = run.emitter;
        let converted = qemu::convert(&job, &run.cancel, |percent| {
            // Whole percent of all disks together, at most one event each.
            let overall = ((i as f64 * 100.0 + percent) / count as f64).floor() as i64;
            if overall > last_percent {
                last_percent = overall;
                emitter.progress("convert", &format!("converting {overall}%"));
            }
        })
        .await;
        if let Err(e) = converted {
            target.discard();
            return Err(e.into());
        }
        let size_bytes = target.commit(convert.overwrite)?;
        run.artifacts.push(Artifact {
            kind: "disk".into(),
            path: destination.clone(),
            format: format.as_str().into(),
            size_bytes,
        });
        results.push(json!({
            "input": input.path,
            "input_format": input.format,
            "path": destination,
            "format": format.as_str(),
            "compressed": compress,
            "size_bytes": size_bytes,
        }));
        run.outputs.push(ConvertedDisk {
            path: destination,
            format: format.as_str().into(),
            input: input.clone(),
        });
    }
    if last_percent < 100 {
        run.emitter.progress("convert", "converting 100%");
    }
    Ok(StageOutcome::Done {
        summary: format!(
            "{} disk(s) converted to {}: {}",
            results.len(),
            format.as_str(),
            run.outputs
                .iter()
                .map(|o| o.path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        result: json!({ "outputs": results }),
    })
}

/// Where the (first) output goes (see [`first_output`]), resolved and
/// inside the policy's output directory. The `output_dir` input, when
/// given, must itself be inside it (relative: to it).
fn output_path(
    run: &Run,
    output_path: Option<&Path>,
    format: DiskFormat,
) -> Result<PathBuf, StageError> {
    let policy = &run.options.policy;
    let output_dir = match &run.options.output_dir {
        Some(dir) => policy
            .output_target(dir)
            .map_err(StageError::refused("input output_dir"))?,
        None => policy.output_dir.clone(),
    };
    let first = first_output(
        &output_dir,
        &run.name,
        output_path,
        format.as_str(),
        &today(),
    );
    policy
        .confine_output(&first)
        .map_err(StageError::refused("convert.output_path"))
}

/// Whether two paths are the same file (both exist, symlinks resolved).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
