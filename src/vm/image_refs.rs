//! What a disk image file says it references, read from its own bytes
//! without qemu: a qcow2's backing file (and its format) and external data
//! file, a VMDK descriptor's extents and parent. These are read before
//! qemu-img opens anything, because opening an image already opens the
//! files it references (a VMDK's extents, a qcow2's data file).
//!
//! Only qcow2 and vmdk can reference other files among the formats the
//! pipeline accepts (qemu supports no differencing vpc, vhdx or vdi
//! images), and qemu is always told the format, so these two are all that
//! is read here.

use std::{
    io::{Read, Seek, SeekFrom},
    path::Path,
};

/// Longest VMDK descriptor qemu reads (`vmdk_read_desc`: just under 1 MiB).
const MAX_DESCRIPTOR_BYTES: u64 = 1 << 20;

/// How much of a sparse VMDK qemu searches for `parentFileNameHint`
/// (`DESC_SIZE` from offset 512).
const SPARSE_PARENT_SEARCH: (u64, u64) = (512, 20 * 512);

/// The largest qcow2 cluster (cluster_bits 21): the header, its
/// extensions and the backing file name all sit in the first cluster.
const MAX_QCOW2_HEADER_BYTES: u64 = 2 << 20;

const QCOW2_MAGIC: &[u8; 4] = b"QFI\xfb";
const VMDK4_MAGIC: &[u8; 4] = b"KDMV";
const VMDK3_MAGIC: &[u8; 4] = b"COWD";
const QCOW2_EXT_BACKING_FORMAT: u32 = 0xE279_2ACA;
const QCOW2_EXT_DATA_FILE: u32 = 0x4441_5441;
const QCOW2_EXT_END: u32 = 0;

/// What kind of reference an image holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReferenceKind {
    /// A backing file (qcow2) or parent (vmdk `parentFileNameHint`): read
    /// wherever the image has no data of its own.
    Backing,
    /// A qcow2 external data file: holds all of the guest's data.
    DataFile,
    /// A VMDK extent: a piece of the disk held in another file.
    Extent {
        /// Whether the extent file is itself a sparse VMDK, which may hold a
        /// descriptor of its own.
        sparse: bool,
    },
}

impl ReferenceKind {
    /// How an error message names it.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Backing => "backing file",
            Self::DataFile => "external data file",
            Self::Extent { .. } => "extent",
        }
    }
}

/// One file an image references, as written in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    /// What it is.
    pub(crate) kind: ReferenceKind,
    /// The name exactly as the image stores it.
    pub(crate) name: String,
    /// The format the image records for it (a qcow2 backing file's format
    /// extension; `vmdk` for a VMDK parent); None when none is recorded.
    pub(crate) format: Option<String>,
}

/// The references of `path` read as `format` (only qcow2 and vmdk have any).
pub(crate) fn references(path: &Path, format: &str) -> std::io::Result<Vec<Reference>> {
    match format {
        "qcow2" => qcow2_references(&read_at(path, 0, MAX_QCOW2_HEADER_BYTES)?),
        "vmdk" => vmdk_references(path),
        _ => Ok(Vec::new()),
    }
}

/// The format a file's first bytes look like, for error messages only:
/// whatever this says, the pipeline reads an image as the format it was
/// told, never as the one it looks like.
pub(crate) fn looks_like(path: &Path) -> Option<&'static str> {
    let head = read_at(path, 0, 512).ok()?;
    if head.starts_with(QCOW2_MAGIC) {
        Some("qcow2")
    } else if head.starts_with(VMDK4_MAGIC)
        || head.starts_with(VMDK3_MAGIC)
        || head.starts_with(b"# Disk DescriptorFile")
    {
        Some("vmdk")
    } else if head.starts_with(b"vhdxfile") {
        Some("vhdx")
    } else if head.starts_with(b"conectix") {
        Some("vpc")
    } else if head.get(0x40..0x44) == Some(&[0x7f, 0x10, 0xda, 0xbe]) {
        Some("vdi")
    } else {
        None
    }
}

fn read_at(path: &Path, offset: u64, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn be64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn le64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// A qcow2 header's backing file name, the backing format extension and
/// the external data file extension (docs/interop/qcow2.txt in qemu).
fn qcow2_references(header: &[u8]) -> std::io::Result<Vec<Reference>> {
    if !header.starts_with(QCOW2_MAGIC) {
        return Err(invalid("not a qcow2 image (no QFI\\xfb magic)".into()));
    }
    let short = || invalid("the qcow2 header is cut short".into());
    let version = be32(header, 4).ok_or_else(short)?;
    let backing_offset = be64(header, 8).ok_or_else(short)? as usize;
    let backing_size = be32(header, 16).ok_or_else(short)? as usize;
    let header_length = if version >= 3 {
        be32(header, 100).ok_or_else(short)? as usize
    } else {
        72
    };

    let mut backing_format = None;
    let mut data_file = None;
    let mut at = header_length;
    while let (Some(kind), Some(length)) = (be32(header, at), be32(header, at + 4)) {
        if kind == QCOW2_EXT_END {
            break;
        }
        let start = at + 8;
        let data = header
            .get(start..start + length as usize)
            .ok_or_else(|| invalid("a qcow2 header extension runs past the header".into()))?;
        let text = || {
            String::from_utf8_lossy(data)
                .trim_end_matches('\0')
                .to_string()
        };
        match kind {
            QCOW2_EXT_BACKING_FORMAT => backing_format = Some(text()),
            QCOW2_EXT_DATA_FILE => data_file = Some(text()),
            _ => {}
        }
        at = start + (length as usize).div_ceil(8) * 8;
    }

    let mut found = Vec::new();
    if backing_offset != 0 && backing_size != 0 {
        let name = header
            .get(backing_offset..backing_offset + backing_size)
            .ok_or_else(|| invalid("the qcow2 backing file name lies outside the header".into()))?;
        found.push(Reference {
            kind: ReferenceKind::Backing,
            name: String::from_utf8_lossy(name).into_owned(),
            format: backing_format,
        });
    }
    if let Some(name) = data_file {
        found.push(Reference {
            kind: ReferenceKind::DataFile,
            name,
            format: None,
        });
    }
    Ok(found)
}

/// The references of a sparse VMDK extent of another VMDK: the extents of
/// the descriptor embedded in it, if it has one qemu reads. Unlike an image
/// of the chain, qemu looks for no parent in an extent.
pub(crate) fn sparse_extent_references(path: &Path) -> std::io::Result<Vec<Reference>> {
    let head = read_at(path, 0, 512)?;
    if head.starts_with(VMDK4_MAGIC) {
        embedded_descriptor_extents(path, &head)
    } else {
        Ok(Vec::new())
    }
}

/// The extents of a sparse VMDK's embedded descriptor, which qemu uses
/// only when the header's capacity is 0 (the file is then just a
/// descriptor).
fn embedded_descriptor_extents(path: &Path, head: &[u8]) -> std::io::Result<Vec<Reference>> {
    let short = || invalid("the sparse VMDK header is cut short".into());
    let capacity = le64(head, 12).ok_or_else(short)?;
    let descriptor_sector = le64(head, 28).ok_or_else(short)?;
    let descriptor_sectors = le64(head, 36).ok_or_else(short)?;
    if capacity != 0 || descriptor_sector == 0 {
        return Ok(Vec::new());
    }
    let descriptor = read_at(
        path,
        descriptor_sector.saturating_mul(512),
        descriptor_sectors
            .saturating_mul(512)
            .min(MAX_DESCRIPTOR_BYTES),
    )?;
    Ok(descriptor_extents(&descriptor_text(&descriptor)))
}

/// A VMDK's references: the extents and parent of its descriptor, which is
/// the file itself (a text descriptor) or embedded in a sparse file.
///
/// qemu uses an embedded descriptor's extents only when the sparse header
/// says its capacity is 0 (the file is then just a descriptor); otherwise
/// the file is its own single extent and the descriptor only names the
/// parent. That is mirrored here: a renamed monolithic sparse VMDK still
/// names its old file name as its extent, which qemu ignores.
fn vmdk_references(path: &Path) -> std::io::Result<Vec<Reference>> {
    let head = read_at(path, 0, 512)?;
    if head.starts_with(VMDK3_MAGIC) {
        return Ok(Vec::new());
    }
    if head.starts_with(VMDK4_MAGIC) {
        let mut found = embedded_descriptor_extents(path, &head)?;
        let (from, length) = SPARSE_PARENT_SEARCH;
        let parent_area = read_at(path, from, length)?;
        found.extend(descriptor_parent(&descriptor_text(&parent_area)));
        return Ok(found);
    }
    let text = descriptor_text(&read_at(path, 0, MAX_DESCRIPTOR_BYTES)?);
    let mut found = descriptor_extents(&text);
    found.extend(descriptor_parent(&text));
    Ok(found)
}

/// A descriptor as text: up to its first NUL, invalid UTF-8 replaced.
fn descriptor_text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Extent lines: `ACCESS SECTORS TYPE "FILE" [OFFSET]` with ACCESS one of
/// RW, RDONLY, NOACCESS, as qemu's `vmdk_parse_extents` reads them. A ZERO
/// extent names no file.
fn descriptor_extents(text: &str) -> Vec<Reference> {
    let mut found = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if !matches!(words.next(), Some("RW" | "RDONLY" | "NOACCESS")) {
            continue;
        }
        let kind = words.nth(1).unwrap_or_default().to_ascii_uppercase();
        let Some(name) = quoted(line) else {
            continue;
        };
        found.push(Reference {
            kind: ReferenceKind::Extent {
                sparse: kind.contains("SPARSE"),
            },
            name: name.to_string(),
            format: None,
        });
    }
    found
}

/// `parentFileNameHint="FILE"`, found the way qemu's `vmdk_parent_open`
/// finds it: anywhere in the descriptor.
fn descriptor_parent(text: &str) -> Option<Reference> {
    const KEY: &str = "parentFileNameHint=\"";
    let start = text.find(KEY)? + KEY.len();
    let end = text[start..].find('"')? + start;
    Some(Reference {
        kind: ReferenceKind::Backing,
        name: text[start..end].to_string(),
        format: Some("vmdk".into()),
    })
}

/// The text between the first pair of double quotes of a line.
fn quoted(line: &str) -> Option<&str> {
    let start = line.find('"')? + 1;
    let end = line[start..].find('"')? + start;
    Some(&line[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extent_lines_and_the_parent_are_read_like_qemu_reads_them() {
        let text = "# Disk DescriptorFile\nversion=1\nparentCID=12\n\
                    parentFileNameHint=\"base.vmdk\"\ncreateType=\"twoGbMaxExtentSparse\"\n\
                    RW 2048 FLAT \"/etc/shadow\" 0\n  RDONLY 4096 SPARSE \"part-s001.vmdk\"\n\
                    RW 2048 ZERO\n# RW 1 FLAT \"commented.raw\" 0\n";
        let extents = descriptor_extents(text);
        assert_eq!(
            extents,
            [
                Reference {
                    kind: ReferenceKind::Extent { sparse: false },
                    name: "/etc/shadow".into(),
                    format: None
                },
                Reference {
                    kind: ReferenceKind::Extent { sparse: true },
                    name: "part-s001.vmdk".into(),
                    format: None
                },
            ]
        );
        assert_eq!(descriptor_parent(text).unwrap().name, "base.vmdk");
        assert_eq!(descriptor_parent("createType=\"monolithicFlat\""), None);
    }

    #[test]
    fn a_qcow2_header_gives_its_backing_file_format_and_data_file() {
        // Version 3, header length 104, two extensions, then the name.
        let mut header = vec![0u8; 512];
        header[..4].copy_from_slice(QCOW2_MAGIC);
        header[4..8].copy_from_slice(&3u32.to_be_bytes());
        header[8..16].copy_from_slice(&400u64.to_be_bytes());
        header[16..20].copy_from_slice(&11u32.to_be_bytes());
        header[100..104].copy_from_slice(&104u32.to_be_bytes());
        let mut at = 104;
        for (kind, data) in [
            (QCOW2_EXT_BACKING_FORMAT, &b"raw"[..]),
            (QCOW2_EXT_DATA_FILE, &b"/srv/data.raw"[..]),
        ] {
            header[at..at + 4].copy_from_slice(&kind.to_be_bytes());
            header[at + 4..at + 8].copy_from_slice(&(data.len() as u32).to_be_bytes());
            header[at + 8..at + 8 + data.len()].copy_from_slice(data);
            at += 8 + data.len().div_ceil(8) * 8;
        }
        header[400..411].copy_from_slice(b"/etc/shadow");
        let found = qcow2_references(&header).unwrap();
        assert_eq!(
            found,
            [
                Reference {
                    kind: ReferenceKind::Backing,
                    name: "/etc/shadow".into(),
                    format: Some("raw".into())
                },
                Reference {
                    kind: ReferenceKind::DataFile,
                    name: "/srv/data.raw".into(),
                    format: None
                },
            ]
        );
        assert!(qcow2_references(b"not a qcow2").is_err());
    }
}
