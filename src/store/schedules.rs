//! The schedules and the record of every time each fell due (schema
//! version 6). The definition is stored as the JSON the schedules module
//! gives; the store only keeps it, its pause state and its cursor.

use super::db::{args, Db, Row};

use super::{StoreError, StoreReader};

/// A schedule as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScheduleRecord {
    /// The schedule id.
    pub(crate) id: String,
    /// Its spec, action and policies, as JSON (src/schedules/definition.rs).
    pub(crate) definition: String,
    /// Paused: nothing falls due.
    pub(crate) paused: bool,
    /// Why it was (un)paused.
    pub(crate) note: String,
    /// Creation time.
    pub(crate) create_ms: i64,
    /// Last change.
    pub(crate) update_ms: i64,
    /// Every time it fell due up to this one is recorded in its runs.
    pub(crate) handled_ms: i64,
}

/// What became of one time a schedule fell due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunOutcome {
    /// Its executions were started.
    Started,
    /// The previous run was still going.
    Skipped,
    /// Waiting for the previous run to end.
    Buffered,
    /// It fell due while the daemon was down.
    Missed,
    /// Could not start.
    Failed,
}

impl RunOutcome {
    /// The name stored.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Started => "STARTED",
            RunOutcome::Skipped => "SKIPPED",
            RunOutcome::Buffered => "BUFFERED",
            RunOutcome::Missed => "MISSED",
            RunOutcome::Failed => "FAILED",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [
            RunOutcome::Started,
            RunOutcome::Skipped,
            RunOutcome::Buffered,
            RunOutcome::Missed,
            RunOutcome::Failed,
        ]
        .into_iter()
        .find(|o| o.as_str() == name)
    }
}

/// One time a schedule fell due (or was triggered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScheduleRunRecord {
    /// The schedule.
    pub(crate) schedule_id: String,
    /// The time it fell due, before jitter (for a trigger: the call's).
    pub(crate) scheduled_ms: i64,
    /// Started by TriggerSchedule.
    pub(crate) triggered: bool,
    /// When the daemon acted on it.
    pub(crate) action_ms: i64,
    /// What became of it.
    pub(crate) outcome: RunOutcome,
    /// The executions it started.
    pub(crate) execution_ids: Vec<String>,
    /// The batch it started.
    pub(crate) batch_id: Option<String>,
    /// Why it failed or was skipped.
    pub(crate) error: String,
    /// The key its start is idempotent under (`schedule/<id>/<time>`, or
    /// `schedule/<id>/trigger/<key>`): one run per key.
    pub(crate) request_id: String,
}

/// A change to the schedules, applied by the history writer.
#[derive(Debug, Clone)]
pub(crate) enum ScheduleWrite {
    /// A new schedule; [`StoreError::ScheduleExists`] when the id is taken.
    Create(Box<ScheduleRecord>),
    /// A new definition; the cursor moves to `handled_ms`.
    Update {
        /// The schedule.
        id: String,
        /// The new definition.
        definition: String,
        /// When.
        update_ms: i64,
        /// Its new cursor: times before the change are not caught up.
        handled_ms: i64,
    },
    /// Paused or unpaused.
    Pause {
        /// The schedule.
        id: String,
        /// Paused or not.
        paused: bool,
        /// Why.
        note: String,
        /// When; also the new cursor, so the times it fell due while
        /// paused are not caught up.
        update_ms: i64,
    },
    /// Deleted with its runs.
    Delete {
        /// The schedule.
        id: String,
    },
    /// A run recorded (or a buffered one updated) and the cursor moved to
    /// `handled_ms` (None for a trigger), in one transaction.
    Record {
        /// The run.
        run: Box<ScheduleRunRecord>,
        /// Every time the schedule fell due up to this one is now recorded.
        handled_ms: Option<i64>,
    },
}

/// The later of the cursor and a time, in SQL both backends speak
/// (SQLite's two-argument MAX is PostgreSQL's GREATEST).
macro_rules! later_cursor {
    ($time:literal) => {
        concat!(
            "CASE WHEN handled_ms > ",
            $time,
            " THEN handled_ms ELSE ",
            $time,
            " END"
        )
    };
}

/// Applies one change inside the writer's transaction.
pub(super) fn apply(db: Db<'_>, write: &ScheduleWrite) -> Result<(), StoreError> {
    let found = |changed: usize, id: &str| {
        if changed == 0 {
            Err(StoreError::ScheduleNotFound(id.to_string()))
        } else {
            Ok(())
        }
    };
    match write {
        ScheduleWrite::Create(r) => {
            let inserted = db.execute(
                "INSERT INTO schedules (id, definition, paused, note, create_ms, update_ms, handled_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                args![
                    r.id,
                    r.definition,
                    r.paused,
                    r.note,
                    r.create_ms,
                    r.update_ms,
                    r.handled_ms
                ],
            )?;
            if inserted == 0 {
                return Err(StoreError::ScheduleExists(r.id.clone()));
            }
            Ok(())
        }
        ScheduleWrite::Update {
            id,
            definition,
            update_ms,
            handled_ms,
        } => found(
            db.execute(
                concat!(
                    "UPDATE schedules SET definition = ?2, update_ms = ?3, handled_ms = ",
                    later_cursor!("?4"),
                    " WHERE id = ?1"
                ),
                args![id, definition, update_ms, handled_ms],
            )?,
            id,
        ),
        ScheduleWrite::Pause {
            id,
            paused,
            note,
            update_ms,
        } => found(
            db.execute(
                concat!(
                    "UPDATE schedules SET paused = ?2, note = ?3, update_ms = ?4, handled_ms = ",
                    later_cursor!("?4"),
                    " WHERE id = ?1"
                ),
                args![id, paused, note, update_ms],
            )?,
            id,
        ),
        ScheduleWrite::Delete { id } => {
            db.execute(
                "DELETE FROM schedule_runs WHERE schedule_id = ?1",
                args![id],
            )?;
            found(
                db.execute("DELETE FROM schedules WHERE id = ?1", args![id])?,
                id,
            )
        }
        ScheduleWrite::Record { run, handled_ms } => {
            // The cursor first: a schedule deleted meanwhile gets no run.
            let changed = match handled_ms {
                Some(handled_ms) => db.execute(
                    concat!(
                        "UPDATE schedules SET handled_ms = ",
                        later_cursor!("?2"),
                        " WHERE id = ?1"
                    ),
                    args![run.schedule_id, handled_ms],
                )?,
                None => db.query_one(
                    "SELECT COUNT(*) FROM schedules WHERE id = ?1",
                    args![run.schedule_id],
                    |row| row.get::<usize>(0),
                )?,
            };
            found(changed, &run.schedule_id)?;
            db.execute(
                "INSERT INTO schedule_runs (schedule_id, scheduled_ms, triggered, action_ms, outcome, \
                 execution_ids, batch_id, error, request_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT (schedule_id, request_id) DO UPDATE SET \
                 action_ms = excluded.action_ms, outcome = excluded.outcome, \
                 execution_ids = excluded.execution_ids, batch_id = excluded.batch_id, \
                 error = excluded.error",
                args![
                    run.schedule_id,
                    run.scheduled_ms,
                    run.triggered,
                    run.action_ms,
                    run.outcome.as_str(),
                    serde_json::to_string(&run.execution_ids).expect("ids serialize"),
                    run.batch_id,
                    run.error,
                    run.request_id,
                ],
            )?;
            Ok(())
        }
    }
}

const SCHEDULE_COLUMNS: &str = "id, definition, paused, note, create_ms, update_ms, handled_ms";

fn read_schedule(row: &Row<'_>) -> Result<ScheduleRecord, StoreError> {
    Ok(ScheduleRecord {
        id: row.get(0)?,
        definition: row.get(1)?,
        paused: row.get(2)?,
        note: row.get(3)?,
        create_ms: row.get(4)?,
        update_ms: row.get(5)?,
        handled_ms: row.get(6)?,
    })
}

const RUN_COLUMNS: &str = "schedule_id, scheduled_ms, triggered, action_ms, outcome, \
     execution_ids, batch_id, error, request_id";

fn read_run(row: &Row<'_>) -> Result<ScheduleRunRecord, StoreError> {
    let schedule_id: String = row.get(0)?;
    let scheduled_ms: i64 = row.get(1)?;
    let outcome: String = row.get(4)?;
    let ids: String = row.get(5)?;
    let corrupt = |what: &str| {
        StoreError::Corrupt(format!(
            "run {scheduled_ms} of schedule {schedule_id}: {what}"
        ))
    };
    let outcome = RunOutcome::parse(&outcome).ok_or_else(|| corrupt("outcome"))?;
    let execution_ids = serde_json::from_str(&ids).map_err(|_| corrupt("execution ids"))?;
    Ok(ScheduleRunRecord {
        triggered: row.get(2)?,
        action_ms: row.get(3)?,
        outcome,
        execution_ids,
        batch_id: row.get(6)?,
        error: row.get(7)?,
        request_id: row.get(8)?,
        schedule_id,
        scheduled_ms,
    })
}

impl StoreReader {
    /// Every schedule, by id.
    pub(crate) fn schedules(&self) -> Result<Vec<ScheduleRecord>, StoreError> {
        self.with_db(|db| {
            let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY id");
            db.query(&sql, args![], read_schedule)
        })
    }

    /// One schedule.
    #[cfg(test)]
    pub(crate) fn schedule(&self, id: &str) -> Result<Option<ScheduleRecord>, StoreError> {
        self.with_db(|db| {
            let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = ?1");
            db.query_opt(&sql, args![id], read_schedule)
        })
    }

    /// The run of a schedule recorded under `request_id`, if any.
    pub(crate) fn schedule_run(
        &self,
        id: &str,
        request_id: &str,
    ) -> Result<Option<ScheduleRunRecord>, StoreError> {
        self.with_db(|db| {
            let sql = format!(
                "SELECT {RUN_COLUMNS} FROM schedule_runs WHERE schedule_id = ?1 AND request_id = ?2"
            );
            db.query_opt(&sql, args![id, request_id], read_run)
        })
    }

    /// A schedule's latest runs (by the time they fell due), newest first;
    /// only those with `outcome` when given.
    pub(crate) fn schedule_runs(
        &self,
        id: &str,
        outcome: Option<RunOutcome>,
        limit: usize,
    ) -> Result<Vec<ScheduleRunRecord>, StoreError> {
        // Runs of one time (a catch-up's MISSED record and its start) in
        // the order they were recorded, on both backends.
        self.with_db(|db| {
            let sql = format!(
                "SELECT {RUN_COLUMNS} FROM schedule_runs WHERE schedule_id = ?1 \
                 AND (CAST(?2 AS TEXT) IS NULL OR outcome = ?2) ORDER BY scheduled_ms DESC, rowid LIMIT ?3"
            );
            db.query(
                &sql,
                args![id, outcome.map(RunOutcome::as_str), limit],
                read_run,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{on_each_database, runtime};
    use crate::store::History;

    fn run(scheduled_ms: i64, outcome: RunOutcome) -> ScheduleRunRecord {
        ScheduleRunRecord {
            schedule_id: "nightly".into(),
            scheduled_ms,
            triggered: false,
            action_ms: scheduled_ms + 1,
            outcome,
            execution_ids: vec![],
            batch_id: None,
            error: String::new(),
            request_id: format!("schedule/nightly/{scheduled_ms}"),
        }
    }

    fn recorded(run: ScheduleRunRecord) -> ScheduleWrite {
        ScheduleWrite::Record {
            handled_ms: Some(run.scheduled_ms),
            run: Box::new(run),
        }
    }

    #[test]
    fn a_time_is_recorded_once_and_moves_the_cursor() {
        on_each_database(|database| {
            let rt = runtime();
            let history = History::open(database).unwrap();
            recorded_once(&history, |w| rt.block_on(history.writer.schedule(w)));
            rt.block_on(history.writer.close()).unwrap();
        });
    }

    fn recorded_once(history: &History, write: impl Fn(ScheduleWrite) -> Result<(), StoreError>) {
        let record = ScheduleRecord {
            id: "nightly".into(),
            definition: "{}".into(),
            paused: false,
            note: String::new(),
            create_ms: 1,
            update_ms: 1,
            handled_ms: 1,
        };
        write(ScheduleWrite::Create(Box::new(record.clone()))).unwrap();
        assert!(matches!(
            write(ScheduleWrite::Create(Box::new(record))),
            Err(StoreError::ScheduleExists(id)) if id == "nightly"
        ));
        write(recorded(run(10, RunOutcome::Buffered))).unwrap();
        let mut started = run(10, RunOutcome::Started);
        started.execution_ids = vec!["e1".into()];
        write(recorded(started.clone())).unwrap();
        let runs = history.reader.schedule_runs("nightly", None, 10).unwrap();
        assert_eq!(runs, vec![started]);
        let stored = history.reader.schedule("nightly").unwrap().unwrap();
        assert_eq!(stored.handled_ms, 10);

        write(ScheduleWrite::Delete {
            id: "nightly".into(),
        })
        .unwrap();
        assert!(matches!(
            write(recorded(run(20, RunOutcome::Missed))),
            Err(StoreError::ScheduleNotFound(_))
        ));
        assert!(history
            .reader
            .schedule_runs("nightly", None, 10)
            .unwrap()
            .is_empty());
    }
}
