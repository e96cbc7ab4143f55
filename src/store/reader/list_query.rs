//! The SQL of a page of executions: which index drives it, and the
//! filters checked on the way (reader.rs runs it).

use super::{Dialect, ExecutionFilter, ListCursor, Owned, EXECUTION_COLUMNS};

/// The query of a page of executions and its arguments. Each filter on
/// its own reads its page from an index in list order (schema version 4),
/// so such a page costs about the same over a million executions as over a
/// hundred, whether the filter matches most of them or none: without
/// labels the planner picks the executions' index of the workflow, state,
/// batch, schedule or create time; with labels and none of a workflow, a
/// batch or a schedule, the first label's index drives (its rows carry
/// their execution's create time). A workflow, a batch or a schedule with
/// labels drives from its own index instead: a batch is small, and a common label with a rare workflow would
/// read most of the label's rows. Further filters are checked on the way,
/// so a combination that matches few of the driving index's rows reads
/// more of it. Several states at once are not one range of an index in
/// list order: their matches are sorted, or the newest-first index walked.
pub(super) fn list_query(
    dialect: Dialect,
    filter: &ExecutionFilter,
    cursor: Option<ListCursor>,
    limit: usize,
) -> (String, Vec<Owned>) {
    let mut clauses = Vec::new();
    let mut args: Vec<Owned> = Vec::new();
    let label_drives =
        filter.workflow_id.is_none() && filter.batch_id.is_none() && filter.schedule_id.is_none();
    let mut labels = filter.labels.iter();
    let driving = if label_drives { labels.next() } else { None };
    // The table and the columns the list is ordered by.
    let (from, create_ms, rowid) = match driving {
        Some((key, value)) => {
            args.push(key.clone().into());
            args.push(value.clone().into());
            clauses.push("l0.key = ?1 AND l0.value = ?2".to_string());
            (
                match dialect {
                    // CROSS JOIN keeps the label's index the outer loop.
                    Dialect::Sqlite => {
                        "execution_labels l0 CROSS JOIN executions ON executions.rowid = l0.execution"
                    }
                    Dialect::Postgres => {
                        "execution_labels l0 JOIN executions ON executions.rowid = l0.execution"
                    }
                },
                "l0.create_ms",
                "l0.execution",
            )
        }
        None => ("executions", "executions.create_ms", "executions.rowid"),
    };
    if let Some(workflow_id) = &filter.workflow_id {
        args.push(workflow_id.clone().into());
        clauses.push(format!("executions.workflow_id = ?{}", args.len()));
    }
    if let Some(batch_id) = &filter.batch_id {
        args.push(batch_id.clone().into());
        clauses.push(format!("executions.batch_id = ?{}", args.len()));
    }
    if let Some(schedule_id) = &filter.schedule_id {
        args.push(schedule_id.clone().into());
        clauses.push(format!("executions.schedule_id = ?{}", args.len()));
    }
    if let Some(namespaces) = &filter.namespaces {
        let mut marks = Vec::new();
        for namespace in namespaces {
            args.push(namespace.clone().into());
            marks.push(format!("?{}", args.len()));
        }
        clauses.push(if marks.is_empty() {
            // None at all: PostgreSQL has no empty `IN ()`.
            "1 = 0".to_string()
        } else {
            format!("executions.namespace IN ({})", marks.join(", "))
        });
    }
    if !filter.states.is_empty() {
        let mut marks = Vec::new();
        for state in &filter.states {
            args.push(state.as_str().to_string().into());
            marks.push(format!("?{}", args.len()));
        }
        clauses.push(format!("executions.state IN ({})", marks.join(", ")));
    }
    if let Some(after) = filter.created_after_ms {
        args.push(after.into());
        clauses.push(format!("{create_ms} >= ?{}", args.len()));
    }
    if let Some(before) = filter.created_before_ms {
        args.push(before.into());
        clauses.push(format!("{create_ms} < ?{}", args.len()));
    }
    for (key, value) in labels {
        args.push(key.clone().into());
        args.push(value.clone().into());
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM execution_labels l WHERE l.execution = executions.rowid AND l.key = ?{} AND l.value = ?{})",
            args.len() - 1,
            args.len()
        ));
    }
    if let Some(cursor) = cursor {
        args.push(cursor.create_ms.into());
        args.push(cursor.rowid.into());
        clauses.push(format!(
            "({create_ms}, {rowid}) < (?{}, ?{})",
            args.len() - 1,
            args.len()
        ));
    }
    args.push((limit as i64).into());
    let where_clause = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let columns = EXECUTION_COLUMNS
        .split(", ")
        .map(|column| format!("executions.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM {from} {where_clause} ORDER BY {create_ms} DESC, {rowid} DESC LIMIT ?{}",
        args.len()
    );
    (sql, args)
}
