//! The load stage: reads the manifest, checks the source it names (inside
//! the operator's source roots, a file of the declared type) and finds its
//! disks: the image itself, or the disks of an OVF or OVA. Every disk's
//! whole chain is verified before anything reads it.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::{
    manifest::output_path::safe_name,
    vm::{
        error::{OvfError, StageError},
        image_chain,
        manifest::{SourceType, VmManifest},
        ovf::{has_extension, ovf_disk_files, unpack_tar, with_formats, DISK_EXTENSIONS},
        run::{Disk, Run},
    },
};

use super::{StageOutcome, StageResult};

/// Runs the load stage.
pub(super) async fn run(run: &mut Run) -> StageResult {
    // The document itself is a source: a caller of Execute could
    // otherwise point the program at any JSON file.
    let manifest_path = run
        .options
        .policy
        .confine_source(&run.options.manifest)
        .map_err(StageError::refused("input manifest"))?;
    let manifest =
        VmManifest::load(&manifest_path).map_err(|e| StageError::failed(e.to_string()))?;
    run.name = safe_name(&manifest.name);
    let load = manifest.pipeline.load.clone();
    run.manifest = Some(manifest);

    let given = run.resolve(&load.source_path);
    // From here on the resolved path: what was checked is what is read.
    let source = run
        .options
        .policy
        .confine_source(&given)
        .map_err(StageError::refused("load.source_path"))?;
    run.progress(
        "load",
        &format!(
            "checking source {} ({})",
            source.display(),
            load.source_type.as_str()
        ),
    );
    let meta = match tokio::fs::metadata(&source).await {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StageError::failed(format!(
                "source {} does not exist",
                source.display()
            )))
        }
        Err(e) => return Err(StageError::io("read source", &source)(e)),
    };
    {
        use std::os::unix::fs::FileTypeExt;
        if !(meta.is_file() || meta.file_type().is_block_device()) {
            return Err(StageError::failed(format!(
                "source {} is not a file",
                source.display()
            )));
        }
    }

    let disk_files: Vec<(PathBuf, &str)> = match load.source_type {
        SourceType::Ova => with_formats(unpack_ova(run, &source).await?)?,
        SourceType::Ovf => with_formats(
            ovf_disk_files(&source, None)?
                .into_iter()
                .map(|disk| {
                    run.options
                        .policy
                        .confine_source(&disk)
                        .map_err(|source_error| {
                            StageError::from(OvfError::DiskRefused {
                                ovf: source.clone(),
                                source: source_error,
                            })
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
        )?,
        other => vec![(
            source.clone(),
            other
                .qemu_format()
                .expect("every source type but ova and ovf is a disk format"),
        )],
    };
    let mut disks = Vec::new();
    let mut disk_facts = Vec::new();
    for (path, format) in disk_files {
        // Read as the format it was declared, never probed, and only
        // once nothing it references lies outside its directory.
        let chain = image_chain::verify(&path, format, &run.cancel).await?;
        let info = chain
            .into_iter()
            .next()
            .expect("a verified chain starts with the image itself");
        run.progress(
            "load",
            &format!(
                "disk {}: {} image, {} bytes virtual",
                path.display(),
                info.format,
                info.virtual_size
            ),
        );
        disk_facts.push(json!({
            "path": path,
            "format": info.format,
            "virtual_size": info.virtual_size,
        }));
        disks.push(Disk {
            path,
            format: info.format,
        });
    }
    if load.source_type == SourceType::Ami && load.ami_id.is_none() {
        run.warn("source_type is ami but load.ami_id is missing".into());
    }
    let summary = format!(
        "{} disk(s) found in {} source {}",
        disks.len(),
        load.source_type.as_str(),
        source.display()
    );
    run.sources = disks.clone();
    run.convert_inputs = disks;
    Ok(StageOutcome::Done {
        summary,
        result: json!({
            "source_type": load.source_type.as_str(),
            "source_path": source,
            "ami_id": load.ami_id,
            "disks": disk_facts,
        }),
    })
}

/// Unpacks an OVA (a tar archive) into the scratch directory and returns
/// its disk files, found through its .ovf.
async fn unpack_ova(run: &mut Run, ova: &Path) -> Result<Vec<PathBuf>, StageError> {
    let dir = run.scratch()?.join("ova");
    std::fs::create_dir_all(&dir).map_err(StageError::io("create", &dir))?;
    run.progress("load", &format!("unpacking OVA {}", ova.display()));
    let (ova_path, into, cancel) = (ova.to_path_buf(), dir.clone(), run.cancel.clone());
    let files = tokio::task::spawn_blocking(move || unpack_tar(&ova_path, &into, &cancel))
        .await
        .map_err(|e| StageError::failed(format!("unpacking {} failed: {e}", ova.display())))??;
    let mut ovfs: Vec<&PathBuf> = files
        .iter()
        .filter(|f| has_extension(f, &["ovf"]))
        .collect();
    ovfs.sort();
    if let Some(ovf) = ovfs.first() {
        if ovfs.len() > 1 {
            run.warn(format!(
                "the OVA holds {} .ovf files; using {}",
                ovfs.len(),
                ovf.display()
            ));
        }
        return ovf_disk_files(ovf, Some(&dir));
    }
    let mut disks: Vec<PathBuf> = files
        .iter()
        .filter(|f| has_extension(f, &DISK_EXTENSIONS))
        .cloned()
        .collect();
    disks.sort();
    if disks.is_empty() {
        return Err(OvfError::NoDisks {
            archive: ova.to_path_buf(),
        }
        .into());
    }
    run.warn(format!(
        "the OVA {} holds no .ovf descriptor; using its disk files",
        ova.display()
    ));
    Ok(disks)
}
