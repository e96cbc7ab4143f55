//! What src/retries reads and writes: the ended attempts a retry still
//! waits for, and the mark that none will follow (schema version 7).

use rusqlite::Connection;
use uuid::Uuid;

use super::{StoreError, StoreReader};

/// Marks the attempt with this row id settled: no attempt follows it.
pub(super) fn settle(conn: &Connection, execution: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE executions SET retry_settled = 1 WHERE rowid = ?1")?
        .execute([execution])?;
    Ok(())
}

impl StoreReader {
    /// The ended attempts with a retry policy that have no next attempt
    /// and are not settled, oldest end first (the partial index
    /// `executions_retry_waiting`).
    pub(crate) fn retries_waiting(&self) -> Result<Vec<Uuid>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id FROM executions INDEXED BY executions_retry_waiting \
                 WHERE retry_json IS NOT NULL AND next_attempt IS NULL AND retry_settled = 0 \
                 AND end_ms IS NOT NULL ORDER BY end_ms",
            )?;
            let ids = stmt.query_map([], |row| row.get::<_, String>(0))?;
            let mut waiting = Vec::new();
            for id in ids {
                let id = id?;
                waiting.push(
                    Uuid::parse_str(&id)
                        .map_err(|e| StoreError::Corrupt(format!("execution {id}: {e}")))?,
                );
            }
            Ok(waiting)
        })
    }
}
