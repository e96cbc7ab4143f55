//! GetStatus's counts for a caller that sees only some namespaces: its
//! namespaces' executions by state, all time and ended since a time. The
//! totals come from the rows the triggers keep per namespace and state
//! (schema version 13), a few rows per namespace; the ends since a time
//! from the end index, as the daemon-wide ones.

use super::reader::StateCounts;
use super::{StoreError, StoreReader};

/// Executions of namespace ?1 by state.
const TOTALS_BY_STATE: &str =
    "SELECT state, count FROM execution_totals WHERE namespace = ?1 AND count > 0";

/// Executions of namespace ?1 ended since ?2, by state: driven by the end
/// index (today's ends are few), the namespace checked on the way.
const ENDED_SINCE_BY_STATE: &str = "SELECT state, COUNT(*) FROM executions \
     WHERE end_ms >= ?2 AND +namespace = ?1 GROUP BY +state";

impl StoreReader {
    /// Executions of `namespaces` by state: all time, and ended since
    /// `since_ms`.
    pub(crate) fn state_counts_in(
        &self,
        namespaces: &[String],
        since_ms: i64,
    ) -> Result<StateCounts, StoreError> {
        self.with(|conn| {
            let mut counts = StateCounts::default();
            for namespace in namespaces {
                let mut totals = conn.prepare_cached(TOTALS_BY_STATE)?;
                let rows = totals.query_map([namespace], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })?;
                for row in rows {
                    let (state, count) = row?;
                    *counts.totals.entry(state).or_default() += count as u64;
                }
                let mut ended = conn.prepare_cached(ENDED_SINCE_BY_STATE)?;
                let rows = ended.query_map(rusqlite::params![namespace, since_ms], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })?;
                for row in rows {
                    let (state, count) = row?;
                    *counts.ended_since.entry(state).or_default() += count as u64;
                }
            }
            Ok(counts)
        })
    }
}
