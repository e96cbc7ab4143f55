//! Daemon configuration: embedded defaults, then a config file (TOML or
//! YAML), then `WORKFLOWD_*` environment variables, then flags; validated
//! once at start with messages that name the setting.
//!
//! `args.rs` is the command line, `file.rs` the config file, `load.rs`
//! merges them in that order and validates; this file is the result.

mod args;
mod error;
mod file;
mod limits;
mod load;
mod namespaces;
mod oidc;
mod start_rate;
#[cfg(test)]
mod tests;
mod tls;
mod webhooks;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use args::DaemonArgs;
pub use error::ConfigError;
pub use tls::TlsSettings;

use crate::auth::AuthMode;
use crate::policy::{FixTool, WorkflowPolicy};
use crate::program_env::ProgramEnvName;
use crate::program_limits::LimitSettings;
use crate::retry_policy::RetryPolicy;
use crate::watcher::DropFolderConfig;

/// The resolved, validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// gRPC address; None serves no TCP port at all (`listen = "none"`),
    /// only the Unix socket.
    pub listen: Option<SocketAddr>,
    /// Optional Unix socket.
    pub unix_socket: Option<PathBuf>,
    /// Data directory.
    pub data_dir: PathBuf,
    /// The history's PostgreSQL URL; None: the SQLite file in the data
    /// directory.
    pub database: Option<String>,
    /// With `database`: wait while another daemon uses it, then take over.
    pub standby: bool,
    /// Workflow directories, in priority order (a duplicate id keeps the first).
    pub workflow_dirs: Vec<PathBuf>,
    /// Whether the bundled examples are installed into the data directory.
    pub bundled_workflows: bool,
    /// Worker pool size.
    pub max_concurrent_jobs: usize,
    /// Queue limit.
    pub max_queue: usize,
    /// Default cancel grace.
    pub default_grace_period: Duration,
    /// Shutdown grace.
    pub shutdown_grace_period: Duration,
    /// Metadata probe time limit.
    pub discovery_timeout: Duration,
    /// The drop folders (manifest and/or disk mode), each optional.
    pub drop_folders: Vec<DropFolderConfig>,
    /// Where the VM pipeline writes converted disks by default.
    pub output_dir: PathBuf,
    /// How long finished executions are kept; None keeps them forever.
    pub history_retention: Option<Duration>,
    // Who may reach the daemon and what its programs see.
    /// Group given the Unix socket (mode 0660), as a gid; None leaves the
    /// daemon's own group.
    pub unix_socket_group: Option<u32>,
    /// Names of the daemon's environment passed on to programs beyond
    /// the ones always passed (`program_env.rs`).
    pub program_env: Vec<ProgramEnvName>,
    /// The configured `source_roots` (see [`Config::policy`] for all the
    /// roots in force).
    pub source_roots: Vec<PathBuf>,
    /// The configured guest-fix tools.
    pub fix_tools: BTreeMap<String, FixTool>,
    // The HTTP side of the port (src/http).
    /// Origins whose pages may call across origins; empty: CORS closed.
    pub http_cors_origins: Vec<String>,
    /// Largest HTTP request body accepted, in bytes.
    pub http_max_body_bytes: usize,
    /// Each workflow's retry policy when a call gives none.
    pub retry_policies: BTreeMap<String, RetryPolicy>,
    /// A webhook delivery not made within this long is given up.
    pub webhook_give_up_after: Duration,
    /// The networks webhooks may be sent to; empty: any address but those
    /// never reached (src/webhooks/destination.rs).
    pub webhook_allowed_networks: Vec<ipnet::IpNet>,
    // Who may call (src/auth, docs/security.md).
    /// How TCP callers are authenticated.
    pub auth: AuthMode,
    /// TLS on the TCP port (and client certificates); None: plain TCP.
    pub tls: Option<TlsSettings>,
    /// GET /metrics needs no token even with tokens on.
    pub open_metrics: bool,
    /// A file audit events are also appended to, as JSON lines.
    pub audit_log_file: Option<PathBuf>,
    // What programs may use (docs/security.md, "Resource limits").
    /// Limits by default, per workflow, and the most a call may ask for.
    pub program_limits: LimitSettings,
    /// A guardian kills the programs' groups if the daemon dies.
    pub kill_programs_with_daemon: bool,
    /// Runs with limits get a control group when the host allows.
    pub cgroups: bool,
    /// Each caller's rate of starting work (per second) and burst; None:
    /// no limit.
    pub start_rate: Option<(f64, std::num::NonZeroU32)>,
    /// OIDC bearer tokens (`[oidc]`), when configured.
    pub oidc: Option<crate::auth::OidcSettings>,
    /// The namespaces: `default` and the configured ones.
    pub namespaces: crate::namespaces::Namespaces,
}

impl Config {
    /// The rate limit on starting work, when configured.
    pub(crate) fn start_rate(&self) -> Option<crate::auth::StartRate> {
        self.start_rate
            .map(|(per_second, burst)| crate::auth::StartRate::new(per_second, burst))
    }

    /// The history's SQLite file (used unless `database` is set).
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("history.sqlite3")
    }

    /// Where the history lives.
    pub(crate) fn history_database(&self) -> crate::store::Database {
        match &self.database {
            Some(url) => crate::store::Database::Postgres(url.clone()),
            None => crate::store::Database::Sqlite(self.database_path()),
        }
    }

    /// Where executions get their working directories.
    pub fn runs_dir(&self) -> PathBuf {
        self.data_dir.join("runs")
    }

    /// Where the bundled examples are installed.
    pub fn bundled_workflows_dir(&self) -> PathBuf {
        self.data_dir.join("bundled-workflows")
    }

    /// Whether the TCP port may be reached from other hosts.
    pub fn listens_beyond_loopback(&self) -> bool {
        self.listen.is_some_and(load::beyond_loopback)
    }

    /// Where the first admin token is written when tokens are on and none
    /// exists yet.
    pub fn bootstrap_token_path(&self) -> PathBuf {
        self.data_dir.join("admin.token")
    }

    /// Where the per-VM pipeline documents of manifest runs are written.
    pub fn manifests_dir(&self) -> PathBuf {
        self.data_dir.join("manifests")
    }

    /// What programs may read, write and run: `source_roots` plus every
    /// drop folder plus [`Config::manifests_dir`] (where the daemon writes
    /// the per-VM pipeline documents), the output directory, the fix tools.
    pub fn policy(&self) -> WorkflowPolicy {
        let mut source_roots = self.source_roots.clone();
        source_roots.extend(self.drop_folders.iter().map(|f| f.path.clone()));
        source_roots.push(self.manifests_dir());
        source_roots.dedup();
        WorkflowPolicy {
            output_dir: self.output_dir.clone(),
            source_roots,
            fix_tools: self.fix_tools.clone(),
        }
    }
}
