//! The VM pipeline's errors: why a stage did not finish ([`StageError`]),
//! why an OVF descriptor or OVA archive is refused ([`OvfError`],
//! [`DescriptorError`]).
//! The run loop tells a cancel from a failure; the inspect and validate
//! stages go on without a tool that is not installed. Every other failure
//! ends the stage with its message.

use std::path::PathBuf;

use crate::policy::PolicyError;

use super::{command::CommandError, image_chain::ImageChainError, qemu::QemuError};

/// Why a stage did not finish.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StageError {
    /// The pipeline was cancelled (SIGTERM or SIGINT) while it ran.
    #[error("cancelled")]
    Cancelled,
    /// A tool the step needs is not installed; the stage decides whether
    /// it can go on without it.
    #[error("{tool} is not installed")]
    ToolMissing {
        /// The tool, as a person would look for it.
        tool: &'static str,
    },
    /// A tool could not be started. (Its cancel is [`StageError::Cancelled`].)
    #[error(transparent)]
    Command(CommandError),
    /// qemu-img failed or could not be run. (Its cancel is
    /// [`StageError::Cancelled`].)
    #[error(transparent)]
    Qemu(QemuError),
    /// An input image references something it must not.
    #[error(transparent)]
    ImageChain(ImageChainError),
    /// An OVF descriptor or OVA archive is refused. (Boxed: its paths
    /// would make every stage result large.)
    #[error(transparent)]
    Ovf(Box<OvfError>),
    /// A path from the manifest or an input is outside what the operator
    /// allows.
    #[error("{field}: {source}")]
    Refused {
        /// Where the path came from (`load.source_path`, `input output_dir`).
        field: &'static str,
        /// Why it is refused.
        source: PolicyError,
    },
    /// A file operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done (`create`, `resolve`).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Any other failure: nobody acts on it but by reporting it.
    #[error("{0}")]
    Failed(String),
}

impl StageError {
    /// A [`StageError::Failed`] with this message.
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        StageError::Failed(message.into())
    }

    /// A [`StageError::Io`] about `path`, for `map_err`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        move |source| StageError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// A [`StageError::Refused`] for a path from `field`, for `map_err`.
    pub(crate) fn refused(field: &'static str) -> impl FnOnce(PolicyError) -> Self {
        move |source| StageError::Refused { field, source }
    }
}

impl From<OvfError> for StageError {
    fn from(e: OvfError) -> Self {
        StageError::Ovf(Box::new(e))
    }
}

impl From<CommandError> for StageError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Cancelled => StageError::Cancelled,
            other => StageError::Command(other),
        }
    }
}

impl From<QemuError> for StageError {
    fn from(e: QemuError) -> Self {
        match e {
            QemuError::Cancelled => StageError::Cancelled,
            other => StageError::Qemu(other),
        }
    }
}

impl From<ImageChainError> for StageError {
    fn from(e: ImageChainError) -> Self {
        match e {
            ImageChainError::Qemu(e) => e.into(),
            other => StageError::ImageChain(other),
        }
    }
}

/// Why an OVF descriptor or OVA archive is refused. Both are untrusted
/// input: a descriptor may name any path, an archive may hold any member.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OvfError {
    /// The OVA is not a tar archive, or a member cannot be unpacked.
    #[error("{archive} is not a readable OVA (tar archive): {source}")]
    NotTar {
        /// The OVA.
        archive: PathBuf,
        /// What the tar reader said.
        source: std::io::Error,
    },
    /// The archive holds no regular file.
    #[error("{archive} is not an OVA: it holds no files (is it a tar archive?)")]
    EmptyArchive {
        /// The OVA.
        archive: PathBuf,
    },
    /// The archive holds no descriptor and no file that looks like a disk.
    #[error("the OVA {archive} holds no .ovf descriptor and no disk file")]
    NoDisks {
        /// The OVA.
        archive: PathBuf,
    },
    /// The descriptor is larger than any real one.
    #[error("OVF {ovf} is larger than {max} bytes, which no descriptor needs; it was not read")]
    TooLarge {
        /// The descriptor.
        ovf: PathBuf,
        /// The most read.
        max: u64,
    },
    /// The descriptor cannot be read as one.
    #[error("OVF {ovf}: {source}")]
    Descriptor {
        /// The descriptor.
        ovf: PathBuf,
        /// What is wrong with it.
        source: DescriptorError,
    },
    /// A reference is a URL.
    #[error("OVF {ovf} references {href:?}, a URL; only local disk files are supported")]
    Url {
        /// The descriptor.
        ovf: PathBuf,
        /// The reference as written.
        href: String,
    },
    /// A reference is to a compressed file.
    #[error(
        "OVF {ovf} references {href:?} with {compression} compression, which is not supported"
    )]
    Compressed {
        /// The descriptor.
        ovf: PathBuf,
        /// The reference as written.
        href: String,
        /// The compression it declares.
        compression: String,
    },
    /// A reference leads outside the directory it must stay in.
    #[error(
        "OVF {ovf} references {href:?}, which resolves to {resolved}, outside {root_name} ({root})"
    )]
    Outside {
        /// The descriptor.
        ovf: PathBuf,
        /// The reference as written.
        href: String,
        /// Where it leads.
        resolved: PathBuf,
        /// What the directory is (`the OVA`, `the OVF's own directory`).
        root_name: &'static str,
        /// The directory, symlinks resolved.
        root: PathBuf,
    },
    /// A referenced disk file does not exist.
    #[error("disk file {path} referenced by OVF {ovf} does not exist")]
    MissingDisk {
        /// The disk file.
        path: PathBuf,
        /// The descriptor.
        ovf: PathBuf,
    },
    /// A referenced disk file lies outside the operator's source roots.
    #[error("a disk file the OVF {ovf} references (its href): {source}")]
    DiskRefused {
        /// The descriptor.
        ovf: PathBuf,
        /// Why the disk file is refused.
        source: PolicyError,
    },
    /// A disk file's name tells no format.
    #[error(
        "cannot tell the format of disk file {path} from its name: expected one of .{}",
        expected.join(", .")
    )]
    UnknownDiskFormat {
        /// The disk file.
        path: PathBuf,
        /// The extensions that tell one.
        expected: &'static [&'static str],
    },
}

/// What is wrong with an OVF descriptor's content.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DescriptorError {
    /// It is not well-formed XML (a DTD counts as not well-formed: OVF
    /// descriptors have none, and entity declarations are an attack).
    #[error("not well-formed XML: {0}")]
    Xml(#[from] roxmltree::Error),
    /// A `Disk` names a file id no `File` declares.
    #[error("a Disk refers to file id {0:?}, which no File declares")]
    UnknownFileRef(String),
    /// Nothing in it is a disk.
    #[error("the OVF descriptor references no disk file")]
    NoDisk,
}
