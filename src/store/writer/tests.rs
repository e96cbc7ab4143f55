//! The history writer's unit tests: a failing group loses only what
//! cannot be written, giving up at shutdown, when to linger for a larger
//! group, and audit events riding along; those that write run on both
//! backends.

use super::linger::*;
use super::*;
use crate::events::LogPayload;
use crate::store::db::args;
use crate::store::testing::{on_each_database, runtime};

fn append(execution: i64) -> WriteOp {
    WriteOp::Append {
        execution,
        events: Vec::new(),
    }
}

fn output_event(sequence: u64) -> LogEvent {
    LogEvent {
        sequence,
        time_ms: 0,
        payload: LogPayload::Output {
            stream: crate::events::OutputStream::Stdout,
            text: format!("line {sequence}"),
            malformed_event: false,
            truncated: false,
        },
    }
}

#[test]
fn a_group_that_fails_loses_only_the_operation_that_cannot_be_written() {
    on_each_database(|database| {
        let health = WriterHealth::default();
        let Opened { conn, claim } = open_claimed(database).unwrap();
        let mut writer = Writer {
            claim,
            conn,
            database: database.clone(),
            health: &health,
            rowids: RowidStash::default(),
        };
        let (reply, _created) = oneshot::channel();
        let create = WriteOp::CreateExecution {
            execution: Box::default(),
            first_event: output_event(1),
            reply,
        };
        let after = commit(&mut writer, &mut vec![create]);
        let [AfterCommit::Created(_, Ok(rowid))] = after.as_slice() else {
            panic!("the execution is created");
        };
        let rowid = *rowid;
        let append = |sequence| WriteOp::Append {
            execution: rowid,
            events: vec![Arc::new(output_event(sequence))],
        };

        // Sequence 1 is taken: that append breaks the log's primary key.
        let mut group = vec![append(2), append(1), append(3)];
        let after = commit(&mut writer, &mut group);
        assert!(group.is_empty());
        let published: Vec<u64> = after
            .iter()
            .flat_map(|a| match a {
                AfterCommit::Publish(_, events) => events.iter().map(|e| e.sequence).collect(),
                _ => Vec::new(),
            })
            .collect();
        assert_eq!(published, [2, 3]);
        let stored: Vec<i64> = writer
            .conn
            .db()
            .query(
                "SELECT seq FROM log_events WHERE execution = ?1 ORDER BY seq",
                args![rowid],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(stored, [1, 2, 3]);
        assert_eq!(*health.failure.borrow(), None, "not a storage failure");
    });
}

#[test]
fn giving_up_drops_the_writes_at_once_and_still_answers_barrier_and_close() {
    let (barrier, barrier_answered) = oneshot::channel();
    let (close, close_answered) = oneshot::channel();
    let many = WriteOp::Append {
        execution: 7,
        events: (5..=1028).map(|s| Arc::new(output_event(s))).collect(),
    };
    assert_eq!(
        many.to_string(),
        "1024 log events of execution #7 (sequences 5-1028)",
        "an operation is logged in a few words, not event by event"
    );
    let mut group = vec![
        many,
        WriteOp::Barrier { reply: barrier },
        append(8),
        WriteOp::Close { reply: close },
    ];
    let error = StoreError::Sqlite(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
        None,
    ));
    let mut after = give_up(&mut group, &error).into_iter();
    assert!(group.is_empty());
    let (Some(AfterCommit::Barrier(barrier)), Some(AfterCommit::Close(close)), None) =
        (after.next(), after.next(), after.next())
    else {
        panic!("only the barrier and the close are left to answer");
    };
    barrier.send(()).unwrap();
    close.send(()).unwrap();
    assert!(barrier_answered.blocking_recv().is_ok() && close_answered.blocking_recv().is_ok());
}

#[test]
fn sources_count_executions_once_and_each_new_one_apart() {
    let (reply, _) = oneshot::channel();
    let new_execution = WriteOp::CreateExecution {
        execution: Box::default(),
        first_event: LogEvent {
            sequence: 1,
            time_ms: 0,
            payload: LogPayload::Output {
                stream: crate::events::OutputStream::Stdout,
                text: String::new(),
                malformed_event: false,
                truncated: false,
            },
        },
        reply,
    };
    let (reply, _) = oneshot::channel();
    let barrier = WriteOp::Barrier { reply };
    assert_eq!(sources(&[append(1), append(1), append(1)]), 1);
    assert_eq!(sources(&[append(1), append(2), append(1), barrier]), 2);
    assert_eq!(sources(&[append(1), new_execution, append(2)]), 3);
}

#[test]
fn the_writer_lingers_under_load_only_and_never_behind_a_backlog() {
    // One client at a time: every group comes from one writer.
    assert!(!linger_after(1, 5, false));
    assert!(!linger_after(LINGER_FROM_SOURCES - 1, 3, false));
    // Independent writers piling up: gather before the next commit...
    assert!(linger_after(
        LINGER_FROM_SOURCES,
        LINGER_FROM_SOURCES,
        false
    ));
    // ...and keep doing so while groups come from more than one.
    assert!(linger_after(KEEP_LINGERING_SOURCES, 2, true));
    assert!(!linger_after(1, 1, true));
    // A full group means more is already queued: no reason to wait.
    assert!(!linger_after(LINGER_FROM_SOURCES, MAX_GROUP_EVENTS, false));
    assert!(!linger_after(
        KEEP_LINGERING_SOURCES,
        MAX_GROUP_EVENTS,
        true
    ));
}

fn audited(method: &str) -> crate::store::AuditRecord {
    crate::store::AuditRecord {
        seq: 0,
        time_ms: 1,
        principal: "someone".into(),
        role: None,
        method: method.into(),
        object: String::new(),
        peer: "test".into(),
        code: "OK".into(),
        message: String::new(),
    }
}

/// An audit event joins the writer's next commit instead of making its
/// own, and without a next commit is committed on its own soon after.
#[test]
fn an_audit_event_rides_along_with_the_next_commit_or_is_flushed() {
    on_each_database(|database| {
        let rt = runtime();
        let (writer, thread) = StoreWriter::start(database, Arc::new(LogHub::default())).unwrap();
        let reader = crate::store::StoreReader::open(database).unwrap();
        let methods = || -> Vec<String> {
            let events = reader.audit_events(None, 10).unwrap();
            events.into_iter().map(|e| e.method).collect()
        };

        let audit_later = |method| {
            // The first one starts the flusher, a task on the runtime.
            let _runtime = rt.enter();
            writer.audit_later(audited(method));
        };
        audit_later("Execute");
        rt.block_on(writer.barrier()).unwrap();
        assert_eq!(methods(), ["Execute"], "committed with the barrier");

        let asked = Instant::now();
        audit_later("Cancel");
        while methods().len() < 2 {
            assert!(asked.elapsed() < Duration::from_secs(10), "never flushed");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(methods(), ["Cancel", "Execute"]);

        rt.block_on(writer.close()).unwrap();
        audit_later("Revoke");
        drop(writer);
        thread.join().unwrap();
        assert_eq!(methods(), ["Cancel", "Execute"], "none after close");
    });
}

/// The writer's PostgreSQL session ended by the server (a restart, an
/// operator's pg_terminate_backend): the next group waits, reconnects,
/// claims the database again and commits; nothing is lost.
#[test]
fn a_lost_postgres_session_is_reconnected_and_nothing_is_lost() {
    let database = Database::Postgres(crate::store::db::test_server::fresh_database());
    let Database::Postgres(url) = &database else {
        unreachable!()
    };
    let rt = runtime();
    let history = crate::store::History::open(&database).unwrap();
    let create = |n: u64| {
        let execution = crate::store::NewExecution {
            id: uuid::Uuid::new_v4(),
            workflow_id: "w".into(),
            create_ms: n as i64,
            argv: vec!["w".into()],
            namespace: "default".into(),
            ..Default::default()
        };
        rt.block_on(history.writer.create_execution(execution, output_event(1)))
            .expect("created")
    };
    create(1);
    let url = url.clone();
    let ended = std::thread::spawn(move || {
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        admin
            .query_one(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get::<_, i64>(0)
    })
    .join()
    .unwrap();
    assert!(
        ended >= 5,
        "the writer's and the readers' sessions: {ended}"
    );
    create(2);
    create(3);
    let listed = history
        .reader
        .list_executions(&crate::store::ExecutionFilter::default(), None, 10)
        .expect("the readers reconnect too");
    assert_eq!(listed.len(), 3);
    assert_eq!(*history.writer.health.failure.borrow(), None, "recovered");
    rt.block_on(history.writer.close()).unwrap();
}
