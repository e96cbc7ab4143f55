//! Deletion of expired history: executions that ended before a cutoff, with
//! their log, inputs, labels and artifacts, and finished drop-folder ledger
//! entries.
//!
//! It runs on the writer thread like any other write, in bounded steps (a
//! budget of log events per step) so that deleting a run that printed
//! millions of lines never holds up the commits of running executions for
//! long. An execution's row goes last, in the same transaction as the last
//! of its log, so until then it stays readable (its log shortened from the
//! front).
//!
//! Row ids key the log and are what a streaming reader holds, so none may be
//! handed out twice. SQLite gives a new row the largest row id plus one, so
//! the newest execution (largest row id) is never deleted: it goes once a
//! newer one exists.

use super::db::{args, Db};
use uuid::Uuid;

use super::StoreError;

/// Most log events deleted in one step.
const EVENT_BUDGET: i64 = 20_000;
/// Most executions deleted in one step.
const EXECUTION_BUDGET: usize = 64;
/// Rows of the drop-folder ledger, of the schedules' runs and of the webhooks'
/// deliveries deleted per step, each.
const ROW_BUDGET: i64 = 500;

/// What one step deleted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct PruneStep {
    /// Executions deleted entirely.
    pub(crate) executions: Vec<Uuid>,
    /// Drop-folder ledger entries deleted.
    pub(crate) drop_files: usize,
    /// Whether expired history is left for another step.
    pub(crate) more: bool,
}

/// Deletes, within budget, the history of executions that ended before
/// `ended_before_ms`, oldest end first, and ledger entries of drop-folder
/// files finished before it.
pub(super) fn prune_step(db: Db<'_>, ended_before_ms: i64) -> Result<PruneStep, StoreError> {
    let mut step = PruneStep::default();
    let mut events_left = EVENT_BUDGET;
    let expired = db.query(
        "SELECT rowid, id FROM executions WHERE end_ms < ?1 \
         AND rowid < (SELECT MAX(rowid) FROM executions) ORDER BY end_ms LIMIT ?2",
        args![ended_before_ms, EXECUTION_BUDGET + 1],
        |row| Ok((row.get::<i64>(0)?, row.get::<String>(1)?)),
    )?;
    step.more = expired.len() > EXECUTION_BUDGET;
    for (rowid, id) in expired.into_iter().take(EXECUTION_BUDGET) {
        let first = db.query_one(
            "SELECT MIN(seq) FROM log_events WHERE execution = ?1",
            args![rowid],
            |row| row.get::<Option<i64>>(0),
        )?;
        if let Some(first) = first {
            // Sequence numbers are gap-free, so this deletes at most the budget.
            let deleted = db.execute(
                "DELETE FROM log_events WHERE execution = ?1 AND seq < ?2",
                args![rowid, first + events_left],
            )?;
            events_left -= deleted as i64;
            let rest = db.query_one(
                "SELECT EXISTS (SELECT 1 FROM log_events WHERE execution = ?1)",
                args![rowid],
                |row| row.get::<bool>(0),
            )?;
            if rest {
                step.more = true;
                break;
            }
        }
        for table in ["execution_inputs", "execution_labels", "artifacts"] {
            db.execute(
                &format!("DELETE FROM {table} WHERE execution = ?1"),
                args![rowid],
            )?;
        }
        db.execute("DELETE FROM executions WHERE rowid = ?1", args![rowid])?;
        step.executions.push(
            Uuid::parse_str(&id)
                .map_err(|e| StoreError::Corrupt(format!("execution id {id:?}: {e}")))?,
        );
        if events_left <= 0 {
            step.more = true;
            break;
        }
    }
    step.drop_files = db.execute(
        "DELETE FROM drop_files WHERE id IN \
         (SELECT id FROM drop_files WHERE finished_ms < ?1 LIMIT ?2)",
        args![ended_before_ms, ROW_BUDGET],
    )?;
    if step.drop_files as i64 == ROW_BUDGET {
        step.more = true;
    }
    // A schedule's records of the times it fell due, and the webhooks'
    // finished deliveries, expire with the history (a buffered run, still
    // to start, and a pending delivery, still to send, stay).
    for expire in [
        "DELETE FROM schedule_runs WHERE rowid IN (SELECT rowid FROM schedule_runs \
         WHERE scheduled_ms < ?1 AND outcome != 'BUFFERED' LIMIT ?2)",
        "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries \
         WHERE create_ms < ?1 AND state != 'PENDING' LIMIT ?2)",
    ] {
        let deleted = db.execute(expire, args![ended_before_ms, ROW_BUDGET])?;
        if deleted as i64 == ROW_BUDGET {
            step.more = true;
        }
    }
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::Conn;
    use crate::store::testing::on_each_database;

    /// An execution row with `events` log events, one input, one label and
    /// one artifact.
    fn insert(db: Db<'_>, rowid: i64, end_ms: Option<i64>, events: i64) -> Uuid {
        let id = Uuid::new_v4();
        db.execute(
            "INSERT INTO executions (rowid, id, workflow_id, workflow_name, state, create_ms, end_ms, argv_json) \
             VALUES (?1, ?2, 'w', 'W', ?3, 0, ?4, '[]')",
            args![rowid, id.to_string(), if end_ms.is_some() { "SUCCEEDED" } else { "RUNNING" }, end_ms],
        )
        .unwrap();
        db.execute(
            "INSERT INTO log_events (execution, seq, time_ms, kind, flags, text) \
             WITH RECURSIVE n(seq) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT seq + 1 FROM n WHERE seq < ?2) \
             SELECT CAST(?1 AS BIGINT), seq, 0, 0, 0, 'line' FROM n",
            args![rowid, events],
        )
        .unwrap();
        db.execute(
            "INSERT INTO execution_inputs (execution, name, value) VALUES (?1, 'topic', 'x')",
            args![rowid],
        )
        .unwrap();
        db.execute(
            "INSERT INTO execution_labels (execution, key, value) VALUES (?1, 'team', 'a')",
            args![rowid],
        )
        .unwrap();
        db.execute(
            "INSERT INTO artifacts (execution, seq, phase, path, description, time_ms) \
             VALUES (?1, 1, 0, '/tmp/x', 'x', 0)",
            args![rowid],
        )
        .unwrap();
        id
    }

    fn count(db: Db<'_>, sql: &str) -> i64 {
        db.query_one(sql, args![], |row| row.get(0)).unwrap()
    }

    fn step(db: Db<'_>, cutoff: i64) -> PruneStep {
        db.transaction(|tx| prune_step(tx, cutoff)).unwrap()
    }

    #[test]
    fn expired_history_goes_in_bounded_steps_and_the_rest_stays() {
        on_each_database(|database| {
            let conn: Conn = crate::store::connect::open(database).unwrap();
            in_bounded_steps(conn.db());
        });
    }

    fn in_bounded_steps(db: Db<'_>) {
        let big = insert(db, 1, Some(100), 2 * EVENT_BUDGET + 5_000);
        let small = insert(db, 2, Some(200), 10);
        insert(db, 3, None, 5);
        insert(db, 4, Some(10_000), 7);
        // The newest row keeps its row id from being handed out again, so
        // it stays even though it has expired.
        insert(db, 5, Some(300), 3);
        for (id, finished_ms) in [("done", Some(100)), ("processing", None)] {
            db.execute(
                "INSERT INTO drop_files (id, folder, mode, original_name, processing_path, state, taken_ms, finished_ms) \
                 VALUES (?1, ?3, 'manifest', 'a.yaml', ?3, ?1, 0, ?2)",
                args![id, finished_ms, Vec::<u8>::new()],
            )
            .unwrap();
        }

        // The big run's log takes three steps; its row goes with the last
        // of its log, and the small run follows in the same step.
        for round in 0..2 {
            let first = step(db, 5_000);
            assert!(first.more && first.executions.is_empty(), "{first:?}");
            // The finished drop-folder file goes in the first step.
            assert_eq!(first.drop_files, usize::from(round == 0));
            assert_eq!(
                count(db, "SELECT COUNT(*) FROM executions WHERE rowid = 1"),
                1
            );
        }
        let last = step(db, 5_000);
        assert_eq!(last.executions, [big, small]);
        assert!(!last.more, "{last:?}");
        assert_eq!(step(db, 5_000), PruneStep::default());

        // The running execution, the one that ended after the cutoff and the
        // newest stay, whole; nothing of the deleted ones is left.
        assert_eq!(
            count(db, "SELECT CAST(SUM(rowid) AS BIGINT) FROM executions"),
            3 + 4 + 5
        );
        assert_eq!(count(db, "SELECT COUNT(*) FROM log_events"), 5 + 7 + 3);
        for table in ["execution_inputs", "execution_labels", "artifacts"] {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE execution IN (3, 4, 5)");
            assert_eq!(count(db, &sql), 3, "{table}");
            let sql = format!("SELECT COUNT(*) FROM {table}");
            assert_eq!(count(db, &sql), 3, "{table}");
        }
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM drop_files WHERE id = 'processing'"
            ),
            1
        );
        assert_eq!(count(db, "SELECT COUNT(*) FROM drop_files"), 1);
    }
}
