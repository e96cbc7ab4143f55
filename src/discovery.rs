//! Discovery of workflow programs: every executable in the configured
//! directories is asked `--workflow-metadata`; the directories are watched so
//! adding, changing or removing a program updates the catalog without a
//! restart. Programs that fail are kept as failures, never dropped silently.
//!
//! Probing never holds anything else up: each program is probed by its own
//! task with its own timeout and enters its answer when it has one, so the
//! daemon serves while discovery runs and a program that hangs delays only
//! itself. Only programs the daemon may trust are run ([`program_trust`]),
//! with the allow-listed environment ([`ProgramEnv`]).

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::{EventKindMask, RecursiveMode, Watcher};
use parking_lot::{Mutex, RwLock};
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, watch};

use crate::clock::now_ms;
use crate::metrics::{LiveGauge, Metrics};
use crate::program_env::ProgramEnv;
use crate::program_trust;
use crate::workflow::{DiscoveredWorkflow, DiscoveryFailure, WorkflowMetadata};

/// Largest metadata document read from a program.
const MAX_METADATA_BYTES: u64 = 1 << 20;
/// Probes started at once; a probe still running after [`SLOW_PROBE`]
/// stops counting, so a program that hangs holds up only itself.
const PROBE_CONCURRENCY: usize = 4;
/// How long a probe counts against [`PROBE_CONCURRENCY`], and how long
/// listing the catalog waits for probes that started less than this ago
/// (so a list right after start or after adding programs is complete
/// unless a program is slow to answer).
const SLOW_PROBE: Duration = Duration::from_secs(2);
/// Quiet time after a file-system event before rescanning, so a copy in
/// progress produces one rescan instead of dozens.
const WATCH_DEBOUNCE: Duration = Duration::from_millis(150);

/// What changed on disk since a program was last probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    modified_ns: i128,
    size: u64,
    inode: u64,
    /// Owner and mode too: a chmod or chown decides whether it may run.
    uid: u32,
    mode: u32,
}

#[derive(Debug, Clone)]
struct ProgramEntry {
    fingerprint: Fingerprint,
    outcome: Result<Arc<DiscoveredWorkflow>, DiscoveryFailure>,
}

/// Counts for one configured directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DirectorySummary {
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
    /// Probes running, by program: what they will answer for and since
    /// when. A program being probed again keeps its previous entry in
    /// `programs` until the answer comes.
    probing: BTreeMap<PathBuf, (Fingerprint, Instant)>,
    by_id: BTreeMap<String, Arc<DiscoveredWorkflow>>,
    failures: Vec<DiscoveryFailure>,
}

/// The set of discovered workflows, kept current by [`Catalog::watch`].
pub(crate) struct Catalog {
    dirs: Vec<PathBuf>,
    probe_timeout: Duration,
    program_env: Arc<ProgramEnv>,
    state: RwLock<CatalogState>,
    /// Serializes rescans; readers never wait on it, and it is not held
    /// while programs are probed.
    rescan_lock: tokio::sync::Mutex<()>,
    probe_slots: Arc<tokio::sync::Semaphore>,
    /// Bumped whenever the catalog changed or a probe ended.
    generation: watch::Sender<u64>,
    watcher: Mutex<Option<notify::RecommendedWatcher>>,
}

impl Catalog {
    /// A catalog over these directories; call [`Catalog::rescan`] to fill
    /// it. Programs are probed with `program_env` as their environment.
    pub(crate) fn new(
        dirs: Vec<PathBuf>,
        probe_timeout: Duration,
        program_env: Arc<ProgramEnv>,
    ) -> Self {
        Catalog {
            dirs,
            probe_timeout,
            program_env,
            state: RwLock::new(CatalogState::default()),
            rescan_lock: tokio::sync::Mutex::new(()),
            probe_slots: Arc::new(tokio::sync::Semaphore::new(PROBE_CONCURRENCY)),
            generation: watch::channel(0).0,
            watcher: Mutex::new(None),
        }
    }

    /// Programs whose probe is still running.
    pub(crate) fn probing(&self) -> Vec<PathBuf> {
        self.read().probing.keys().cloned().collect()
    }

    /// Waits until no probe that started less than `SLOW_PROBE` (2 s) ago is
    /// still running, so a listing right after start (or right after
    /// programs were added) has every program that answers promptly. A
    /// slow program holds this up for that long at most, never for its
    /// whole timeout.
    pub(crate) async fn settled(&self) {
        let limit = SLOW_PROBE.min(self.probe_timeout);
        let mut changes = self.subscribe();
        loop {
            let youngest_age = self
                .read()
                .probing
                .values()
                .map(|(_, started)| started.elapsed())
                .min();
            let Some(age) = youngest_age.filter(|age| *age < limit) else {
                return;
            };
            let _ = tokio::time::timeout(limit - age, changes.changed()).await;
        }
    }

    /// The workflow `id`, waiting while programs are still being probed
    /// (each bounded by the discovery timeout) in case one of them turns
    /// out to declare it. None once every probe has ended without it.
    pub(crate) async fn wait_for(&self, id: &str) -> Option<Arc<DiscoveredWorkflow>> {
        let mut changes = self.subscribe();
        loop {
            {
                let state = self.read();
                if let Some(workflow) = state.by_id.get(id) {
                    return Some(workflow.clone());
                }
                if state.probing.is_empty() {
                    return None;
                }
            }
            if changes.changed().await.is_err() {
                return self.get(id);
            }
        }
    }

    /// Discovered workflows, ordered by id.
    pub(crate) fn workflows(&self) -> Vec<Arc<DiscoveredWorkflow>> {
        self.read().by_id.values().cloned().collect()
    }

    /// One workflow by id.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<DiscoveredWorkflow>> {
        self.read().by_id.get(id).cloned()
    }

    /// Has `metrics` count the programs that fail discovery at each
    /// scrape, holding the catalog weakly.
    pub(crate) fn report_to(self: &Arc<Self>, metrics: &Metrics) {
        let catalog = Arc::downgrade(self);
        metrics.observe(LiveGauge::DiscoveryErrors, move || {
            catalog
                .upgrade()
                .map_or(0.0, |catalog| catalog.read().failures.len() as f64)
        });
    }

    /// Programs that failed discovery, ordered by path.
    pub(crate) fn failures(&self) -> Vec<DiscoveryFailure> {
        self.read().failures.clone()
    }

    /// A receiver that sees a new value whenever the catalog changes.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// Per-directory counts.
    pub(crate) fn directory_summaries(&self) -> Vec<DirectorySummary> {
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

    fn read(&self) -> parking_lot::RwLockReadGuard<'_, CatalogState> {
        self.state.read()
    }

    /// Looks at every directory again and starts a probe for every
    /// program that is new or changed since the last scan. Returns without
    /// waiting for the probes: each one enters its answer into the catalog
    /// when it ends, so a slow program delays nothing but itself.
    pub(crate) async fn rescan(self: &Arc<Self>) {
        let _one_at_a_time = self.rescan_lock.lock().await;
        let found = list_programs(&self.dirs);
        let mut to_probe = Vec::new();
        let changed = {
            let mut state = self.state.write();
            let listed: HashMap<&PathBuf, &Fingerprint> = found
                .iter()
                .map(|(path, fingerprint)| (path, fingerprint))
                .collect();
            let counts_before = (state.programs.len(), state.probing.len());
            state.programs.retain(|path, _| listed.contains_key(path));
            // A probe of an older version of a program is abandoned; its
            // answer will not be entered.
            state
                .probing
                .retain(|path, (fingerprint, _)| listed.get(path) == Some(&&*fingerprint));
            let removed = counts_before != (state.programs.len(), state.probing.len());
            for (path, fingerprint) in &found {
                let current = state.programs.get(path).map(|e| e.fingerprint);
                let being_probed = state.probing.get(path).map(|(f, _)| *f);
                if current != Some(*fingerprint) && being_probed != Some(*fingerprint) {
                    state
                        .probing
                        .insert(path.clone(), (*fingerprint, Instant::now()));
                    to_probe.push((path.clone(), *fingerprint));
                }
            }
            if removed {
                reindex(&mut state);
            }
            removed || !to_probe.is_empty()
        };
        if !changed {
            return;
        }
        for (path, fingerprint) in to_probe {
            let catalog = Arc::downgrade(self);
            let slots = self.probe_slots.clone();
            let timeout = self.probe_timeout;
            let env = self.program_env.clone();
            tokio::spawn(async move {
                let permit = slots.acquire_owned().await;
                let outcome = {
                    let probe = probe(&path, timeout, &env);
                    tokio::pin!(probe);
                    tokio::select! {
                        outcome = &mut probe => outcome,
                        _ = tokio::time::sleep(SLOW_PROBE) => {
                            drop(permit);
                            probe.await
                        }
                    }
                };
                if let Some(catalog) = catalog.upgrade() {
                    catalog.enter(path, fingerprint, outcome);
                }
            });
        }
        self.generation.send_modify(|g| *g += 1);
    }

    /// Enters the answer of one probe, unless the program changed or went
    /// away meanwhile (a newer probe or the removal wins).
    fn enter(
        &self,
        path: PathBuf,
        fingerprint: Fingerprint,
        outcome: Result<Arc<DiscoveredWorkflow>, DiscoveryFailure>,
    ) {
        {
            let mut state = self.state.write();
            if state.probing.get(&path).map(|(f, _)| *f) != Some(fingerprint) {
                return;
            }
            state.probing.remove(&path);
            if let Err(failure) = &outcome {
                tracing::warn!(program = %path.display(), error = %failure.message, "workflow discovery failed");
            }
            state.programs.insert(
                path,
                ProgramEntry {
                    fingerprint,
                    outcome,
                },
            );
            reindex(&mut state);
            tracing::info!(
                workflows = state.by_id.len(),
                failures = state.failures.len(),
                probing = state.probing.len(),
                "workflow catalog updated"
            );
        }
        self.generation.send_modify(|g| *g += 1);
    }

    /// Watches the directories and rescans on every change until the catalog
    /// is dropped. Directories that do not exist are reported, not watched.
    pub(crate) fn watch(self: &Arc<Self>) -> notify::Result<()> {
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
        *self.watcher.lock() = Some(watcher);

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
                    uid: meta.uid(),
                    mode: meta.mode(),
                },
            ));
        }
    }
    programs
}

/// Rebuilds the id index and failure list from the program entries.
fn reindex(state: &mut CatalogState) {
    let (by_id, failures) = index_by_id(&state.programs);
    state.by_id = by_id;
    state.failures = failures;
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

/// Reads a program's answer to `--workflow-metadata`: the metadata, checked,
/// and its inputs as JSON Schema text; or why it is not a workflow. Apart
/// from [`probe`] so the fuzz target (`fuzz/`, through
/// [`crate::fuzz_api`]) reads answers exactly as discovery does.
pub(crate) fn parse_metadata(out: &[u8]) -> Result<(WorkflowMetadata, String), String> {
    let metadata: WorkflowMetadata = serde_json::from_slice(out)
        .map_err(|e| format!("--workflow-metadata did not print valid metadata JSON: {e}"))?;
    metadata
        .check()
        .map_err(|problems| format!("invalid metadata: {problems}"))?;
    let input_json_schema = metadata.input_json_schema().to_string();
    Ok((metadata, input_json_schema))
}

/// Runs `program --workflow-metadata` with a time limit and parses its
/// answer; a program the daemon may not run ([`program_trust`]) is a
/// failure without being started.
async fn probe(
    program: &Path,
    timeout: Duration,
    env: &ProgramEnv,
) -> Result<Arc<DiscoveredWorkflow>, DiscoveryFailure> {
    let started_ms = now_ms();
    let fail = |message: String| DiscoveryFailure {
        program_path: program.to_path_buf(),
        message,
        discovered_at_ms: started_ms,
    };
    program_trust::check(program).map_err(|why| fail(format!("not run: {why}")))?;
    let mut command = tokio::process::Command::new(program);
    env.apply_async(&mut command);
    let mut child = command
        .arg("--workflow-metadata")
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
                crate::process::kill_group(pid as i32, rustix::process::Signal::KILL);
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
    let (metadata, input_json_schema) = parse_metadata(&out).map_err(fail)?;
    Ok(Arc::new(DiscoveredWorkflow {
        metadata,
        input_json_schema,
        program_path: program.to_path_buf(),
        discovered_at_ms: started_ms,
    }))
}
