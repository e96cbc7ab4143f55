//! Assembles the daemon from its parts and runs it until a shutdown signal:
//! history, discovery, engine, recovery, then the gRPC server (with health
//! and reflection) on TCP and optionally a Unix socket.

mod authenticator;
mod data_dir;
mod engine_config;
mod error;
mod import;
mod standby;
mod systemd;
mod tls;

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UnixListener};
use tokio_stream::wrappers::UnixListenerStream;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;
use tower::Layer;

use engine_config::engine_config;
pub use error::DaemonError;
pub use import::import_history;
pub use tls::TlsError;

use crate::api::{DaemonInfo, WorkflowApi};
use crate::auth::{Auditor, AuthMode, Bootstrap, RoleGuardLayer, TokenError, Tokens};
use crate::config::Config;
use crate::discovery::Catalog;
use crate::engine::Engine;
use crate::fs::private;
use crate::manifest::ManifestRunner;
use crate::metrics::Metrics;
use crate::pb;
use crate::program_env::ProgramEnv;
use crate::registry::Registry;
use crate::retries::Retries;
use crate::schedules::Schedules;
use crate::store::History;
use crate::watcher::DropFolders;
use crate::webhooks::Webhooks;

/// Where the daemon serves, as handed to `on_ready`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServingOn {
    /// The bound TCP address (and maybe a Unix socket beside it).
    Tcp(std::net::SocketAddr),
    /// Only the Unix socket at this path (`listen = "none"`).
    UnixSocketOnly(std::path::PathBuf),
}

impl std::fmt::Display for ServingOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServingOn::Tcp(address) => write!(f, "{address}"),
            ServingOn::UnixSocketOnly(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// Runs the daemon until `shutdown` resolves, then shuts down gracefully.
/// `on_ready` is called once it is serving, with where.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_ready: impl FnOnce(ServingOn),
) -> Result<(), DaemonError> {
    data_dir::prepare_dirs(&config)?;
    tls::warn_if_reachable_from_other_hosts(&config);
    // Read before anything else starts, so a bad file stops the start.
    let tls_acceptor = match &config.tls {
        Some(settings) => Some(tls::acceptor(settings)?),
        None => None,
    };

    // This daemon in the history's daemon list; a standby is listed (and
    // may be drained) while it waits.
    let registry = Registry::new(
        config.history_database(),
        config.max_concurrent_jobs,
        config.standby,
    );
    if config.standby {
        registry.start_reporting();
    }
    let mut shutdown = Box::pin(shutdown);
    let opened = {
        let mut standing_by = std::pin::pin!(async {
            tokio::select! {
                () = &mut shutdown => {}
                () = registry.drain_asked() => tracing::warn!("drained while standing by: stopping"),
            }
        });
        standby::open_history(&config, &mut standing_by).await
    };
    let opened = match opened {
        Ok(opened) => opened,
        Err(e) => {
            forget(&registry).await;
            return Err(e);
        }
    };
    let Some(History {
        hub,
        writer,
        writer_thread,
        reader,
    }) = opened
    else {
        forget(&registry).await;
        return Ok(());
    };
    // Before any program is started (discovery's probes, the guardian):
    // with cgroup v2 the daemon may move into a group of its own first
    // (cgroups/unified.rs), and what it started before would be left in
    // the group it must leave empty.
    let cgroups = crate::cgroups::at_daemon_start(config.cgroups, &config.data_dir);
    let ledger_writer = writer.clone();
    let metrics = Metrics::new();

    let policy = config.policy();
    let program_env = Arc::new(
        ProgramEnv::from_daemon(&config.program_env)
            .with_daemon_var(crate::policy::POLICY_ENV, policy.to_env_value()),
    );
    let catalog = Arc::new(Catalog::new(
        config.workflow_dirs.clone(),
        config.discovery_timeout,
        program_env.clone(),
    ));
    // Starts the probes and returns: the server answers while they run.
    catalog.rescan().await;
    if let Err(e) = catalog.watch() {
        tracing::warn!(error = %e, "cannot watch workflow directories; changes need a restart");
    }
    systemd::rescan_on_hangup(catalog.clone())?;

    let schedule_writer = writer.clone();
    let retry_writer = writer.clone();
    let webhook_writer = writer.clone();
    let token_writer = writer.clone();
    let audit_writer = writer.clone();
    let audit_reader = reader.clone();
    let schedule_reader = reader.clone();
    let retry_reader = reader.clone();
    let webhook_reader = reader.clone();
    let tokens = Arc::new(
        Tokens::load(&reader, token_writer)
            .await
            .map_err(TokenError::from)?,
    );
    if config.auth == AuthMode::Tokens {
        let path = config.bootstrap_token_path();
        match tokens.bootstrap(&path).await? {
            Bootstrap::Made => tracing::warn!(
                path = %path.display(),
                "API tokens are on and none existed: an admin token was written to this file \
                 (read it, make the tokens you need with `wfctl token create`, then revoke it \
                 with `wfctl token revoke` and delete the file)"
            ),
            Bootstrap::FileLeft => tracing::warn!(
                path = %path.display(),
                "the first admin token's file is still here: once you have made your own \
                 tokens, revoke that one (`wfctl token list`, `wfctl token revoke ID`) and \
                 delete the file"
            ),
            Bootstrap::NotNeeded => {}
        }
    }
    let engine = Engine::new(
        engine_config(&config, program_env, &metrics, cgroups),
        catalog,
        writer,
        reader,
        hub,
    );
    engine.recover().await?;
    registry.writing(engine.clone());
    registry.start_reporting();
    // After recovery, so executions it marks INTERRUPTED count as ended.
    if let Some(retention) = config.history_retention {
        tokio::spawn(engine.clone().keep_history_within(retention));
    }

    let manifests = ManifestRunner::new(
        engine.clone(),
        config.manifests_dir(),
        policy,
        config.runs_dir(),
    );
    let webhooks = Webhooks::new(
        engine.clone(),
        webhook_writer,
        webhook_reader,
        config.webhook_give_up_after,
        config.webhook_allowed_networks.clone(),
    );
    webhooks.start().await?;
    // After recovery: the attempts it marked INTERRUPTED are retried.
    let retries = Retries::new(engine.clone(), retry_writer, retry_reader);
    retries.start().await?;
    // After recovery too: a schedule's catch-up looks at its previous
    // run's state, which recovery has settled.
    let schedules = Schedules::new(
        engine.clone(),
        Some(manifests.clone()),
        Some(retries.clone()),
        schedule_writer,
        schedule_reader,
    );
    schedules.start().await?;
    let drop_folders = if config.drop_folders.is_empty() {
        None
    } else {
        Some(DropFolders::start(
            &config.drop_folders,
            manifests.clone(),
            ledger_writer,
            metrics.clone(),
        )?)
    };

    // The API makes SSE log tokens, the port checks them: one key.
    let stream_tokens = Arc::new(crate::auth::StreamTokens::new());
    let mut api = WorkflowApi::new(
        engine.clone(),
        DaemonInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at_ms: crate::clock::now_ms(),
            database_path: config.history_database().describe(),
            history_retention: config.history_retention,
        },
        registry.clone(),
    )
    .with_manifests(manifests)
    .with_schedules(schedules.clone())
    .with_retries(retries.clone())
    .with_webhooks(webhooks.clone())
    .with_tokens(tokens.clone())
    .with_stream_tokens(stream_tokens.clone())
    .with_audit_log(audit_reader);
    if let Some(drop_folders) = &drop_folders {
        api = api.with_drop_folders(drop_folders.clone());
    }
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<pb::workflow_service_server::WorkflowServiceServer<WorkflowApi>>()
        .await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    // Every call of a WorkflowService RPC is counted by method and code
    // (the HTTP routes' in-process calls too; they are also counted by
    // route in workflowd_http_requests_total).
    // Each call is checked against the role its RPC needs (src/auth) and
    // audited, inside the counting so refused calls are counted too.
    let auditor = Arc::new(
        Auditor::new(audit_writer, config.audit_log_file.as_deref()).map_err(|source| {
            DaemonError::Prepare {
                path: config.audit_log_file.clone().unwrap_or_default(),
                source,
            }
        })?,
    );
    let workflow_service = metrics.grpc_service(
        RoleGuardLayer::new(auditor, config.start_rate())
            .layer(pb::workflow_service_server::WorkflowServiceServer::new(api)),
    );
    let grpc = tonic::service::Routes::new(workflow_service)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    // One port, three protocols: native gRPC (HTTP/2), gRPC-web and the
    // HTTP/JSON routes (HTTP/1.1 or 2), told apart per request (src/http),
    // with GET /metrics among the HTTP routes.
    let http_options = crate::http::HttpOptions {
        cors_origins: config
            .http_cors_origins
            .iter()
            .filter_map(|origin| origin.parse().ok())
            .collect(),
        max_body_bytes: config.http_max_body_bytes,
        metrics: metrics.clone(),
        authenticator: authenticator::authenticator(&config, tokens)
            .await?
            .with_stream_tokens(stream_tokens),
        protect_metrics: !config.open_metrics,
    };
    let port = crate::http::one_port(grpc, crate::metrics::router(metrics.clone()), &http_options)
        .map_err(|e| DaemonError::HttpRoutes(e.to_string()))?;
    let router = Server::builder().accept_http1(true).add_routes(port);

    let tcp = match config.listen {
        Some(listen) => {
            let tcp = TcpListener::bind(listen)
                .await
                .map_err(|source| DaemonError::Bind {
                    address: listen.to_string(),
                    source,
                })?;
            let bound = tcp.local_addr().map_err(|source| DaemonError::Bind {
                address: listen.to_string(),
                source,
            })?;
            Some((tcp, bound))
        }
        None => None,
    };
    let unix = match &config.unix_socket {
        Some(path) => Some(bind_unix_socket(path, config.unix_socket_group)?),
        None => None,
    };

    // Shutdown order: stop taking work and stop running executions (their
    // followers get their final events), then stop the servers.
    let (stop_servers, _) = tokio::sync::broadcast::channel::<()>(1);
    let shutdown_engine = engine.clone();
    let stop = stop_servers.clone();
    let health = health_reporter.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = shutdown => {}
            () = shutdown_engine.drained() => tracing::warn!("drained: what ran here has ended"),
        }
        tracing::info!("shutting down");
        systemd::stopping();
        if let Some(drop_folders) = &drop_folders {
            drop_folders.stop();
        }
        schedules.stop();
        retries.stop();
        webhooks.stop();
        health
            .set_not_serving::<pb::workflow_service_server::WorkflowServiceServer<WorkflowApi>>()
            .await;
        shutdown_engine.shutdown().await;
        let _ = stop.send(());
    });
    let server_stop = |mut rx: tokio::sync::broadcast::Receiver<()>| async move {
        let _ = rx.recv().await;
    };

    let serving_on = match (&tcp, &config.unix_socket) {
        (Some((_, bound)), _) => ServingOn::Tcp(*bound),
        (None, Some(path)) => ServingOn::UnixSocketOnly(path.clone()),
        (None, None) => unreachable!("config validation requires a TCP address or a Unix socket"),
    };
    // Subscribed before anything can signal a stop (on_ready lets clients
    // in, and one may send SIGTERM at once), so no stop is missed.
    let tcp_stop = server_stop(stop_servers.subscribe());
    let unix_stop = server_stop(stop_servers.subscribe());
    let tcp_server = async {
        match tcp {
            Some((tcp, bound)) => {
                tracing::info!(address = %bound, tls = tls_acceptor.is_some(), "serving workflow.v1.WorkflowService");
                match tls_acceptor {
                    Some(acceptor) => {
                        router
                            .clone()
                            .serve_with_incoming_shutdown(tls::incoming(tcp, acceptor), tcp_stop)
                            .await
                    }
                    None => {
                        router
                            .clone()
                            .serve_with_incoming_shutdown(
                                // Without TCP_NODELAY small stream messages wait for delayed ACKs (40 ms).
                                TcpIncoming::from(tcp).with_nodelay(Some(true)),
                                tcp_stop,
                            )
                            .await
                    }
                }
            }
            None => Ok(()),
        }
    };
    let unix_server = async {
        match unix {
            Some(unix) => {
                tracing::info!(socket = %config.unix_socket.as_deref().unwrap_or(std::path::Path::new("")).display(), "serving workflow.v1.WorkflowService");
                router
                    .clone()
                    .serve_with_incoming_shutdown(UnixListenerStream::new(unix), unix_stop)
                    .await
            }
            None => Ok(()),
        }
    };
    let shown = serving_on.to_string();
    on_ready(serving_on);
    systemd::ready(&shown);
    systemd::keep_watchdog_fed();
    let (tcp_result, unix_result) = tokio::join!(tcp_server, unix_server);
    tcp_result?;
    unix_result?;
    if let Some(path) = &config.unix_socket {
        // Like the TCP port, the socket goes away with the daemon.
        let _ = std::fs::remove_file(path);
    }

    // Every event is committed by now (engine shutdown ends with a barrier);
    // stop the writer and wait (bounded) for its final checkpoint.
    if let Err(e) = engine.close_history().await {
        tracing::warn!(error = %e, "closing the history failed");
    }
    let joined = tokio::task::spawn_blocking(move || writer_thread.join());
    if tokio::time::timeout(Duration::from_secs(10), joined)
        .await
        .is_err()
    {
        tracing::warn!("history writer did not stop within 10 s");
    }
    forget(&registry).await;
    Ok(())
}

/// Takes this daemon off the history's daemon list: it stops. Waits at
/// most 2 s (a database out of reach must not hold the exit; the row is
/// then forgotten after an hour).
async fn forget(registry: &Arc<Registry>) {
    let registry = registry.clone();
    let removing = tokio::task::spawn_blocking(move || registry.remove());
    let _ = tokio::time::timeout(Duration::from_secs(2), removing).await;
}

/// Mode of the Unix socket: the daemon's user and the socket's group may
/// connect, nobody else.
const UNIX_SOCKET_MODE: u32 = 0o660;

/// Binds the Unix socket at `path` with [`UNIX_SOCKET_MODE`] and, when
/// given, the group `group`. A socket file there that nobody answers on (a
/// crashed daemon's) is replaced; a live daemon's socket, or a file that is
/// not a socket at all, is left alone and the start fails.
///
/// The socket is bound inside a private directory next to `path`, given its
/// mode and group there, then renamed into place: nobody can connect in the
/// moment between bind(2), which applies the umask, and the chmod. That
/// directory's name is random, so another user of a shared directory cannot
/// create it first and make the start fail.
fn bind_unix_socket(
    path: &std::path::Path,
    group: Option<u32>,
) -> Result<UnixListener, DaemonError> {
    use std::io::{Error, ErrorKind};
    use std::os::unix::fs::FileTypeExt;
    let bind_error = |source: Error| DaemonError::Bind {
        address: path.display().to_string(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(bind_error(e)),
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(bind_error(Error::new(
                ErrorKind::AlreadyExists,
                "the path exists and is not a socket; it was left alone",
            )))
        }
        Ok(_) => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(bind_error(Error::new(
                    ErrorKind::AddrInUse,
                    "another daemon is serving on this socket",
                )));
            }
            std::fs::remove_file(path).map_err(bind_error)?;
        }
    }
    // Short (a socket path has at most 107 bytes, and the staged one must
    // fit wherever the real one fits) and unguessable, so nobody can block
    // the start by creating it first; created exclusively, so a clash is
    // another try, never a shared directory.
    let parent = path.parent().unwrap_or(std::path::Path::new("."));
    let mut tries = 0;
    let staging = loop {
        let random = uuid::Uuid::new_v4().simple().to_string();
        let staging = parent.join(format!(".{}", &random[..8]));
        match private::create_dir(&staging) {
            Ok(()) => break staging,
            Err(e) if e.kind() == ErrorKind::AlreadyExists && tries < 8 => tries += 1,
            Err(e) => return Err(bind_error(e)),
        }
    };
    let bound = (|| {
        let staged = staging.join("s");
        let listener = UnixListener::bind(&staged).map_err(bind_error)?;
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(UNIX_SOCKET_MODE))
            .map_err(bind_error)?;
        if let Some(gid) = group {
            give_socket_group(&staged, gid, path)?;
        }
        std::fs::rename(&staged, path).map_err(bind_error)?;
        Ok(listener)
    })();
    let _ = std::fs::remove_dir_all(&staging);
    bound
}

/// Gives the socket bound at `staged` (to become `path`) the group `gid`;
/// a failure names the setting, not just the path.
fn give_socket_group(
    staged: &std::path::Path,
    gid: u32,
    path: &std::path::Path,
) -> Result<(), DaemonError> {
    std::os::unix::fs::chown(staged, None, Some(gid)).map_err(|source| DaemonError::SocketGroup {
        path: path.to_path_buf(),
        gid,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    #[tokio::test]
    async fn a_socket_path_near_the_limit_binds_through_its_staging() {
        // 107 bytes is the most a socket path may have; the staging path
        // must fit wherever the socket's own path fits.
        let dir = tempfile::tempdir().unwrap();
        let name = "workflowd.sock";
        let room = 107 - dir.path().as_os_str().len() - 2 - name.len();
        let deep = dir.path().join("d".repeat(room));
        std::fs::create_dir(&deep).unwrap();
        let path = deep.join(name);
        assert_eq!(path.as_os_str().len(), 107);
        let _listener = bind_unix_socket(&path, None).unwrap();
        assert!(std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_socket());
    }

    #[tokio::test]
    async fn a_file_at_a_guessable_staging_name_does_not_block_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        // The name staging used to have, which any user of a shared
        // directory could create first.
        let planted = dir
            .path()
            .join(format!(".d.sock.{}.binding", std::process::id()));
        std::fs::write(&planted, "in the way").unwrap();
        let path = dir.path().join("d.sock");
        let _listener = bind_unix_socket(&path, None).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().mode() & 0o777,
            UNIX_SOCKET_MODE
        );
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [planted.file_name().unwrap().to_str().unwrap(), "d.sock"]
        );
    }

    #[tokio::test]
    async fn a_socket_group_that_cannot_be_given_names_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        // The mapping, whoever runs the test: chown of a missing file fails.
        let err = give_socket_group(&dir.path().join("missing"), 0, &dir.path().join("s"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("setting unix_socket_group:"), "{err}");

        // The real failure: a user who is not root cannot give a file a
        // group they are not in. Root can, so there is nothing to see then.
        if rustix::process::geteuid().is_root() {
            eprintln!("running as root: chown cannot fail, the EPERM case is not exercised");
            return;
        }
        let path = dir.path().join("g.sock");
        let err = bind_unix_socket(&path, Some(4_000_000_000))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("setting unix_socket_group:") && err.contains("g.sock"),
            "{err}"
        );
        assert!(!path.exists(), "no socket is left behind");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
