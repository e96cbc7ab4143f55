//! OVF descriptors and OVA archives: finding a VM's disk files. An .ovf is
//! XML whose `File` elements name the files next to it and whose `Disk`
//! elements say which of them are disks; an .ova is a tar of the .ovf and
//! those files. A small pattern reader is enough for the attributes we need.

use std::path::{Component, Path, PathBuf};

use regex::Regex;

use super::{
    command::Cancel,
    stages::{failed, StageError},
};

/// Disk file extensions looked for when an OVF or OVA names no disks.
pub(crate) const DISK_EXTENSIONS: [&str; 7] = ["vmdk", "vhd", "vhdx", "img", "raw", "qcow2", "vdi"];

/// Whether a path ends in one of these extensions (any case).
pub(crate) fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| extensions.contains(&e.as_str()))
}

/// Unpacks the regular files and directories of a tar archive into `dir`
/// (never links or devices; never outside `dir`) and returns the files.
pub(crate) fn unpack_tar(
    archive: &Path,
    dir: &Path,
    cancel: &Cancel,
) -> Result<Vec<PathBuf>, StageError> {
    let file = std::fs::File::open(archive)
        .map_err(|e| failed(format!("cannot open {}: {e}", archive.display())))?;
    let not_tar = |e: std::io::Error| {
        failed(format!(
            "{} is not a readable OVA (tar archive): {e}",
            archive.display()
        ))
    };
    let mut tar = tar::Archive::new(file);
    let mut files = Vec::new();
    for entry in tar.entries().map_err(not_tar)? {
        if cancel.is_cancelled() {
            return Err(StageError::Cancelled);
        }
        let mut entry = entry.map_err(not_tar)?;
        let kind = entry.header().entry_type();
        // Sparse entries are regular files too (disk images usually are).
        let is_file = kind.is_file() || kind.is_gnu_sparse() || kind.is_contiguous();
        if !(is_file || kind.is_dir()) {
            continue;
        }
        let path = entry.path().map_err(not_tar)?.into_owned();
        if !entry.unpack_in(dir).map_err(not_tar)? {
            continue;
        }
        if is_file {
            files.push(dir.join(path));
        }
    }
    if files.is_empty() {
        return Err(failed(format!(
            "{} is not an OVA: it holds no files (is it a tar archive?)",
            archive.display()
        )));
    }
    Ok(files)
}

/// A file an OVF descriptor references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OvfFile {
    pub(crate) href: String,
    pub(crate) compression: Option<String>,
}

/// The disk files of an OVF descriptor, in disk order: the files its
/// `Disk` elements point to (`ovf:fileRef`), or, when it has none, the
/// `File` references that look like disks.
pub(crate) fn parse_ovf(xml: &str) -> Result<Vec<OvfFile>, String> {
    static ELEMENT: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    static ATTRIBUTE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let element = ELEMENT.get_or_init(|| {
        Regex::new(r"<(?:[A-Za-z_][\w.-]*:)?(File|Disk)\b([^>]*)>").expect("valid pattern")
    });
    let attribute = ATTRIBUTE.get_or_init(|| {
        Regex::new(r#"(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')"#)
            .expect("valid pattern")
    });
    let mut files: Vec<(Option<String>, OvfFile)> = Vec::new();
    let mut disk_refs = Vec::new();
    for caps in element.captures_iter(xml) {
        let mut attrs = std::collections::HashMap::new();
        for a in attribute.captures_iter(&caps[2]) {
            let value = a.get(2).or_else(|| a.get(3)).map_or("", |m| m.as_str());
            attrs.insert(a[1].to_string(), unescape_xml(value));
        }
        if &caps[1] == "File" {
            if let Some(href) = attrs.get("href") {
                files.push((
                    attrs.get("id").cloned(),
                    OvfFile {
                        href: href.clone(),
                        compression: attrs.get("compression").cloned(),
                    },
                ));
            }
        } else if let Some(file_ref) = attrs.get("fileRef") {
            disk_refs.push(file_ref.clone());
        }
    }
    let disks: Vec<OvfFile> = if disk_refs.is_empty() {
        files
            .into_iter()
            .map(|(_, f)| f)
            .filter(|f| has_extension(Path::new(&f.href), &DISK_EXTENSIONS))
            .collect()
    } else {
        let mut disks = Vec::new();
        for file_ref in disk_refs {
            let file = files
                .iter()
                .find(|(id, _)| id.as_deref() == Some(file_ref.as_str()))
                .ok_or_else(|| {
                    format!("a Disk refers to file id {file_ref:?}, which no File declares")
                })?;
            disks.push(file.1.clone());
        }
        disks
    };
    if disks.is_empty() {
        return Err("the OVF descriptor references no disk file".into());
    }
    Ok(disks)
}

pub(crate) fn unescape_xml(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The disk files an .ovf references. Every reference must resolve
/// (symlinks included) inside `within`, the unpacked OVA, or, for an .ovf
/// given as the source, inside the .ovf's own directory: a descriptor is as
/// untrusted as the images it names.
pub(crate) fn ovf_disk_files(
    ovf: &Path,
    within: Option<&Path>,
) -> Result<Vec<PathBuf>, StageError> {
    let xml = std::fs::read_to_string(ovf)
        .map_err(|e| failed(format!("cannot read OVF {}: {e}", ovf.display())))?;
    let files = parse_ovf(&xml).map_err(|e| failed(format!("OVF {}: {e}", ovf.display())))?;
    let dir = ovf.parent().unwrap_or(Path::new("."));
    let (root, root_name) = match within {
        Some(ova_dir) => (ova_dir, "the OVA"),
        None => (dir, "the OVF's own directory"),
    };
    let real_root = std::fs::canonicalize(root)
        .map_err(|e| failed(format!("cannot resolve {}: {e}", root.display())))?;
    let mut paths = Vec::new();
    for file in files {
        if file.href.contains("://") {
            return Err(failed(format!(
                "OVF {} references {:?}, a URL; only local disk files are supported",
                ovf.display(),
                file.href
            )));
        }
        if let Some(compression) = file.compression.filter(|c| !c.is_empty()) {
            return Err(failed(format!(
                "OVF {} references {:?} with {compression} compression, which is not supported",
                ovf.display(),
                file.href
            )));
        }
        let href = Path::new(&file.href);
        let escapes = href.is_absolute() || href.components().any(|c| c == Component::ParentDir);
        let path = dir.join(href);
        let outside = |resolved: &Path| {
            failed(format!(
                "OVF {} references {:?}, which resolves to {}, outside {root_name} ({})",
                ovf.display(),
                file.href,
                resolved.display(),
                real_root.display()
            ))
        };
        if escapes {
            return Err(outside(&path));
        }
        if !path.is_file() {
            return Err(failed(format!(
                "disk file {} referenced by OVF {} does not exist",
                path.display(),
                ovf.display()
            )));
        }
        let resolved = std::fs::canonicalize(&path)
            .map_err(|e| failed(format!("cannot resolve {}: {e}", path.display())))?;
        if !resolved.starts_with(&real_root) {
            return Err(outside(&resolved));
        }
        paths.push(path);
    }
    Ok(paths)
}

/// The qemu-img format of a disk file found through an OVF or in an OVA,
/// from its name: the format is always given to qemu-img, never probed.
pub(crate) fn disk_format_from_name(path: &Path) -> Option<&'static str> {
    let extension = path.extension()?.to_string_lossy().to_ascii_lowercase();
    Some(match extension.as_str() {
        "vmdk" => "vmdk",
        "vhd" => "vpc",
        "vhdx" => "vhdx",
        "qcow2" => "qcow2",
        "vdi" => "vdi",
        "img" | "raw" => "raw",
        _ => return None,
    })
}

/// Disk files with their formats, from their names.
pub(crate) fn with_formats(
    paths: Vec<PathBuf>,
) -> Result<Vec<(PathBuf, &'static str)>, StageError> {
    paths
        .into_iter()
        .map(|path| match disk_format_from_name(&path) {
            Some(format) => Ok((path, format)),
            None => Err(failed(format!(
                "cannot tell the format of disk file {} from its name: expected one of .{}",
                path.display(),
                DISK_EXTENSIONS.join(", .")
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ovf_disks_follow_disk_file_refs() {
        let xml = r#"<?xml version="1.0"?>
<Envelope xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References>
    <ovf:File ovf:id="file2" ovf:href="data &amp; more.vmdk"/>
    <File ovf:id="file1" ovf:href="system.vmdk" ovf:size="1024"/>
    <File ovf:id="nvram" ovf:href="vm.nvram"/>
  </References>
  <DiskSection>
    <Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="1"/>
    <Disk ovf:diskId="vmdisk2" ovf:fileRef="file2" ovf:capacity="1"/>
  </DiskSection>
</Envelope>"#;
        let hrefs: Vec<String> = parse_ovf(xml)
            .unwrap()
            .into_iter()
            .map(|f| f.href)
            .collect();
        assert_eq!(hrefs, ["system.vmdk", "data & more.vmdk"]);
    }

    #[test]
    fn ovf_without_disk_elements_uses_disk_like_files() {
        let xml = r#"<Envelope><References><File id="a" href="x.iso"/><File id="b" href='y.VMDK' compression="gzip"/></References></Envelope>"#;
        let files = parse_ovf(xml).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].href, "y.VMDK");
        assert_eq!(files[0].compression.as_deref(), Some("gzip"));
        assert!(parse_ovf("<Envelope/>").is_err());
    }
}
