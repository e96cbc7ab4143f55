//! Log ingest: one execution printing N event lines, all persisted and
//! delivered, against a bare loop that inserts the same lines into SQLite.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::harness::*;

/// The bare baseline of log ingest: spawn the program, parse each event line
/// and insert it in batches into SQLite, nothing else.
pub(crate) fn bare_ingest(lines: usize, db: &Path) -> f64 {
    let mut conn = rusqlite::Connection::open(db).expect("open");
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
         CREATE TABLE log (seq INTEGER PRIMARY KEY, time_ms INTEGER, kind INTEGER, text TEXT);",
    )
    .expect("schema");
    let started = Instant::now();
    let mut child = Command::new(examples_dir().join("chatty.sh"))
        .args(["--mode", "events", "--lines", &lines.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chatty");
    let reader = BufReader::with_capacity(64 * 1024, child.stderr.take().expect("stderr"));
    let mut batch: Vec<(i64, String)> = Vec::with_capacity(8192);
    let mut seq = 0i64;
    let flush = |conn: &mut rusqlite::Connection, batch: &mut Vec<(i64, String)>| {
        let tx = conn.transaction().expect("tx");
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO log (seq, time_ms, kind, text) VALUES (?1, ?2, 3, ?3)")
                .expect("prepare");
            for (seq, text) in batch.drain(..) {
                insert
                    .execute(rusqlite::params![seq, 0i64, text])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
    };
    for line in reader.lines() {
        let line = line.expect("line");
        let json = line.strip_prefix("__WF_EVENT__:").expect("event line");
        let event: workflow_manager::events::WorkflowEvent =
            serde_json::from_str(json).expect("event");
        seq += 1;
        batch.push((seq, serde_json::to_string(&event).expect("encode")));
        if batch.len() == 8192 {
            flush(&mut conn, &mut batch);
        }
    }
    flush(&mut conn, &mut batch);
    assert!(child.wait().expect("wait").success());
    seq as f64 / started.elapsed().as_secs_f64()
}

/// Lines per second of one execution printing `lines` event lines, each
/// persisted and delivered to a subscriber that follows it to its end.
pub(crate) async fn ingest_rate(daemon: &Daemon, lines: usize) -> f64 {
    let mut client = daemon.client().await;
    let started = Instant::now();
    let (events, _) = run_to_end(
        &mut client,
        "chatty",
        &[("mode", "events"), ("lines", &lines.to_string())],
    )
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    // task_started + lines + task_completed, plus lifecycle events.
    assert!(
        events as usize >= lines + 2,
        "received {events} events for {lines} lines"
    );
    lines as f64 / elapsed
}

pub(crate) async fn log_ingest(lines: usize) {
    let dir = tempdir::TempDir::new("bare");
    let baseline = bare_ingest(lines, &dir.0.join("bare.sqlite3"));

    let daemon = Daemon::start("ingest").await;
    let rate = ingest_rate(&daemon, lines).await;
    daemon.stop().await;
    println!(
        "log ingest: {lines} event lines persisted and streamed: daemon {rate:.0} lines/s, bare parse+SQLite loop {baseline:.0} lines/s, ratio {:.2}x (targets >= 300000 lines/s and >= 0.60x)",
        rate / baseline
    );
}
