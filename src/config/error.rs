//! Why a configuration is refused: every error names the file or the
//! setting, so the operator knows what to change.

use std::path::PathBuf;

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file could not be parsed.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (names the key and line).
        message: String,
    },
    /// A setting has a bad value.
    #[error("setting {setting}: {message}")]
    Invalid {
        /// Which setting (file key / flag).
        setting: &'static str,
        /// What is wrong.
        message: String,
    },
}
