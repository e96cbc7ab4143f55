//! The config file (TOML, or YAML by extension): its keys, including the
//! ones of hyper2kvm's workflow daemon so its file works here, and reading
//! it with errors that name the file and the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;
use crate::policy::FixTool;

/// The config file's keys; unknown keys are an error so typos surface.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) listen: Option<String>,
    pub(super) unix_socket: Option<PathBuf>,
    pub(super) data_dir: Option<PathBuf>,
    pub(super) database: Option<String>,
    pub(super) standby: Option<bool>,
    pub(super) workflow_dirs: Option<Vec<PathBuf>>,
    pub(super) bundled_workflows: Option<bool>,
    pub(super) max_concurrent_jobs: Option<usize>,
    pub(super) max_queue: Option<usize>,
    pub(super) default_grace_period_secs: Option<f64>,
    pub(super) shutdown_grace_period_secs: Option<f64>,
    pub(super) discovery_timeout_secs: Option<f64>,
    pub(super) history_retention_days: Option<f64>,
    // The keys of hyper2kvm's workflow daemon, so its config file works here.
    /// Disk drop folder.
    pub(super) workflow_dir: Option<PathBuf>,
    /// Whether the disk drop folder is on (default: when workflow_dir is set).
    pub(super) workflow_mode: Option<bool>,
    /// Manifest drop folder.
    pub(super) manifest_workflow_dir: Option<PathBuf>,
    /// Whether the manifest drop folder is on (default: when its dir is set).
    pub(super) manifest_workflow_mode: Option<bool>,
    /// Where converted disks go.
    pub(super) output_dir: Option<PathBuf>,
    /// Directories manifests may read sources from.
    pub(super) source_roots: Option<Vec<PathBuf>>,
    /// Guest-fix tools by name, each a fixed argv template.
    pub(super) fix_tools: Option<BTreeMap<String, FixTool>>,
    /// Accepted and ignored: workflowd always runs as a daemon.
    #[allow(dead_code)]
    pub(super) daemon: Option<bool>,
    /// Accepted and ignored (upstream's `command: daemon`).
    #[allow(dead_code)]
    pub(super) command: Option<String>,
    /// Accepted and ignored: WORKFLOWD_LOG sets the log level.
    #[allow(dead_code)]
    pub(super) verbose: Option<bool>,
    // Who may reach the daemon and what its programs see.
    /// Group of the Unix socket, by name or gid.
    pub(super) unix_socket_group: Option<GroupSetting>,
    /// Variables of the daemon's environment passed on to programs.
    pub(super) program_env: Option<Vec<String>>,
    /// Origins allowed to call across origins (CORS).
    pub(super) http_cors_origins: Option<Vec<String>>,
    /// Largest HTTP request body accepted, in bytes.
    pub(super) http_max_body_bytes: Option<usize>,
    /// How TCP callers are authenticated (`none`, `tokens`).
    pub(super) auth: Option<String>,
    /// Listen beyond loopback with authentication off.
    pub(super) insecure_listen: Option<bool>,
    /// Where audit events are also appended as JSON lines.
    pub(super) audit_log_file: Option<PathBuf>,
    /// GET /metrics needs no token, even with tokens on.
    pub(super) open_metrics: Option<bool>,
    /// Hours a webhook delivery is tried before it is given up.
    pub(super) webhook_give_up_after_hours: Option<f64>,
    /// Networks webhooks may be sent to (CIDR or single addresses).
    pub(super) webhook_allowed_networks: Option<Vec<String>>,
    /// Retry policies by workflow id (docs/retries.md).
    pub(super) retry_policies: Option<BTreeMap<String, RetryPolicySetting>>,
    /// Resource limits of the programs (docs/security.md).
    pub(super) program_limits: Option<super::limits::LimitsSetting>,
    /// Programs get a SIGKILL when the daemon dies (default: true).
    pub(super) kill_programs_with_daemon: Option<bool>,
    /// Runs with limits get a control group when possible (default: true).
    pub(super) cgroups: Option<bool>,
    /// Each caller's rate of starting work, per second (default: none).
    pub(super) start_rate_per_second: Option<f64>,
    /// How many starts a caller may make at once after a pause.
    pub(super) start_rate_burst: Option<u32>,
    /// OIDC bearer tokens from one identity provider.
    pub(super) oidc: Option<super::oidc::OidcSetting>,
    /// Namespaces by name (docs/security.md, "Namespaces").
    pub(super) namespaces: Option<BTreeMap<String, super::namespaces::NamespaceSetting>>,
    /// The TCP port's certificate chain (PEM): TLS on.
    pub(super) tls_cert: Option<PathBuf>,
    /// Its private key (PEM).
    pub(super) tls_key: Option<PathBuf>,
    /// CAs whose client certificates are required (PEM bundle).
    pub(super) tls_client_ca: Option<PathBuf>,
    /// Roles of client certificates by subject CN.
    pub(super) tls_clients: Option<BTreeMap<String, super::tls::TlsClientSetting>>,
}

/// One workflow's retry policy as written in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RetryPolicySetting {
    pub(super) max_attempts: u32,
    pub(super) initial_interval_secs: Option<f64>,
    pub(super) backoff_coefficient: Option<f64>,
    pub(super) maximum_interval_secs: Option<f64>,
    #[serde(default)]
    pub(super) non_retryable_exit_codes: Vec<i32>,
}

/// A group as written in the config file: a name or a number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum GroupSetting {
    /// A gid.
    Id(u32),
    /// A group name (or a gid written as text).
    Name(String),
}

/// Reads and parses the config file at `path`.
pub(super) fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let parse_error = |message: String| ConfigError::Parse {
        path: path.to_path_buf(),
        message,
    };
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml") => {
            crate::yaml::from_str(&text).map_err(|e| parse_error(e.to_string()))
        }
        _ => toml::from_str(&text).map_err(|e| parse_error(e.to_string())),
    }
}
