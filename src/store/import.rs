//! Copying a SQLite history into an empty PostgreSQL one
//! (`workflowd --database postgres://... --import-history FILE`), so a
//! team moving its daemon to PostgreSQL keeps its executions and their
//! logs, the drop-folder ledger, schedules and their runs, webhooks and
//! their outbox, API tokens and the audit log.
//!
//! Every table is copied with its keys as they are (row ids included:
//! they are what log readers and list cursors hold), in one transaction:
//! the import is whole or not at all. The identity sequences then
//! continue after the largest key copied. The per-state totals are kept by
//! the database's own triggers as the executions go in.

use std::path::Path;

use super::connect;
use super::db::{Database, Db, Owned, ToValue, Value};
use super::StoreError;

/// Rows of a page read from SQLite and written as one statement.
const PAGE: usize = 500;

/// A table and the columns copied, the same names on both backends.
struct Table {
    name: &'static str,
    columns: &'static str,
    /// The column PostgreSQL fills itself (GENERATED ALWAYS), given anyway.
    always_identity: Option<&'static str>,
}

/// The tables copied whole, after the executions and what hangs off them.
const OTHER_TABLES: &[Table] = &[
    Table {
        name: "drop_files",
        columns: "id, folder, mode, original_name, processing_path, state, batch_id, \
                  execution_ids, taken_ms, final_path, final_state, finished_ms, error",
        always_identity: None,
    },
    Table {
        name: "schedules",
        columns: "id, definition, paused, note, create_ms, update_ms, handled_ms",
        always_identity: None,
    },
    Table {
        name: "schedule_runs",
        columns: "rowid, schedule_id, scheduled_ms, triggered, action_ms, outcome, \
                  execution_ids, batch_id, error, request_id",
        always_identity: Some("rowid"),
    },
    Table {
        name: "webhooks",
        columns: "id, url, secret, events, workflow_ids, description, create_ms",
        always_identity: None,
    },
    Table {
        name: "notifications",
        columns: "seq, kind, subject, workflow_id, time_ms",
        always_identity: Some("seq"),
    },
    Table {
        name: "webhook_deliveries",
        columns: "id, webhook, kind, subject, payload, state, attempts, create_ms, next_ms, \
                  last_ms, last_status, last_error",
        always_identity: None,
    },
    Table {
        name: "api_tokens",
        columns: "id, name, role, secret_hash, create_ms, expire_ms, revoke_ms, namespaces",
        always_identity: None,
    },
    Table {
        name: "audit_events",
        columns: "seq, time_ms, principal, role, method, object, peer, code, message",
        always_identity: Some("seq"),
    },
];

const EXECUTIONS: Table = Table {
    name: "executions",
    columns: "rowid, id, workflow_id, workflow_name, state, create_ms, start_ms, end_ms, \
              exit_code, signal, error, argv_json, request_id, timeout_ms, pid, pid_start_ticks, \
              tree_json, counts_json, batch_id, schedule_id, scheduled_ms, retry_json, attempt, \
              first_attempt, next_attempt, retry_settled, limits_json, peak_memory_bytes, \
              cpu_time_ms, namespace",
    always_identity: None,
};

/// What hangs off an execution, keyed by its row id.
const EXECUTION_PARTS: &[Table] = &[
    Table {
        name: "execution_inputs",
        columns: "execution, name, value",
        always_identity: None,
    },
    Table {
        name: "execution_labels",
        columns: "execution, key, value, create_ms",
        always_identity: None,
    },
    Table {
        name: "artifacts",
        columns: "execution, seq, phase, path, description, time_ms",
        always_identity: None,
    },
];

const LOG_EVENTS: Table = Table {
    name: "log_events",
    columns: "execution, seq, time_ms, kind, flags, text",
    always_identity: None,
};

/// Rows copied, by table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ImportCounts {
    /// (table, rows), in the order copied.
    pub(crate) tables: Vec<(&'static str, u64)>,
}

impl ImportCounts {
    fn add(&mut self, table: &'static str, rows: usize) {
        match self.tables.iter_mut().find(|(name, _)| *name == table) {
            Some((_, count)) => *count += rows as u64,
            None => self.tables.push((table, rows as u64)),
        }
    }
}

/// Copies the SQLite history at `file` (migrated first, in place, as a
/// daemon starting on it would) into the PostgreSQL `database`, which must
/// hold no history yet and no daemon may be using.
pub(crate) fn import_sqlite_history(
    file: &Path,
    database: &Database,
) -> Result<ImportCounts, StoreError> {
    if !file.is_file() {
        return Err(StoreError::Open {
            path: file.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no SQLite history there (the data directory's history.sqlite3)",
            ),
        });
    }
    if !matches!(database, Database::Postgres(_)) {
        return Err(StoreError::ImportNeedsPostgres);
    }
    let from = connect::open(&Database::Sqlite(file.to_path_buf()))?;
    let to = connect::open(database)?;
    sqlite_into_postgres(from.db(), to.db())
}

/// Copies the history of `from` (SQLite, migrated) into `to` (PostgreSQL,
/// migrated and holding no history yet).
pub(crate) fn sqlite_into_postgres(from: Db<'_>, to: Db<'_>) -> Result<ImportCounts, StoreError> {
    let mut counts = ImportCounts::default();
    for table in [&EXECUTIONS]
        .into_iter()
        .chain(EXECUTION_PARTS)
        .chain([&LOG_EVENTS])
        .chain(OTHER_TABLES)
    {
        counts.add(table.name, 0);
    }
    to.transaction(|to| {
        let held: i64 = to.query_one(
            "SELECT (SELECT COUNT(*) FROM executions) + (SELECT COUNT(*) FROM schedules) \
             + (SELECT COUNT(*) FROM webhooks) + (SELECT COUNT(*) FROM api_tokens) \
             + (SELECT COUNT(*) FROM drop_files) + (SELECT COUNT(*) FROM audit_events)",
            &[],
            |row| row.get(0),
        )?;
        if held > 0 {
            return Err(StoreError::ImportTargetNotEmpty);
        }
        let mut after = i64::MIN;
        loop {
            let sql = format!(
                "SELECT {} FROM executions WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
                EXECUTIONS.columns
            );
            let rows = read_rows(from, &sql, &[Value::Int(after), Value::Int(PAGE as i64)])?;
            let Some(last) = rows.last() else { break };
            let Owned::Int(last_rowid) = last[0] else {
                return Err(StoreError::Corrupt("an execution's row id".into()));
            };
            let first_rowid = after;
            after = last_rowid;
            write_rows(to, &EXECUTIONS, &rows)?;
            counts.add(EXECUTIONS.name, rows.len());
            for part in EXECUTION_PARTS {
                let sql = format!(
                    "SELECT {} FROM {} WHERE execution > ?1 AND execution <= ?2",
                    part.columns, part.name
                );
                let rows = read_rows(
                    from,
                    &sql,
                    &[Value::Int(first_rowid), Value::Int(last_rowid)],
                )?;
                for page in rows.chunks(PAGE) {
                    write_rows(to, part, page)?;
                }
                counts.add(part.name, rows.len());
            }
            copy_log_events(from, to, first_rowid, last_rowid, &mut counts)?;
        }
        for table in OTHER_TABLES {
            let sql = format!("SELECT {} FROM {}", table.columns, table.name);
            let rows = read_rows(from, &sql, &[])?;
            for page in rows.chunks(PAGE) {
                write_rows(to, table, page)?;
            }
            counts.add(table.name, rows.len());
        }
        // New rows continue after the largest key copied.
        for (table, column) in [
            ("executions", "rowid"),
            ("schedule_runs", "rowid"),
            ("notifications", "seq"),
            ("audit_events", "seq"),
        ] {
            to.query_one(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
                     COALESCE(MAX({column}), 0) + 1, false) FROM {table}"
                ),
                &[],
                |_| Ok(()),
            )?;
        }
        Ok(())
    })?;
    Ok(counts)
}

/// The log events of the executions with row ids in (`after`, `last`],
/// a page at a time (an execution may have millions).
fn copy_log_events(
    from: Db<'_>,
    to: Db<'_>,
    after: i64,
    last: i64,
    counts: &mut ImportCounts,
) -> Result<(), StoreError> {
    let mut position = (after, i64::MAX);
    loop {
        let sql = format!(
            "SELECT {} FROM log_events WHERE (execution, seq) > (?1, ?2) AND execution <= ?3 \
             ORDER BY execution, seq LIMIT ?4",
            LOG_EVENTS.columns
        );
        let rows = read_rows(
            from,
            &sql,
            &[
                Value::Int(position.0),
                Value::Int(position.1),
                Value::Int(last),
                Value::Int(PAGE as i64 * 20),
            ],
        )?;
        let Some(end) = rows.last() else {
            return Ok(());
        };
        let (Owned::Int(execution), Owned::Int(seq)) = (&end[0], &end[1]) else {
            return Err(StoreError::Corrupt("a log event's key".into()));
        };
        position = (*execution, *seq);
        for page in rows.chunks(PAGE) {
            write_rows(to, &LOG_EVENTS, page)?;
        }
        counts.add(LOG_EVENTS.name, rows.len());
    }
}

fn read_rows(db: Db<'_>, sql: &str, args: &[Value<'_>]) -> Result<Vec<Vec<Owned>>, StoreError> {
    db.query(sql, args, |row| {
        (0..row.len())
            .map(|index| row.get::<Owned>(index))
            .collect()
    })
}

/// One INSERT of `rows` (all with `table`'s columns).
fn write_rows(db: Db<'_>, table: &Table, rows: &[Vec<Owned>]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let width = table.columns.split(',').count();
    let mut marks = Vec::with_capacity(rows.len());
    for row in 0..rows.len() {
        let row_marks: Vec<String> = (1..=width)
            .map(|column| format!("?{}", row * width + column))
            .collect();
        marks.push(format!("({})", row_marks.join(", ")));
    }
    let overriding = if table.always_identity.is_some() {
        " OVERRIDING SYSTEM VALUE"
    } else {
        ""
    };
    let sql = format!(
        "INSERT INTO {} ({}){overriding} VALUES {}",
        table.name,
        table.columns,
        marks.join(", ")
    );
    let values: Vec<Value<'_>> = rows.iter().flatten().map(ToValue::to_value).collect();
    db.execute(&sql, &values)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::{args, test_server, Conn};

    /// A row in every table of a SQLite history, NULLs and bytes that are
    /// not UTF-8 included.
    fn fill(db: Db<'_>) {
        for (rowid, state, end_ms) in [(3_i64, "SUCCEEDED", Some(20_i64)), (7, "QUEUED", None)] {
            db.execute(
                "INSERT INTO executions (rowid, id, workflow_id, workflow_name, state, create_ms, \
                 end_ms, argv_json, batch_id, namespace, peak_memory_bytes) \
                 VALUES (?1, ?2, 'w', 'W', ?3, ?1, ?4, '[\"w\"]', 'b1', 'team-a', NULL)",
                args![rowid, format!("id-{rowid}"), state, end_ms],
            )
            .unwrap();
            db.execute(
                "INSERT INTO execution_inputs (execution, name, value) VALUES (?1, 'topic', 'x')",
                args![rowid],
            )
            .unwrap();
            db.execute(
                "INSERT INTO execution_labels (execution, key, value, create_ms) VALUES (?1, 'team', 'a', ?1)",
                args![rowid],
            )
            .unwrap();
            for seq in 1..=1_234_i64 {
                db.execute(
                    "INSERT INTO log_events (execution, seq, time_ms, kind, flags, text) \
                     VALUES (?1, ?2, ?2, 0, 0, ?3)",
                    args![rowid, seq, format!("line {seq} of {rowid}")],
                )
                .unwrap();
            }
        }
        db.execute(
            "INSERT INTO artifacts (execution, seq, phase, path, description, time_ms) \
             VALUES (3, 2, 1, '/out/report.json', 'report', 5)",
            args![],
        )
        .unwrap();
        db.execute(
            "INSERT INTO drop_files (id, folder, mode, original_name, processing_path, state, taken_ms) \
             VALUES ('j1', ?1, 'manifest', 'caf.json', ?1, 'processing', 1)",
            args![vec![b'/', 0xe9, b'x']],
        )
        .unwrap();
        db.batch(
            "INSERT INTO schedules (id, definition, create_ms, update_ms, handled_ms) VALUES ('s', '{}', 1, 1, 9);
             INSERT INTO schedule_runs (schedule_id, scheduled_ms, action_ms, outcome, request_id) VALUES ('s', 9, 9, 'STARTED', 'schedule/s/9');
             INSERT INTO webhooks (id, url, secret, events, workflow_ids, create_ms) VALUES ('h', 'http://x', 'k', '[]', '[]', 1);
             INSERT INTO notifications (kind, subject, time_ms) VALUES ('execution.failed', 'id-3', 20);
             INSERT INTO webhook_deliveries (id, webhook, kind, subject, payload, state, create_ms, next_ms, last_status) VALUES ('d', 'h', 'execution.failed', 'id-3', '{}', 'PENDING', 1, 2, 500);
             INSERT INTO api_tokens (id, name, role, secret_hash, create_ms) VALUES ('t', 'ci', 'operator', x'00ff', 1);
             INSERT INTO audit_events (time_ms, principal, method, object, peer, code, message) VALUES (1, 'me', 'Execute', 'w', 'unix', 'OK', '');",
        )
        .unwrap();
    }

    /// Every row of `table`, in key order.
    fn rows(db: Db<'_>, table: &Table, order: &str) -> Vec<Vec<Owned>> {
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {order}",
            table.columns, table.name
        );
        read_rows(db, &sql, &[]).unwrap()
    }

    #[test]
    fn every_table_arrives_whole_once_and_new_keys_follow_the_copied_ones() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("history.sqlite3");
        let sqlite: Conn = connect::open(&Database::Sqlite(file.clone())).unwrap();
        fill(sqlite.db());
        let database = Database::Postgres(test_server::fresh_database());

        let counts = import_sqlite_history(&file, &database).unwrap();
        let copied = |table: &str| {
            counts
                .tables
                .iter()
                .find(|(name, _)| *name == table)
                .unwrap()
                .1
        };
        assert_eq!(copied("executions"), 2);
        assert_eq!(copied("log_events"), 2 * 1_234);
        assert_eq!(copied("audit_events"), 1);

        let postgres: Conn = connect::open(&database).unwrap();
        let orders = [
            (&EXECUTIONS, "rowid"),
            (&EXECUTION_PARTS[0], "execution, name"),
            (&EXECUTION_PARTS[1], "execution, key"),
            (&EXECUTION_PARTS[2], "execution, seq"),
            (&LOG_EVENTS, "execution, seq"),
        ];
        let others = OTHER_TABLES
            .iter()
            .map(|t| (t, t.columns.split(',').next().unwrap()));
        for (table, order) in orders.into_iter().chain(others) {
            assert_eq!(
                rows(postgres.db(), table, order),
                rows(sqlite.db(), table, order),
                "{}",
                table.name
            );
        }
        // The totals by state, kept by the triggers as the rows went in.
        let totals = "SELECT namespace, state, count FROM execution_totals ORDER BY state";
        assert_eq!(
            read_rows(postgres.db(), totals, &[]).unwrap(),
            read_rows(sqlite.db(), totals, &[]).unwrap()
        );
        // New rows take keys after the copied ones.
        let next_rowid = postgres
            .db()
            .query_one(
                "INSERT INTO executions (id, workflow_id, workflow_name, state, create_ms, argv_json) \
                 VALUES ('new', 'w', 'W', 'QUEUED', 1, '[]') RETURNING rowid",
                &[],
                |row| row.get::<i64>(0),
            )
            .unwrap();
        assert_eq!(next_rowid, 8);
        drop(postgres);

        // A second import finds a history there and changes nothing.
        assert!(matches!(
            import_sqlite_history(&file, &database),
            Err(StoreError::ImportTargetNotEmpty)
        ));
        // Nothing but PostgreSQL is a target; a missing file is named.
        assert!(matches!(
            import_sqlite_history(&file, &Database::Sqlite(dir.path().join("other"))),
            Err(StoreError::ImportNeedsPostgres)
        ));
        let missing = dir.path().join("missing.sqlite3");
        assert!(matches!(
            import_sqlite_history(&missing, &database),
            Err(StoreError::Open { path, .. }) if path == missing
        ));
    }
}
