//! Schema migrations, tracked with `PRAGMA user_version`. Each entry moves
//! the schema one version forward; released entries are never edited.
//! PostgreSQL's schema ([`postgres`]) starts at this one's latest version.

pub(super) mod postgres;

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
    // Version 2: batch ids of manifest runs, and the drop-folder ledger
    // (see drop_files.rs). Paths are BLOBs: file names need not be UTF-8.
    r#"
    ALTER TABLE executions ADD COLUMN batch_id TEXT;
    CREATE INDEX executions_by_batch ON executions(batch_id, create_ms DESC) WHERE batch_id IS NOT NULL;
    CREATE TABLE drop_files (
        id              TEXT PRIMARY KEY,
        folder          BLOB NOT NULL,
        mode            TEXT NOT NULL,
        original_name   TEXT NOT NULL,
        processing_path BLOB NOT NULL,
        state           TEXT NOT NULL,
        batch_id        TEXT,
        execution_ids   TEXT NOT NULL DEFAULT '[]',
        taken_ms        INTEGER NOT NULL,
        final_path      BLOB,
        final_state     TEXT,
        finished_ms     INTEGER,
        error           TEXT NOT NULL DEFAULT ''
    ) WITHOUT ROWID;
    CREATE INDEX drop_files_by_state ON drop_files(folder, state);
    CREATE INDEX drop_files_by_finish ON drop_files(folder, finished_ms);
    "#,
    // Version 3: indexes for the estimates (run_stats.rs). A batch's counts
    // by state read only the index, however large the batch; a workflow's
    // latest successful runs are the first entries of its own index rather
    // than a walk past every failed run.
    r#"
    CREATE INDEX executions_by_batch_state ON executions(batch_id, state, create_ms, end_ms) WHERE batch_id IS NOT NULL;
    CREATE INDEX executions_succeeded_by_workflow ON executions(workflow_id, end_ms DESC) WHERE state = 'SUCCEEDED';
    "#,
    // Version 4: a page of a list with one filter reads a page of an index,
    // newest first, however many executions it matches (none included),
    // instead of sorting every match or walking the whole history
    // (reader.rs, list_query). A state's executions are in create order in
    // its index; a label's rows keep their execution's create time (set
    // once, at accept) so a label's index is in create order too. The
    // counts of executions ended today read only today's end times, with
    // their states, from the index (reader.rs, state_counts). Each new
    // index starts with the columns of the one it replaces.
    r#"
    DROP INDEX executions_by_end;
    CREATE INDEX executions_by_end_state ON executions(end_ms, state);
    DROP INDEX executions_by_state;
    CREATE INDEX executions_by_state_newest_first ON executions(state, create_ms DESC, rowid DESC);
    ALTER TABLE execution_labels ADD COLUMN create_ms INTEGER NOT NULL DEFAULT 0;
    UPDATE execution_labels SET create_ms =
        COALESCE((SELECT create_ms FROM executions WHERE executions.rowid = execution_labels.execution), 0);
    DROP INDEX execution_labels_by_pair;
    CREATE INDEX execution_labels_newest_first ON execution_labels(key, value, create_ms DESC, execution DESC);
    "#,
    // Version 5: the number of executions in each state, kept by triggers
    // in the transaction that changes them, so GetStatus's totals read a
    // few rows instead of counting the whole history (45 ms over a million
    // executions, paid after every commit on a busy daemon). Triggers,
    // not the writer's own bookkeeping: whatever changes a row (the
    // writer, recovery, retention, an INSERT ... SELECT copy) keeps the
    // count, and a crash rolls both back together. (An INSERT OR REPLACE
    // would not: its delete fires no trigger unless recursive_triggers is
    // on; nothing here replaces executions.)
    r#"
    CREATE TABLE execution_totals (
        state TEXT PRIMARY KEY,
        count INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO execution_totals (state, count)
        SELECT state, COUNT(*) FROM executions GROUP BY state;
    CREATE TRIGGER execution_totals_on_insert AFTER INSERT ON executions BEGIN
        INSERT INTO execution_totals (state, count) VALUES (NEW.state, 1)
            ON CONFLICT (state) DO UPDATE SET count = count + 1;
    END;
    CREATE TRIGGER execution_totals_on_delete AFTER DELETE ON executions BEGIN
        UPDATE execution_totals SET count = count - 1 WHERE state = OLD.state;
    END;
    CREATE TRIGGER execution_totals_on_state AFTER UPDATE OF state ON executions
        WHEN OLD.state IS NOT NEW.state BEGIN
        UPDATE execution_totals SET count = count - 1 WHERE state = OLD.state;
        INSERT INTO execution_totals (state, count) VALUES (NEW.state, 1)
            ON CONFLICT (state) DO UPDATE SET count = count + 1;
    END;
    "#,
    // Version 6: schedules (src/schedules). A schedule's definition is one
    // JSON document (its spec, action and policies, read whole at start);
    // `handled_ms` is its cursor: every time it fell due up to then has a
    // row in schedule_runs, written in the same transaction that moves
    // the cursor, so a crash neither loses nor repeats one. An execution
    // a schedule started carries the schedule and the time it fell due.
    r#"
    CREATE TABLE schedules (
        id          TEXT PRIMARY KEY,
        definition  TEXT NOT NULL,
        paused      INTEGER NOT NULL DEFAULT 0,
        note        TEXT NOT NULL DEFAULT '',
        create_ms   INTEGER NOT NULL,
        update_ms   INTEGER NOT NULL,
        handled_ms  INTEGER NOT NULL
    );
    CREATE TABLE schedule_runs (
        schedule_id   TEXT NOT NULL,
        scheduled_ms  INTEGER NOT NULL,
        triggered     INTEGER NOT NULL DEFAULT 0,
        action_ms     INTEGER NOT NULL,
        outcome       TEXT NOT NULL,
        execution_ids TEXT NOT NULL DEFAULT '[]',
        batch_id      TEXT,
        error         TEXT NOT NULL DEFAULT '',
        request_id    TEXT NOT NULL
    );
    CREATE UNIQUE INDEX schedule_runs_once ON schedule_runs(schedule_id, request_id);
    CREATE INDEX schedule_runs_newest_first ON schedule_runs(schedule_id, scheduled_ms DESC);
    CREATE INDEX schedule_runs_by_time ON schedule_runs(scheduled_ms);
    ALTER TABLE executions ADD COLUMN schedule_id TEXT;
    ALTER TABLE executions ADD COLUMN scheduled_ms INTEGER;
    CREATE INDEX executions_by_schedule ON executions(schedule_id, create_ms DESC, rowid DESC) WHERE schedule_id IS NOT NULL;
    "#,
    // Version 7: retries (src/retries). Each attempt is an execution; the
    // policy and the attempt number ride on it, `next_attempt` links it to
    // the attempt started after it (set in the transaction that creates
    // that attempt), and `retry_settled` is set once no attempt will
    // follow (the last, a non-retryable exit, a Cancel). An ended attempt
    // with a policy, no next attempt and not settled is a retry waiting:
    // the partial index finds those at start.
    r#"
    ALTER TABLE executions ADD COLUMN retry_json TEXT;
    ALTER TABLE executions ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE executions ADD COLUMN first_attempt TEXT;
    ALTER TABLE executions ADD COLUMN next_attempt TEXT;
    ALTER TABLE executions ADD COLUMN retry_settled INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX executions_retry_waiting ON executions(end_ms)
        WHERE retry_json IS NOT NULL AND next_attempt IS NULL AND retry_settled = 0;
    "#,
    // Version 8: webhooks (src/webhooks). `notifications` is the outbox
    // of events: triggers write a row in the very transaction that ends
    // an execution (or misses a schedule, or fails a dropped file), so an
    // event is never lost between the change and its notice; they write
    // nothing while no webhook exists, which keeps the cost off a daemon
    // that has none. A schedule's notice names its run (the run's request
    // id, `schedule/<id>/...`), not only the schedule: two runs failing
    // before the fan-out are two events. The dispatcher turns each notification into one
    // delivery per matching webhook and deletes it, in one transaction.
    r#"
    CREATE TABLE webhooks (
        id           TEXT PRIMARY KEY,
        url          TEXT NOT NULL,
        secret       TEXT NOT NULL,
        events       TEXT NOT NULL,
        workflow_ids TEXT NOT NULL,
        description  TEXT NOT NULL DEFAULT '',
        create_ms    INTEGER NOT NULL
    );
    CREATE TABLE notifications (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        kind        TEXT NOT NULL,
        subject     TEXT NOT NULL,
        workflow_id TEXT,
        time_ms     INTEGER NOT NULL
    );
    CREATE TABLE webhook_deliveries (
        id          TEXT PRIMARY KEY,
        webhook     TEXT NOT NULL,
        kind        TEXT NOT NULL,
        subject     TEXT NOT NULL,
        payload     TEXT NOT NULL,
        state       TEXT NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        create_ms   INTEGER NOT NULL,
        next_ms     INTEGER NOT NULL,
        last_ms     INTEGER,
        last_status INTEGER,
        last_error  TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries(webhook, next_ms) WHERE state = 'PENDING';
    CREATE INDEX webhook_deliveries_newest_first ON webhook_deliveries(webhook, create_ms DESC, id DESC);
    CREATE INDEX webhook_deliveries_done_by_time ON webhook_deliveries(create_ms) WHERE state != 'PENDING';
    CREATE TRIGGER notify_execution_end AFTER UPDATE OF state ON executions
        WHEN OLD.state IS NOT NEW.state
         AND NEW.state IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'INTERRUPTED')
         AND EXISTS (SELECT 1 FROM webhooks) BEGIN
        INSERT INTO notifications (kind, subject, workflow_id, time_ms)
            VALUES ('execution.' || lower(NEW.state), NEW.id, NEW.workflow_id, COALESCE(NEW.end_ms, 0));
        INSERT INTO notifications (kind, subject, workflow_id, time_ms)
            SELECT 'batch.finished', NEW.batch_id, NEW.workflow_id, COALESCE(NEW.end_ms, 0)
            WHERE NEW.batch_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM executions
                WHERE batch_id = NEW.batch_id AND state IN ('QUEUED', 'RUNNING'));
    END;
    CREATE TRIGGER notify_schedule_run AFTER INSERT ON schedule_runs
        WHEN NEW.outcome IN ('MISSED', 'FAILED') AND EXISTS (SELECT 1 FROM webhooks) BEGIN
        INSERT INTO notifications (kind, subject, workflow_id, time_ms)
            VALUES ('schedule.' || lower(NEW.outcome), NEW.request_id, NULL, NEW.action_ms);
    END;
    CREATE TRIGGER notify_schedule_run_failed AFTER UPDATE OF outcome ON schedule_runs
        WHEN NEW.outcome = 'FAILED' AND OLD.outcome IS NOT 'FAILED'
         AND EXISTS (SELECT 1 FROM webhooks) BEGIN
        INSERT INTO notifications (kind, subject, workflow_id, time_ms)
            VALUES ('schedule.failed', NEW.request_id, NULL, NEW.action_ms);
    END;
    CREATE TRIGGER notify_drop_file_failed AFTER UPDATE OF state ON drop_files
        WHEN NEW.state = 'failed' AND OLD.state IS NOT 'failed'
         AND EXISTS (SELECT 1 FROM webhooks) BEGIN
        INSERT INTO notifications (kind, subject, workflow_id, time_ms)
            VALUES ('drop_file.failed', NEW.id, NULL, COALESCE(NEW.finished_ms, 0));
    END;
    "#,
    // Version 9: API tokens (src/auth). Only a SHA-256 of each token's
    // secret is kept: the history leaking does not leak a usable token.
    // A revoked token stays listed, with the time it was revoked.
    r#"
    CREATE TABLE api_tokens (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        role        TEXT NOT NULL,
        secret_hash BLOB NOT NULL,
        create_ms   INTEGER NOT NULL,
        expire_ms   INTEGER,
        revoke_ms   INTEGER
    );
    "#,
    // Version 10: the audit log (src/auth/audit.rs), appended to only.
    r#"
    CREATE TABLE audit_events (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        time_ms   INTEGER NOT NULL,
        principal TEXT NOT NULL,
        role      TEXT,
        method    TEXT NOT NULL,
        object    TEXT NOT NULL,
        peer      TEXT NOT NULL,
        code      TEXT NOT NULL,
        message   TEXT NOT NULL
    );
    "#,
    // Version 11: resource limits (src/program_limits.rs). The limits a
    // run was started under (NULL: none), and what its program used,
    // written with its end.
    r#"
    ALTER TABLE executions ADD COLUMN limits_json TEXT;
    ALTER TABLE executions ADD COLUMN peak_memory_bytes INTEGER;
    ALTER TABLE executions ADD COLUMN cpu_time_ms INTEGER;
    "#,
    // Version 12: namespaces (src/namespaces.rs). Executions and tokens
    // from before are in `default` and see every namespace, as they did.
    r#"
    ALTER TABLE executions ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';
    CREATE INDEX executions_by_namespace ON executions(namespace, create_ms DESC, rowid DESC);
    ALTER TABLE api_tokens ADD COLUMN namespaces TEXT NOT NULL DEFAULT '*';
    "#,
    // Version 13: the totals of version 5 kept per namespace and state, so
    // GetStatus for a caller seeing some namespaces reads a few rows too
    // (namespace_counts.rs), instead of every execution of its namespaces
    // after each commit; the daemon-wide totals add up a row per
    // namespace. The same two writes per change as before: an
    // execution's namespace never changes.
    r#"
    DROP TRIGGER execution_totals_on_insert;
    DROP TRIGGER execution_totals_on_delete;
    DROP TRIGGER execution_totals_on_state;
    DROP TABLE execution_totals;
    CREATE TABLE execution_totals (
        namespace TEXT NOT NULL,
        state TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (namespace, state)
    ) WITHOUT ROWID;
    INSERT INTO execution_totals (namespace, state, count)
        SELECT namespace, state, COUNT(*) FROM executions GROUP BY namespace, state;
    CREATE TRIGGER execution_totals_on_insert AFTER INSERT ON executions BEGIN
        INSERT INTO execution_totals (namespace, state, count) VALUES (NEW.namespace, NEW.state, 1)
            ON CONFLICT (namespace, state) DO UPDATE SET count = count + 1;
    END;
    CREATE TRIGGER execution_totals_on_delete AFTER DELETE ON executions BEGIN
        UPDATE execution_totals SET count = count - 1
            WHERE namespace = OLD.namespace AND state = OLD.state;
    END;
    CREATE TRIGGER execution_totals_on_state AFTER UPDATE OF state ON executions
        WHEN OLD.state IS NOT NEW.state BEGIN
        UPDATE execution_totals SET count = count - 1
            WHERE namespace = OLD.namespace AND state = OLD.state;
        INSERT INTO execution_totals (namespace, state, count) VALUES (NEW.namespace, NEW.state, 1)
            ON CONFLICT (namespace, state) DO UPDATE SET count = count + 1;
    END;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_history_is_migrated_keeping_its_executions() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("history.sqlite3")).unwrap();
        configure(&conn).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO executions (id, workflow_id, workflow_name, state, create_ms, argv_json) \
             VALUES ('e1', 'hello', 'Hello', 'SUCCEEDED', 1, '[]')",
            [],
        )
        .unwrap();

        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let batch: Option<String> = conn
            .query_row(
                "SELECT batch_id FROM executions WHERE id = 'e1'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(batch, None, "old executions belong to no batch");
        let files: i64 = conn
            .query_row("SELECT COUNT(*) FROM drop_files", [], |row| row.get(0))
            .unwrap();
        assert_eq!(files, 0);
    }

    #[test]
    fn a_version_3_history_gets_its_labels_create_times() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("history.sqlite3")).unwrap();
        configure(&conn).unwrap();
        for sql in &MIGRATIONS[..3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        conn.execute_batch(
            "INSERT INTO executions (rowid, id, workflow_id, workflow_name, state, create_ms, argv_json) \
             VALUES (1, 'e1', 'hello', 'Hello', 'SUCCEEDED', 1234, '[]'); \
             INSERT INTO execution_labels (execution, key, value) VALUES (1, 'team', 'a');",
        )
        .unwrap();

        migrate(&mut conn).unwrap();
        let create_ms: i64 = conn
            .query_row(
                "SELECT create_ms FROM execution_labels WHERE execution = 1",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(create_ms, 1234);
    }

    /// Executions by state, ordered by state.
    type ByState = Vec<(String, i64)>;

    /// The totals table (count > 0) and a count of the executions.
    fn totals_and_count(conn: &Connection) -> (ByState, ByState) {
        let read = |sql: &str| {
            let mut stmt = conn.prepare(sql).unwrap();
            let rows = stmt
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .unwrap();
            rows.collect::<Result<Vec<_>, _>>().unwrap()
        };
        (
            read(
                "SELECT namespace || ':' || state, count FROM execution_totals \
                 WHERE count > 0 ORDER BY 1",
            ),
            read(
                "SELECT namespace || ':' || state, COUNT(*) FROM executions \
                 GROUP BY namespace, state ORDER BY 1",
            ),
        )
    }

    #[test]
    fn the_totals_by_namespace_and_state_are_counted_at_migration_and_kept_by_every_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("history.sqlite3")).unwrap();
        configure(&conn).unwrap();
        for sql in &MIGRATIONS[..4] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        let insert = |conn: &Connection, id: &str, state: &str| {
            conn.execute(
                "INSERT INTO executions (id, request_id, workflow_id, workflow_name, state, create_ms, argv_json) \
                 VALUES (?1, ?1, 'hello', 'Hello', ?2, 1, '[]') ON CONFLICT DO NOTHING",
                [id, state],
            )
            .unwrap();
        };
        insert(&conn, "e1", "SUCCEEDED");
        insert(&conn, "e2", "SUCCEEDED");
        insert(&conn, "e3", "RUNNING");

        migrate(&mut conn).unwrap();
        let (totals, counted) = totals_and_count(&conn);
        assert_eq!(totals, counted);
        assert_eq!(
            totals,
            [
                ("default:RUNNING".into(), 1),
                ("default:SUCCEEDED".into(), 2)
            ]
        );

        insert(&conn, "e4", "QUEUED");
        insert(&conn, "e4", "QUEUED"); // a retried request: nothing inserted
        conn.execute_batch(
            "INSERT INTO executions \
                 (id, request_id, workflow_id, workflow_name, state, create_ms, argv_json, namespace) \
                 VALUES ('e5', 'e5', 'hello', 'Hello', 'QUEUED', 1, '[]', 'team-a'); \
             UPDATE executions SET state = 'RUNNING' WHERE id = 'e4'; \
             UPDATE executions SET state = 'FAILED' WHERE id = 'e3'; \
             UPDATE executions SET state = 'SUCCEEDED', end_ms = 2 WHERE id = 'e1'; \
             DELETE FROM executions WHERE id = 'e2';",
        )
        .unwrap();
        let (totals, counted) = totals_and_count(&conn);
        assert_eq!(totals, counted);
        assert_eq!(
            totals,
            [
                ("default:FAILED".into(), 1),
                ("default:RUNNING".into(), 1),
                ("default:SUCCEEDED".into(), 1),
                ("team-a:QUEUED".into(), 1),
            ]
        );
    }
}
