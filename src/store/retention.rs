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

use rusqlite::{params, OptionalExtension, Savepoint};
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
pub(super) fn prune_step(
    sp: &Savepoint<'_>,
    ended_before_ms: i64,
) -> Result<PruneStep, StoreError> {
    let mut step = PruneStep::default();
    let mut events_left = EVENT_BUDGET;
    let expired: Vec<(i64, String)> = sp
        .prepare_cached(
            "SELECT rowid, id FROM executions WHERE end_ms < ?1 \
             AND rowid < (SELECT MAX(rowid) FROM executions) ORDER BY end_ms LIMIT ?2",
        )?
        .query_map(
            params![ended_before_ms, EXECUTION_BUDGET as i64 + 1],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?
        .collect::<Result<_, _>>()?;
    step.more = expired.len() > EXECUTION_BUDGET;
    for (rowid, id) in expired.into_iter().take(EXECUTION_BUDGET) {
        let first: Option<i64> = sp
            .prepare_cached("SELECT MIN(seq) FROM log_events WHERE execution = ?1")?
            .query_row([rowid], |row| row.get(0))
            .optional()?
            .flatten();
        if let Some(first) = first {
            // Sequence numbers are gap-free, so this deletes at most the budget.
            let deleted = sp
                .prepare_cached("DELETE FROM log_events WHERE execution = ?1 AND seq < ?2")?
                .execute(params![rowid, first + events_left])?;
            events_left -= deleted as i64;
            let rest: bool = sp
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM log_events WHERE execution = ?1)")?
                .query_row([rowid], |row| row.get(0))?;
            if rest {
                step.more = true;
                break;
            }
        }
        for table in ["execution_inputs", "execution_labels", "artifacts"] {
            sp.prepare_cached(&format!("DELETE FROM {table} WHERE execution = ?1"))?
                .execute([rowid])?;
        }
        sp.prepare_cached("DELETE FROM executions WHERE rowid = ?1")?
            .execute([rowid])?;
        step.executions.push(
            Uuid::parse_str(&id)
                .map_err(|e| StoreError::Corrupt(format!("execution id {id:?}: {e}")))?,
        );
        if events_left <= 0 {
            step.more = true;
            break;
        }
    }
    step.drop_files = sp
        .prepare_cached(
            "DELETE FROM drop_files WHERE id IN \
             (SELECT id FROM drop_files WHERE finished_ms < ?1 LIMIT ?2)",
        )?
        .execute(params![ended_before_ms, ROW_BUDGET])?;
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
        let deleted = sp
            .prepare_cached(expire)?
            .execute(params![ended_before_ms, ROW_BUDGET])?;
        if deleted as i64 == ROW_BUDGET {
            step.more = true;
        }
    }
    Ok(step)
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    /// An execution row with `events` log events, one input, one label and
    /// one artifact.
    fn insert(conn: &Connection, rowid: i64, end_ms: Option<i64>, events: i64) -> Uuid {
        let id = Uuid::new_v4();
        conn.execute(
            "INSERT INTO executions (rowid, id, workflow_id, workflow_name, state, create_ms, end_ms, argv_json) \
             VALUES (?1, ?2, 'w', 'W', ?3, 0, ?4, '[]')",
            params![rowid, id.to_string(), if end_ms.is_some() { "SUCCEEDED" } else { "RUNNING" }, end_ms],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO log_events (execution, seq, time_ms, kind, flags, text) \
             WITH RECURSIVE n(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM n WHERE seq < ?2) \
             SELECT ?1, seq, 0, 0, 0, 'line' FROM n",
            params![rowid, events],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO execution_inputs (execution, name, value) VALUES (?1, 'topic', 'x')",
            [rowid],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO execution_labels (execution, key, value) VALUES (?1, 'team', 'a')",
            [rowid],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO artifacts (execution, seq, phase, path, description, time_ms) \
             VALUES (?1, 1, 0, '/tmp/x', 'x', 0)",
            [rowid],
        )
        .unwrap();
        id
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |row| row.get(0)).unwrap()
    }

    fn step(conn: &mut Connection, cutoff: i64) -> PruneStep {
        let sp = conn.savepoint().unwrap();
        let step = prune_step(&sp, cutoff).unwrap();
        sp.commit().unwrap();
        step
    }

    #[test]
    fn expired_history_goes_in_bounded_steps_and_the_rest_stays() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("h.sqlite3")).unwrap();
        super::super::schema::configure(&conn).unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        let big = insert(&conn, 1, Some(100), 2 * EVENT_BUDGET + 5_000);
        let small = insert(&conn, 2, Some(200), 10);
        insert(&conn, 3, None, 5);
        insert(&conn, 4, Some(10_000), 7);
        // The newest row keeps its row id from being handed out again, so
        // it stays even though it has expired.
        insert(&conn, 5, Some(300), 3);
        for (id, finished_ms) in [("done", Some(100)), ("processing", None)] {
            conn.execute(
                "INSERT INTO drop_files (id, folder, mode, original_name, processing_path, state, taken_ms, finished_ms) \
                 VALUES (?1, x'', 'manifest', 'a.yaml', x'', ?1, 0, ?2)",
                params![id, finished_ms],
            )
            .unwrap();
        }

        // The big run's log takes three steps; its row goes with the last
        // of its log, and the small run follows in the same step.
        for round in 0..2 {
            let first = step(&mut conn, 5_000);
            assert!(first.more && first.executions.is_empty(), "{first:?}");
            // The finished drop-folder file goes in the first step.
            assert_eq!(first.drop_files, usize::from(round == 0));
            assert_eq!(
                count(&conn, "SELECT COUNT(*) FROM executions WHERE rowid = 1"),
                1
            );
        }
        let last = step(&mut conn, 5_000);
        assert_eq!(last.executions, [big, small]);
        assert!(!last.more, "{last:?}");
        assert_eq!(step(&mut conn, 5_000), PruneStep::default());

        // The running execution, the one that ended after the cutoff and the
        // newest stay, whole; nothing of the deleted ones is left.
        assert_eq!(count(&conn, "SELECT SUM(rowid) FROM executions"), 3 + 4 + 5);
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM log_events"), 5 + 7 + 3);
        for table in ["execution_inputs", "execution_labels", "artifacts"] {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE execution IN (3, 4, 5)");
            assert_eq!(count(&conn, &sql), 3, "{table}");
            let sql = format!("SELECT COUNT(*) FROM {table}");
            assert_eq!(count(&conn, &sql), 3, "{table}");
        }
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM drop_files WHERE id = 'processing'"
            ),
            1
        );
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM drop_files"), 1);
    }
}
