//! An engine over a temporary directory, for in-process tests (the
//! engine's own and the gRPC handlers'): a real SQLite history opened as
//! the daemon opens it ([`History::open`]), discovery over a directory of
//! small `#!/bin/sh` workflow programs the test writes, and the daemon's
//! order of start-up (rescan, engine, recovery) and shutdown.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tempfile::TempDir;

use super::{Engine, EngineConfig};
use crate::discovery::Catalog;
use crate::metrics::Metrics;
use crate::program_env::ProgramEnv;
use crate::store::{Database, History, StoreWriter};

/// A running engine and the directory it lives in.
pub(crate) struct TestEngine {
    pub(crate) engine: Arc<Engine>,
    /// What the engine records into.
    pub(crate) metrics: Metrics,
    /// The history's writer (the engine has its own handle), for the
    /// modules above the engine.
    pub(crate) writer: StoreWriter,
    /// Holds the history, the workflows and the runs; removed on drop.
    pub(crate) dir: TempDir,
    writer_thread: Option<std::thread::JoinHandle<()>>,
}

impl TestEngine {
    /// Starts an engine that runs at most `workers` executions at once
    /// with `queue` more waiting, whose workflow directory holds `programs`
    /// (file name, script), each made executable.
    pub(crate) async fn start(
        workers: usize,
        queue: usize,
        programs: &[(&str, String)],
    ) -> TestEngine {
        Self::start_with_idle_workers(workers, queue, programs, Default::default()).await
    }

    /// As [`TestEngine::start`], with idle worker threads ending as
    /// `idle_workers` says.
    pub(crate) async fn start_with_idle_workers(
        workers: usize,
        queue: usize,
        programs: &[(&str, String)],
        idle_workers: super::IdleWorkers,
    ) -> TestEngine {
        let dir = tempfile::tempdir().expect("temporary directory");
        let workflows = dir.path().join("workflows");
        std::fs::create_dir(&workflows).expect("workflow directory");
        for (name, script) in programs {
            write_program(&workflows, name, script);
        }
        let program_env = Arc::new(ProgramEnv::from_daemon(&[]));
        let catalog = Arc::new(Catalog::new(
            vec![workflows],
            Duration::from_secs(10),
            program_env.clone(),
        ));
        catalog.rescan().await;
        let metrics = Metrics::new();
        let history =
            History::open(&Database::Sqlite(dir.path().join("history.sqlite3"))).expect("history");
        let writer = history.writer.clone();
        let engine = Engine::new(
            EngineConfig {
                max_concurrent_jobs: workers,
                max_queue: queue,
                runs_dir: dir.path().join("runs"),
                default_grace_period: Duration::from_secs(5),
                shutdown_grace_period: Duration::from_secs(5),
                program_env,
                output_dir: dir.path().join("output"),
                metrics: metrics.clone(),
                retry_defaults: Default::default(),
                program_limits: Default::default(),
                guardian: None,
                cgroups: None,
                exec_shim: None,
                namespaces: Default::default(),
                bundled_workflows_dir: dir.path().join("bundled-workflows"),
                boot_id_file: dir.path().join("boot-id"),
                idle_workers,
                running_committed_before_spawn: false,
            },
            catalog,
            history.writer,
            history.reader,
            history.hub,
        );
        engine.recover().await.expect("recovery");
        TestEngine {
            engine,
            metrics,
            writer,
            dir,
            writer_thread: Some(history.writer_thread),
        }
    }

    /// A path in the test's directory, for gates and other files.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Shuts the engine down as the daemon does and waits for the writer.
    pub(crate) async fn stop(mut self) {
        self.engine.shutdown().await;
        self.engine
            .close_history()
            .await
            .expect("closing the history");
        if let Some(thread) = self.writer_thread.take() {
            tokio::task::spawn_blocking(move || thread.join())
                .await
                .expect("joined")
                .expect("writer thread ended cleanly");
        }
    }
}

/// Writes an executable program.
fn write_program(dir: &Path, name: &str, script: &str) {
    let path = dir.join(name);
    std::fs::write(&path, script).expect("write program");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).expect("chmod");
}

/// A workflow program: prints `metadata` when probed, else runs `body`.
pub(crate) fn workflow_script(metadata: &str, body: &str) -> String {
    format!(
        "#!/bin/sh\nif [ \"$1\" = \"--workflow-metadata\" ]; then\ncat <<'JSON'\n{metadata}\nJSON\nexit 0\nfi\n{body}\n"
    )
}

/// A workflow `id` that waits until the file given with `--gate` exists,
/// prints `released` and succeeds: an execution the test ends when it
/// wants. It gives up when the gate's directory is gone, so a test that
/// panics before stopping its engine (removing the temporary directory)
/// leaves no program polling behind.
pub(crate) fn gate_program(id: &str) -> String {
    let gate = serde_json::json!({
        "name": "gate", "label": "Gate", "description": "File to wait for",
        "cli_arg": "--gate", "required": true, "default": null,
        "field_type": {"type": "text"},
    });
    let metadata = serde_json::json!({
        "id": id, "name": "Gate", "description": "Waits for a file.", "fields": [gate],
    });
    workflow_script(
        &metadata.to_string(),
        "gate=\"$2\"\nwhile [ ! -e \"$gate\" ]; do\n  [ -d \"$(dirname \"$gate\")\" ] || exit 1\n  sleep 0.01\ndone\necho released",
    )
}

/// Waits (up to 10 s) for an execution to end and returns its final record.
pub(crate) async fn end(
    engine: &super::Engine,
    record: &crate::store::ExecutionRecord,
) -> crate::store::ExecutionRecord {
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        engine.wait_for_end(&record.id.to_string()),
    )
    .await
    .expect("ended in time")
    .expect("ended")
}
