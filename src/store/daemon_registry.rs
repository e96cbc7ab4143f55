//! The daemons on a PostgreSQL history, as each last reported: the one
//! writing and those standing by (docs/postgres.md). Each daemon keeps
//! its own row on a connection of its own (`daemon/registry.rs`), so a
//! standby, which has no history open, reports too; GetStatus lists the
//! rows, and DrainDaemon marks one.

use super::db::{args, Conn, Db, PgConn};
use super::StoreError;

/// A row is forgotten once its daemon has been silent this long.
const FORGET_AFTER_MS: i64 = 60 * 60 * 1_000;

/// What a daemon reports of itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DaemonRow {
    pub(crate) id: String,
    pub(crate) host: String,
    pub(crate) pid: u32,
    /// `writer` or `standby`.
    pub(crate) role: String,
    pub(crate) slots: u32,
    pub(crate) running: u32,
    pub(crate) started_ms: i64,
    pub(crate) heartbeat_ms: i64,
    /// How long it had been silent when read, by the server's clock (the
    /// one its reports are stamped with): daemons' clocks may differ.
    pub(crate) silent_ms: i64,
    pub(crate) draining: bool,
}

/// A connection of a daemon's own to the registry.
pub(crate) struct RegistryConn {
    conn: Conn,
}

impl RegistryConn {
    /// Connects to the PostgreSQL history at `url`.
    pub(crate) fn connect(url: &str) -> Result<RegistryConn, StoreError> {
        let conn = Conn::Postgres(Box::new(PgConn::connect(url)?));
        // A report is a liveness signal, not data to keep: it must not
        // wait on a synchronous replica (a writer would fence itself over
        // a lost replica, `fence.rs`).
        conn.db().batch("SET synchronous_commit = off")?;
        Ok(RegistryConn { conn })
    }

    /// Whether the connection is gone (the next beat connects anew).
    pub(crate) fn is_lost(&self) -> bool {
        self.conn.is_lost()
    }

    /// Writes `me` (drained if it is, or if the stored row says so) and
    /// forgets daemons silent for an hour; returns whether `me` is to
    /// drain. The report's time is the server's, so daemons' clocks that
    /// differ do not make each other look silent.
    pub(crate) fn report(&self, me: &DaemonRow) -> Result<bool, StoreError> {
        let db = self.conn.db();
        let draining = db.query_one(
            "INSERT INTO daemons \
             (id, host, pid, role, slots, running, started_ms, heartbeat_ms, draining) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT, ?8) \
             ON CONFLICT (id) DO UPDATE SET role = EXCLUDED.role, slots = EXCLUDED.slots, \
             running = EXCLUDED.running, heartbeat_ms = EXCLUDED.heartbeat_ms, \
             draining = daemons.draining OR EXCLUDED.draining \
             RETURNING draining",
            args![
                me.id.as_str(),
                me.host.as_str(),
                me.pid as i64,
                me.role.as_str(),
                me.slots as i64,
                me.running as i64,
                me.started_ms,
                me.draining
            ],
            |row| row.get::<bool>(0),
        )?;
        db.execute(
            "DELETE FROM daemons \
             WHERE heartbeat_ms < (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT - ?1",
            args![FORGET_AFTER_MS],
        )?;
        Ok(draining)
    }

    /// Removes `id`'s row: its daemon stopped.
    pub(crate) fn remove(&self, id: &str) -> Result<(), StoreError> {
        self.conn
            .db()
            .execute("DELETE FROM daemons WHERE id = ?1", args![id])
            .map(drop)
    }
}

impl RegistryConn {
    /// Every daemon's row, latest start first.
    pub(crate) fn list(&self) -> Result<Vec<DaemonRow>, StoreError> {
        list(self.conn.db())
    }

    /// Marks the daemon `id` to drain (it reads the mark at its next
    /// report); false when there is no such daemon.
    pub(crate) fn mark_draining(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.conn.db().execute(
            "UPDATE daemons SET draining = TRUE WHERE id = ?1",
            args![id],
        )? > 0)
    }
}

fn list(db: Db<'_>) -> Result<Vec<DaemonRow>, StoreError> {
    db.query(
        "SELECT id, host, pid, role, slots, running, started_ms, heartbeat_ms, draining, \
         (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT - heartbeat_ms \
         FROM daemons ORDER BY started_ms DESC, id",
        args![],
        |row| {
            Ok(DaemonRow {
                id: row.get(0)?,
                host: row.get(1)?,
                pid: row.get::<i64>(2)? as u32,
                role: row.get(3)?,
                slots: row.get::<i64>(4)? as u32,
                running: row.get::<i64>(5)? as u32,
                started_ms: row.get(6)?,
                heartbeat_ms: row.get(7)?,
                draining: row.get(8)?,
                silent_ms: row.get(9)?,
            })
        },
    )
}
