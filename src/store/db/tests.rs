//! The SQL interface on both backends: what goes in comes out, savepoints
//! undo only their part, a failed transaction leaves nothing.

use super::*;
use crate::store::db::test_server;

/// Runs `check` on a fresh SQLite database and on a fresh PostgreSQL one.
fn on_both(check: impl Fn(Db<'_>)) {
    let sqlite = rusqlite::Connection::open_in_memory().expect("open SQLite");
    check(Db::Sqlite(&sqlite));
    let postgres = PgConn::connect(&test_server::fresh_database()).expect("connect");
    check(Db::Postgres(&postgres));
}

fn create_table(db: Db<'_>) {
    db.batch("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT, data BYTEA, ratio DOUBLE PRECISION, flag BIGINT)")
        .expect("create");
}

#[test]
fn values_come_back_as_they_went_in() {
    on_both(|db| {
        create_table(db);
        let name = String::from("ünïcode '?'");
        let inserted = db
            .execute(
                "INSERT INTO t (id, name, data, ratio, flag) VALUES (?1, ?2, ?3, ?4, ?5)",
                args![7_u32, name, vec![0_u8, 255], 0.5_f64, true],
            )
            .expect("insert");
        assert_eq!(inserted, 1);
        db.execute(
            "INSERT INTO t (id, name) VALUES (?1, ?2)",
            args![8_i64, None::<String>],
        )
        .expect("insert nulls");
        let rows = db
            .query(
                "SELECT id, name, data, ratio, flag FROM t WHERE id >= ?1 ORDER BY id",
                args![7],
                |row| {
                    Ok((
                        row.get::<u64>(0)?,
                        row.get::<Option<String>>(1)?,
                        row.get::<Option<Vec<u8>>>(2)?,
                        row.get::<Option<f64>>(3)?,
                        row.get::<Option<bool>>(4)?,
                    ))
                },
            )
            .expect("select");
        assert_eq!(
            rows,
            vec![
                (
                    7,
                    Some(name.clone()),
                    Some(vec![0, 255]),
                    Some(0.5),
                    Some(true)
                ),
                (8, None, None, None, None),
            ]
        );
        let count = db
            .query_one("SELECT COUNT(*) FROM t", args![], |row| row.get::<i64>(0))
            .expect("count");
        assert_eq!(count, 2);
        // `usize::MAX` as a limit: no limit, on both.
        let all = db
            .query("SELECT id FROM t LIMIT ?1", args![usize::MAX], |row| {
                row.get::<i64>(0)
            })
            .expect("no limit");
        assert_eq!(all.len(), 2);
        let missing = db
            .query_opt("SELECT name FROM t WHERE id = ?1", args![9], |row| {
                row.get::<String>(0)
            })
            .expect("select none");
        assert_eq!(missing, None);
        let wrong = db.query_one("SELECT name FROM t WHERE id = 7", args![], |row| {
            row.get::<i64>(0)
        });
        assert!(
            matches!(&wrong, Err(StoreError::Corrupt(why)) if why.contains("text")),
            "{wrong:?}"
        );
    });
}

#[test]
fn a_failed_savepoint_undoes_only_its_part_and_a_failed_transaction_all() {
    on_both(|db| {
        create_table(db);
        db.transaction(|tx| {
            tx.execute("INSERT INTO t (id) VALUES (1)", args![])?;
            let failed = tx.savepoint(|sp| {
                sp.execute("INSERT INTO t (id) VALUES (2)", args![])?;
                // The same key again: the statement fails.
                sp.execute("INSERT INTO t (id) VALUES (2)", args![])
            });
            assert!(failed.is_err());
            tx.savepoint(|sp| sp.execute("INSERT INTO t (id) VALUES (3)", args![]))
        })
        .expect("the transaction commits");
        let failed = db.transaction(|tx| {
            tx.execute("INSERT INTO t (id) VALUES (4)", args![])?;
            tx.execute("INSERT INTO t (id) VALUES (1)", args![])
        });
        assert!(failed.is_err());
        let ids = db
            .query("SELECT id FROM t ORDER BY id", args![], |row| {
                row.get::<i64>(0)
            })
            .expect("ids");
        assert_eq!(ids, vec![1, 3]);
    });
}

#[test]
fn a_url_is_described_without_its_password() {
    let described = |url: &str| Database::Postgres(url.into()).describe();
    assert_eq!(
        described("postgres://wf:s3cr:et@db.example:5432/history"),
        "postgres://wf:***@db.example:5432/history"
    );
    assert_eq!(
        described("postgresql://wf@db/history"),
        "postgresql://wf@db/history"
    );
    assert_eq!(
        described("postgres://wf@db/history?sslmode=require&password=s3cret"),
        "postgres://wf@db/history?sslmode=require&password=***"
    );
}

#[test]
fn a_nul_in_text_is_kept_visibly_where_text_cannot_hold_one() {
    on_both(|db| {
        create_table(db);
        db.execute("INSERT INTO t (id, name) VALUES (1, ?1)", args!["a\0b"])
            .expect("a NUL does not fail the write");
        let name = db
            .query_one("SELECT name FROM t", args![], |row| row.get::<String>(0))
            .unwrap();
        match db.dialect() {
            Dialect::Sqlite => assert_eq!(name, "a\0b"),
            Dialect::Postgres => assert_eq!(name, "a\u{2400}b"),
        }
    });
}

#[test]
fn work_that_went_on_past_a_failed_statement_is_not_reported_kept() {
    on_both(|db| {
        create_table(db);
        let outcome = db.transaction(|tx| {
            tx.execute("INSERT INTO t (id) VALUES (1)", args![])?;
            // A failure swallowed without a savepoint.
            let _ = tx.execute("INSERT INTO t (id) VALUES (1)", args![]);
            Ok(())
        });
        let kept = db
            .query_one("SELECT COUNT(*) FROM t", args![], |row| row.get::<i64>(0))
            .unwrap();
        match db.dialect() {
            // SQLite undoes the one statement and keeps the rest.
            Dialect::Sqlite => assert!(outcome.is_ok() && kept == 1),
            // PostgreSQL refuses the rest: reported, not a silent rollback.
            Dialect::Postgres => {
                assert!(
                    matches!(outcome, Err(StoreError::StatementFailedInTransaction)),
                    "{outcome:?}"
                );
                assert_eq!(kept, 0);
            }
        }
        // The connection is usable again.
        db.transaction(|tx| tx.execute("INSERT INTO t (id) VALUES (2)", args![]))
            .unwrap();
    });
}

#[test]
fn deferred_statements_are_written_in_order_with_the_commit() {
    on_both(|db| {
        create_table(db);
        db.transaction(|tx| {
            tx.execute_deferred("INSERT INTO t (id, name) VALUES (1, ?1)", args!["a"])?;
            tx.savepoint(|sp| {
                sp.execute_deferred("UPDATE t SET name = ?1 WHERE id = 1", args!["b"])
            })?;
            // A query sees what was deferred before it.
            let seen = tx.query_one("SELECT name FROM t WHERE id = 1", args![], |row| {
                row.get::<String>(0)
            })?;
            assert_eq!(seen, "b");
            tx.execute_deferred("UPDATE t SET name = name || ?1 WHERE id = 1", args!["c"])
        })
        .expect("the transaction commits");
        let name = db
            .query_one("SELECT name FROM t", args![], |row| row.get::<String>(0))
            .unwrap();
        assert_eq!(name, "bc");
    });
}

#[test]
fn a_deferred_failure_fails_the_transaction_whichever_savepoint_reports_it() {
    on_both(|db| {
        create_table(db);
        db.execute("INSERT INTO t (id) VALUES (1)", args![])
            .unwrap();
        let outcome = db.transaction(|tx| {
            tx.execute("INSERT INTO t (id) VALUES (2)", args![])?;
            // The same key again, in a savepoint: on PostgreSQL it fails
            // only when sent, with the next savepoint's statement, after
            // this savepoint was reported kept.
            let duplicate =
                tx.savepoint(|sp| sp.execute_deferred("INSERT INTO t (id) VALUES (1)", args![]));
            if db.dialect() == Dialect::Sqlite {
                return Err(duplicate.expect_err("SQLite fails at once"));
            }
            duplicate?;
            // The next savepoint is told and rolls back, which undoes the
            // failed one too: that must not make the transaction look
            // whole, or the first savepoint's work would vanish unnoticed.
            let reported = tx.savepoint(|sp| sp.execute("INSERT INTO t (id) VALUES (3)", args![]));
            assert!(reported.is_err());
            Ok(())
        });
        assert!(outcome.is_err(), "{outcome:?}");
        let ids = db
            .query("SELECT id FROM t ORDER BY id", args![], |row| {
                row.get::<i64>(0)
            })
            .unwrap();
        assert_eq!(ids, vec![1]);
        // The connection is usable again, and nothing of the failed
        // attempt is sent with the next transaction.
        db.transaction(|tx| tx.execute_deferred("INSERT INTO t (id) VALUES (4)", args![]))
            .unwrap();
    });
}

#[test]
fn a_deferred_value_that_cannot_be_sent_stops_the_commit() {
    on_both(|db| {
        if db.dialect() == Dialect::Sqlite {
            // SQLite binds any value to any column.
            return;
        }
        create_table(db);
        let outcome = db.transaction(|tx| {
            tx.execute("INSERT INTO t (id) VALUES (1)", args![])?;
            // Text for a BIGINT: refused by the client, never sent, so the
            // server sees nothing wrong with the transaction.
            tx.execute_deferred("INSERT INTO t (id) VALUES (?1)", args!["two"])
        });
        assert!(outcome.is_err(), "{outcome:?}");
        let kept = db
            .query_one("SELECT COUNT(*) FROM t", args![], |row| row.get::<i64>(0))
            .unwrap();
        assert_eq!(
            kept, 0,
            "a transaction reported failed must not have committed"
        );
    });
}

#[test]
fn a_connection_refused_inside_the_runtime_is_an_error_not_a_panic() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // Port 1 on loopback: nothing listens.
    let refused = runtime.block_on(async {
        tokio::spawn(async { PgConn::connect("postgres://postgres@127.0.0.1:1/none").err() })
            .await
            .expect("connect does not panic")
    });
    assert!(
        matches!(refused, Some(StoreError::Connect { .. })),
        "{refused:?}"
    );
}
