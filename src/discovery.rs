//! Discovery of workflow programs: every executable in the configured
//! directories is asked `--workflow-metadata`; the directories are watched so
//! adding, changing or removing a program updates the catalog without a
//! restart. Programs that fail are kept as failures, never dropped silently.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use notify::{EventKindMask, RecursiveMode, Watcher};
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, watch};

use crate::clock::now_ms;
use crate::workflow::{DiscoveredWorkflow, DiscoveryFailure, WorkflowMetadata};

/// Largest metadata document read from a program.
const MAX_METADATA_BYTES: u64 = 1 << 20;
/// Programs probed at once during a scan.
const PROBE_CONCURRENCY: usize = 4;
/// Quiet time after a file-system event before rescanning, so a copy in
/// progress produces one rescan instead of dozens.
const WATCH_DEBOUNCE: Duration = Duration::from_millis(150);

/// What changed on disk since a program was last probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    modified_ns: i128,
    size: u64,
    inode: u64,
}

#[derive(Debug, Clone)]
struct ProgramEntry {
    fingerprint: Fingerprint,
    outcome: Result<Arc<DiscoveredWorkflow>, DiscoveryFailure>,
}

/// Counts for one configured directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectorySummary {
    /// The directory.
    pub path: PathBuf,
    /// Whether it exists.
    pub exists: bool,
    /// Workflows discovered in it.
    pub workflows: u32,
    /// Programs that failed discovery in it.
    pub failures: u32,
}

#[derive(Default)]
struct CatalogState {
    programs: BTreeMap<PathBuf, ProgramEntry>,
    by_id: BTreeMap<String, Arc<DiscoveredWorkflow>>,
    failures: Vec<DiscoveryFailure>,
}

/// The set of discovered workflows, kept current by [`Catalog::watch`].
pub struct Catalog {
    dirs: Vec<PathBuf>,
    probe_timeout: Duration,
    /// The operator's policy, passed to probed programs as to runs.
    policy_json: String,
    state: RwLock<CatalogState>,
    /// Serializes rescans; readers never wait on it.
    rescan_lock: tokio::sync::Mutex<()>,
    /// Bumped after every rescan that changed the catalog.
    generation: watch::Sender<u64>,
    watcher: Mutex<Option<notify::RecommendedWatcher>>,
}

impl Catalog {
    /// A catalog over these directories; call [`Catalog::rescan`] to fill it.
    pub fn new(dirs: Vec<PathBuf>, probe_timeout: Duration) -> Self {
        Catalog {
            dirs,
            probe_timeout,
            policy_json: String::new(),
            state: RwLock::new(CatalogState::default()),
            rescan_lock: tokio::sync::Mutex::new(()),
            generation: watch::channel(0).0,
            watcher: Mutex::new(None),
        }
    }

    /// Probes programs with this policy in [`crate::policy::POLICY_ENV`]
    /// (a program may declare inputs from it, e.g. the fix tools).
    pub fn with_policy(mut self, policy: &crate::policy::WorkflowPolicy) -> Self {
        self.policy_json = policy.to_env_value();
        self
    }

    /// The configured directories.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Discovered workflows, ordered by id.
    pub fn workflows(&self) -> Vec<Arc<DiscoveredWorkflow>> {
        self.read().by_id.values().cloned().collect()
    }

    /// One workflow by id.
    pub fn get(&self, id: &str) -> Option<Arc<DiscoveredWorkflow>> {
        self.read().by_id.get(id).cloned()
    }

    /// Programs that failed discovery, ordered by path.
    pub fn failures(&self) -> Vec<DiscoveryFailure> {
        self.read().failures.clone()
    }

    /// A receiver that sees a new value whenever the catalog changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// Per-directory counts.
    pub fn directory_summaries(&self) -> Vec<DirectorySummary> {
        let state = self.read();
        self.dirs
            .iter()
            .map(|dir| {
                let in_dir = |path: &Path| path.parent() == Some(dir.as_path());
                DirectorySummary {
                    path: dir.clone(),
                    exists: dir.is_dir(),
                    workflows: state
                        .by_id
                        .values()
                        .filter(|w| in_dir(&w.program_path))
                        .count() as u32,
                    failures: state
                        .failures
                        .iter()
                        .filter(|f| in_dir(&f.program_path))
                        .count() as u32,
                }
            })
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, CatalogState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Looks at every directory again, probing only programs that are new or
    /// changed since the last scan.
    pub async fn rescan(&self) {
        let _one_at_a_time = self.rescan_lock.lock().await;
        let found = list_programs(&self.dirs);
        let previous = self.read().programs.clone();

        let mut programs = BTreeMap::new();
        let mut to_probe = Vec::new();
        for (path, fingerprint) in found {
            match previous.get(&path) {
                Some(entry) if entry.fingerprint == fingerprint => {
                    programs.insert(path, entry.clone());
                }
                _ => to_probe.push((path, fingerprint)),
            }
        }
        let changed = !to_probe.is_empty() || programs.len() != previous.len();
        if !changed {
            return;
        }

        let semaphore = Arc::new(tokio::sync::Semaphore::new(PROBE_CONCURRENCY));
        let mut probes = tokio::task::JoinSet::new();
        for (path, fingerprint) in to_probe {
            let semaphore = semaphore.clone();
            let timeout = self.probe_timeout;
            let policy_json = self.policy_json.clone();
            probes.spawn(async move {
                let _permit = semaphore.acquire_owned().await;
                let outcome = probe(&path, timeout, &policy_json).await;
                (
                    path,
                    ProgramEntry {
                        fingerprint,
                        outcome,
                    },
                )
            });
        }
        while let Some(joined) = probes.join_next().await {
            if let Ok((path, entry)) = joined {
                if let Err(failure) = &entry.outcome {
                    tracing::warn!(program = %path.display(), error = %failure.message, "workflow discovery failed");
                }
                programs.insert(path, entry);
            }
        }

        let (by_id, failures) = index_by_id(&programs);
        tracing::info!(
            workflows = by_id.len(),
            failures = failures.len(),
            "workflow catalog updated"
        );
        {
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            *state = CatalogState {
                programs,
                by_id,
                failures,
            };
        }
        self.generation.send_modify(|g| *g += 1);
    }

    /// Watches the directories and rescans on every change until the catalog
    /// is dropped. Directories that do not exist are reported, not watched.
    pub fn watch(self: &Arc<Self>) -> notify::Result<()> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        // Only changes to the directory: running a program opens and reads
        // it, and asking the kernel for those events too would wake the
        // watcher at every execution (about a tenth of the daemon's CPU in
        // the throughput benchmark, for events that were then dropped).
        let config = notify::Config::default().with_event_kinds(EventKindMask::CORE);
        let mut watcher = notify::RecommendedWatcher::new(
            move |event: notify::Result<notify::Event>| {
                if event.is_ok() {
                    let _ = tx.send(());
                }
            },
            config,
        )?;
        for dir in &self.dirs {
            if dir.is_dir() {
                watcher.watch(dir, RecursiveMode::NonRecursive)?;
            } else {
                tracing::warn!(dir = %dir.display(), "workflow directory does not exist; not watched");
            }
        }
        *self.watcher.lock().unwrap_or_else(|e| e.into_inner()) = Some(watcher);

        let catalog = Arc::downgrade(self);
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                // Debounce: wait until the directory has been quiet for a moment.
                while let Ok(Some(())) = tokio::time::timeout(WATCH_DEBOUNCE, rx.recv()).await {}
                match catalog.upgrade() {
                    Some(catalog) => catalog.rescan().await,
                    None => break,
                }
            }
        });
        Ok(())
    }
}

/// Every executable regular file (symlinks followed) at the top level of the
/// directories, hidden files skipped.
fn list_programs(dirs: &[PathBuf]) -> Vec<(PathBuf, Fingerprint)> {
    let mut programs = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
                continue;
            }
            programs.push((
                path,
                Fingerprint {
                    modified_ns: i128::from(meta.mtime()) * 1_000_000_000
                        + i128::from(meta.mtime_nsec()),
                    size: meta.len(),
                    inode: meta.ino(),
                },
            ));
        }
    }
    programs
}

/// Indexes workflows by id; a second program declaring an id already taken
/// (by a program earlier in directory order) becomes a failure.
fn index_by_id(
    programs: &BTreeMap<PathBuf, ProgramEntry>,
) -> (
    BTreeMap<String, Arc<DiscoveredWorkflow>>,
    Vec<DiscoveryFailure>,
) {
    let mut by_id: BTreeMap<String, Arc<DiscoveredWorkflow>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut owners: HashMap<String, PathBuf> = HashMap::new();
    for entry in programs.values() {
        match &entry.outcome {
            Ok(workflow) => {
                let id = workflow.metadata.id.clone();
                if let Some(owner) = owners.get(&id) {
                    failures.push(DiscoveryFailure {
                        program_path: workflow.program_path.clone(),
                        message: format!(
                            "workflow id {id:?} is already declared by {}",
                            owner.display()
                        ),
                        discovered_at_ms: workflow.discovered_at_ms,
                    });
                } else {
                    owners.insert(id.clone(), workflow.program_path.clone());
                    by_id.insert(id, workflow.clone());
                }
            }
            Err(failure) => failures.push(failure.clone()),
        }
    }
    (by_id, failures)
}

/// Runs `program --workflow-metadata` with a time limit and parses its answer.
async fn probe(
    program: &Path,
    timeout: Duration,
    policy_json: &str,
) -> Result<Arc<DiscoveredWorkflow>, DiscoveryFailure> {
    let started_ms = now_ms();
    let fail = |message: String| DiscoveryFailure {
        program_path: program.to_path_buf(),
        message,
        discovered_at_ms: started_ms,
    };
    let mut child = tokio::process::Command::new(program)
        .arg("--workflow-metadata")
        .env(crate::policy::POLICY_ENV, policy_json)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail(format!("cannot run: {e}")))?;
    let pid = child.id();
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let run = async {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut limited_out = (&mut stdout).take(MAX_METADATA_BYTES);
        let mut limited_err = (&mut stderr).take(64 * 1024);
        let (read_out, _, status) = tokio::join!(
            limited_out.read_to_end(&mut out),
            limited_err.read_to_end(&mut err),
            child.wait()
        );
        (read_out, out, err, status)
    };
    let (read_out, out, err, status) = match tokio::time::timeout(timeout, run).await {
        Ok(done) => done,
        Err(_) => {
            if let Some(pid) = pid {
                crate::process::kill_group(pid as i32, nix::sys::signal::Signal::SIGKILL);
            }
            return Err(fail(format!(
                "did not answer --workflow-metadata within {} s",
                timeout.as_secs_f64()
            )));
        }
    };
    let status = status.map_err(|e| fail(format!("wait failed: {e}")))?;
    read_out.map_err(|e| fail(format!("reading its output failed: {e}")))?;
    if !status.success() {
        let stderr_text = String::from_utf8_lossy(&err);
        return Err(fail(format!(
            "--workflow-metadata exited with {status}: {}",
            stderr_text.trim().chars().take(500).collect::<String>()
        )));
    }
    let metadata: WorkflowMetadata = serde_json::from_slice(&out).map_err(|e| {
        fail(format!(
            "--workflow-metadata did not print valid metadata JSON: {e}"
        ))
    })?;
    metadata
        .check()
        .map_err(|problems| fail(format!("invalid metadata: {problems}")))?;
    let input_json_schema = metadata.input_json_schema().to_string();
    Ok(Arc::new(DiscoveredWorkflow {
        metadata,
        input_json_schema,
        program_path: program.to_path_buf(),
        discovered_at_ms: started_ms,
    }))
}
