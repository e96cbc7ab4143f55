//! Drop folders: hyper2kvm's 3-directory pattern on top of the engine.
//!
//! Files dropped into `DIR/to_be_processed/` are taken once completely
//! written ([`pickup`]), renamed into `processing/`, turned into VM
//! pipelines (manifest mode: a pipeline manifest; disk mode: a disk image or
//! a job config, see [`crate::manifest::disk`]) and run as ordinary
//! executions of `vm_pipeline`. When every execution of a file has finished
//! the file moves to `processed/YYYY-MM-DD/` with a `.report.json` (manifest)
//! or `.meta.json` (disk), or to `failed/YYYY-MM-DD/` with an `.error.json`
//! ([`job`], [`layout`]).
//!
//! Each folder has one task: it reconciles what a previous run left in
//! `processing/` (via the ledger in the history, `drop_files`), then watches
//! the top level of `to_be_processed/` with notify, plus a scan at start and
//! every few seconds (events can be lost when the kernel queue overflows).
//! At most [`FILES_IN_FLIGHT`] files per folder are worked on at once; the
//! rest wait in `to_be_processed/`, where GetStatus counts them.

mod job;
pub(crate) mod layout;
pub(crate) mod pickup;

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, EventKindMask, RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch, Semaphore};

use crate::clock::local_midnight_ms;
use crate::manifest::ManifestRunner;
use crate::metrics::Metrics;
use crate::store::StoreWriter;
use layout::Layout;
use pickup::{Candidates, Seen};

/// Files of one folder worked on at once.
pub(crate) const FILES_IN_FLIGHT: usize = 64;

/// How often ready candidates are checked.
const TICK: Duration = Duration::from_millis(25);

/// How often `to_be_processed/` is listed besides the events.
const RESCAN_EVERY: Duration = Duration::from_secs(2);

/// How long a file whose move failed waits before the next try.
const RETRY_TAKE_AFTER: Duration = Duration::from_secs(30);

/// What a drop folder takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropMode {
    /// Pipeline manifests.
    Manifest,
    /// Disk images and job configs.
    Disk,
}

impl DropMode {
    /// `manifest` or `disk`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DropMode::Manifest => "manifest",
            DropMode::Disk => "disk",
        }
    }
}

/// A configured drop folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropFolderConfig {
    /// The folder (its four subdirectories are created).
    pub path: PathBuf,
    /// What it takes.
    pub mode: DropMode,
}

/// Why the drop folders could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatcherError {
    /// A folder could not be created or resolved.
    #[error("cannot prepare drop folder {path}: {source}")]
    Prepare {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A folder's counts, for GetStatus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DropFolderStatus {
    /// The folder.
    pub(crate) path: PathBuf,
    /// Its mode.
    pub(crate) mode: DropMode,
    /// Files in `to_be_processed/`.
    pub(crate) files_waiting: u64,
    /// Files being processed.
    pub(crate) files_processing: u64,
    /// Moved to `processed/` since local midnight.
    pub(crate) processed_today: u64,
    /// Moved to `failed/` since local midnight.
    pub(crate) failed_today: u64,
    /// Whether notify watches it.
    pub(crate) watching: bool,
    /// The namespace its executions go into: GetStatus shows the folder
    /// to that namespace's callers.
    pub(crate) namespace: String,
}

/// One folder and what its jobs share.
struct Folder {
    layout: Layout,
    /// The namespace its executions go into (config `namespaces`).
    namespace: String,
    mode: DropMode,
    runner: Arc<ManifestRunner>,
    writer: StoreWriter,
    /// Counts the files taken and their outcomes.
    metrics: Metrics,
    stop: watch::Receiver<bool>,
    watching: AtomicBool,
    slots: Arc<Semaphore>,
}

impl Folder {
    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Counts a file of this folder reaching `outcome`.
    fn count(&self, outcome: &'static str) {
        self.metrics.drop_file(self.mode.as_str(), outcome);
    }
}

/// The running drop folders.
pub(crate) struct DropFolders {
    folders: Vec<Arc<Folder>>,
    stop: watch::Sender<bool>,
}

impl DropFolders {
    /// Creates the folders' directories and starts watching them. Call after
    /// the engine recovered.
    pub(crate) fn start(
        configs: &[DropFolderConfig],
        runner: Arc<ManifestRunner>,
        writer: StoreWriter,
        metrics: Metrics,
    ) -> Result<Arc<Self>, WatcherError> {
        let (stop, stop_rx) = watch::channel(false);
        let mut folders = Vec::new();
        for config in configs {
            let prepare = |source| WatcherError::Prepare {
                path: config.path.clone(),
                source,
            };
            std::fs::create_dir_all(&config.path).map_err(prepare)?;
            // Canonical, so /proc fd links and symlink targets compare.
            let root = std::fs::canonicalize(&config.path).map_err(prepare)?;
            let layout = Layout::new(&root);
            layout.create().map_err(prepare)?;
            folders.push(Arc::new(Folder {
                layout,
                namespace: runner.drop_folder_namespace(&config.path),
                mode: config.mode,
                runner: runner.clone(),
                writer: writer.clone(),
                metrics: metrics.clone(),
                stop: stop_rx.clone(),
                watching: AtomicBool::new(false),
                slots: Arc::new(Semaphore::new(FILES_IN_FLIGHT)),
            }));
        }
        for folder in &folders {
            tokio::spawn(watch_folder(folder.clone()));
        }
        Ok(Arc::new(DropFolders { folders, stop }))
    }

    /// Stops taking files. Jobs in flight stop at their next step and are
    /// resumed by the next start.
    pub(crate) fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// The folders' counts.
    pub(crate) async fn statuses(&self) -> Vec<DropFolderStatus> {
        let mut statuses = Vec::new();
        let since = local_midnight_ms();
        for folder in &self.folders {
            let reader = folder.runner.engine().reader().clone();
            let root = folder.layout.root.clone();
            let incoming = folder.layout.incoming.clone();
            let counted = tokio::task::spawn_blocking(move || {
                let waiting = layout::waiting(&incoming).len() as u64;
                reader
                    .drop_file_counts(&root, since)
                    .map(|counts| (waiting, counts))
            })
            .await;
            let (waiting, counts) = match counted {
                Ok(Ok(counted)) => counted,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cannot count drop-folder files");
                    (0, Default::default())
                }
                Err(_) => (0, Default::default()),
            };
            statuses.push(DropFolderStatus {
                path: folder.layout.root.clone(),
                mode: folder.mode,
                files_waiting: waiting,
                files_processing: counts.processing,
                processed_today: counts.processed_since,
                failed_today: counts.failed_since,
                watching: folder.watching.load(Ordering::Relaxed),
                namespace: folder.namespace.clone(),
            });
        }
        statuses
    }
}

/// Picks up where a previous run stopped: rows still processing are
/// resumed, files in `processing/` without a row are started.
async fn reconcile(folder: &Arc<Folder>) {
    let reader = folder.runner.engine().reader().clone();
    let root = folder.layout.root.clone();
    let rows = match tokio::task::spawn_blocking(move || reader.drop_files_processing(&root)).await
    {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => {
            tracing::error!(folder = %folder.layout.root.display(), error = %e, "cannot read the drop-folder ledger; files in processing/ wait for the next start");
            return;
        }
        Err(_) => return,
    };
    let known: HashSet<PathBuf> = rows.iter().map(|r| r.processing_path.clone()).collect();
    for row in rows {
        tokio::spawn(job::resume(folder.clone(), row));
    }
    let Ok(entries) = std::fs::read_dir(&folder.layout.processing) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let path = entry.path();
        if layout::ignored(&name) || known.contains(&path) {
            continue;
        }
        tracing::info!(file = %path.display(), "found a file in processing/ that was never started");
        tokio::spawn(job::run_new(folder.clone(), path, name, None));
    }
}

/// The folder's task: reconcile, then watch and take files until stopped.
async fn watch_folder(folder: Arc<Folder>) {
    reconcile(&folder).await;
    let (tx, mut events) = mpsc::unbounded_channel();
    // What says a file arrived or changed, not the opens and reads of the
    // daemon taking files, which would only wake the loop for nothing.
    let config = notify::Config::default()
        .with_event_kinds(EventKindMask::CORE | EventKindMask::ACCESS_CLOSE);
    let watcher = notify::RecommendedWatcher::new(
        move |event| {
            let _ = tx.send(event);
        },
        config,
    )
    .and_then(|mut w| {
        w.watch(&folder.layout.incoming, RecursiveMode::NonRecursive)
            .map(|()| w)
    });
    let _watcher = match watcher {
        Ok(w) => {
            folder.watching.store(true, Ordering::Relaxed);
            Some(w)
        }
        Err(e) => {
            tracing::warn!(folder = %folder.layout.incoming.display(), error = %e, "cannot watch the drop folder; it is only scanned every few seconds");
            None
        }
    };
    tracing::info!(folder = %folder.layout.root.display(), mode = folder.mode.as_str(), "watching drop folder");
    let mut candidates = Candidates::default();
    rescan(&folder.layout.incoming, &mut candidates);
    let mut last_rescan = Instant::now();
    let mut last_check = Instant::now() - TICK;
    let mut stop = folder.stop.clone();
    let mut warned_missing_workflow: Option<Instant> = None;
    loop {
        let wake = if candidates.is_empty() {
            RESCAN_EVERY.saturating_sub(last_rescan.elapsed())
        } else {
            TICK.saturating_sub(last_check.elapsed())
        };
        tokio::select! {
            event = events.recv() => {
                let mut next = event;
                while let Some(event) = next {
                    if apply_event(&folder.layout.incoming, event, &mut candidates) {
                        rescan(&folder.layout.incoming, &mut candidates);
                    }
                    next = events.try_recv().ok();
                }
            }
            _ = tokio::time::sleep(wake) => {}
            _ = stop.changed() => {}
        }
        if folder.stopping() {
            break;
        }
        if last_rescan.elapsed() >= RESCAN_EVERY {
            rescan(&folder.layout.incoming, &mut candidates);
            last_rescan = Instant::now();
        }
        if !candidates.is_empty() && last_check.elapsed() >= TICK {
            last_check = Instant::now();
            if let Err(e) = folder.runner.ensure_workflow() {
                // Files wait in to_be_processed/ until the workflow is back.
                if warned_missing_workflow.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
                    tracing::warn!(folder = %folder.layout.root.display(), error = %e, "drop folder is waiting");
                    warned_missing_workflow = Some(Instant::now());
                }
                continue;
            }
            take_ready(&folder, &mut candidates).await;
        }
    }
}

/// Lists `to_be_processed/` into the candidates.
fn rescan(incoming: &Path, candidates: &mut Candidates) {
    let listed: HashSet<OsString> = layout::waiting(incoming).into_iter().collect();
    candidates.retain_listed(&listed);
    for name in listed {
        candidates.found(name);
    }
}

/// Applies one notify event; true when a rescan is needed (lost events).
fn apply_event(
    incoming: &Path,
    event: notify::Result<notify::Event>,
    candidates: &mut Candidates,
) -> bool {
    let event = match event {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(error = %e, "drop-folder watcher error; rescanning");
            return true;
        }
    };
    if event.need_rescan() {
        return true;
    }
    let name_of = |path: &Path| {
        (path.parent() == Some(incoming))
            .then(|| path.file_name().map(|n| n.to_os_string()))
            .flatten()
            .filter(|n| !layout::ignored(n))
    };
    let mut see = |path: Option<&PathBuf>, seen: Seen| {
        if let Some(name) = path.and_then(|p| name_of(p)) {
            candidates.saw(name, seen);
        }
    };
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
            see(event.paths.first(), Seen::Closed)
        }
        EventKind::Access(_) => {}
        EventKind::Create(_) => see(event.paths.first(), Seen::Changed),
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
            see(event.paths.first(), Seen::Closed)
        }
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) => {
            see(event.paths.first(), Seen::Gone)
        }
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            see(event.paths.first(), Seen::Gone);
            see(event.paths.get(1), Seen::Closed);
        }
        EventKind::Modify(_) | EventKind::Any | EventKind::Other => {
            for path in &event.paths {
                see(Some(path), Seen::Changed);
            }
        }
        EventKind::Remove(_) => see(event.paths.first(), Seen::Gone),
    }
    false
}

/// Takes the quiet candidates no process writes to, as far as there are
/// free slots.
async fn take_ready(folder: &Arc<Folder>, candidates: &mut Candidates) {
    let free = folder.slots.available_permits();
    if free == 0 {
        return;
    }
    let quiet = candidates.quiet(&folder.layout.incoming);
    let chosen: Vec<OsString> = quiet.into_iter().take(free).collect();
    if chosen.is_empty() {
        return;
    }
    let paths: HashSet<PathBuf> = chosen
        .iter()
        .map(|n| folder.layout.incoming.join(n))
        .collect();
    let open = tokio::task::spawn_blocking(move || pickup::open_for_writing(&paths))
        .await
        .unwrap_or_default();
    for name in chosen {
        let path = folder.layout.incoming.join(&name);
        if open.contains(&path) {
            candidates.still_written(&name);
            continue;
        }
        let Ok(permit) = folder.slots.clone().try_acquire_owned() else {
            break;
        };
        let destination =
            layout::free_path(&folder.layout.processing, &name, chrono::Local::now(), &[]);
        match std::fs::rename(&path, &destination) {
            Ok(()) => {
                candidates.remove(&name);
                tokio::spawn(job::run_new(
                    folder.clone(),
                    destination,
                    name,
                    Some(permit),
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => candidates.remove(&name),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot move a dropped file to processing/; retrying later");
                candidates.retry_later(&name, RETRY_TAKE_AFTER);
            }
        }
    }
}
