//! What src/retries reads and writes: the ended attempts a retry still
//! waits for, and the mark that none will follow (schema version 7).

use super::db::{args, Db, Dialect};
use uuid::Uuid;

use super::{StoreError, StoreReader};

/// Marks the attempt with this row id settled: no attempt follows it.
pub(super) fn settle(db: Db<'_>, execution: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE executions SET retry_settled = 1 WHERE rowid = ?1",
        args![execution],
    )?;
    Ok(())
}

impl StoreReader {
    /// The ended attempts with a retry policy that have no next attempt
    /// and are not settled, oldest end first (the partial index
    /// `executions_retry_waiting`).
    pub(crate) fn retries_waiting(&self) -> Result<Vec<Uuid>, StoreError> {
        self.with_db(|db| {
            // SQLite is told the partial index to use; PostgreSQL's
            // planner finds it from the same WHERE.
            let sql = match db.dialect() {
                Dialect::Sqlite => {
                    "SELECT id FROM executions INDEXED BY executions_retry_waiting \
                     WHERE retry_json IS NOT NULL AND next_attempt IS NULL AND retry_settled = 0 \
                     AND end_ms IS NOT NULL ORDER BY end_ms"
                }
                Dialect::Postgres => {
                    "SELECT id FROM executions \
                     WHERE retry_json IS NOT NULL AND next_attempt IS NULL AND retry_settled = 0 \
                     AND end_ms IS NOT NULL ORDER BY end_ms"
                }
            };
            let ids = db.query(sql, args![], |row| row.get::<String>(0))?;
            let mut waiting = Vec::new();
            for id in ids {
                waiting.push(
                    Uuid::parse_str(&id)
                        .map_err(|e| StoreError::Corrupt(format!("execution {id}: {e}")))?,
                );
            }
            Ok(waiting)
        })
    }
}
