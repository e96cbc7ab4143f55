//! What a schedule does when the daemon starts: resume the run it had
//! buffered, finish recording the time it was acting on when the daemon
//! died, and deal with the times it fell due while the daemon was down
//! (its catch-up policy). Every such time is recorded, none runs twice.

use std::sync::Arc;

use super::definition::CatchUp;
use super::live::{Live, Occasion};
use super::Schedules;
use crate::clock::now_ms;
use crate::store::{RunOutcome, ScheduleRunRecord};

/// At most this many missed times are counted one by one for the record.
const MAX_COUNTED: usize = 10_000;

impl Schedules {
    /// Catches `live` up to `now` (ms since the epoch; a parameter so the
    /// tests can say when "now" is).
    pub(super) async fn catch_up(self: &Arc<Self>, live: &Arc<Live>, now: i64) {
        if self.resume_runs(live).await {
            self.catch_up_times(live, now).await;
        }
    }

    /// Deals with the times due up to `now` that were not acted on, per
    /// the catch-up policy: at start, and when a running daemon finds
    /// itself far behind.
    pub(super) async fn catch_up_times(self: &Arc<Self>, live: &Arc<Live>, now: i64) {
        let (definition, calendar, handled, paused) = {
            let state = live.state.lock();
            (
                state.definition.clone(),
                state.calendar.clone(),
                state.record.handled_ms,
                state.record.paused,
            )
        };
        if paused {
            return;
        }
        let Some(first) = calendar.next_after(handled).filter(|t| *t <= now) else {
            return;
        };
        // The time the daemon was acting on when it died may have been
        // started and not recorded: acting on it again records the start.
        let started = self
            .starter
            .started_before(&definition.action, &live.request_id(first))
            .await
            .ok()
            .flatten()
            .is_some();
        let mut handled = handled;
        if started {
            if self.act(live, Occasion::Due(first)).await.is_none() {
                return;
            }
            handled = first;
        }
        let Some(last) = calendar
            .latest_at_or_before(now)
            .filter(|last| *last > handled)
        else {
            return;
        };
        let window = definition.catch_up_window_ms as i64;
        let start_last = definition.catch_up == CatchUp::StartOne && now - last <= window;
        let missed_until = if start_last {
            calendar
                .latest_at_or_before(last - 1)
                .filter(|before| *before > handled)
        } else {
            Some(last)
        };
        if let Some(missed_until) = missed_until {
            let first_missed = calendar
                .next_after(handled)
                .expect("a time is due after the cursor");
            let count = count_between(&calendar, handled, missed_until);
            let run = ScheduleRunRecord {
                schedule_id: live.id.clone(),
                scheduled_ms: first_missed,
                triggered: false,
                action_ms: now_ms(),
                outcome: RunOutcome::Missed,
                execution_ids: Vec::new(),
                batch_id: None,
                error: missed_message(count, first_missed, missed_until, definition.catch_up),
                request_id: live.request_id(first_missed),
            };
            if self.record(live, run, Some(missed_until)).await.is_none() {
                return;
            }
        }
        if start_last {
            self.act(live, Occasion::Due(last)).await;
        }
    }

    /// Loads what the overlap policy needs from the history (the latest
    /// run started) and resumes a buffered run. False when the history
    /// cannot be read.
    async fn resume_runs(self: &Arc<Self>, live: &Arc<Live>) -> bool {
        // Held while the history is read: a trigger that came first has
        // recorded its run (read below), one that comes later waits.
        let mut runs = live.acting.lock().await;
        let id = live.id.clone();
        let read = self
            .reader
            .off_runtime(move |reader| {
                let started = reader.schedule_runs(&id, Some(RunOutcome::Started), 1)?;
                let buffered = reader.schedule_runs(&id, Some(RunOutcome::Buffered), 1)?;
                Ok((started, buffered))
            })
            .await;
        let (started, buffered) = match read {
            Ok(runs) => runs,
            Err(e) => {
                tracing::error!(schedule = %live.id, error = %e, "cannot read the schedule's runs");
                return false;
            }
        };
        runs.previous = started
            .into_iter()
            .next()
            .map(|run| run.execution_ids)
            .unwrap_or_default();
        if let Some(run) = buffered.into_iter().next() {
            runs.buffered = Some(run.scheduled_ms);
            let previous = runs.previous.clone();
            tokio::spawn(self.clone().start_buffered(live.clone(), run, previous));
        }
        true
    }
}

/// How many times fall due in (after, until], counted up to
/// [`MAX_COUNTED`].
fn count_between(calendar: &super::calendar::Calendar, after: i64, until: i64) -> usize {
    let mut count = 0;
    let mut at = after;
    while count < MAX_COUNTED {
        match calendar.next_after(at) {
            Some(next) if next <= until => {
                count += 1;
                at = next;
            }
            _ => break,
        }
    }
    count
}

fn missed_message(count: usize, first: i64, last: i64, policy: CatchUp) -> String {
    let times = match count {
        1 => "1 time".to_string(),
        n if n >= MAX_COUNTED => format!("{n} or more times"),
        n => format!("{n} times"),
    };
    let when = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    };
    let why = match policy {
        CatchUp::StartOne => "outside the catch-up window, or not the latest",
        CatchUp::Skip => "the catch-up policy is SKIP",
    };
    format!(
        "missed {times} from {} to {} while the daemon was not running or could not act \
         (suspended, the clock set forward) ({why})",
        when(first),
        when(last)
    )
}
