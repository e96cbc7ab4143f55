//! Schema migrations, tracked with `PRAGMA user_version`. Each entry moves
//! the schema one version forward; released entries are never edited.

use rusqlite::Connection;

use super::StoreError;

const MIGRATIONS: &[&str] = &[
    // Version 1: executions, inputs, labels, log events, artifacts.
    r#"
    CREATE TABLE executions (
        rowid           INTEGER PRIMARY KEY,
        id              TEXT NOT NULL UNIQUE,
        workflow_id     TEXT NOT NULL,
        workflow_name   TEXT NOT NULL,
        state           TEXT NOT NULL,
        create_ms       INTEGER NOT NULL,
        start_ms        INTEGER,
        end_ms          INTEGER,
        exit_code       INTEGER,
        signal          INTEGER,
        error           TEXT NOT NULL DEFAULT '',
        argv_json       TEXT NOT NULL,
        request_id      TEXT,
        timeout_ms      INTEGER,
        pid             INTEGER,
        pid_start_ticks INTEGER,
        tree_json       TEXT,
        counts_json     TEXT
    );
    CREATE UNIQUE INDEX executions_by_request_id ON executions(request_id) WHERE request_id IS NOT NULL;
    CREATE INDEX executions_newest_first ON executions(create_ms DESC, rowid DESC);
    CREATE INDEX executions_by_workflow ON executions(workflow_id, create_ms DESC);
    CREATE INDEX executions_by_state ON executions(state);
    CREATE INDEX executions_by_end ON executions(end_ms);
    CREATE TABLE execution_inputs (
        execution INTEGER NOT NULL REFERENCES executions(rowid),
        name      TEXT NOT NULL,
        value     TEXT NOT NULL,
        PRIMARY KEY (execution, name)
    ) WITHOUT ROWID;
    CREATE TABLE execution_labels (
        execution INTEGER NOT NULL REFERENCES executions(rowid),
        key       TEXT NOT NULL,
        value     TEXT NOT NULL,
        PRIMARY KEY (execution, key)
    ) WITHOUT ROWID;
    CREATE INDEX execution_labels_by_pair ON execution_labels(key, value);
    CREATE TABLE log_events (
        execution INTEGER NOT NULL,
        seq       INTEGER NOT NULL,
        time_ms   INTEGER NOT NULL,
        kind      INTEGER NOT NULL,
        flags     INTEGER NOT NULL,
        text      TEXT NOT NULL,
        PRIMARY KEY (execution, seq)
    ) WITHOUT ROWID;
    CREATE TABLE artifacts (
        execution   INTEGER NOT NULL REFERENCES executions(rowid),
        seq         INTEGER NOT NULL,
        phase       INTEGER NOT NULL,
        path        TEXT NOT NULL,
        description TEXT NOT NULL,
        time_ms     INTEGER NOT NULL,
        PRIMARY KEY (execution, seq)
    ) WITHOUT ROWID;
    "#,
];

/// Settings every connection needs. WAL lets readers run beside the writer;
/// synchronous=NORMAL in WAL mode keeps every commit safe from a crash of
/// the daemon (only a power cut can lose the last commits).
pub(super) fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(())
}

/// Settings of the read-only connections.
pub(super) fn configure_reader(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(())
}

/// Brings the schema up to date.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let supported = MIGRATIONS.len() as i64;
    if current > supported {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "history schema migrated");
    }
    Ok(())
}
