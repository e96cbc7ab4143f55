//! The audit log as stored (schema version 10): appended to, read newest
//! first.

use super::db::{args, Db, Row};

use super::{StoreError, StoreReader};

/// One audited call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct AuditRecord {
    /// Its place in the log; 0 until stored.
    pub(crate) seq: i64,
    /// When the call was answered.
    pub(crate) time_ms: i64,
    /// Who.
    pub(crate) principal: String,
    /// The caller's role's name, if it had one.
    pub(crate) role: Option<String>,
    /// The RPC.
    pub(crate) method: String,
    /// What it named.
    pub(crate) object: String,
    /// From where.
    pub(crate) peer: String,
    /// The outcome's gRPC code name.
    pub(crate) code: String,
    /// The error message.
    pub(crate) message: String,
}

/// Appends `event` inside the writer's transaction.
pub(super) fn append(db: Db<'_>, event: &AuditRecord) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO audit_events (time_ms, principal, role, method, object, peer, code, message) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        args![
            event.time_ms,
            event.principal,
            event.role,
            event.method,
            event.object,
            event.peer,
            event.code,
            event.message
        ],
    )?;
    Ok(())
}

fn read_event(row: &Row<'_>) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        seq: row.get(0)?,
        time_ms: row.get(1)?,
        principal: row.get(2)?,
        role: row.get(3)?,
        method: row.get(4)?,
        object: row.get(5)?,
        peer: row.get(6)?,
        code: row.get(7)?,
        message: row.get(8)?,
    })
}

impl StoreReader {
    /// Up to `limit` events before `before` (a sequence; None: the
    /// newest), newest first.
    pub(crate) fn audit_events(
        &self,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.with_db(|db| {
            db.query(
                "SELECT seq, time_ms, principal, role, method, object, peer, code, message \
                 FROM audit_events WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
                args![before.unwrap_or(i64::MAX), limit],
                read_event,
            )
        })
    }
}
