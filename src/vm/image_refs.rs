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
    /// Text a VMDK descriptor has after a double quote: qemu reads an
    /// extent's file name from exactly such text, so every one of them must
    /// stay inside the image's directory, whether or not this reader took
    /// its line for an extent (most are values such as `"ide"`, which name
    /// nothing and need not exist).
    Mentioned,
}

impl ReferenceKind {
    /// How an error message names it.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Backing => "backing file",
            Self::DataFile => "external data file",
            Self::Extent { .. } => "extent",
            Self::Mentioned => "quoted name",
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
    let backing_offset = usize::try_from(be64(header, 8).ok_or_else(short)?)
        .map_err(|_| invalid("the qcow2 backing file offset is out of range".into()))?;
    let backing_size = be32(header, 16).ok_or_else(short)? as usize;
    let header_length = if version >= 3 {
        be32(header, 100).ok_or_else(short)? as usize
    } else {
        72
    };

    let mut backing_format = None;
    let mut data_file = None;
    let mut at = header_length;
    let past_header = || invalid("a qcow2 header extension runs past the header".into());
    while let (Some(kind), Some(length)) = (be32(header, at), be32(header, at + 4)) {
        if kind == QCOW2_EXT_END {
            break;
        }
        let start = at + 8;
        let end = start.checked_add(length as usize).ok_or_else(past_header)?;
        let data = header.get(start..end).ok_or_else(past_header)?;
        match kind {
            QCOW2_EXT_BACKING_FORMAT => backing_format = Some(name_text(data)?),
            QCOW2_EXT_DATA_FILE => data_file = Some(name_text(data)?),
            _ => {}
        }
        at = start + (length as usize).div_ceil(8) * 8;
    }

    let mut found = Vec::new();
    if backing_offset != 0 && backing_size != 0 {
        let outside = || invalid("the qcow2 backing file name lies outside the header".into());
        let end = backing_offset
            .checked_add(backing_size)
            .ok_or_else(outside)?;
        let name = header.get(backing_offset..end).ok_or_else(outside)?;
        found.push(Reference {
            kind: ReferenceKind::Backing,
            name: name_text(name)?,
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
    if capacity != 0 || descriptor_sector == 0 {
        return Ok(Vec::new());
    }
    // qemu's vmdk_read_desc reads up to its limit from the offset, whatever
    // the header's descriptor size says.
    let descriptor = read_at(
        path,
        descriptor_sector.saturating_mul(512),
        MAX_DESCRIPTOR_BYTES,
    )?;
    let text = descriptor_text(&descriptor)?;
    let mut found = descriptor_extents(&text);
    found.extend(mentioned(&text));
    Ok(found)
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
        // qemu follows a parent hint in these too; nothing converts from
        // them today, so they are refused rather than parsed.
        return Err(invalid(
            "a COWD (VMware ESX 2) VMDK, which the pipeline does not accept; convert it \
             with a VMware tool first"
                .into(),
        ));
    }
    if head.starts_with(VMDK4_MAGIC) {
        let mut found = embedded_descriptor_extents(path, &head)?;
        let (from, length) = SPARSE_PARENT_SEARCH;
        let parent_area = descriptor_text(&read_at(path, from, length)?)?;
        found.extend(descriptor_parent(&parent_area)?);
        found.extend(mentioned(&parent_area));
        return Ok(found);
    }
    let text = descriptor_text(&read_at(path, 0, MAX_DESCRIPTOR_BYTES)?)?;
    let mut found = descriptor_extents(&text);
    found.extend(descriptor_parent(&text)?);
    found.extend(mentioned(&text));
    Ok(found)
}

/// A descriptor as text: up to its first NUL (where qemu's C string
/// ends). Text that is not UTF-8 is refused: a name judged after a lossy
/// conversion would not be the name qemu opens.
fn descriptor_text(bytes: &[u8]) -> std::io::Result<String> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8(bytes[..end].to_vec())
        .map_err(|_| invalid("the VMDK descriptor is not UTF-8 text".into()))
}

/// A file name stored in an image header: up to its first NUL, refused
/// unless UTF-8 (see [`descriptor_text`]).
fn name_text(bytes: &[u8]) -> std::io::Result<String> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8(bytes[..end].to_vec())
        .map_err(|_| invalid("a file name in the qcow2 header is not UTF-8".into()))
}

/// Extents as qemu's `vmdk_parse_extents` reads them: from the start of
/// each line, `sscanf(p, "%10s %ld %10s \"%511[^\n\r\"]\" ...")`, where
/// every blank of the pattern also matches line breaks, so one extent may
/// span lines. A ZERO extent names no file.
fn descriptor_extents(text: &str) -> Vec<Reference> {
    let mut found = Vec::new();
    let mut line_start = 0;
    while line_start < text.len() {
        if let Some((access, kind, name)) = scan_extent(&text[line_start..]) {
            if matches!(access, "RW" | "RDONLY" | "NOACCESS") && kind != "ZERO" {
                found.push(Reference {
                    kind: ReferenceKind::Extent {
                        sparse: kind.to_ascii_uppercase().contains("SPARSE"),
                    },
                    name: name.to_string(),
                    format: None,
                });
            }
        }
        line_start = match text[line_start..].find('\n') {
            Some(at) => line_start + at + 1,
            None => text.len(),
        };
    }
    found
}

/// One `%10s %ld %10s "%511[^\n\r"]"` match at the start of `text`, as C's
/// sscanf makes it: (access, type, file name).
fn scan_extent(text: &str) -> Option<(&str, &str, &str)> {
    fn skip_space(text: &str) -> &str {
        text.trim_start_matches(|c: char| c.is_ascii_whitespace())
    }
    /// `%10s`: up to 10 bytes that are not white space, at least one.
    fn word(text: &str) -> Option<(&str, &str)> {
        let text = skip_space(text);
        let end = text
            .char_indices()
            .take_while(|&(at, c)| at < 10 && !c.is_ascii_whitespace())
            .map(|(at, c)| at + c.len_utf8())
            .last()?;
        (end <= 10).then(|| (&text[..end], &text[end..]))
    }
    let (access, rest) = word(text)?;
    let rest = skip_space(rest);
    let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    let number_end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    if number_end == 0 {
        return None;
    }
    let (kind, rest) = word(&digits[number_end..])?;
    let rest = skip_space(rest).strip_prefix('"')?;
    let name_end = rest.find(['\n', '\r', '"']).unwrap_or(rest.len());
    if name_end == 0 || name_end > 511 || !rest[name_end..].starts_with('"') {
        return None;
    }
    Some((access, kind, &rest[..name_end]))
}

/// The parent as qemu's `vmdk_parent_open` finds it: the first
/// `parentFileNameHint` anywhere, two characters skipped (whatever they
/// are: `="` in a well-formed descriptor), then everything up to the next
/// double quote. A key with no quote after it fails in qemu too.
fn descriptor_parent(text: &str) -> std::io::Result<Option<Reference>> {
    const KEY: &str = "parentFileNameHint";
    let Some(at) = text.find(KEY) else {
        return Ok(None);
    };
    let after_key = &text[at + KEY.len()..];
    let Some((skip, _)) = after_key.char_indices().nth(2) else {
        return Err(invalid("parentFileNameHint has no file name".into()));
    };
    let rest = &after_key[skip..];
    let end = rest
        .find('"')
        .ok_or_else(|| invalid("parentFileNameHint has no closing quote".into()))?;
    Ok(Some(Reference {
        kind: ReferenceKind::Backing,
        name: rest[..end].to_string(),
        format: Some("vmdk".into()),
    }))
}

/// Every text after a double quote up to the next quote or line break
/// (what `"%511[^\n\r\"]` can read from there), whatever line it is on:
/// a superset of the file names qemu can take from the descriptor.
fn mentioned(text: &str) -> Vec<Reference> {
    text.match_indices('"')
        .filter_map(|(at, _)| {
            let rest = &text[at + 1..];
            let end = rest.find(['\n', '\r', '"']).unwrap_or(rest.len());
            let name = rest[..end].trim();
            (!name.is_empty()).then(|| Reference {
                kind: ReferenceKind::Mentioned,
                name: name.to_string(),
                format: None,
            })
        })
        .collect()
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
        assert_eq!(descriptor_parent(text).unwrap().unwrap().name, "base.vmdk");
        assert!(descriptor_parent("createType=\"monolithicFlat\"")
            .unwrap()
            .is_none());
    }

    fn names(references: &[Reference]) -> Vec<&str> {
        references.iter().map(|r| r.name.as_str()).collect()
    }

    #[test]
    fn an_extent_spread_over_lines_is_one_extent_as_sscanf_reads_it() {
        // Every blank of qemu's sscanf pattern also matches line breaks.
        let text = "RW\n2048\nFLAT\n\"/etc/shadow\" 0\nRDONLY 1 VMFSSPARSE\n \"s.vmdk\"\n";
        let extents = descriptor_extents(text);
        assert_eq!(names(&extents), ["/etc/shadow", "s.vmdk"]);
        assert_eq!(extents[1].kind, ReferenceKind::Extent { sparse: true });
        // A word longer than %10s takes, or no number, is no extent.
        assert!(descriptor_extents("READWRITEXX 1 FLAT \"a\"\nRW x FLAT \"b\"\n").is_empty());
    }

    #[test]
    fn the_parent_is_found_as_qemu_finds_it_whatever_precedes_its_name() {
        // qemu skips any two characters after the key, and takes the first
        // occurrence, even in a comment.
        for (text, parent) in [
            ("parentFileNameHint=:evil.vmdk\"\n", "evil.vmdk"),
            (
                "#parentFileNameHintXXevil.vmdk\"\nparentFileNameHint=\"base.vmdk\"\n",
                "evil.vmdk",
            ),
            ("parentFileNameHint=\"base.vmdk\"\n", "base.vmdk"),
        ] {
            assert_eq!(
                descriptor_parent(text).unwrap().unwrap().name,
                parent,
                "{text:?}"
            );
        }
        assert!(descriptor_parent("parentFileNameHint=\"no end").is_err());
    }

    #[test]
    fn every_quoted_text_is_mentioned_whatever_line_it_is_on() {
        let text = "ddb.adapterType = \"ide\"\n# comment \"../../etc/x\nRW 1 FLAT \"a.raw\" 0\n";
        assert_eq!(
            names(&mentioned(text)),
            ["ide", "../../etc/x", "a.raw", "0"]
        );
    }

    #[test]
    fn descriptors_and_names_that_are_not_utf8_are_refused() {
        assert!(descriptor_text(b"RW 1 FLAT \"\xff/../x\" 0\n").is_err());
        assert_eq!(descriptor_text(b"abc\0\xff").unwrap(), "abc");
        assert!(name_text(b"\xef\xbf").is_err());
    }

    #[test]
    fn cowd_vmdks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.vmdk");
        let mut bytes = VMDK3_MAGIC.to_vec();
        bytes.resize(1024, 0);
        std::fs::write(&path, bytes).unwrap();
        let error = references(&path, "vmdk").unwrap_err().to_string();
        assert!(error.contains("COWD"), "{error}");
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
