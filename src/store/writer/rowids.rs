//! Execution row ids taken from PostgreSQL's sequence ahead of need. An
//! execution without a request id has nothing to conflict on, so with its
//! row id known its insert needs no answer and goes out with the group's
//! commit (db/postgres.rs, deferred statements) instead of costing the
//! writer a round trip of its own. Every execution takes its id from here,
//! so rows stay numbered in the order they were created; ids a failed
//! group took are skipped, as the sequence would skip them anyway. SQLite
//! numbers its rows itself at no cost.

use crate::store::db::{args, Db};
use crate::store::StoreError;

/// Ids taken per round trip.
const TAKEN_AT_ONCE: i64 = 64;

/// The ids taken and not yet used, the next one last.
#[derive(Default)]
pub(super) struct RowidStash {
    ids: Vec<i64>,
}

impl RowidStash {
    /// The next execution row id, from the stash or a new batch.
    pub(super) fn take(&mut self, db: Db<'_>) -> Result<i64, StoreError> {
        if self.ids.is_empty() {
            let mut ids = db.query(
                "SELECT nextval(pg_get_serial_sequence('executions', 'rowid')) \
                 FROM generate_series(1, ?1)",
                args![TAKEN_AT_ONCE],
                |row| row.get::<i64>(0),
            )?;
            // Used in the sequence's order, so rows are numbered as created.
            ids.sort_unstable_by(|a, b| b.cmp(a));
            self.ids = ids;
        }
        self.ids
            .pop()
            .ok_or_else(|| StoreError::Corrupt("the rowid sequence gave no value".into()))
    }
}
