//! Where a built manifest goes: its encoding (`-format`, else the file's
//! extension) and writing it to its file.

use std::path::{Path, PathBuf};

use crate::cli::{error::CliError, go_flags::GoFlags};
use crate::manifest;

/// The encoding of a manifest file: `-format`, else its extension, else JSON.
pub(crate) fn file_format(
    flags: &GoFlags,
    file: Option<&Path>,
) -> Result<manifest::Format, CliError> {
    match flags.value("format") {
        Some("json") => return Ok(manifest::Format::Json),
        Some("yaml") | Some("yml") => return Ok(manifest::Format::Yaml),
        Some(other) => {
            return Err(CliError::Usage(format!(
                "invalid value {other:?} for -format: json or yaml"
            )))
        }
        None => {}
    }
    let ext = file
        .and_then(|f| f.extension())
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    Ok(match ext.as_deref() {
        Some("yaml" | "yml") => manifest::Format::Yaml,
        _ => manifest::Format::Json,
    })
}

/// Writes `text` to `path`, creating its directory; an existing file is
/// kept unless `force`.
pub(crate) fn write_manifest(path: &Path, text: &str, force: bool) -> Result<(), CliError> {
    if path.exists() && !force {
        return Err(CliError::Usage(format!(
            "{} already exists; give -force to overwrite it",
            path.display()
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::Usage(format!("cannot create {}: {e}", dir.display())))?;
    }
    crate::fs::write_atomic(path, text.as_bytes(), crate::fs::Access::Shared)
        .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", path.display())))
}

/// Where the manifest text went.
pub(crate) enum Written {
    /// To this file.
    File(PathBuf),
    /// To stdout, in this format.
    Stdout(manifest::Format),
}

impl Written {
    /// The file name the daemon is told when the manifest is submitted.
    pub(crate) fn file_name(&self) -> String {
        match self {
            Written::File(path) => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Written::Stdout(format) => format!("manifest.{}", format.extension()),
        }
    }
}
