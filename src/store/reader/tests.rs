//! The reader's unit tests: every filter of a list reads a page of an
//! index in list order, and a label's pages come in create order, not in
//! the order the executions were written.

use std::collections::BTreeMap;

use super::*;
use crate::events::{LogPayload, OutputStream};
use crate::store::testing::{on_each_database, runtime};
use crate::store::{History, NewExecution};

/// The query plan's lines of the page `filter` and `cursor` ask for.
fn plan(conn: &Connection, filter: &ExecutionFilter, cursor: Option<ListCursor>) -> Vec<String> {
    let (sql, args) = list_query(Dialect::Sqlite, filter, cursor, 51);
    let values: Vec<Value<'_>> = args.iter().map(ToValue::to_value).collect();
    conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap()
        .query_map(rusqlite::params_from_iter(values.iter()), |row| {
            row.get::<_, String>(3)
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn every_filter_reads_its_page_from_an_index_in_list_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join("history.sqlite3")).unwrap();
    schema::configure(&conn).unwrap();
    schema::migrate(&mut conn).unwrap();
    let failed = vec![ExecutionState::Failed];
    let filters = [
        ExecutionFilter {
            workflow_id: Some("hello".into()),
            ..Default::default()
        },
        ExecutionFilter {
            states: failed.clone(),
            ..Default::default()
        },
        ExecutionFilter {
            batch_id: Some("b".into()),
            ..Default::default()
        },
        ExecutionFilter {
            created_after_ms: Some(1),
            created_before_ms: Some(2),
            ..Default::default()
        },
        ExecutionFilter {
            labels: labels(&[("team", "a")]),
            ..Default::default()
        },
        ExecutionFilter {
            labels: labels(&[("team", "a"), ("env", "prod")]),
            states: failed,
            created_after_ms: Some(1),
            ..Default::default()
        },
        ExecutionFilter {
            labels: labels(&[("team", "a")]),
            workflow_id: Some("hello".into()),
            ..Default::default()
        },
        ExecutionFilter {
            labels: labels(&[("team", "a")]),
            batch_id: Some("b".into()),
            ..Default::default()
        },
    ];
    let cursor = ListCursor {
        create_ms: 5,
        rowid: 7,
    };
    for filter in &filters {
        for cursor in [None, Some(cursor)] {
            let plan = plan(&conn, filter, cursor);
            // A SCAN walks the whole history when the filter matches
            // nothing; a sort reads every match before the first row.
            assert!(
                plan.iter()
                    .all(|line| !line.starts_with("SCAN") && line != "USE TEMP B-TREE FOR ORDER BY"),
                "{filter:?} {cursor:?}: {plan:?}"
            );
        }
    }
    // A workflow or a batch with a label drives from its own index.
    for (filter, index) in [
        (&filters[6], "executions_by_workflow"),
        (&filters[7], "executions_by_batch"),
    ] {
        let plan = plan(&conn, filter, None);
        assert!(
            plan.first().is_some_and(|line| line.contains(index)),
            "{filter:?}: {plan:?}"
        );
    }
    // Without a filter the newest-first index is walked, a page of it.
    for cursor in [None, Some(cursor)] {
        let plan = plan(&conn, &ExecutionFilter::default(), cursor);
        assert!(
            plan.iter()
                .all(|line| line.contains("executions_newest_first") && !line.contains("TEMP")),
            "{plan:?}"
        );
    }
}

#[test]
fn todays_counts_read_todays_end_times_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join("history.sqlite3")).unwrap();
    schema::configure(&conn).unwrap();
    schema::migrate(&mut conn).unwrap();
    let plan: Vec<String> = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {ENDED_SINCE_BY_STATE}"))
        .unwrap()
        .query_map([0], |row| row.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        plan[0].starts_with("SEARCH executions USING COVERING INDEX executions_by_end_state"),
        "{plan:?}"
    );
}

#[test]
fn a_labels_pages_come_newest_first_by_create_time_whatever_the_write_order() {
    on_each_database(|database| {
        let rt = runtime();
        let history = History::open(database).unwrap();
        labels_newest_first(&history, |execution, first_event| {
            rt.block_on(history.writer.create_execution(execution, first_event))
                .unwrap();
        });
        rt.block_on(history.writer.close()).unwrap();
    });
}

fn labels_newest_first(history: &History, create: impl Fn(NewExecution, LogEvent)) {
    // Written oldest last (as an import would), so row ids and create
    // times are in opposite orders; every other one labelled team=a.
    let mut ids = Vec::new();
    for i in 0..7 {
        let id = Uuid::new_v4();
        let team = if i % 2 == 0 { "a" } else { "b" };
        let execution = NewExecution {
            id,
            workflow_id: "hello".into(),
            create_ms: 1_000 - i,
            argv: vec!["hello".into()],
            labels: labels(&[("team", team), ("n", &i.to_string())]),
            namespace: team.into(),
            ..Default::default()
        };
        let first_event = LogEvent {
            sequence: 1,
            time_ms: 0,
            payload: LogPayload::Output {
                stream: OutputStream::Stdout,
                text: "hello".into(),
                malformed_event: false,
                truncated: false,
            },
        };
        create(execution, first_event);
        ids.push((id, team));
    }
    let team_a: Vec<Uuid> = ids
        .iter()
        .filter(|(_, team)| *team == "a")
        .map(|(id, _)| *id)
        .collect();
    let filter = ExecutionFilter {
        labels: labels(&[("team", "a")]),
        ..Default::default()
    };
    let mut listed = Vec::new();
    let mut cursor = None;
    loop {
        let page = history.reader.list_executions(&filter, cursor, 3).unwrap();
        let Some(last) = page.last() else { break };
        cursor = Some(ListCursor {
            create_ms: last.create_ms,
            rowid: last.rowid,
        });
        for record in &page {
            assert_eq!(record.labels["team"], "a", "{record:?}");
        }
        listed.extend(page.iter().map(|r| r.id));
    }
    assert_eq!(listed, team_a, "the first written is the newest");

    // A second label narrows it; one no execution has finds none.
    let filter = ExecutionFilter {
        labels: labels(&[("team", "a"), ("n", "4")]),
        ..Default::default()
    };
    let found = history.reader.list_executions(&filter, None, 10).unwrap();
    assert_eq!(found.iter().map(|r| r.id).collect::<Vec<_>>(), [ids[4].0]);
    let filter = ExecutionFilter {
        labels: labels(&[("team", "nobody")]),
        ..Default::default()
    };
    assert!(history
        .reader
        .list_executions(&filter, None, 10)
        .unwrap()
        .is_empty());

    // By namespace, state and workflow; no namespace at all sees nothing.
    let in_namespaces = |namespaces: Vec<String>| ExecutionFilter {
        namespaces: Some(namespaces),
        states: vec![ExecutionState::Queued],
        workflow_id: Some("hello".into()),
        ..Default::default()
    };
    let found = history
        .reader
        .list_executions(&in_namespaces(vec!["a".into()]), None, 10)
        .unwrap();
    assert_eq!(found.iter().map(|r| r.id).collect::<Vec<_>>(), team_a);
    assert!(history
        .reader
        .list_executions(&in_namespaces(Vec::new()), None, 10)
        .unwrap()
        .is_empty());
    let counts = history.reader.state_counts(0).unwrap();
    assert_eq!(counts.totals.get("QUEUED"), Some(&7));
    let counts = history.reader.state_counts_in(&["b".into()], 0).unwrap();
    assert_eq!(counts.totals.get("QUEUED"), Some(&3));
}
