//! The history in PostgreSQL (issue 30) against the SQLite file, same run:
//! trivial executions (Execute, then WaitExecution) at 2, 8 and 32 in
//! flight through a daemon on each, in turns whose order alternates; and
//! log ingest, one execution printing N event lines, all persisted and
//! followed to its end, on each.
//!
//! The server is the tests' (src/store/db/test_server.rs: Debian's
//! binaries, a temporary directory on this machine's disk) with
//! PostgreSQL's durable defaults: each commit flushed before it is
//! acknowledged, stricter than the daemon's SQLite (WAL,
//! synchronous=NORMAL). It shares the two cores with the daemon, its
//! programs and this client, as a database on the conversion host itself
//! would.

use std::ffi::OsStr;

use crate::harness::*;
use crate::ingest::ingest_rate;
use crate::throughput::{daemon_rate, AwaitBy};

#[path = "../src/store/db/test_server.rs"]
mod test_server;

async fn daemon_on_postgres() -> Daemon {
    let url = test_server::fresh_database();
    let data = tempdir::TempDir::new("postgres");
    let data_dir = data.0.clone();
    Daemon::spawn(
        data,
        &data_dir,
        &examples_dir(),
        &[OsStr::new("--database"), OsStr::new(&url)],
    )
    .await
}

/// `rounds` rounds of `executions` at each level in flight, then log
/// ingest of `lines` lines, on SQLite and on PostgreSQL.
pub(crate) async fn postgres(levels: &[usize], executions: usize, rounds: usize, lines: usize) {
    test_server::durable();
    let on_sqlite = Daemon::start("sqlite").await;
    let on_postgres = daemon_on_postgres().await;
    let sqlite = on_sqlite.client().await;
    let postgres = on_postgres.client().await;
    // Warm both up (discovery, the first run directories, prepared
    // statements).
    daemon_rate(&sqlite, 64, AwaitBy::Wait, 32).await;
    daemon_rate(&postgres, 64, AwaitBy::Wait, 32).await;
    for &in_flight in levels {
        let mut rates: [Vec<f64>; 2] = Default::default();
        let mut cpu = [0.0; 2];
        for round in 0..rounds {
            for turn in 0..2 {
                let on_pg = (round + turn) % 2 == 1;
                let (daemon, client) = if on_pg {
                    (&on_postgres, &postgres)
                } else {
                    (&on_sqlite, &sqlite)
                };
                let before = daemon.cpu().daemon;
                rates[usize::from(on_pg)]
                    .push(daemon_rate(client, executions, AwaitBy::Wait, in_flight).await);
                cpu[usize::from(on_pg)] += daemon.cpu().daemon - before;
            }
        }
        let mut ratios: Vec<f64> = rates[1]
            .iter()
            .zip(&rates[0])
            .map(|(pg, sqlite)| pg / sqlite)
            .collect();
        let per_execution = |seconds: f64| seconds / (executions * rounds) as f64 * 1e3;
        println!(
            "postgres: {in_flight} in flight, {rounds} rounds of {executions}: PostgreSQL over \
             SQLite median {:.2}x (rounds {}; target >= 0.5x); SQLite median {:.0}/s, \
             PostgreSQL {:.0}/s; daemon CPU per execution SQLite {:.3} ms, PostgreSQL {:.3} ms",
            median(&mut ratios),
            ratios
                .iter()
                .map(|r| format!("{r:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            median(&mut rates[0]),
            median(&mut rates[1]),
            per_execution(cpu[0]),
            per_execution(cpu[1]),
        );
    }
    let sqlite_ingest = ingest_rate(&on_sqlite, lines).await;
    let postgres_ingest = ingest_rate(&on_postgres, lines).await;
    println!(
        "postgres: log ingest of {lines} event lines, persisted and followed: PostgreSQL \
         {postgres_ingest:.0} lines/s (target >= 100000), SQLite {sqlite_ingest:.0} lines/s, \
         {:.2}x",
        postgres_ingest / sqlite_ingest
    );
    on_sqlite.stop().await;
    on_postgres.stop().await;
}
