//! Reads of the history over a small pool of read-only connections. WAL mode
//! lets them run beside the writer; every call is blocking and meant for
//! `spawn_blocking`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};
use uuid::Uuid;

use super::codec::decode;
use super::db::{args, Conn, Database, Db, Dialect, Owned, PgConn, Row, ToValue, Value};
use super::log_pages::{LogPage, LogPages};
use super::{schema, ArtifactRecord, ExecutionRecord, RetryAttempt, ScheduledBy, StoreError};
use crate::events::{ExecutionState, LogCounts, LogEvent, LogPayload};
use crate::program_limits::ProgramUsage;
use crate::tree::ExecutionTree;
use list_query::list_query;

/// Read connections kept open.
const POOL_SIZE: usize = 4;
/// Events read at once when a lost execution's log is replayed.
const REPLAY_PAGE: usize = 10_000;

/// Filters of a list of executions; all combine with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ExecutionFilter {
    /// Only this workflow.
    pub(crate) workflow_id: Option<String>,
    /// Only these states (any of them); empty = all.
    pub(crate) states: Vec<ExecutionState>,
    /// Created at or after (ms).
    pub(crate) created_after_ms: Option<i64>,
    /// Created before (ms).
    pub(crate) created_before_ms: Option<i64>,
    /// Every one of these labels.
    pub(crate) labels: BTreeMap<String, String>,
    /// Only this batch.
    pub(crate) batch_id: Option<String>,
    /// Only executions this schedule started.
    pub(crate) schedule_id: Option<String>,
    /// Only these namespaces (any of them); None: every one.
    pub(crate) namespaces: Option<Vec<String>>,
}

/// Position after the last execution of a page (newest-first order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListCursor {
    /// create_ms of the last execution returned.
    pub(crate) create_ms: i64,
    /// Its row id, breaking ties.
    pub(crate) rowid: i64,
}

/// Executions by state name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StateCounts {
    /// All time.
    pub(crate) totals: BTreeMap<String, u64>,
    /// Ended since the time asked for.
    pub(crate) ended_since: BTreeMap<String, u64>,
}

/// Pool of read connections.
pub(crate) struct StoreReader {
    /// Where they connect (a PostgreSQL connection lost is made again).
    database: Database,
    pool: Vec<Mutex<Conn>>,
    next: AtomicUsize,
    /// Log pages shared by the readers of a log.
    log_pages: LogPages,
}

const EXECUTION_COLUMNS: &str = "rowid, id, workflow_id, workflow_name, state, create_ms, start_ms, end_ms, \
     exit_code, signal, error, argv_json, request_id, timeout_ms, pid, pid_start_ticks, tree_json, counts_json, batch_id, \
     schedule_id, scheduled_ms, retry_json, attempt, first_attempt, next_attempt, retry_settled, \
     limits_json, peak_memory_bytes, cpu_time_ms, namespace";

/// A read connection to `database`.
fn connect(database: &Database) -> Result<Conn, StoreError> {
    Ok(match database {
        Database::Sqlite(path) => {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            schema::configure_reader(&conn)?;
            Conn::Sqlite(conn)
        }
        Database::Postgres(url) => {
            let conn = PgConn::connect(url)?;
            Db::Postgres(&conn).batch("SET default_transaction_read_only = on")?;
            Conn::Postgres(Box::new(conn))
        }
    })
}

impl StoreReader {
    /// Opens the pool; the writer must have created and migrated the
    /// database.
    pub(crate) fn open(database: &Database) -> Result<Self, StoreError> {
        let pool = (0..POOL_SIZE)
            .map(|_| Ok(Mutex::new(connect(database)?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(StoreReader {
            database: database.clone(),
            pool,
            next: AtomicUsize::new(0),
            log_pages: LogPages::default(),
        })
    }

    /// Runs `read` on a pooled connection off the async runtime (SQLite
    /// blocks): the one way async code outside the engine reads the history.
    pub(crate) async fn off_runtime<T: Send + 'static>(
        self: &std::sync::Arc<Self>,
        read: impl FnOnce(&StoreReader) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let reader = self.clone();
        tokio::task::spawn_blocking(move || read(&reader))
            .await
            .map_err(|e| StoreError::Corrupt(format!("a read of the history stopped: {e}")))?
    }

    /// Runs `read` on a pooled connection. A PostgreSQL connection found
    /// lost (the server restarted) is made again, and a read that failed
    /// because it was lost is made once more on the new one.
    pub(super) fn with_db<T>(
        &self,
        read: impl Fn(Db<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // Prefer an idle connection; otherwise queue on one in turn.
        let mut conn = self
            .pool
            .iter()
            .find_map(|slot| slot.try_lock())
            .unwrap_or_else(|| {
                self.pool[self.next.fetch_add(1, Ordering::Relaxed) % self.pool.len()].lock()
            });
        if conn.is_lost() {
            *conn = connect(&self.database)?;
        }
        match read(conn.db()) {
            Err(_) if conn.is_lost() => {
                *conn = connect(&self.database)?;
                read(conn.db())
            }
            outcome => outcome,
        }
    }

    /// The daemons that may have started an execution at or after
    /// `since_ms` on a PostgreSQL history (writer_claim.rs); none on
    /// SQLite, whose file is one data directory's.
    pub(crate) fn writers_since(
        &self,
        since_ms: i64,
    ) -> Result<Vec<super::writer_claim::Claimant>, StoreError> {
        self.with_db(|db| match db {
            Db::Postgres(_) => super::writer_claim::claimants_since(db, since_ms),
            Db::Sqlite(_) => Ok(Vec::new()),
        })
    }

    /// One execution by id, with artifacts.
    pub(crate) fn execution(&self, id: Uuid) -> Result<Option<ExecutionRecord>, StoreError> {
        let sql = format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = ?1");
        self.with_db(|db| one_execution(db, &sql, args![id.to_string()]))
    }

    /// The internal key of an execution, without loading it.
    pub(crate) fn execution_rowid(&self, id: Uuid) -> Result<Option<i64>, StoreError> {
        self.with_db(|db| {
            db.query_opt(
                "SELECT rowid FROM executions WHERE id = ?1",
                args![id.to_string()],
                |row| row.get(0),
            )
        })
    }

    /// Whether the execution with this row id is (still) in the history.
    pub(crate) fn has_execution(&self, rowid: i64) -> Result<bool, StoreError> {
        self.with_db(|db| {
            Ok(db
                .query_opt(
                    "SELECT 1 FROM executions WHERE rowid = ?1",
                    args![rowid],
                    |_| Ok(()),
                )?
                .is_some())
        })
    }

    /// The execution started with this request id, if any.
    pub(crate) fn execution_by_request_id(
        &self,
        request_id: &str,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        let sql = format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE request_id = ?1");
        self.with_db(|db| one_execution(db, &sql, args![request_id]))
    }

    /// The namespace of the batch `batch_id` (its executions are all in
    /// one: SubmitManifest's or its drop folder's), if it has any.
    pub(crate) fn batch_namespace(&self, batch_id: &str) -> Result<Option<String>, StoreError> {
        self.with_db(|db| {
            db.query_opt(
                "SELECT namespace FROM executions WHERE batch_id = ?1 LIMIT 1",
                args![batch_id],
                |row| row.get(0),
            )
        })
    }

    /// A page of executions, newest first, after `cursor`.
    pub(crate) fn list_executions(
        &self,
        filter: &ExecutionFilter,
        cursor: Option<ListCursor>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>, StoreError> {
        self.with_db(|db| {
            let (sql, args) = list_query(db.dialect(), filter, cursor, limit);
            let values: Vec<Value<'_>> = args.iter().map(ToValue::to_value).collect();
            executions(db, &sql, &values)
        })
    }

    /// The page of execution `id`'s log (history key `rowid`) that holds
    /// sequence number `next`, read once for all its readers
    /// (log_pages.rs).
    pub(crate) fn log_page(&self, id: Uuid, rowid: i64, next: u64) -> Result<LogPage, StoreError> {
        self.log_pages
            .page(id, next, |first, count| self.events(rowid, first, count))
    }

    /// Up to `limit` events of an execution from `from_sequence` on, and
    /// the size of their stored text: about what keeping them costs.
    pub(crate) fn events(
        &self,
        execution: i64,
        from_sequence: u64,
        limit: usize,
    ) -> Result<(Vec<LogEvent>, usize), StoreError> {
        self.with_db(|db| {
            let sql = format!(
                "SELECT {EVENT_COLUMNS} FROM log_events WHERE execution = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3"
            );
            let mut total = 0;
            let events = db.query(&sql, args![execution, from_sequence, limit], |row| {
                let (event, text_len) = read_event_sized(row)?;
                total += text_len;
                Ok(event)
            })?;
            Ok((events, total))
        })
    }

    /// Executions in one state, oldest first (used at start-up).
    pub(crate) fn executions_in_state(
        &self,
        state: ExecutionState,
    ) -> Result<Vec<ExecutionRecord>, StoreError> {
        let sql = format!(
            "SELECT {EXECUTION_COLUMNS} FROM executions WHERE state = ?1 ORDER BY create_ms, rowid"
        );
        self.with_db(|db| executions(db, &sql, args![state.as_str()]))
    }

    /// Rebuilds what the engine tracked in memory for an execution the daemon
    /// lost (crash): last sequence number, tree and counts, from its events.
    pub(crate) fn replay_summary(
        &self,
        execution: i64,
    ) -> Result<(u64, ExecutionTree, LogCounts), StoreError> {
        self.with_db(|db| {
            let last = db.query_one(
                "SELECT MAX(seq) FROM log_events WHERE execution = ?1",
                args![execution],
                |row| row.get::<Option<u64>>(0),
            )?;
            let mut counts = LogCounts::default();
            let mut tree = ExecutionTree::default();
            // A page at a time: a log may have millions of events, and a
            // PostgreSQL query's rows all arrive before they are read.
            let sql = format!(
                "SELECT {EVENT_COLUMNS} FROM log_events WHERE execution = ?1 AND seq > ?2 \
                 ORDER BY seq LIMIT ?3"
            );
            let mut after = 0;
            loop {
                let page = db.query(&sql, args![execution, after, REPLAY_PAGE], |row| {
                    let event = read_event(row)?;
                    if let LogPayload::Event(e) = &event.payload {
                        tree.apply(e);
                    }
                    counts.record(&event.payload);
                    Ok(event.sequence)
                })?;
                match page.last() {
                    Some(&sequence) if page.len() == REPLAY_PAGE => after = sequence,
                    _ => break,
                }
            }
            Ok((last.unwrap_or(0), tree, counts))
        })
    }

    /// Executions by state: all time, and ended since `since_ms`.
    pub(crate) fn state_counts(&self, since_ms: i64) -> Result<StateCounts, StoreError> {
        self.with_db(|db| {
            let by_state = |row: &Row<'_>| Ok((row.get::<String>(0)?, row.get::<u64>(1)?));
            // Kept by triggers (schema versions 5 and 13, a row per
            // namespace and state), not counted here.
            let totals = db.query(
                "SELECT state, CAST(SUM(count) AS BIGINT) FROM execution_totals \
                 GROUP BY state HAVING SUM(count) > 0",
                args![],
                by_state,
            )?;
            let ended_since = match db.dialect() {
                Dialect::Sqlite => ENDED_SINCE_BY_STATE,
                Dialect::Postgres => ENDED_SINCE_BY_STATE_PG,
            };
            let today = db.query(ended_since, args![since_ms], by_state)?;
            Ok(StateCounts {
                totals: totals.into_iter().collect(),
                ended_since: today.into_iter().collect(),
            })
        })
    }
}

/// Executions ended since ?1, by state. `+state`: grouped by the state
/// index, SQLite's planner would read every execution ever ended to find
/// today's; PostgreSQL's plans by its statistics and has no `+` for text.
const ENDED_SINCE_BY_STATE: &str =
    "SELECT state, COUNT(*) FROM executions WHERE end_ms >= ?1 GROUP BY +state";
const ENDED_SINCE_BY_STATE_PG: &str =
    "SELECT state, COUNT(*) FROM executions WHERE end_ms >= ?1 GROUP BY state";

/// The execution `sql` selects (with [`EXECUTION_COLUMNS`]), if any, with
/// everything about it, artifacts included.
fn one_execution(
    db: Db<'_>,
    sql: &str,
    args: &[Value<'_>],
) -> Result<Option<ExecutionRecord>, StoreError> {
    let Some(mut record) = db.query_opt(sql, args, read_execution)? else {
        return Ok(None);
    };
    load_details(db, &mut record, true)?;
    Ok(Some(record))
}

/// The executions `sql` selects (with [`EXECUTION_COLUMNS`]), with their
/// inputs and labels but not their artifacts.
fn executions(
    db: Db<'_>,
    sql: &str,
    args: &[Value<'_>],
) -> Result<Vec<ExecutionRecord>, StoreError> {
    let mut records = db.query(sql, args, read_execution)?;
    for record in &mut records {
        load_details(db, record, false)?;
    }
    Ok(records)
}

/// The columns [`read_event`] reads, in its order.
const EVENT_COLUMNS: &str = "seq, time_ms, kind, flags, text";

/// An event from a row selected with [`EVENT_COLUMNS`].
fn read_event(row: &Row<'_>) -> Result<LogEvent, StoreError> {
    Ok(read_event_sized(row)?.0)
}

/// An event and the size of its stored text.
fn read_event_sized(row: &Row<'_>) -> Result<(LogEvent, usize), StoreError> {
    let text: String = row.get(4)?;
    let text_len = text.len();
    let event = decode(row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, text)?;
    Ok((event, text_len))
}

fn read_execution(row: &Row<'_>) -> Result<ExecutionRecord, StoreError> {
    let id: String = row.get(1)?;
    let state: String = row.get(4)?;
    let argv_json: String = row.get(11)?;
    let tree_json: Option<String> = row.get(16)?;
    let counts_json: Option<String> = row.get(17)?;
    let retry_json: Option<String> = row.get(21)?;
    let attempt: u32 = row.get(22)?;
    let first_attempt: Option<String> = row.get(23)?;
    let next_attempt: Option<String> = row.get(24)?;
    let retry_settled: bool = row.get(25)?;
    let limits_json: Option<String> = row.get(26)?;
    // CPU time is recorded for every run that was reaped; peak memory only
    // for runs measured for it.
    let peak: Option<i64> = row.get(27)?;
    let usage = row.get::<Option<i64>>(28)?.map(|cpu| ProgramUsage {
        peak_memory_bytes: peak.map(|bytes| bytes.max(0) as u64),
        cpu_time_ms: cpu.max(0) as u64,
    });
    let rowid: i64 = row.get(0)?;
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!("execution {id}: {what}: {e}"))
    };
    Ok(ExecutionRecord {
        rowid,
        id: Uuid::parse_str(&id).map_err(|e| corrupt("id", &e))?,
        workflow_id: row.get(2)?,
        workflow_name: row.get(3)?,
        state: ExecutionState::parse(&state).ok_or_else(|| corrupt("state", &state))?,
        create_ms: row.get(5)?,
        start_ms: row.get(6)?,
        end_ms: row.get(7)?,
        exit_code: row.get(8)?,
        signal: row.get(9)?,
        error: row.get(10)?,
        inputs: BTreeMap::new(),
        argv: serde_json::from_str(&argv_json).map_err(|e| corrupt("argv", &e))?,
        labels: BTreeMap::new(),
        request_id: row.get(12)?,
        timeout_ms: row.get(13)?,
        limits: limits_json
            .map(|l| serde_json::from_str(&l).map_err(|e| corrupt("limits", &e)))
            .transpose()?
            .unwrap_or_default(),
        usage,
        pid: row.get(14)?,
        pid_start_ticks: row.get(15)?,
        tree: tree_json
            .map(|t| serde_json::from_str(&t).map_err(|e| corrupt("tree", &e)))
            .transpose()?,
        counts: counts_json
            .map(|c| serde_json::from_str(&c).map_err(|e| corrupt("counts", &e)))
            .transpose()?,
        artifacts: Vec::new(),
        batch_id: row.get(18)?,
        scheduled_by: match (row.get::<Option<String>>(19)?, row.get(20)?) {
            (Some(schedule_id), Some(scheduled_ms)) => Some(ScheduledBy {
                schedule_id,
                scheduled_ms,
            }),
            _ => None,
        },
        retry: match retry_json {
            None => None,
            Some(json) => Some(RetryAttempt {
                policy: serde_json::from_str(&json).map_err(|e| corrupt("retry policy", &e))?,
                attempt,
                first_attempt: first_attempt
                    .map(|id| Uuid::parse_str(&id).map_err(|e| corrupt("first attempt", &e)))
                    .transpose()?,
                previous_rowid: None,
                next_attempt: next_attempt
                    .map(|id| Uuid::parse_str(&id).map_err(|e| corrupt("next attempt", &e)))
                    .transpose()?,
                settled: retry_settled,
            }),
        },
        namespace: row.get(29)?,
    })
}

/// Loads inputs and labels, and artifacts when asked.
fn load_details(
    db: Db<'_>,
    record: &mut ExecutionRecord,
    artifacts: bool,
) -> Result<(), StoreError> {
    let pair = |row: &Row<'_>| Ok((row.get::<String>(0)?, row.get::<String>(1)?));
    record.inputs = db
        .query(
            "SELECT name, value FROM execution_inputs WHERE execution = ?1",
            args![record.rowid],
            pair,
        )?
        .into_iter()
        .collect();
    record.labels = db
        .query(
            "SELECT key, value FROM execution_labels WHERE execution = ?1",
            args![record.rowid],
            pair,
        )?
        .into_iter()
        .collect();
    if artifacts {
        record.artifacts = db.query(
            "SELECT phase, path, description, time_ms FROM artifacts WHERE execution = ?1 ORDER BY seq",
            args![record.rowid],
            |row| {
                Ok(ArtifactRecord {
                    phase: row.get(0)?,
                    path: row.get(1)?,
                    description: row.get(2)?,
                    time_ms: row.get(3)?,
                })
            },
        )?;
    }
    Ok(())
}

mod list_query;
#[cfg(test)]
mod tests;
