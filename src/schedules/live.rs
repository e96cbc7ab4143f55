//! One schedule at work: a task that sleeps until its next time, acts on
//! it, and moves on. Acting on a time is: the overlap policy against the
//! previous run, the action started (idempotently, see action.rs), and the
//! run recorded together with the cursor (store/schedules.rs). The order
//! is what makes a crash harmless: a time whose start was not recorded is
//! acted on again at the next start and finds what the first start made.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::action::NotStarted;
use super::calendar::Calendar;
use super::definition::{Definition, Overlap};
use super::Schedules;
use crate::clock::now_ms;
use crate::engine::CancelRequest;
use crate::store::{RunOutcome, ScheduleRecord, ScheduleRunRecord, ScheduleWrite, ScheduledBy};

/// The longest a timer sleeps at once (tokio's timer takes about two
/// years at most). A wall clock that is set wakes the timers sooner: see
/// [`Schedules::watch_clock`].
const MAX_SLEEP: Duration = Duration::from_secs(30 * 24 * 3600);

/// A time acted on this late is caught up instead (see
/// [`Schedules::catch_up`]): one run at most, the rest recorded MISSED.
const LATE_LIMIT_MS: i64 = 60_000;

/// How often the wall clock is compared with the monotonic one.
const CLOCK_CHECK: Duration = Duration::from_secs(10);
/// A wall clock that moved this much more or less than the monotonic one
/// in a check was set (or the machine was suspended): every timer
/// computes its wait again.
const CLOCK_STEP_MS: i64 = 1_000;

/// A schedule in memory.
pub(super) struct Live {
    pub(super) id: String,
    pub(super) state: Mutex<LiveState>,
    /// Wakes its timer after a change (update, pause, delete).
    pub(super) changed: Notify,
    /// Held while acting on a time: one at a time per schedule.
    pub(super) acting: tokio::sync::Mutex<Runs>,
}

/// What can change under a schedule's timer.
pub(super) struct LiveState {
    pub(super) record: ScheduleRecord,
    pub(super) definition: Arc<Definition>,
    pub(super) calendar: Arc<Calendar>,
    pub(super) deleted: bool,
}

/// What the overlap policy looks at.
#[derive(Debug, Default)]
pub(super) struct Runs {
    /// The executions of the latest run it started.
    pub(super) previous: Vec<String>,
    /// The time waiting for the previous run to end (BUFFER_ONE).
    pub(super) buffered: Option<i64>,
}

/// Which time is acted on.
#[derive(Debug, Clone)]
pub(super) enum Occasion {
    /// A time it fell due.
    Due(i64),
    /// TriggerSchedule at this time, under this key (the caller's request
    /// id, or a fresh one).
    Trigger(i64, String),
}

impl Occasion {
    fn scheduled_ms(&self) -> i64 {
        match self {
            Occasion::Due(ms) | Occasion::Trigger(ms, _) => *ms,
        }
    }

    /// The key its start is idempotent under.
    fn request_id(&self, schedule_id: &str) -> String {
        match self {
            Occasion::Due(ms) => format!("schedule/{schedule_id}/{ms}"),
            Occasion::Trigger(_, key) => format!("schedule/{schedule_id}/trigger/{key}"),
        }
    }

    /// The cursor a run of it moves to: none for a trigger.
    fn handled_ms(&self) -> Option<i64> {
        match self {
            Occasion::Due(ms) => Some(*ms),
            Occasion::Trigger(..) => None,
        }
    }
}

impl Live {
    pub(super) fn new(record: ScheduleRecord, definition: Definition, calendar: Calendar) -> Self {
        Live {
            id: record.id.clone(),
            state: Mutex::new(LiveState {
                record,
                definition: Arc::new(definition),
                calendar: Arc::new(calendar),
                deleted: false,
            }),
            changed: Notify::new(),
            acting: tokio::sync::Mutex::new(Runs::default()),
        }
    }

    /// The idempotency key of a time it fell due.
    pub(super) fn request_id(&self, scheduled_ms: i64) -> String {
        Occasion::Due(scheduled_ms).request_id(&self.id)
    }

    fn definition(&self) -> (Arc<Definition>, Arc<Calendar>) {
        let state = self.state.lock();
        (state.definition.clone(), state.calendar.clone())
    }

    /// The next time it falls due and when to act on it; None while paused,
    /// deleted or past its end.
    fn next(&self) -> Option<(i64, i64)> {
        let state = self.state.lock();
        if state.deleted || state.record.paused {
            return None;
        }
        let scheduled = state.calendar.next_after(state.record.handled_ms)?;
        Some((scheduled, state.calendar.fire_ms(scheduled)))
    }

    fn deleted(&self) -> bool {
        self.state.lock().deleted
    }
}

impl Schedules {
    /// A schedule's timer: catches up what fell due while the daemon was
    /// down, then acts on each time as it comes, until it is deleted or
    /// the daemon stops.
    pub(super) async fn keep(self: Arc<Self>, live: Arc<Live>) {
        self.catch_up(&live, now_ms()).await;
        loop {
            let changed = live.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if live.deleted() {
                return;
            }
            let Some((scheduled, fire)) = live.next() else {
                tokio::select! {
                    _ = changed => continue,
                    _ = self.stop.cancelled() => return,
                }
            };
            let wait = fire - now_ms();
            if wait > 0 {
                let sleep = Duration::from_millis(wait as u64).min(MAX_SLEEP);
                tokio::select! {
                    _ = tokio::time::sleep(sleep) => {}
                    _ = changed => {}
                    _ = self.stop.cancelled() => return,
                }
                continue;
            }
            // Far behind (a suspended machine, a clock set forward, a
            // daemon too busy): what fell due meanwhile is caught up as
            // after a restart, once, not run back to back.
            if -wait > LATE_LIMIT_MS {
                let before = live.state.lock().record.handled_ms;
                self.catch_up_times(&live, now_ms()).await;
                if live.state.lock().record.handled_ms == before {
                    // Nothing recorded (the history refused it): not a
                    // tight loop.
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = self.stop.cancelled() => return,
                    }
                }
                continue;
            }
            if self.act(&live, Occasion::Due(scheduled)).await.is_none() {
                if live.deleted() || self.stop.is_cancelled() {
                    // The next start catches the time up.
                    return;
                }
                let moved = {
                    let state = live.state.lock();
                    state.record.paused || state.record.handled_ms >= scheduled
                };
                if !moved {
                    // The history refused the record: try again shortly.
                    tracing::error!(schedule = %live.id, "a run could not be recorded; trying again");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = self.stop.cancelled() => return,
                    }
                }
            }
        }
    }

    /// Wakes every timer when the wall clock jumps: the timers sleep on
    /// the monotonic clock until a wall-clock time, so a clock that is
    /// set (or a suspended machine) would leave them waking at the wrong
    /// time. One task for all schedules: an idle daemon pays one check
    /// every ten seconds whatever their number, not one wake per schedule.
    pub(super) async fn watch_clock(self: Arc<Self>) {
        let (mut wall, mut monotonic) = (now_ms(), std::time::Instant::now());
        loop {
            tokio::select! {
                _ = tokio::time::sleep(CLOCK_CHECK) => {}
                _ = self.stop.cancelled() => return,
            }
            let (wall_now, monotonic_now) = (now_ms(), std::time::Instant::now());
            let drift =
                (wall_now - wall) - monotonic_now.duration_since(monotonic).as_millis() as i64;
            if drift.abs() > CLOCK_STEP_MS {
                tracing::info!(
                    drift_ms = drift,
                    "the wall clock jumped; schedules recompute their next times"
                );
                for live in self.live.lock().values() {
                    live.changed.notify_one();
                }
            }
            (wall, monotonic) = (wall_now, monotonic_now);
        }
    }

    /// Acts on one time; returns its record, or None when nothing was
    /// recorded (the daemon is stopping, or the schedule is gone).
    pub(super) async fn act(
        self: &Arc<Self>,
        live: &Arc<Live>,
        occasion: Occasion,
    ) -> Option<ScheduleRunRecord> {
        let mut runs = live.acting.lock().await;
        if let Occasion::Due(ms) = occasion {
            // A pause or an update while this waited for the lock moved
            // the cursor past it: it is not due any more.
            let state = live.state.lock();
            if state.deleted || state.record.paused || state.record.handled_ms >= ms {
                return None;
            }
        }
        let (definition, _) = live.definition();
        let scheduled_ms = occasion.scheduled_ms();
        let request_id = occasion.request_id(&live.id);
        // A start the daemon made before it died, unrecorded: no policy
        // applies again, the start below finds it.
        let started_before = self
            .starter
            .started_before(&definition.action, &request_id)
            .await
            .ok()
            .flatten()
            .is_some();
        let mut run = ScheduleRunRecord {
            schedule_id: live.id.clone(),
            scheduled_ms,
            triggered: matches!(occasion, Occasion::Trigger(..)),
            action_ms: now_ms(),
            outcome: RunOutcome::Started,
            execution_ids: Vec::new(),
            batch_id: None,
            error: String::new(),
            request_id: request_id.clone(),
        };
        let going = if started_before {
            Vec::new()
        } else {
            self.still_going(&runs.previous).await
        };
        if let Some(first) = going.first() {
            match definition.overlap {
                Overlap::Skip => {
                    run.outcome = RunOutcome::Skipped;
                    run.error = format!("the previous run (execution {first}) is still going");
                    return self.record(live, run, occasion.handled_ms()).await;
                }
                Overlap::BufferOne if runs.buffered.is_some() => {
                    run.outcome = RunOutcome::Skipped;
                    run.error = format!(
                        "the previous run (execution {first}) is still going and another run is already buffered"
                    );
                    return self.record(live, run, occasion.handled_ms()).await;
                }
                Overlap::BufferOne => {
                    run.outcome = RunOutcome::Buffered;
                    run.error = format!("waiting for the previous run (execution {first}) to end");
                    let recorded = self.record(live, run, occasion.handled_ms()).await?;
                    runs.buffered = Some(scheduled_ms);
                    tokio::spawn(self.clone().start_buffered(
                        live.clone(),
                        recorded.clone(),
                        going,
                    ));
                    return Some(recorded);
                }
                Overlap::AllowAll => {}
                Overlap::CancelPrevious => {
                    for id in &going {
                        let cancel = CancelRequest {
                            grace_period: None,
                            force: false,
                        };
                        // Already finished is as good as cancelled; a
                        // failed attempt's waiting retry is called off.
                        if self.starter.engine.cancel(id, cancel).await.is_err() {
                            if let Some(retries) = &self.starter.retries {
                                let _ = retries.call_off(id).await;
                            }
                        }
                        let _ = self.starter.engine.wait_for_end(id).await;
                    }
                }
            }
        }
        self.start_and_record(live, &mut runs, run, occasion.handled_ms())
            .await
    }

    /// Starts the action for `run` and records what became of it, moving
    /// the cursor to `handled_ms` (None for a trigger).
    async fn start_and_record(
        self: &Arc<Self>,
        live: &Arc<Live>,
        runs: &mut Runs,
        mut run: ScheduleRunRecord,
        handled_ms: Option<i64>,
    ) -> Option<ScheduleRunRecord> {
        let (definition, _) = live.definition();
        let scheduled = ScheduledBy {
            schedule_id: live.id.clone(),
            scheduled_ms: run.scheduled_ms,
        };
        match self
            .starter
            .start(&definition, scheduled, run.request_id.clone())
            .await
        {
            Ok(started) => {
                run.outcome = RunOutcome::Started;
                run.error.clear();
                runs.previous = started.execution_ids.clone();
                run.execution_ids = started.execution_ids;
                run.batch_id = started.batch_id;
            }
            Err(NotStarted::ShuttingDown) => return None,
            Err(NotStarted::Failed(error)) => {
                tracing::warn!(schedule = %live.id, %error, "a scheduled run could not start");
                match self
                    .starter
                    .started_under(&definition.action, &run.request_id)
                    .await
                {
                    // Started all the same (in part, or before a crash):
                    // recorded as started, with what went wrong.
                    Some(started) => {
                        run.outcome = RunOutcome::Started;
                        run.error = format!("started, but: {error}");
                        runs.previous = started.execution_ids.clone();
                        run.execution_ids = started.execution_ids;
                        run.batch_id = started.batch_id;
                    }
                    None => {
                        run.outcome = RunOutcome::Failed;
                        run.error = error;
                    }
                }
            }
        }
        self.record(live, run, handled_ms).await
    }

    /// Starts a buffered time once the previous run's executions have
    /// ended.
    pub(super) async fn start_buffered(
        self: Arc<Self>,
        live: Arc<Live>,
        run: ScheduleRunRecord,
        previous: Vec<String>,
    ) {
        for id in &previous {
            tokio::select! {
                ended = self.starter.engine.wait_for_end(id) => {
                    // Left queued by a shutdown: the next start resumes it.
                    if matches!(ended, Err(crate::engine::EngineError::LeftQueued(_))) {
                        return;
                    }
                }
                _ = self.stop.cancelled() => return,
            }
        }
        let mut runs = live.acting.lock().await;
        if runs.buffered != Some(run.scheduled_ms) || live.deleted() {
            return;
        }
        runs.buffered = None;
        let handled_ms = (!run.triggered).then_some(run.scheduled_ms);
        self.start_and_record(&live, &mut runs, run, handled_ms)
            .await;
    }

    /// Those of `executions` still going: queued or running, or failed
    /// with a retry that waits (each is followed through its attempts to
    /// the last; the attempt going is named).
    async fn still_going(&self, executions: &[String]) -> Vec<String> {
        let mut going = Vec::new();
        for first in executions {
            let mut id = first.clone();
            while let Ok(record) = self.starter.engine.execution(&id).await {
                if !record.state.is_terminal() {
                    going.push(id);
                    break;
                }
                let Some(retry) = &record.retry else { break };
                if let Some(next) = retry.next_attempt {
                    id = next.to_string();
                    continue;
                }
                if !retry.settled
                    && retry
                        .policy
                        .retries(retry.attempt, record.state, record.exit_code)
                {
                    going.push(id);
                }
                break;
            }
        }
        going
    }

    /// Stores `run` and moves the cursor to `handled_ms` (None: a
    /// trigger, no cursor), in the history and in memory.
    pub(super) async fn record(
        &self,
        live: &Live,
        run: ScheduleRunRecord,
        handled_ms: Option<i64>,
    ) -> Option<ScheduleRunRecord> {
        let write = ScheduleWrite::Record {
            run: Box::new(run.clone()),
            handled_ms,
        };
        match self.writer.schedule(write).await {
            Ok(()) => {
                if let Some(handled_ms) = handled_ms {
                    let mut state = live.state.lock();
                    state.record.handled_ms = state.record.handled_ms.max(handled_ms);
                }
                Some(run)
            }
            Err(e) => {
                tracing::warn!(schedule = %live.id, error = %e, "a run was not recorded");
                None
            }
        }
    }
}
