//! Assembles the daemon from its parts and runs it until a shutdown signal:
//! history, discovery, engine, recovery, then the gRPC server (with health
//! and reflection) on TCP and optionally a Unix socket.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UnixListener};
use tokio_stream::wrappers::UnixListenerStream;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;

use crate::api::{DaemonInfo, WorkflowApi};
use crate::config::Config;
use crate::discovery::Catalog;
use crate::engine::{Engine, EngineConfig, EngineError};
use crate::manifest::ManifestRunner;
use crate::pb;
use crate::store::hub::LogHub;
use crate::store::{StoreError, StoreReader, StoreWriter};
use crate::watcher::{DropFolders, WatcherError};

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
    /// The listener could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// Address or socket path.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("gRPC server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
    /// Reflection could not be set up.
    #[error("gRPC reflection setup failed: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// A drop folder could not be prepared.
    #[error(transparent)]
    DropFolders(#[from] WatcherError),
}

/// Runs the daemon until `shutdown` resolves, then shuts down gracefully.
/// `on_ready` is called with the bound TCP address once it is serving.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_ready: impl FnOnce(std::net::SocketAddr),
) -> Result<(), DaemonError> {
    let prepare = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| DaemonError::Prepare { path, source }
    };
    std::fs::create_dir_all(&config.data_dir).map_err(prepare(&config.data_dir))?;
    std::fs::create_dir_all(config.runs_dir()).map_err(prepare(&config.runs_dir()))?;
    if config.bundled_workflows
        && config
            .workflow_dirs
            .contains(&config.bundled_workflows_dir())
    {
        crate::bundled::install(&config.bundled_workflows_dir())
            .map_err(prepare(&config.bundled_workflows_dir()))?;
        match crate::bundled::link_vm_pipeline(&config.bundled_workflows_dir()) {
            Ok(true) => tracing::info!("the VM pipeline program is linked into the bundled workflows"),
            Ok(false) => tracing::info!(
                "no {} next to workflowd; manifests need the workflow vm_pipeline from a workflow directory",
                crate::bundled::VM_PIPELINE_PROGRAM
            ),
            Err(e) => tracing::warn!(error = %e, "cannot link the VM pipeline program"),
        }
    }
    if let Err(e) = std::fs::create_dir_all(&config.output_dir) {
        tracing::warn!(dir = %config.output_dir.display(), error = %e, "cannot create the output directory");
    }
    for dir in &config.workflow_dirs {
        // The seed's user directory is created so users can drop programs in.
        if dir.ends_with(".workflow-manager/workflows") {
            let _ = std::fs::create_dir_all(dir);
        }
    }

    let hub = Arc::new(LogHub::default());
    let (writer, writer_thread) = StoreWriter::start(&config.database_path(), hub.clone())?;
    let reader = Arc::new(StoreReader::open(&config.database_path())?);
    let ledger_writer = writer.clone();

    let catalog = Arc::new(Catalog::new(
        config.workflow_dirs.clone(),
        config.discovery_timeout,
    ));
    catalog.rescan().await;
    if let Err(e) = catalog.watch() {
        tracing::warn!(error = %e, "cannot watch workflow directories; changes need a restart");
    }

    let engine = Engine::new(
        EngineConfig {
            max_concurrent_jobs: config.max_concurrent_jobs,
            max_queue: config.max_queue,
            runs_dir: config.runs_dir(),
            default_grace_period: config.default_grace_period,
            shutdown_grace_period: config.shutdown_grace_period,
            output_dir: config.output_dir.clone(),
        },
        catalog,
        writer,
        reader,
        hub,
    );
    engine.recover().await?;
    // After recovery, so executions it marks INTERRUPTED count as ended.
    if let Some(retention) = config.history_retention {
        tokio::spawn(engine.clone().keep_history_within(retention));
    }

    let manifests = ManifestRunner::new(
        engine.clone(),
        config.manifests_dir(),
        config.output_dir.clone(),
        config.runs_dir(),
    );
    let drop_folders = if config.drop_folders.is_empty() {
        None
    } else {
        Some(DropFolders::start(
            &config.drop_folders,
            manifests.clone(),
            ledger_writer,
        )?)
    };

    let mut api = WorkflowApi::new(
        engine.clone(),
        DaemonInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at_ms: crate::clock::now_ms(),
            database_path: config.database_path().to_string_lossy().into_owned(),
            history_retention: config.history_retention,
        },
    )
    .with_manifests(manifests);
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
    let router = Server::builder()
        .add_service(pb::workflow_service_server::WorkflowServiceServer::new(api))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);

    let tcp = TcpListener::bind(config.listen)
        .await
        .map_err(|source| DaemonError::Bind {
            address: config.listen.to_string(),
            source,
        })?;
    let bound = tcp.local_addr().map_err(|source| DaemonError::Bind {
        address: config.listen.to_string(),
        source,
    })?;
    let unix = match &config.unix_socket {
        Some(path) => Some(bind_unix_socket(path).map_err(|source| DaemonError::Bind {
            address: path.display().to_string(),
            source,
        })?),
        None => None,
    };

    // Shutdown order: stop taking work and stop running executions (their
    // followers get their final events), then stop the servers.
    let (stop_servers, _) = tokio::sync::broadcast::channel::<()>(1);
    let shutdown_engine = engine.clone();
    let stop = stop_servers.clone();
    let health = health_reporter.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down");
        if let Some(drop_folders) = &drop_folders {
            drop_folders.stop();
        }
        health
            .set_not_serving::<pb::workflow_service_server::WorkflowServiceServer<WorkflowApi>>()
            .await;
        shutdown_engine.shutdown().await;
        let _ = stop.send(());
    });
    let server_stop = |mut rx: tokio::sync::broadcast::Receiver<()>| async move {
        let _ = rx.recv().await;
    };

    let tcp_server = router.clone().serve_with_incoming_shutdown(
        // Without TCP_NODELAY small stream messages wait for delayed ACKs (40 ms).
        TcpIncoming::from(tcp).with_nodelay(Some(true)),
        server_stop(stop_servers.subscribe()),
    );
    tracing::info!(address = %bound, "serving workflow.v1.WorkflowService");
    on_ready(bound);
    match unix {
        Some(unix) => {
            let unix_server = router.serve_with_incoming_shutdown(
                UnixListenerStream::new(unix),
                server_stop(stop_servers.subscribe()),
            );
            let (tcp_result, unix_result) = tokio::join!(tcp_server, unix_server);
            tcp_result?;
            unix_result?;
        }
        None => tcp_server.await?,
    }
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
    Ok(())
}

/// Binds the Unix socket at `path`. A socket file there that nobody answers
/// on (a crashed daemon's) is replaced; a live daemon's socket, or a file
/// that is not a socket at all, is left alone and the start fails.
fn bind_unix_socket(path: &std::path::Path) -> std::io::Result<UnixListener> {
    use std::io::{Error, ErrorKind};
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e),
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                "the path exists and is not a socket; it was left alone",
            ))
        }
        Ok(_) => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(Error::new(
                    ErrorKind::AddrInUse,
                    "another daemon is serving on this socket",
                ));
            }
            std::fs::remove_file(path)?;
        }
    }
    UnixListener::bind(path)
}
