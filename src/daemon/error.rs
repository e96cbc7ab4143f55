//! Why the daemon could not start or run: one error for the whole start-up,
//! each variant naming the setting, file or part that failed.

use crate::engine::EngineError;
use crate::store::StoreError;
use crate::watcher::WatcherError;
use crate::webhooks::WebhookError;

/// Why the daemon could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The data directory or the bundled workflows could not be written.
    #[error("cannot prepare {path}: {source}")]
    Prepare {
        /// What.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The history could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Recovery failed.
    #[error("recovering the previous run failed: {0}")]
    Recover(#[from] EngineError),
    /// The stored webhooks could not be loaded.
    #[error("loading the webhooks failed: {0}")]
    Webhooks(#[from] WebhookError),
    /// The API tokens could not be loaded, or the first one written.
    #[error("oidc: {0}")]
    Oidc(crate::auth::JwksError),
    /// The API tokens could not be loaded or made.
    #[error("API tokens: {0}")]
    Tokens(#[from] crate::auth::TokenError),
    /// The stored schedules could not be loaded.
    #[error("loading the schedules failed: {0}")]
    Schedules(#[from] crate::schedules::ScheduleError),
    /// The listener could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// Address or socket path.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The Unix socket could not be given `unix_socket_group`.
    #[error(
        "setting unix_socket_group: cannot give the socket {path} the group {gid} (the daemon \
         must run as root or as a member of that group): {source}"
    )]
    SocketGroup {
        /// The socket.
        path: std::path::PathBuf,
        /// The configured group.
        gid: u32,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP routes of the proto could not be read (a build defect).
    #[error("HTTP routes: {0}")]
    HttpRoutes(String),
    /// The gRPC server failed.
    #[error("gRPC server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
    /// Reflection could not be set up.
    #[error("gRPC reflection setup failed: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The TLS certificate, key or client CA could not be used.
    #[error(transparent)]
    Tls(#[from] super::tls::TlsError),
    /// A drop folder could not be prepared.
    #[error(transparent)]
    DropFolders(#[from] WatcherError),
}
