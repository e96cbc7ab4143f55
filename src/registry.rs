//! This daemon among the daemons on its history (GetStatus's `daemons`,
//! DrainDaemon): it reports itself every [`HEARTBEAT`] on a PostgreSQL
//! connection of its own (`store/daemon_registry.rs`), standing by or
//! writing, reads there whether it is to drain, and removes its row when
//! it stops. With SQLite it is the only daemon, and nothing is stored.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::engine::Engine;
use crate::store::daemon_registry::{DaemonRow, RegistryConn};
use crate::store::{Database, StoreError};

/// How often a daemon reports.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(2);

/// A daemon that has not reported for this long is not alive.
pub(crate) const ALIVE_WITHIN_MS: i64 = 10_000;

/// `DaemonRow::role` values.
pub(crate) const WRITER: &str = "writer";
pub(crate) const STANDBY: &str = "standby";

/// What a drain found.
pub(crate) enum DrainOutcome {
    /// The daemon, marked to drain.
    Drained(DaemonRow),
    /// No daemon with that id on the history.
    Unknown,
    /// The daemon has not reported for a while: it is not running, and
    /// there is nothing to drain.
    Silent(DaemonRow),
}

/// This daemon's entry, and its connection to the others'.
pub(crate) struct Registry {
    /// The PostgreSQL history's URL; None with SQLite.
    postgres: Option<String>,
    me: Mutex<DaemonRow>,
    /// None until the first report connects (and after a lost connection);
    /// always None with SQLite.
    conn: Mutex<Option<RegistryConn>>,
    /// The other daemons as the last report read them: GetStatus shows
    /// these, so it never waits on the database.
    others: Mutex<Vec<DaemonRow>>,
    /// Set once the history is open: its running count is reported, and a
    /// drain is its to do.
    engine: OnceLock<Arc<Engine>>,
    /// The reports have started.
    reporting: AtomicBool,
    /// The daemon stops: no report writes its row again.
    stopping: AtomicBool,
    /// When a report last reached the history, and whether it found a
    /// standby alive then (`fence.rs`).
    last_report: Mutex<Option<(Instant, bool)>>,
    /// A drain was asked for: a standby stops waiting (and exits).
    drain_asked: AtomicBool,
    drain_notify: Notify,
}

impl Registry {
    /// This daemon, about to use `database` with `slots` worker places,
    /// standing by first when `standby`.
    pub(crate) fn new(database: Database, slots: usize, standby: bool) -> Arc<Registry> {
        let now = crate::clock::now_ms();
        Arc::new(Registry {
            postgres: match database {
                Database::Postgres(url) => Some(url),
                Database::Sqlite(_) => None,
            },
            me: Mutex::new(DaemonRow {
                id: uuid::Uuid::now_v7().to_string(),
                host: crate::host::name(),
                pid: std::process::id(),
                role: if standby { STANDBY } else { WRITER }.to_string(),
                slots: u32::try_from(slots).unwrap_or(u32::MAX),
                running: 0,
                started_ms: now,
                heartbeat_ms: now,
                silent_ms: 0,
                draining: false,
            }),
            conn: Mutex::new(None),
            others: Mutex::new(Vec::new()),
            engine: OnceLock::new(),
            reporting: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            last_report: Mutex::new(None),
            drain_asked: AtomicBool::new(false),
            drain_notify: Notify::new(),
        })
    }

    /// This daemon's id.
    pub(crate) fn id(&self) -> String {
        self.me.lock().id.clone()
    }

    /// The history is open and `engine` runs it: this daemon writes now,
    /// and fences itself if cut off from it while a standby waits.
    pub(crate) fn writing(self: &Arc<Self>, engine: Arc<Engine>) {
        self.me.lock().role = WRITER.to_string();
        let _ = self.engine.set(engine.clone());
        if self.drain_asked.load(Ordering::SeqCst) {
            engine.drain();
        }
        if self.postgres.is_some() {
            // Opening the history just reached the server: the silence the
            // fence counts starts now, not at the standby's last report
            // (which an outage may have held back for longer than it).
            self.server_reached_now();
            let registry = self.clone();
            crate::fence::watch(move || registry.silent_with_standby(), engine);
        }
    }

    /// The server was reached just now, otherwise than by a report: the
    /// silence the fence counts starts again (what the last report found
    /// of the standbys stands).
    fn server_reached_now(&self) {
        if let Some((at, _)) = self.last_report.lock().as_mut() {
            *at = Instant::now();
        }
    }

    /// How long since a report last reached the history, when the last
    /// one that did found a standby alive; None otherwise (no standby to
    /// take over, or no report yet).
    pub(crate) fn silent_with_standby(&self) -> Option<Duration> {
        match *self.last_report.lock() {
            Some((at, true)) => Some(at.elapsed()),
            _ => None,
        }
    }

    /// Reports every [`HEARTBEAT`] until the process ends (PostgreSQL
    /// only); the first report at once. Once: a standby's reports go on
    /// when it takes over.
    pub(crate) fn start_reporting(self: &Arc<Self>) {
        if self.postgres.is_none() || self.reporting.swap(true, Ordering::SeqCst) {
            return;
        }
        let registry = self.clone();
        tokio::spawn(async move {
            let mut beat = tokio::time::interval(HEARTBEAT);
            beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_failure = None;
            loop {
                beat.tick().await;
                let reporting = registry.clone();
                let reported = tokio::task::spawn_blocking(move || reporting.report()).await;
                let failure = match reported {
                    Ok(Ok(drain)) => {
                        if drain {
                            registry.drain();
                        }
                        None
                    }
                    Ok(Err(e)) => Some(e.to_string()),
                    Err(e) => Some(e.to_string()),
                };
                // Said once per new reason (the server out of reach, or a
                // writer of an older version that has not made the table).
                if let Some(failure) = &failure {
                    if last_failure.as_ref() != Some(failure) {
                        tracing::warn!(error = %failure, "cannot report this daemon in the history's daemon list; trying again");
                    }
                }
                last_failure = failure;
            }
        });
    }

    /// Writes this daemon's row and reads the others'; returns whether
    /// this one is marked to drain.
    fn report(&self) -> Result<bool, StoreError> {
        let row = {
            let mut me = self.me.lock();
            me.heartbeat_ms = crate::clock::now_ms();
            if let Some(engine) = self.engine.get() {
                me.running = u32::try_from(engine.running_now()).unwrap_or(u32::MAX);
            }
            me.clone()
        };
        let Some(url) = &self.postgres else {
            return Ok(false);
        };
        let reported = self.with_conn(url, |conn| {
            // Checked under the connection's lock, which remove() takes
            // after setting it: a stopped daemon's row stays removed.
            if self.stopping.load(Ordering::SeqCst) {
                return Ok((false, Vec::new()));
            }
            Ok((conn.report(&row)?, conn.list()?))
        });
        let (draining, listed) = match reported {
            Ok(reported) => reported,
            Err(e) => {
                // The server answered, if only to refuse (too many
                // connections, a statement error): it is reachable, which
                // is what the fence asks.
                if server_answered(&e) {
                    self.server_reached_now();
                }
                return Err(e);
            }
        };
        let standby_alive = listed
            .iter()
            .any(|d| d.id != row.id && d.role == STANDBY && d.silent_ms <= ALIVE_WITHIN_MS);
        *self.last_report.lock() = Some((Instant::now(), standby_alive));
        *self.others.lock() = listed.into_iter().filter(|d| d.id != row.id).collect();
        Ok(draining)
    }

    /// Runs `work` on the registry's connection, connecting first when
    /// there is none (or it was lost). Blocking.
    fn with_conn<T>(
        &self,
        url: &str,
        work: impl FnOnce(&RegistryConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.lock();
        let conn = match &mut *conn {
            Some(open) if !open.is_lost() => open,
            slot => slot.insert(RegistryConn::connect(url)?),
        };
        work(conn)
    }

    /// Drains this daemon: a writer starts nothing more and stops once
    /// what runs has ended; a standby stops waiting.
    pub(crate) fn drain(&self) {
        self.me.lock().draining = true;
        self.drain_asked.store(true, Ordering::SeqCst);
        self.drain_notify.notify_waiters();
        if let Some(engine) = self.engine.get() {
            engine.drain();
        }
    }

    /// Resolves once a drain is asked for (a standby's way out).
    pub(crate) async fn drain_asked(&self) {
        loop {
            let asked = self.drain_notify.notified();
            if self.drain_asked.load(Ordering::SeqCst) {
                return;
            }
            asked.await;
        }
    }

    /// Marks the daemon `id` to drain: this one at once, another at its
    /// next report. Blocking.
    pub(crate) fn drain_daemon(&self, id: &str) -> Result<DrainOutcome, StoreError> {
        if id == self.id() {
            self.drain();
            // Stored too, so the other daemons' lists say so before the
            // next report (which stores it anyway).
            if let Some(url) = &self.postgres {
                let _ = self.with_conn(url, |conn| conn.mark_draining(&self.id()));
            }
            return Ok(DrainOutcome::Drained(self.me_now()));
        }
        let Some(url) = &self.postgres else {
            return Ok(DrainOutcome::Unknown);
        };
        let listed = self.with_conn(url, |conn| conn.list())?;
        let Some(mut row) = listed.into_iter().find(|row| row.id == id) else {
            return Ok(DrainOutcome::Unknown);
        };
        if row.silent_ms > ALIVE_WITHIN_MS {
            return Ok(DrainOutcome::Silent(row));
        }
        if !self.with_conn(url, |conn| conn.mark_draining(id))? {
            return Ok(DrainOutcome::Unknown);
        }
        row.draining = true;
        Ok(DrainOutcome::Drained(row))
    }

    /// Every daemon on the history, this one first (as it is now), the
    /// others as this one's last report read them (at most a heartbeat
    /// old; none before the first).
    pub(crate) fn daemons(&self) -> Vec<DaemonRow> {
        std::iter::once(self.me_now())
            .chain(self.others.lock().iter().cloned())
            .collect()
    }

    /// This daemon as it is now: answering, so alive whatever its last
    /// report, with its running count of now.
    fn me_now(&self) -> DaemonRow {
        let mut me = self.me.lock().clone();
        me.heartbeat_ms = crate::clock::now_ms();
        me.silent_ms = 0;
        if let Some(engine) = self.engine.get() {
            me.running = u32::try_from(engine.running_now()).unwrap_or(u32::MAX);
        }
        me
    }

    /// Removes this daemon's row: it stops. Blocking; best effort (a row
    /// left is forgotten after an hour).
    pub(crate) fn remove(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let Some(url) = &self.postgres else {
            return;
        };
        if let Err(e) = self.with_conn(url, |conn| conn.remove(&self.id())) {
            tracing::debug!(error = %e, "cannot remove this daemon from the history's daemon list");
        }
    }
}

/// Whether `error` is the server's answer (an SQL error, a refused login),
/// not a connection that failed or hangs.
fn server_answered(error: &StoreError) -> bool {
    match error {
        StoreError::Postgres(e) | StoreError::Connect { source: e, .. } => {
            e.as_db_error().is_some()
        }
        _ => false,
    }
}
