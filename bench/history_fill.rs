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

use crate::harness::*;
use crate::throughput::{daemon_rate, AwaitBy};

/// How far back each generation of copies is moved: 1,000 generations
/// (100,000 from 100 seeds) spread over a week.
const GENERATION_MS: i64 = 10 * 60 * 1000;

/// Makes a data directory whose history holds `executions` finished
/// `hello` executions, `seeds` of them run for real.
pub(crate) async fn filled_history(tag: &str, executions: usize, seeds: usize) -> tempdir::TempDir {
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
    daemon_rate(&seeder.client().await, seeds, AwaitBy::Wait, 32).await;
    seeder.stop().await;
    let ran = started.elapsed().as_secs_f64();
    copy_executions(&data.0.join("history.sqlite3"), executions - seeds);
    println!(
        "history filled: {seeds} executions run ({ran:.1} s), copied to {executions} in {:.1} s",
        started.elapsed().as_secs_f64() - ran
    );
    data
}

/// Adds `copies` executions to the history at `db`, copied round-robin
/// from the finished executions already there.
fn copy_executions(db: &Path, copies: usize) {
    let mut conn = Connection::open(db).expect("open the history");
    // Preparation, not a measurement: no need to survive a power cut.
    conn.pragma_update(None, "synchronous", "OFF")
        .expect("pragma");
    let seeds: Vec<i64> = conn
        .prepare("SELECT rowid FROM executions WHERE state = 'SUCCEEDED' ORDER BY rowid")
        .expect("prepare")
        .query_map([], |row| row.get(0))
        .expect("seeds")
        .collect::<Result<_, _>>()
        .expect("seed rows");
    let all: i64 = conn
        .query_row("SELECT COUNT(*) FROM executions", [], |row| row.get(0))
        .expect("count");
    assert!(
        !seeds.is_empty() && seeds.len() as i64 == all,
        "every seed execution should have succeeded"
    );
    let tx = conn.transaction().expect("transaction");
    {
        let mut execution = tx
            .prepare(
                "INSERT INTO executions (id, workflow_id, workflow_name, state, create_ms, \
                 start_ms, end_ms, exit_code, signal, error, argv_json, request_id, timeout_ms, \
                 pid, pid_start_ticks, tree_json, counts_json, batch_id) \
                 SELECT ?2, workflow_id, workflow_name, state, create_ms - ?3, start_ms - ?3, \
                 end_ms - ?3, exit_code, signal, error, argv_json, NULL, timeout_ms, pid, \
                 pid_start_ticks, tree_json, counts_json, batch_id FROM executions WHERE rowid = ?1",
            )
            .expect("prepare executions");
        let mut dependents = [
            "INSERT INTO execution_inputs (execution, name, value) \
             SELECT ?2, name, value FROM execution_inputs WHERE execution = ?1",
            "INSERT INTO execution_labels (execution, key, value) \
             SELECT ?2, key, value FROM execution_labels WHERE execution = ?1",
            "INSERT INTO log_events (execution, seq, time_ms, kind, flags, text) \
             SELECT ?2, seq, time_ms - ?3, kind, flags, text FROM log_events WHERE execution = ?1",
            "INSERT INTO artifacts (execution, seq, phase, path, description, time_ms) \
             SELECT ?2, seq, phase, path, description, time_ms - ?3 FROM artifacts WHERE execution = ?1",
        ]
        .map(|sql| tx.prepare(sql).expect("prepare dependents"));
        for i in 0..copies {
            let seed = seeds[i % seeds.len()];
            let shift = (i / seeds.len() + 1) as i64 * GENERATION_MS;
            execution
                .execute(params![seed, uuid::Uuid::new_v4().to_string(), shift])
                .expect("copy an execution");
            let rowid = tx.last_insert_rowid();
            for (index, statement) in dependents.iter_mut().enumerate() {
                // The inputs and labels have no times to move.
                if index < 2 {
                    statement.execute(params![seed, rowid])
                } else {
                    statement.execute(params![seed, rowid, shift])
                }
                .expect("copy an execution's rows");
            }
        }
    }
    tx.commit().expect("commit the copies");
}
