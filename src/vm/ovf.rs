//! OVF descriptors and OVA archives: finding a VM's disk files. An .ovf is
//! XML whose `File` elements name the files next to it and whose `Disk`
//! elements say which of them are disks; an .ova is a tar of the .ovf and
//! those files. Both are untrusted input: a member is never unpacked
//! outside its directory, and a reference never leads outside it.

use std::{
    io::Read,
    path::{Component, Path, PathBuf},
};

use tokio_util::sync::CancellationToken;

use super::error::{DescriptorError, OvfError, StageError};

/// Disk file extensions looked for when an OVF or OVA names no disks.
pub(crate) const DISK_EXTENSIONS: [&str; 7] = ["vmdk", "vhd", "vhdx", "img", "raw", "qcow2", "vdi"];

/// Largest descriptor read: real ones are a few kilobytes, and the whole
/// document is held in memory to be parsed.
const MAX_OVF_BYTES: u64 = 16 << 20;

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
    cancel: &CancellationToken,
) -> Result<Vec<PathBuf>, StageError> {
    let file = std::fs::File::open(archive).map_err(StageError::io("open", archive))?;
    let not_tar = |source: std::io::Error| OvfError::NotTar {
        archive: archive.to_path_buf(),
        source,
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
        let unpacked = unpacked_path(dir, &entry.path().map_err(not_tar)?);
        // `unpack_in` refuses (false) a member whose path climbs out of `dir`.
        if !entry.unpack_in(dir).map_err(not_tar)? {
            continue;
        }
        if is_file {
            files.push(unpacked);
        }
    }
    if files.is_empty() {
        return Err(OvfError::EmptyArchive {
            archive: archive.to_path_buf(),
        }
        .into());
    }
    Ok(files)
}

/// Where `unpack_in` puts a member named `member`: below `dir`, by its
/// plain components only. `dir.join(member)` would be wrong for a member
/// named `/srv/vm.raw`: joining an absolute path replaces `dir`, and the
/// host's file would be taken for the archive's.
fn unpacked_path(dir: &Path, member: &Path) -> PathBuf {
    let mut path = dir.to_path_buf();
    path.extend(member.components().filter_map(|part| match part {
        Component::Normal(name) => Some(name),
        _ => None,
    }));
    path
}

/// A file an OVF descriptor references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OvfFile {
    pub(crate) href: String,
    pub(crate) compression: Option<String>,
}

/// The disk files of an OVF descriptor, in disk order: the files its
/// `Disk` elements point to (`fileRef`), or, when it has none, the `File`
/// references that look like disks.
pub(crate) fn parse_ovf(xml: &str) -> Result<Vec<OvfFile>, DescriptorError> {
    let document = roxmltree::Document::parse(xml)?;
    let mut files: Vec<(Option<&str>, OvfFile)> = Vec::new();
    let mut disk_refs = Vec::new();
    for element in document.descendants().filter(roxmltree::Node::is_element) {
        match element.tag_name().name() {
            "File" => {
                if let Some(href) = attribute(element, "href") {
                    let file = OvfFile {
                        href: href.to_string(),
                        compression: attribute(element, "compression").map(str::to_string),
                    };
                    files.push((attribute(element, "id"), file));
                }
            }
            "Disk" => disk_refs.extend(attribute(element, "fileRef")),
            _ => {}
        }
    }
    let disks: Vec<OvfFile> = if disk_refs.is_empty() {
        files
            .into_iter()
            .map(|(_, f)| f)
            .filter(|f| has_extension(Path::new(&f.href), &DISK_EXTENSIONS))
            .collect()
    } else {
        disk_refs
            .into_iter()
            .map(|file_ref| {
                files
                    .iter()
                    .find(|(id, _)| *id == Some(file_ref))
                    .map(|(_, file)| file.clone())
                    .ok_or_else(|| DescriptorError::UnknownFileRef(file_ref.to_string()))
            })
            .collect::<Result<_, _>>()?
    };
    if disks.is_empty() {
        return Err(DescriptorError::NoDisk);
    }
    Ok(disks)
}

/// An attribute by its local name: writers differ in whether they put
/// OVF's attributes in its namespace (`ovf:href`) or in none (`href`).
fn attribute<'a>(element: roxmltree::Node<'a, '_>, name: &str) -> Option<&'a str> {
    element
        .attributes()
        .find(|a| a.name() == name)
        .map(|a| a.value())
}

/// The disk files an .ovf references. Every reference must resolve
/// (symlinks included) inside `within`, the unpacked OVA, or, for an .ovf
/// given as the source, inside the .ovf's own directory: a descriptor is as
/// untrusted as the images it names.
pub(crate) fn ovf_disk_files(
    ovf: &Path,
    within: Option<&Path>,
) -> Result<Vec<PathBuf>, StageError> {
    let mut xml = String::new();
    std::fs::File::open(ovf)
        .and_then(|file| file.take(MAX_OVF_BYTES + 1).read_to_string(&mut xml))
        .map_err(StageError::io("read OVF", ovf))?;
    if xml.len() as u64 > MAX_OVF_BYTES {
        return Err(OvfError::TooLarge {
            ovf: ovf.to_path_buf(),
            max: MAX_OVF_BYTES,
        }
        .into());
    }
    let files = parse_ovf(&xml).map_err(|source| OvfError::Descriptor {
        ovf: ovf.to_path_buf(),
        source,
    })?;
    let dir = ovf.parent().unwrap_or(Path::new("."));
    let (root, root_name) = match within {
        Some(ova_dir) => (ova_dir, "the OVA"),
        None => (dir, "the OVF's own directory"),
    };
    let real_root = std::fs::canonicalize(root).map_err(StageError::io("resolve", root))?;
    let mut paths = Vec::new();
    for file in files {
        if file.href.contains("://") {
            return Err(OvfError::Url {
                ovf: ovf.to_path_buf(),
                href: file.href,
            }
            .into());
        }
        if let Some(compression) = file.compression.filter(|c| !c.is_empty()) {
            return Err(OvfError::Compressed {
                ovf: ovf.to_path_buf(),
                href: file.href,
                compression,
            }
            .into());
        }
        let href = Path::new(&file.href);
        let escapes = href.is_absolute() || href.components().any(|c| c == Component::ParentDir);
        let path = dir.join(href);
        let outside = |resolved: &Path| OvfError::Outside {
            ovf: ovf.to_path_buf(),
            href: file.href.clone(),
            resolved: resolved.to_path_buf(),
            root_name,
            root: real_root.clone(),
        };
        if escapes {
            return Err(outside(&path).into());
        }
        if !path.is_file() {
            return Err(OvfError::MissingDisk {
                path,
                ovf: ovf.to_path_buf(),
            }
            .into());
        }
        let resolved = std::fs::canonicalize(&path).map_err(StageError::io("resolve", &path))?;
        if !resolved.starts_with(&real_root) {
            return Err(outside(&resolved).into());
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
            None => Err(OvfError::UnknownDiskFormat {
                path,
                expected: &DISK_EXTENSIONS,
            }
            .into()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hrefs(xml: &str) -> Vec<String> {
        parse_ovf(xml)
            .unwrap()
            .into_iter()
            .map(|f| f.href)
            .collect()
    }

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
        assert_eq!(hrefs(xml), ["system.vmdk", "data & more.vmdk"]);
    }

    #[test]
    fn ovf_without_disk_elements_uses_disk_like_files() {
        let xml = r#"<Envelope><References><File id="a" href="x.iso"/><File id="b" href='y.VMDK' compression="gzip"/></References></Envelope>"#;
        let files = parse_ovf(xml).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].href, "y.VMDK");
        assert_eq!(files[0].compression.as_deref(), Some("gzip"));
        assert!(matches!(
            parse_ovf("<Envelope/>"),
            Err(DescriptorError::NoDisk)
        ));
    }

    #[test]
    fn ovf_elements_are_found_in_the_default_namespace_of_the_envelope() {
        // VMware and VirtualBox put every element in the OVF namespace by
        // default and prefix only the attributes.
        let xml = r#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"
                              xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References><File ovf:href="disk&#45;1.vmdk" ovf:id="f1"/></References>
  <DiskSection><Disk ovf:fileRef="f1"/></DiskSection>
</Envelope>"#;
        assert_eq!(hrefs(xml), ["disk-1.vmdk"]);
    }

    #[test]
    fn ovf_elements_in_comments_are_not_references() {
        let xml = r#"<Envelope><!-- <File id="x" href="/etc/shadow.raw"/> -->
  <References><File id="a" href="a.raw"/></References></Envelope>"#;
        assert_eq!(hrefs(xml), ["a.raw"]);
    }

    #[test]
    fn a_disk_referring_to_an_undeclared_file_is_refused() {
        let xml = r#"<Envelope><References><File id="a" href="a.vmdk"/></References>
  <DiskSection><Disk fileRef="b"/></DiskSection></Envelope>"#;
        let error = parse_ovf(xml).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a Disk refers to file id \"b\", which no File declares"
        );
    }

    #[test]
    fn a_malformed_descriptor_gives_a_clear_error() {
        for xml in [
            r#"<Envelope><References><File href="a.vmdk"></References></Envelope>"#,
            "not xml at all",
            r#"<Envelope><File href="a &bogus; b.vmdk"/></Envelope>"#,
        ] {
            let error = parse_ovf(xml).unwrap_err();
            assert!(matches!(error, DescriptorError::Xml(_)), "{xml}: {error:?}");
            assert!(
                error.to_string().starts_with("not well-formed XML: "),
                "{error}"
            );
        }
    }

    #[test]
    fn a_descriptor_with_entity_declarations_is_refused() {
        let xml = r#"<?xml version="1.0"?>
<!DOCTYPE Envelope [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>
<Envelope><References><File href="&b;.vmdk"/></References></Envelope>"#;
        assert!(matches!(parse_ovf(xml), Err(DescriptorError::Xml(_))));
    }

    #[test]
    fn references_outside_the_descriptors_directory_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let write_ovf = |href: &str| {
            let ovf = dir.path().join("vm.ovf");
            let xml = format!(
                r#"<Envelope><References><File id="a" href="{href}"/></References></Envelope>"#
            );
            std::fs::write(&ovf, xml).unwrap();
            ovf
        };
        std::fs::write(dir.path().join("ok.vmdk"), b"").unwrap();
        let ovf = write_ovf("ok.vmdk");
        assert_eq!(
            ovf_disk_files(&ovf, None).unwrap(),
            [dir.path().join("ok.vmdk")]
        );
        for href in ["../up.vmdk", "/etc/x.vmdk"] {
            let ovf = write_ovf(href);
            let error = ovf_disk_files(&ovf, None).unwrap_err().to_string();
            assert!(error.contains("outside the OVF's own directory"), "{error}");
        }
        let ovf = write_ovf("http://example.com/x.vmdk");
        let error = ovf_disk_files(&ovf, None).unwrap_err().to_string();
        assert!(error.contains("a URL"), "{error}");
    }

    /// Appends a one-byte member named `name` as raw header bytes:
    /// `set_path` refuses `..` and absolute names, which is exactly what a
    /// hostile archive carries.
    fn append_raw_member(builder: &mut tar::Builder<std::fs::File>, name: &str) {
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        builder.append(&header, &b"x"[..]).unwrap();
    }

    #[test]
    fn a_tar_member_that_climbs_out_is_not_unpacked() {
        let dir = tempfile::tempdir().unwrap();
        let ova = dir.path().join("vm.ova");
        let mut builder = tar::Builder::new(std::fs::File::create(&ova).unwrap());
        append_raw_member(&mut builder, "../escaped.vmdk");
        append_raw_member(&mut builder, "disk.vmdk");
        builder.into_inner().unwrap();
        let into = dir.path().join("unpacked");
        std::fs::create_dir(&into).unwrap();
        let files = unpack_tar(&ova, &into, &CancellationToken::new()).unwrap();
        assert_eq!(files, [into.join("disk.vmdk")]);
        assert!(!dir.path().join("escaped.vmdk").exists());
    }

    #[test]
    fn an_absolute_member_is_the_copy_inside_never_the_hosts_file() {
        let dir = tempfile::tempdir().unwrap();
        // A file of the host's that the archive names by its absolute path.
        let host_file = dir.path().join("host.vmdk");
        std::fs::write(&host_file, b"host").unwrap();
        let ova = dir.path().join("vm.ova");
        let mut builder = tar::Builder::new(std::fs::File::create(&ova).unwrap());
        append_raw_member(&mut builder, host_file.to_str().unwrap());
        builder.into_inner().unwrap();
        let into = dir.path().join("unpacked");
        std::fs::create_dir(&into).unwrap();
        let files = unpack_tar(&ova, &into, &CancellationToken::new()).unwrap();
        assert_eq!(files.len(), 1);
        assert!(files[0].starts_with(&into), "{files:?}");
        assert_eq!(std::fs::read(&files[0]).unwrap(), b"x");
        assert_eq!(std::fs::read(&host_file).unwrap(), b"host");
    }
}
