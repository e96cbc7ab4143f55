//! A history of many executions, made in seconds: a few real executions
//! are run by the daemon, which is then stopped, and their rows (the
//! execution, its inputs, labels, log and artifacts) are copied under new
//! ids and row ids, times moved back, until the history holds the number
//! wanted. Every row is one the daemon itself wrote, so the daemon reads
//! the copies as it reads its own; running 100,000 executions instead
//! would take about two minutes at this machine's ~1,000/s.

use std::path::Path;
use std::time::Instant;

use rusqlite::{params, Connection};

use tonic::transport::Channel;
use workflow_manager::pb::workflow_service_client::WorkflowServiceClient;

use crate::harness::*;
use crate::throughput::{daemon_rate, AwaitBy};

/// How far apart the copies are, on average: 100,000 executions spread
/// over a week.
const MS_PER_EXECUTION: i64 = 6 * 1000;

/// Makes a data directory whose history holds `executions` finished
/// `hello` executions, `seeds` of them run for real.
pub(crate) async fn filled_history(tag: &str, executions: usize, seeds: usize) -> tempdir::TempDir {
    filled_history_of(tag, executions, |client| async move {
        daemon_rate(&client, seeds, AwaitBy::Wait, 32).await;
    })
    .await
}

/// Makes a data directory whose history holds `executions` executions:
/// those `seed` runs for real (they must all end), then copies of them.
pub(crate) async fn filled_history_of<Seed, Seeded>(
    tag: &str,
    executions: usize,
    seed: Seed,
) -> tempdir::TempDir
where
    Seed: FnOnce(WorkflowServiceClient<Channel>) -> Seeded,
    Seeded: std::future::Future<Output = ()>,
{
    let data = tempdir::TempDir::new(tag);
    let started = Instant::now();
    // The seeding daemon owns a scratch directory, not the data, so
    // stopping it keeps the history.
    let seeder = Daemon::spawn(
        tempdir::TempDir::new(&format!("{tag}-seed")),
        &data.0,
        &examples_dir(),
        &[],
    )
    .await;
    seed(seeder.client().await).await;
    seeder.stop().await;
    let ran = started.elapsed().as_secs_f64();
    let seeds = copy_executions(&data.0.join("history.sqlite3"), executions);
    println!(
        "history filled: {seeds} executions run ({ran:.1} s), copied to {executions} in {:.1} s",
        started.elapsed().as_secs_f64() - ran
    );
    data
}

/// Copies the finished executions in the history at `db` until it holds
/// `executions` (at least as many as were there); returns how many were
/// there. Each generation copies every
/// execution so far (the last one only as many as are still wanted) with
/// one `INSERT ... SELECT` per table, so the history doubles per
/// generation: 1,000,000 from 100 seeds in 14 generations. A copy's row id
/// is its original's plus the largest row id before the generation, which
/// is how its rows in the other tables find it, and its times are moved
/// back by [`MS_PER_EXECUTION`] per execution before the generation, so the
/// copies come before their originals without overlapping them.
fn copy_executions(db: &Path, executions: usize) -> i64 {
    let mut conn = Connection::open(db).expect("open the history");
    // Preparation, not a measurement: no need to survive a power cut, and
    // one big write is faster without the WAL (set back below).
    conn.execute_batch(
        "PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;",
    )
    .expect("pragmas");
    let (seeds, finished): (i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), COUNT(end_ms) FROM executions",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("count");
    assert!(
        seeds > 0 && seeds == finished,
        "every seed execution should have ended"
    );
    // Since schema version 4 a label keeps its execution's create time.
    let labels_copy = if conn
        .prepare("SELECT create_ms FROM execution_labels")
        .is_ok()
    {
        "INSERT INTO execution_labels (execution, key, value, create_ms) \
         SELECT execution + ?1, key, value, create_ms - ?2 FROM execution_labels \
         WHERE execution <= ?3"
    } else {
        "INSERT INTO execution_labels (execution, key, value) \
         SELECT execution + ?1, key, value FROM execution_labels WHERE execution <= ?3"
    };
    let tx = conn.transaction().expect("transaction");
    let mut left = executions as i64 - seeds;
    while left > 0 {
        let (count, max_rowid): (i64, i64) = tx
            .query_row("SELECT COUNT(*), MAX(rowid) FROM executions", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .expect("count");
        let take = left.min(count);
        // The copies of this generation: the first `take` executions.
        let last: i64 = tx
            .query_row(
                "SELECT rowid FROM executions ORDER BY rowid LIMIT 1 OFFSET ?1",
                [take - 1],
                |row| row.get(0),
            )
            .expect("last copied");
        let shift = count * MS_PER_EXECUTION;
        // Random version-4-shaped ids, as text like Uuid's.
        tx.execute(
            "INSERT INTO executions (rowid, id, workflow_id, workflow_name, state, create_ms, \
             start_ms, end_ms, exit_code, signal, error, argv_json, request_id, timeout_ms, \
             pid, pid_start_ticks, tree_json, counts_json, batch_id) \
             SELECT rowid + ?1, lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' \
             || substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' \
             || hex(randomblob(6))), workflow_id, workflow_name, state, create_ms - ?2, \
             start_ms - ?2, end_ms - ?2, exit_code, signal, error, argv_json, NULL, timeout_ms, \
             pid, pid_start_ticks, tree_json, counts_json, batch_id \
             FROM executions WHERE rowid <= ?3 ORDER BY rowid",
            params![max_rowid, shift, last],
        )
        .expect("copy executions");
        // ?2 is unused where a table has no times: a parameter may be.
        for sql in [
            "INSERT INTO execution_inputs (execution, name, value) \
             SELECT execution + ?1, name, value FROM execution_inputs WHERE execution <= ?3",
            labels_copy,
            "INSERT INTO log_events (execution, seq, time_ms, kind, flags, text) \
             SELECT execution + ?1, seq, time_ms - ?2, kind, flags, text FROM log_events \
             WHERE execution <= ?3",
            "INSERT INTO artifacts (execution, seq, phase, path, description, time_ms) \
             SELECT execution + ?1, seq, phase, path, description, time_ms - ?2 FROM artifacts \
             WHERE execution <= ?3",
        ] {
            tx.execute(sql, params![max_rowid, shift, last])
                .expect("copy an execution's rows");
        }
        left -= take;
    }
    tx.commit().expect("commit the copies");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("back to WAL");
    seeds
}
