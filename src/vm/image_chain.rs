//! Checking an input image's whole chain before anything reads it. A disk
//! image is untrusted input: a qcow2 may name `/etc/shadow` as its backing
//! file or external data file, a VMDK descriptor may list a host file as a
//! FLAT extent, and a converter that follows them copies the host file into
//! the output. Every file an image references must therefore resolve
//! (symlinks included) inside the image's own directory, and must be a
//! plain file name, never a protocol or URL (`json:{...}`, `nbd:`,
//! `http://`).
//!
//! The chain is walked one image at a time: each image's references are
//! read from its own bytes ([`super::image_refs`]) and judged before qemu-img
//! opens it (opening an image opens its extents and data file), then
//! `qemu-img info -f FMT` (with the format always given, the backing file
//! not opened) reports what qemu sees, and those references are judged too.
//! Only then is the backing file, with the format the image records for it,
//! the next image. `qemu-img info --backing-chain` is not used for this: it
//! opens each backing file before anyone could judge it, and probes the
//! format of one whose format is not recorded.

use std::path::{Component, Path, PathBuf};

use tokio_util::sync::CancellationToken;

use super::{
    image_refs::{self, ReferenceKind},
    qemu::{self, ImageInfo, QemuError},
};

/// Most images (a chain's backing files and nested VMDK descriptors
/// together) checked for one input image.
pub(crate) const MAX_CHAIN_IMAGES: usize = 16;

/// Formats a backing file may have: those whose references this module
/// reads, or which have none. Anything else (a protocol driver named as a
/// format, `nbd` or `file`) could reach beyond the directory.
const BACKING_FORMATS: [&str; 6] = ["raw", "qcow2", "vmdk", "vpc", "vhdx", "vdi"];

/// Why an input image is refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ImageChainError {
    /// A reference names a protocol or URL rather than a file.
    #[error(
        "image {image}: {kind} {reference:?} is a protocol or URL, not a file; an image may only \
         reference files in its own directory {root}"
    )]
    NotAFile {
        /// The image holding the reference.
        image: PathBuf,
        /// What the reference is.
        kind: &'static str,
        /// The reference as written in the image.
        reference: String,
        /// The directory references must stay in.
        root: PathBuf,
    },
    /// A reference resolves outside the image's directory.
    #[error(
        "image {image}: {kind} {reference:?} resolves to {resolved}, outside the image's own \
         directory {root}; an image may only reference files in its own directory"
    )]
    Outside {
        /// The image holding the reference.
        image: PathBuf,
        /// What the reference is.
        kind: &'static str,
        /// The reference as written in the image.
        reference: String,
        /// Where it leads, symlinks resolved.
        resolved: PathBuf,
        /// The directory references must stay in.
        root: PathBuf,
    },
    /// A reference leads to no file.
    #[error("image {image}: {kind} {reference:?} cannot be resolved: {source}")]
    Unresolvable {
        /// The image holding the reference.
        image: PathBuf,
        /// What the reference is.
        kind: &'static str,
        /// The reference as written in the image.
        reference: String,
        /// Why.
        source: std::io::Error,
    },
    /// A backing file whose format the image does not record (qemu would
    /// probe it) or records as something other than a disk format.
    #[error(
        "image {image}: backing file {reference:?} has {}; record one of {} with \
         `qemu-img rebase -u -F FORMAT -b {reference} {image}`",
        match format { Some(f) => format!("the format {f:?}, which is not a disk format the pipeline reads"), None => "no recorded format, and probing it is unsafe".to_string() },
        BACKING_FORMATS.join(", ")
    )]
    BackingFormat {
        /// The image holding the reference.
        image: PathBuf,
        /// The backing file as written in the image.
        reference: String,
        /// The recorded format, if any.
        format: Option<String>,
    },
    /// More images than [`MAX_CHAIN_IMAGES`].
    #[error("image {image}: its backing files and extents nest more than {MAX_CHAIN_IMAGES} deep")]
    TooDeep {
        /// The input image.
        image: PathBuf,
    },
    /// qemu-img cannot open the file as the format it was given, and its
    /// first bytes look like another format.
    #[error("image {image} is a {looks_like} image, not {format} ({message})")]
    OtherFormat {
        /// The image.
        image: PathBuf,
        /// The format it was to be read as.
        format: String,
        /// The format it looks like.
        looks_like: &'static str,
        /// What qemu-img said.
        message: String,
    },
    /// The image's own header or descriptor cannot be read.
    #[error("image {image}: cannot read it as {format}: {source}")]
    Unreadable {
        /// The image.
        image: PathBuf,
        /// The format it was read as.
        format: String,
        /// Why.
        source: std::io::Error,
    },
    /// A qcow2 whose guest data lives in another file.
    #[error(
        "image {image} keeps its data in the external file {reference:?}; the pipeline does \
         not accept qcow2 images with an external data file (qemu opens that name relative to \
         its own working directory, not the image's)"
    )]
    ExternalDataFile {
        /// The image.
        image: PathBuf,
        /// The data file as written in the image.
        reference: String,
    },
    /// qemu-img reports a backing file this module did not read from the
    /// image's bytes: the two readers disagree, so the chain cannot be
    /// judged.
    #[error(
        "image {image}: qemu-img reports the backing file {reported:?}, but the image's own \
         bytes name {}; refused, since its chain cannot be judged",
        match read { Some(name) => format!("{name:?}"), None => "none".to_string() }
    )]
    BackingMismatch {
        /// The image.
        image: PathBuf,
        /// What qemu-img reports.
        reported: String,
        /// What the image's bytes name, if anything.
        read: Option<String>,
    },
    /// qemu-img failed or was cancelled.
    #[error(transparent)]
    Qemu(#[from] QemuError),
}

/// Checks `image` read as `format` and everything it references, and
/// returns what `qemu-img info` says of each image of its backing chain,
/// the input image first. Fails on the first reference that is not a file
/// inside the input image's directory.
pub(crate) async fn verify(
    image: &Path,
    format: &str,
    cancel: &CancellationToken,
) -> Result<Vec<ImageInfo>, ImageChainError> {
    let directory = image.parent().unwrap_or(Path::new("."));
    let root = std::fs::canonicalize(directory).map_err(|source| ImageChainError::Unreadable {
        image: image.to_path_buf(),
        format: format.to_string(),
        source,
    })?;
    let mut checker = Checker {
        input: image,
        root,
        images_seen: 0,
    };
    let mut chain = Vec::new();
    let mut next = Some((image.to_path_buf(), format.to_string()));
    while let Some((path, format)) = next.take() {
        let backing = checker.check_references(&path, &format)?;
        let info = qemu_info(&path, &format, cancel).await?;
        checker.check_reported(&path, &info)?;
        // The next image is the one this module read; qemu-img must name
        // the same one, or what it follows was never judged.
        if let Some(reported) = &info.backing_filename {
            let read = backing.as_ref().map(|(_, name, _)| name.clone());
            if read.as_deref() != Some(reported.as_str()) {
                return Err(ImageChainError::BackingMismatch {
                    image: path,
                    reported: reported.clone(),
                    read,
                });
            }
        }
        chain.push(info);
        next = backing.map(|(resolved, _, format)| (resolved, format));
    }
    Ok(chain)
}

/// `qemu-img info -f FMT`, with a failure on a file that looks like another
/// format said plainly.
async fn qemu_info(
    path: &Path,
    format: &str,
    cancel: &CancellationToken,
) -> Result<ImageInfo, ImageChainError> {
    match qemu::info(path, format, cancel).await {
        Err(QemuError::Failed { message, .. })
            if image_refs::looks_like(path).is_some_and(|f| f != format) =>
        {
            Err(ImageChainError::OtherFormat {
                image: path.to_path_buf(),
                format: format.to_string(),
                looks_like: image_refs::looks_like(path).unwrap_or_default(),
                message,
            })
        }
        other => Ok(other?),
    }
}

struct Checker<'a> {
    /// The input image, for error messages.
    input: &'a Path,
    /// Its directory, symlinks resolved.
    root: PathBuf,
    /// Images read so far (backing files and nested VMDK descriptors).
    images_seen: usize,
}

impl Checker<'_> {
    /// Judges what `path` references as read from its own bytes, following
    /// nested VMDK descriptors; returns its backing file and that file's
    /// format, the next image of the chain.
    /// The backing file comes as (where it resolves, the name as written,
    /// its format).
    fn check_references(
        &mut self,
        path: &Path,
        format: &str,
    ) -> Result<Option<(PathBuf, String, String)>, ImageChainError> {
        self.images_seen += 1;
        if self.images_seen > MAX_CHAIN_IMAGES {
            return Err(ImageChainError::TooDeep {
                image: self.input.to_path_buf(),
            });
        }
        let references =
            image_refs::references(path, format).map_err(|source| match image_refs::looks_like(
                path,
            ) {
                Some(looks_like) if looks_like != format => ImageChainError::OtherFormat {
                    image: path.to_path_buf(),
                    format: format.to_string(),
                    looks_like,
                    message: source.to_string(),
                },
                _ => ImageChainError::Unreadable {
                    image: path.to_path_buf(),
                    format: format.to_string(),
                    source,
                },
            })?;
        let mut backing = None;
        for reference in references {
            match reference.kind {
                ReferenceKind::Mentioned => {
                    self.judge_mentioned(path, &reference.name)?;
                    continue;
                }
                ReferenceKind::DataFile => {
                    return Err(ImageChainError::ExternalDataFile {
                        image: path.to_path_buf(),
                        reference: reference.name,
                    });
                }
                _ => {}
            }
            let resolved = self.judge(path, reference.kind, &reference.name)?;
            match reference.kind {
                ReferenceKind::Backing => {
                    let format = reference
                        .format
                        .clone()
                        .filter(|f| BACKING_FORMATS.contains(&f.as_str()));
                    let Some(format) = format else {
                        return Err(ImageChainError::BackingFormat {
                            image: path.to_path_buf(),
                            reference: reference.name,
                            format: reference.format,
                        });
                    };
                    backing = Some((resolved, reference.name, format));
                }
                ReferenceKind::Extent { sparse: true } => {
                    // A sparse extent may be a descriptor of its own.
                    self.check_extent(path, &resolved)?;
                }
                ReferenceKind::Extent { sparse: false }
                | ReferenceKind::DataFile
                | ReferenceKind::Mentioned => {}
            }
        }
        Ok(backing)
    }

    /// Judges the extents of the descriptor a sparse extent of `image` may
    /// embed, and theirs in turn.
    fn check_extent(&mut self, image: &Path, extent: &Path) -> Result<(), ImageChainError> {
        self.images_seen += 1;
        if self.images_seen > MAX_CHAIN_IMAGES {
            return Err(ImageChainError::TooDeep {
                image: self.input.to_path_buf(),
            });
        }
        let nested = image_refs::sparse_extent_references(extent).map_err(|source| {
            ImageChainError::Unreadable {
                image: extent.to_path_buf(),
                format: "vmdk".into(),
                source,
            }
        })?;
        for reference in nested {
            if reference.kind == ReferenceKind::Mentioned {
                self.judge_mentioned(image, &reference.name)?;
                continue;
            }
            let resolved = self.judge(image, reference.kind, &reference.name)?;
            if reference.kind == (ReferenceKind::Extent { sparse: true }) {
                self.check_extent(image, &resolved)?;
            }
        }
        Ok(())
    }

    /// Judges the files qemu-img reports the image uses: its backing file,
    /// a qcow2's data file, a VMDK's extents.
    fn check_reported(&self, path: &Path, info: &ImageInfo) -> Result<(), ImageChainError> {
        if let Some(backing) = &info.backing_filename {
            self.judge(path, ReferenceKind::Backing, backing)?;
        }
        let data = info
            .format_specific
            .as_ref()
            .and_then(|f| f.get("data"))
            .cloned()
            .unwrap_or_default();
        if let Some(data_file) = data.get("data-file").and_then(|d| d.as_str()) {
            self.judge(path, ReferenceKind::DataFile, data_file)?;
        }
        for extent in data
            .get("extents")
            .and_then(|e| e.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(file) = extent.get("filename").and_then(|f| f.as_str()) {
                self.judge(path, ReferenceKind::Extent { sparse: false }, file)?;
            }
        }
        Ok(())
    }

    /// The refusal of a reference of `image` that leads to `resolved`,
    /// outside the root.
    fn outside(
        &self,
        image: &Path,
        kind: &'static str,
        name: &str,
        resolved: PathBuf,
    ) -> ImageChainError {
        ImageChainError::Outside {
            image: image.to_path_buf(),
            kind,
            reference: name.to_string(),
            resolved,
            root: self.root.clone(),
        }
    }

    /// Refuses a reference qemu would read as a protocol or URL.
    fn refuse_protocol(
        &self,
        image: &Path,
        kind: &'static str,
        name: &str,
    ) -> Result<(), ImageChainError> {
        if is_protocol(name) {
            return Err(ImageChainError::NotAFile {
                image: image.to_path_buf(),
                kind,
                reference: name.to_string(),
                root: self.root.clone(),
            });
        }
        Ok(())
    }

    /// Judges a quoted name of a VMDK descriptor that may or may not be a
    /// file (see [`ReferenceKind::Mentioned`]): refused when it is a
    /// protocol or would resolve outside the root, existing or not.
    fn judge_mentioned(&self, image: &Path, name: &str) -> Result<(), ImageChainError> {
        let kind = ReferenceKind::Mentioned.describe();
        self.refuse_protocol(image, kind, name)?;
        let bases = [
            image.parent().map(Path::to_path_buf),
            std::fs::canonicalize(image)
                .ok()
                .and_then(|real| real.parent().map(Path::to_path_buf)),
            self.input.parent().map(Path::to_path_buf),
        ];
        for base in bases.into_iter().flatten() {
            // A name that cannot be resolved (`..` after a missing part)
            // is judged by its lexical form, and refused unless that is in
            // the root and free of `..`.
            let resolved = crate::policy::resolve(&base.join(name))
                .unwrap_or_else(|_| crate::policy::normalize_lexically(&base.join(name)));
            if !resolved.starts_with(&self.root) || lexically_escapes(name) && !resolved.exists() {
                return Err(self.outside(image, kind, name, resolved));
            }
        }
        Ok(())
    }

    /// Where a reference of `image` leads, as qemu resolves it (a relative
    /// name against the directory of the image as it was opened); refused
    /// unless that is a file inside the root. Because a nested image may be
    /// reached through a symlink, a relative name is also resolved against
    /// the image's real directory and the input image's directory, and none
    /// of these may lead outside either.
    fn judge(
        &self,
        image: &Path,
        kind: ReferenceKind,
        name: &str,
    ) -> Result<PathBuf, ImageChainError> {
        let kind = kind.describe();
        self.refuse_protocol(image, kind, name)?;
        let base = image.parent().unwrap_or(Path::new("."));
        let opened = base.join(name);
        let resolved =
            std::fs::canonicalize(&opened).map_err(|source| ImageChainError::Unresolvable {
                image: image.to_path_buf(),
                kind,
                reference: name.to_string(),
                source,
            })?;
        let mut candidates = vec![resolved];
        let other_bases = [
            std::fs::canonicalize(image)
                .ok()
                .and_then(|real| real.parent().map(Path::to_path_buf)),
            self.input.parent().map(Path::to_path_buf),
        ];
        for other in other_bases.into_iter().flatten() {
            if let Ok(resolved) = std::fs::canonicalize(other.join(name)) {
                candidates.push(resolved);
            } else if lexically_escapes(name) {
                candidates.push(crate::policy::normalize_lexically(&other.join(name)));
            }
        }
        for resolved in candidates {
            if !resolved.starts_with(&self.root) {
                return Err(self.outside(image, kind, name, resolved));
            }
        }
        Ok(opened)
    }
}

/// Whether qemu would read a file name as a protocol: `json:{...}`, or a
/// `name:` prefix before any slash (`nbd:`, `http://`, `file:`), the rule of
/// qemu's `path_has_protocol`. An empty name is refused too.
fn is_protocol(name: &str) -> bool {
    name.is_empty()
        || name.starts_with("json:")
        || name
            .find([':', '/'])
            .is_some_and(|at| name.as_bytes()[at] == b':')
}

/// Whether a relative name climbs above where it starts.
fn lexically_escapes(name: &str) -> bool {
    Path::new(name).is_absolute()
        || Path::new(name)
            .components()
            .any(|c| c == Component::ParentDir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_and_urls_are_not_files() {
        for name in [
            "json:{\"file.filename\":\"/etc/shadow\"}",
            "nbd:localhost:10809",
            "http://example.com/disk.raw",
            "file:/etc/shadow",
            "",
        ] {
            assert!(is_protocol(name), "{name}");
        }
        for name in [
            "base.qcow2",
            "/srv/images/base.qcow2",
            "sub/a:b.raw",
            "../x",
        ] {
            assert!(!is_protocol(name), "{name}");
        }
    }

    #[test]
    fn normalizing_takes_out_parent_components() {
        assert_eq!(
            crate::policy::normalize_lexically(Path::new("/a/b/../../etc/x")),
            Path::new("/etc/x")
        );
        assert!(lexically_escapes("../x") && lexically_escapes("/x"));
        assert!(!lexically_escapes("sub/x"));
    }
}
