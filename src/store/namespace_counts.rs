//! GetStatus's counts for a caller that sees only some namespaces: its
//! namespaces' executions by state, all time and ended since a time. The
//! totals come from the rows the triggers keep per namespace and state
//! (schema version 13), a few rows per namespace; the ends since a time
//! from the end index, as the daemon-wide ones.

use super::db::{args, Dialect, Row};
use super::reader::StateCounts;
use super::{StoreError, StoreReader};

/// Executions of namespace ?1 by state.
const TOTALS_BY_STATE: &str =
    "SELECT state, count FROM execution_totals WHERE namespace = ?1 AND count > 0";

/// Executions of namespace ?1 ended since ?2, by state: driven by the end
/// index (today's ends are few), the namespace checked on the way.
/// `+` keeps SQLite on the end index (the namespace is no index's lead);
/// PostgreSQL plans by its statistics and has no `+` for text.
const ENDED_SINCE_BY_STATE: &str = "SELECT state, COUNT(*) FROM executions \
     WHERE end_ms >= ?2 AND +namespace = ?1 GROUP BY +state";
const ENDED_SINCE_BY_STATE_PG: &str = "SELECT state, COUNT(*) FROM executions \
     WHERE end_ms >= ?2 AND namespace = ?1 GROUP BY state";

impl StoreReader {
    /// Executions of `namespaces` by state: all time, and ended since
    /// `since_ms`.
    pub(crate) fn state_counts_in(
        &self,
        namespaces: &[String],
        since_ms: i64,
    ) -> Result<StateCounts, StoreError> {
        self.with_db(|db| {
            let ended_since = match db.dialect() {
                Dialect::Sqlite => ENDED_SINCE_BY_STATE,
                Dialect::Postgres => ENDED_SINCE_BY_STATE_PG,
            };
            let by_state = |row: &Row<'_>| Ok((row.get::<String>(0)?, row.get::<u64>(1)?));
            let mut counts = StateCounts::default();
            for namespace in namespaces {
                for (state, count) in db.query(TOTALS_BY_STATE, args![namespace], by_state)? {
                    *counts.totals.entry(state).or_default() += count;
                }
                for (state, count) in db.query(ended_since, args![namespace, since_ms], by_state)? {
                    *counts.ended_since.entry(state).or_default() += count;
                }
            }
            Ok(counts)
        })
    }
}
