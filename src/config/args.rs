//! The daemon's command line (clap): each flag also reads a `WORKFLOWD_*`
//! environment variable.

use std::path::PathBuf;

use clap::Parser;

/// Command-line flags of `workflowd`. Each also reads a `WORKFLOWD_*`
/// environment variable; a flag wins over the variable, both over the file.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "workflowd",
    version,
    about = "The workflow daemon: runs workflow programs and serves workflow.v1.WorkflowService over gRPC"
)]
pub struct DaemonArgs {
    /// Config file (TOML, or YAML when it ends in .yaml/.yml).
    #[arg(long, env = "WORKFLOWD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to serve gRPC on (default 127.0.0.1:50051; port 0 picks a
    /// free one), or `none` to serve only on --unix-socket.
    #[arg(long, env = "WORKFLOWD_LISTEN")]
    pub listen: Option<String>,
    /// Also serve on this Unix socket (a stale one is replaced; removed at stop).
    #[arg(long, env = "WORKFLOWD_UNIX_SOCKET")]
    pub unix_socket: Option<PathBuf>,
    /// Data directory: history database, run directories, bundled workflows.
    #[arg(long, env = "WORKFLOWD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The history in PostgreSQL instead of the SQLite file in the data
    /// directory: a `postgres://user@host:port/database` URL.
    #[arg(long, env = "WORKFLOWD_DATABASE")]
    pub database: Option<String>,
    /// With a PostgreSQL --database another daemon is using: wait, and
    /// take over its work when it stops (docs/postgres.md), instead of
    /// refusing to start.
    #[arg(long, env = "WORKFLOWD_STANDBY")]
    pub standby: bool,
    /// Workflow directory to discover programs in (repeatable; replaces the defaults).
    #[arg(
        long = "workflow-dir",
        env = "WORKFLOWD_WORKFLOW_DIRS",
        value_delimiter = ':'
    )]
    pub workflow_dirs: Vec<PathBuf>,
    /// Do not install and discover the bundled example workflows.
    #[arg(long, env = "WORKFLOWD_NO_BUNDLED_WORKFLOWS")]
    pub no_bundled_workflows: bool,
    /// Executions running at once (default: number of cores).
    #[arg(long, env = "WORKFLOWD_MAX_CONCURRENT_JOBS")]
    pub max_concurrent_jobs: Option<usize>,
    /// Executions allowed to wait for a worker (default 1000).
    #[arg(long, env = "WORKFLOWD_MAX_QUEUE")]
    pub max_queue: Option<usize>,
    /// Seconds between SIGTERM and SIGKILL when a cancel does not say (default 10).
    #[arg(long, env = "WORKFLOWD_DEFAULT_GRACE_PERIOD")]
    pub default_grace_period: Option<f64>,
    /// Seconds running executions get to stop when the daemon shuts down (default 10).
    #[arg(long, env = "WORKFLOWD_SHUTDOWN_GRACE_PERIOD")]
    pub shutdown_grace_period: Option<f64>,
    /// Seconds a program gets to answer --workflow-metadata (default 5).
    #[arg(long, env = "WORKFLOWD_DISCOVERY_TIMEOUT")]
    pub discovery_timeout: Option<f64>,
    /// Days a finished execution is kept (its record, log, artifacts and
    /// kept working directory); older ones are deleted. Fractions allowed.
    /// Default: kept forever.
    #[arg(long, env = "WORKFLOWD_HISTORY_RETENTION_DAYS")]
    pub history_retention_days: Option<f64>,
    /// Manifest drop folder (hyper2kvm's manifest_workflow_dir): pipeline
    /// manifests dropped into DIR/to_be_processed/ are run.
    #[arg(long = "manifest-dir", env = "WORKFLOWD_MANIFEST_DIR")]
    pub manifest_dir: Option<PathBuf>,
    /// Disk drop folder (hyper2kvm's workflow_dir): disk images and job
    /// configs dropped into DIR/to_be_processed/ are converted.
    #[arg(long = "disk-dir", env = "WORKFLOWD_DISK_DIR")]
    pub disk_dir: Option<PathBuf>,
    /// Where the VM pipeline writes converted disks (default DATA_DIR/output).
    #[arg(long = "output-dir", env = "WORKFLOWD_OUTPUT_DIR")]
    pub output_dir: Option<PathBuf>,
    /// Group of the Unix socket (name or gid); its members may connect.
    #[arg(long, env = "WORKFLOWD_UNIX_SOCKET_GROUP")]
    pub unix_socket_group: Option<String>,
    /// An environment variable of the daemon passed on to workflow
    /// programs (repeatable; `NAME_*` passes every name with that prefix).
    #[arg(
        long = "program-env",
        env = "WORKFLOWD_PROGRAM_ENV",
        value_delimiter = ','
    )]
    pub program_env: Vec<String>,
    /// A directory manifests may read sources from (repeatable; replaces the
    /// file's `source_roots`). The drop folders and DATA_DIR/manifests are
    /// always source roots too.
    #[arg(
        long = "source-root",
        env = "WORKFLOWD_SOURCE_ROOTS",
        value_delimiter = ':'
    )]
    pub source_roots: Vec<PathBuf>,
    /// An origin (`https://host[:port]`) whose pages may call the HTTP/JSON
    /// routes and gRPC-web across origins (repeatable). CORS is closed
    /// when none is given.
    #[arg(
        long = "http-cors-origin",
        env = "WORKFLOWD_HTTP_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub http_cors_origins: Vec<String>,
    /// Largest HTTP request body accepted, in bytes (default 16 MiB);
    /// larger ones get 413.
    #[arg(long, env = "WORKFLOWD_HTTP_MAX_BODY_BYTES")]
    pub http_max_body_bytes: Option<usize>,
    /// How TCP callers are authenticated: `none` (the default; only on
    /// loopback unless --insecure-listen) or `tokens` (API tokens; the
    /// Unix socket's callers are administrators). See docs/security.md.
    #[arg(long, env = "WORKFLOWD_AUTH")]
    pub auth: Option<String>,
    /// Listen on a non-loopback address with authentication off, accepting
    /// that anyone who can reach the port can run programs.
    #[arg(long, env = "WORKFLOWD_INSECURE_LISTEN")]
    pub insecure_listen: bool,
    /// With `--auth tokens`, serve GET /metrics without a token too (its
    /// series name workflows; by default a token of any role is needed).
    #[arg(long, env = "WORKFLOWD_OPEN_METRICS")]
    pub open_metrics: bool,
    /// Also append each audit event (docs/security.md) to this file as a
    /// line of JSON (created 0600 when missing).
    #[arg(long, env = "WORKFLOWD_AUDIT_LOG_FILE")]
    pub audit_log_file: Option<PathBuf>,
    /// Serve TLS on the TCP port with this certificate chain (PEM, leaf
    /// first); needs --tls-key. The Unix socket stays plain.
    #[arg(long, env = "WORKFLOWD_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "WORKFLOWD_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Require a client certificate signed by one of these CAs (PEM
    /// bundle) on the TCP port; the config file's `tls_clients` gives
    /// certificates their roles by subject CN. See docs/security.md.
    #[arg(long, env = "WORKFLOWD_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// Log format on stderr: `text` (the default) or `json` (one object a
    /// line, for journald and log shippers).
    #[arg(long, env = "WORKFLOWD_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Copy the SQLite history FILE (a data directory's history.sqlite3)
    /// into the empty PostgreSQL database of --database, then exit.
    #[arg(long, value_name = "FILE")]
    pub import_history: Option<PathBuf>,
    /// Print the resolved configuration and exit.
    #[arg(long)]
    pub print_config: bool,
}
