//! The single writer of the history: a thread that drains a bounded queue of
//! write operations and commits them in groups (group commit).
//!
//! The queue is bounded so a program that prints faster than the disk can
//! take is slowed through its own pipe instead of the daemon's memory
//! growing; nothing is dropped.
//!
//! The same holds when the disk is full or failing, or the PostgreSQL
//! server cannot be reached (the writer connects again): a group that
//! fails for such a reason is kept and tried again until it commits, while the queue
//! fills and holds everything else back (GetStatus says why). Only at
//! shutdown does the writer give up on it ([`StoreWriter::stop_retrying`]).
//! A group that fails for any other reason is committed one operation at a
//! time, so only the operation that cannot be written is lost, loudly.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::ErrorCode;
use tokio::sync::{mpsc, oneshot, watch};

use super::connect::{self, open_claimed, Opened};
use super::db::{Conn, Database};
use super::hub::LogHub;
use super::{NewExecution, StoreError};
use crate::events::LogEvent;
use crate::metrics::{LiveGauge, Metrics};
use after_commit::{after_commit, AfterCommit};
use deferred::Deferred;
use linger::{linger_after, sources, LINGER};
pub(crate) use op::WriteOp;
use rowids::RowidStash;
use transaction::commit_group;

mod after_commit;
mod deferred;
mod linger;
mod op;
mod rowids;
#[cfg(test)]
mod tests;
mod transaction;

/// Operations queued before the writer blocks its senders. An append carries
/// up to a pump batch of events, so this bounds memory to a few hundred
/// thousand events however fast programs print.
const QUEUE_CAPACITY: usize = 256;
/// Most events committed in one transaction; bounds how long a subscriber
/// waits for a line under a flood.
const MAX_GROUP_EVENTS: usize = 8 * 1024;
/// First wait before a group that failed for a storage reason (a full disk)
/// is tried again; it doubles up to [`RETRY_MAX_WAIT`].
const RETRY_FIRST_WAIT: Duration = Duration::from_millis(20);
/// Longest wait between tries, so writing resumes soon after space is freed.
const RETRY_MAX_WAIT: Duration = Duration::from_millis(500);
/// How often a storage failure that goes on is logged again.
const REPORT_AGAIN_AFTER: Duration = Duration::from_secs(30);

/// The existing executions `ops` write to, each once.
fn executions_in(ops: &[WriteOp]) -> Vec<i64> {
    let mut executions: Vec<i64> = ops.iter().filter_map(WriteOp::execution).collect();
    executions.sort_unstable();
    executions.dedup();
    executions
}

/// Why the history cannot be written right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WriteFailure {
    /// SQLite's error, e.g. "database or disk is full".
    pub(crate) error: String,
    /// When writes started failing (ms since the epoch).
    pub(crate) since_ms: i64,
}

/// What the writer thread and its handles share besides the queue.
#[derive(Debug, Default)]
struct WriterHealth {
    /// Set while groups fail for a storage reason and are being retried;
    /// a watch, so a caller can stop waiting for a commit that will not
    /// come soon ([`StoreWriter::failing`]).
    failure: watch::Sender<Option<WriteFailure>>,
    /// Set at shutdown: a failing group is given up instead of retried.
    stop_retrying: AtomicBool,
    /// When the writer began committing its current group (ms since the
    /// epoch), 0 while it waits for work: one store per group, read by the
    /// metrics as the age of the oldest write not yet committed.
    committing_since_ms: AtomicI64,
    /// Groups committed so far, counted before their replies go out: an
    /// answer read from the history after N commits stays current until
    /// this moves ([`StoreWriter::commits`]).
    commits: AtomicU64,
}

/// Room for one write in the writer's queue, from [`StoreWriter::reserve`].
pub(crate) struct WriteSlot(mpsc::OwnedPermit<WriteOp>);

impl WriteSlot {
    /// Queues `op` in the reserved place, without waiting.
    pub(crate) fn send(self, op: WriteOp) {
        self.0.send(op);
    }
}

/// Handle for queueing writes.
#[derive(Clone)]
pub(crate) struct StoreWriter {
    tx: mpsc::Sender<WriteOp>,
    health: Arc<WriterHealth>,
    deferred: Arc<Deferred>,
}

impl StoreWriter {
    /// Opens (creating and migrating) the database and starts the writer
    /// thread. Returns the handle and the thread, which ends once every
    /// handle is dropped and the queue is drained.
    pub(crate) fn start(
        database: &Database,
        hub: Arc<LogHub>,
    ) -> Result<(Self, std::thread::JoinHandle<()>), StoreError> {
        let Opened { conn, claim } = open_claimed(database)?;
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let health = Arc::new(WriterHealth::default());
        let thread_health = health.clone();
        let deferred = Arc::new(Deferred::default());
        let thread_deferred = deferred.clone();
        let thread_database = database.clone();
        let thread = std::thread::Builder::new()
            .name("history-writer".into())
            .spawn(move || {
                let writer = Writer {
                    claim,
                    conn,
                    database: thread_database,
                    health: &thread_health,
                    rowids: RowidStash::default(),
                };
                run(writer, rx, hub, &thread_deferred)
            })
            .map_err(|source| StoreError::Open {
                path: database.describe().into(),
                source,
            })?;
        let writer = StoreWriter {
            tx,
            health,
            deferred,
        };
        Ok((writer, thread))
    }

    /// Has `metrics` read the writer's queue, how long its current commit
    /// has taken, and whether the history can be written, at each scrape;
    /// the readings hold the writer weakly, so they keep no channel open.
    pub(crate) fn report_to(&self, metrics: &Metrics) {
        let tx = self.tx.downgrade();
        metrics.observe(LiveGauge::HistoryWriteQueue, move || {
            tx.upgrade()
                .map_or(0.0, |tx| (tx.max_capacity() - tx.capacity()) as f64)
        });
        let health = Arc::downgrade(&self.health);
        metrics.observe(LiveGauge::HistoryCommitSeconds, move || {
            let since = health
                .upgrade()
                .map_or(0, |h| h.committing_since_ms.load(Ordering::Relaxed));
            if since == 0 {
                return 0.0;
            }
            (crate::clock::now_ms() - since).max(0) as f64 / 1000.0
        });
        let health = Arc::downgrade(&self.health);
        metrics.observe(LiveGauge::HistoryWriteFailing, move || {
            let failing = health
                .upgrade()
                .is_some_and(|h| h.failure.borrow().is_some());
            if failing {
                1.0
            } else {
                0.0
            }
        });
    }

    /// How many groups have been committed. Counted after each commit and
    /// before anyone is told of it, so a caller that saw a write complete
    /// (or read this count before reading the history) sees it move.
    pub(crate) fn commits(&self) -> u64 {
        self.health.commits.load(Ordering::Acquire)
    }

    /// Set while the history cannot be written and writes wait.
    pub(crate) fn write_failure(&self) -> Option<WriteFailure> {
        self.health.failure.borrow().clone()
    }

    /// Returns once the history cannot be written (at once if that is so
    /// now).
    pub(crate) async fn failing(&self) {
        let mut failure = self.health.failure.subscribe();
        // The sender lives in `health`, as long as this handle.
        let _ = failure.wait_for(Option::is_some).await;
    }

    /// From now on a group that cannot be written is given up (its
    /// operations lost, logged) instead of retried; for a shutdown that
    /// must end although the disk is full.
    pub(crate) fn stop_retrying(&self) {
        self.health.stop_retrying.store(true, Ordering::Relaxed);
    }

    /// Waits for room in the queue and reserves it. Sending through the
    /// slot never waits, so a caller can wait for room before it takes a
    /// lock that others need (an execution's log, which readers and cancel
    /// take too) instead of holding that lock while the history is stuck.
    pub(crate) async fn reserve(&self) -> Result<WriteSlot, StoreError> {
        self.tx
            .clone()
            .reserve_owned()
            .await
            .map(WriteSlot)
            .map_err(|_| StoreError::WriterStopped)
    }

    /// Reserves room in the queue if there is some now; `Ok(None)` when the
    /// queue is full.
    pub(crate) fn try_reserve(&self) -> Result<Option<WriteSlot>, StoreError> {
        match self.tx.clone().try_reserve_owned() {
            Ok(permit) => Ok(Some(WriteSlot(permit))),
            Err(mpsc::error::TrySendError::Full(_)) => Ok(None),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(StoreError::WriterStopped),
        }
    }

    /// Queues a write, waiting while the queue is full.
    pub(crate) async fn send(&self, op: WriteOp) -> Result<(), StoreError> {
        self.tx
            .send(op)
            .await
            .map_err(|_| StoreError::WriterStopped)
    }

    /// Stores a new execution and returns its row id once committed.
    pub(crate) async fn create_execution(
        &self,
        execution: NewExecution,
        first_event: LogEvent,
    ) -> Result<i64, StoreError> {
        self.ask(|reply| WriteOp::CreateExecution {
            execution: Box::new(execution),
            first_event,
            reply,
        })
        .await?
    }

    /// Commits what is queued and stops the writer thread. Writes queued
    /// afterwards fail with [`StoreError::WriterStopped`].
    pub(crate) async fn close(&self) -> Result<(), StoreError> {
        self.ask(|reply| WriteOp::Close { reply }).await
    }

    /// Applies a change to the drop-folder ledger and returns once it is
    /// committed.
    pub(crate) async fn drop_file(&self, write: super::DropFileWrite) -> Result<(), StoreError> {
        self.ask(|reply| WriteOp::DropFile {
            write: Box::new(write),
            reply,
        })
        .await?
    }

    /// Changes the schedules (or records a run) and returns once it is
    /// committed.
    pub(crate) async fn schedule(&self, write: super::ScheduleWrite) -> Result<(), StoreError> {
        self.ask(|reply| WriteOp::Schedule {
            write: Box::new(write),
            reply,
        })
        .await?
    }

    /// Changes the webhooks or their deliveries and returns once it is
    /// committed.
    pub(crate) async fn webhook(&self, write: super::WebhookWrite) -> Result<(), StoreError> {
        self.ask(|reply| WriteOp::Webhook {
            write: Box::new(write),
            reply,
        })
        .await?
    }

    /// Appends `event` to the audit log with the writer's next commit
    /// (within [`deferred::FLUSH_AFTER`]), without waiting for it.
    pub(crate) fn audit_later(&self, event: super::AuditRecord) {
        let (reply, _) = oneshot::channel();
        let event = Box::new(event);
        self.deferred
            .hold(WriteOp::Audit { event, reply }, &self.tx);
    }

    /// Creates or revokes an API token and returns once it is committed.
    pub(crate) async fn token(&self, write: super::TokenWrite) -> Result<(), StoreError> {
        let write = Box::new(write);
        self.ask(|reply| WriteOp::Token { write, reply }).await?
    }

    /// Marks the attempt with row id `execution` settled (no attempt
    /// follows it) and returns once it is committed.
    pub(crate) async fn settle_retries(&self, execution: i64) -> Result<(), StoreError> {
        self.ask(|reply| WriteOp::SettleRetries { execution, reply })
            .await?
    }

    /// Deletes one bounded step of the history that ended before
    /// `ended_before_ms`; `more` in the result says whether to go on.
    pub(crate) async fn prune_step(
        &self,
        ended_before_ms: i64,
    ) -> Result<super::PruneStep, StoreError> {
        self.ask(|reply| WriteOp::Prune {
            ended_before_ms,
            reply,
        })
        .await?
    }

    /// Waits until everything queued so far is committed.
    pub(crate) async fn barrier(&self) -> Result<(), StoreError> {
        self.ask(|reply| WriteOp::Barrier { reply }).await
    }

    /// Queues the write `op` makes with a reply channel and waits for the
    /// writer's reply.
    async fn ask<T>(
        &self,
        op: impl FnOnce(oneshot::Sender<T>) -> WriteOp,
    ) -> Result<T, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.send(op(reply)).await?;
        rx.await.map_err(|_| StoreError::WriterStopped)
    }
}

/// The writer thread's connection and what it needs to keep it.
struct Writer<'h> {
    conn: Conn,
    /// The number of this daemon's last claim on a PostgreSQL history, to
    /// tell a standby's takeover from a lingering session once `conn` is
    /// lost (writer_claim.rs).
    claim: Option<i64>,
    /// Where to connect again when a PostgreSQL connection is lost.
    database: Database,
    health: &'h WriterHealth,
    /// Execution row ids taken ahead on PostgreSQL.
    rowids: RowidStash,
}

fn run(
    mut writer: Writer<'_>,
    mut rx: mpsc::Receiver<WriteOp>,
    hub: Arc<LogHub>,
    deferred: &Deferred,
) {
    let health = writer.health;
    let mut group = Vec::new();
    let mut closing = false;
    let mut close_reply = None;
    let mut lingering = false;
    while !closing {
        if lingering {
            std::thread::sleep(LINGER);
        }
        let Some(first) = rx.blocking_recv() else {
            break;
        };
        closing = matches!(first, WriteOp::Close { .. });
        let mut events = first.event_count();
        group.push(first);
        while !closing && events < MAX_GROUP_EVENTS {
            match rx.try_recv() {
                Ok(op) => {
                    let close = matches!(op, WriteOp::Close { .. });
                    events += op.event_count();
                    group.push(op);
                    if close {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        deferred.join(&mut group);
        let started = Instant::now();
        let count = group.len();
        lingering = linger_after(sources(&group), events, lingering);
        health
            .committing_since_ms
            .store(crate::clock::now_ms(), Ordering::Relaxed);
        let after = commit(&mut writer, &mut group);
        health.committing_since_ms.store(0, Ordering::Relaxed);
        health.commits.fetch_add(1, Ordering::Release);
        tracing::trace!(operations = count, elapsed = ?started.elapsed(), "history group committed");
        if let Some(reply) = after_commit::deliver(after, &hub) {
            closing = true;
            close_reply = Some(reply);
        }
    }
    rx.close();
    deferred.close();
    if let Conn::Sqlite(conn) = &writer.conn {
        if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
            tracing::warn!(error = %e, "final history checkpoint failed");
        }
    }
    if let Some(reply) = close_reply {
        let _ = reply.send(());
    }
}

/// Commits `group` (leaving it empty) and returns what to do now that it is
/// committed. A storage failure (a full disk) is waited out: the same group
/// is tried again until it commits or the writer is told to stop retrying.
/// Any other failure is narrowed down by committing one operation at a
/// time; the operation that still fails is logged and dropped (its reply,
/// dropped with it, tells a waiting caller).
fn commit(writer: &mut Writer<'_>, group: &mut Vec<WriteOp>) -> Vec<AfterCommit> {
    let health = writer.health;
    let mut wait = RETRY_FIRST_WAIT;
    let mut reported: Option<Instant> = None;
    loop {
        let outcome = if writer.conn.is_lost() {
            // The server went away: connect again, or wait it out as any
            // other storage failure.
            connect::reopen(&writer.database, writer.claim).map(|opened| {
                writer.claim = opened.claim;
                writer.conn = opened.conn;
            })
        } else {
            Ok(())
        };
        let error = match outcome
            .and_then(|()| commit_group(writer.conn.db(), group, &mut writer.rowids))
        {
            Ok(results) => {
                let mut recovered = None;
                health.failure.send_if_modified(|failure| {
                    recovered = failure.take();
                    recovered.is_some()
                });
                if let Some(failure) = recovered {
                    tracing::warn!(error = %failure.error, "the history can be written again; nothing was lost");
                }
                let mut after = Vec::with_capacity(group.len());
                for (op, result) in group.drain(..).zip(results) {
                    after_commit(op, result, &mut after);
                }
                return after;
            }
            Err(error) => error,
        };
        if let StoreError::TakenOver(_) = error {
            stop_taken_over(&error, group);
        }
        if is_storage_failure(&error) {
            if health.stop_retrying.load(Ordering::Relaxed) {
                return give_up(group, &error);
            }
            if reported.is_none_or(|at| at.elapsed() >= REPORT_AGAIN_AFTER) {
                tracing::error!(error = %error, operations = group.len(), "cannot write the history; writes wait and are retried until it can be written");
                reported = Some(Instant::now());
            }
            health.failure.send_if_modified(|failure| {
                let first = failure.is_none();
                failure.get_or_insert_with(|| WriteFailure {
                    error: error.to_string(),
                    since_ms: crate::clock::now_ms(),
                });
                first
            });
            std::thread::sleep(wait);
            wait = (wait * 2).min(RETRY_MAX_WAIT);
            continue;
        }
        if group.len() > 1 {
            return group
                .drain(..)
                .flat_map(|op| commit(writer, &mut vec![op]))
                .collect();
        }
        let lost = group.first().map(ToString::to_string).unwrap_or_default();
        tracing::error!(error = %error, operation = %lost, "a history write failed and is lost");
        group.clear();
        return Vec::new();
    }
}

/// Drops what `group` would write, at shutdown while the history cannot
/// be written: every operation would fail alike, so the group goes at once,
/// logged once, not one failed commit at a time. Barriers and the close
/// write nothing and are answered: what came before them is done with.
fn give_up(group: &mut Vec<WriteOp>, error: &StoreError) -> Vec<AfterCommit> {
    let mut after = Vec::new();
    let mut lost = Vec::new();
    for op in group.drain(..) {
        match op {
            WriteOp::Barrier { reply } => after.push(AfterCommit::Barrier(reply)),
            WriteOp::Close { reply } => after.push(AfterCommit::Close(reply)),
            op => lost.push(op),
        }
    }
    if !lost.is_empty() {
        let executions = executions_in(&lost);
        tracing::error!(
            error = %error,
            operations = lost.len(),
            events = lost.iter().map(WriteOp::event_count).sum::<usize>(),
            ?executions,
            "shutting down: history writes that cannot be written are given up"
        );
    }
    after
}

/// Ends the daemon at once when a standby took its history over: the
/// standby recovers its executions (marks those it was running
/// INTERRUPTED, runs those it had queued), so none of this daemon's
/// programs may go on and nothing more of it may be written. The
/// guardian kills the programs with the daemon (docs/postgres.md).
fn stop_taken_over(error: &StoreError, group: &[WriteOp]) -> ! {
    tracing::error!(
        error = %error,
        operations = group.len(),
        executions = ?executions_in(group),
        "stopping at once: another daemon took over the history; these writes are given up"
    );
    eprintln!("workflowd: {error}; stopping at once");
    std::process::exit(1)
}

/// Whether SQLite failed because of where the history lives (a full disk,
/// an I/O error, a lock held elsewhere), not because of what was written:
/// such failures pass, so the write is tried again.
fn is_storage_failure(error: &StoreError) -> bool {
    let error = match error {
        StoreError::Sqlite(error) => error,
        StoreError::Postgres(error) => return postgres_storage_failure(error),
        // Reconnecting: the server may not have noticed yet that the old
        // session is gone, and still hold its claim; its keepalives end it
        // within a minute and a half (db/postgres.rs).
        StoreError::Connect { .. } | StoreError::InUseByAnotherDaemon(_) => return true,
        _ => return false,
    };
    matches!(
        error.sqlite_error_code(),
        Some(
            ErrorCode::DiskFull
                | ErrorCode::SystemIoFailure
                | ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::OutOfMemory
                | ErrorCode::CannotOpen
                | ErrorCode::ReadOnly
                | ErrorCode::PermissionDenied
                | ErrorCode::FileLockingProtocolFailed
        )
    )
}

/// Whether PostgreSQL failed because of the server or the way to it (a
/// lost connection, a server shutting down or out of room, a conflict
/// with another transaction), not because of what was written.
fn postgres_storage_failure(error: &tokio_postgres::Error) -> bool {
    let Some(db_error) = error.as_db_error() else {
        // No answer from the server: the connection if it is closed or
        // its socket failed; otherwise the client refused a value or a
        // row, which no retry changes.
        return error.is_closed()
            || std::error::Error::source(error)
                .is_some_and(|source| source.is::<std::io::Error>());
    };
    let code = db_error.code().code();
    // 08 connection, 53 resources, 57P operator intervention (shutdown,
    // not a statement timeout), 58 system errors, 40 serialization
    // failures and deadlocks; 25006 a read-only transaction (a standby
    // after a failover) and 42501 a permission taken away, as SQLite's
    // ReadOnly and PermissionDenied.
    ["08", "53", "57P", "58", "40", "25006", "42501"]
        .iter()
        .any(|class| code.starts_with(class))
}
