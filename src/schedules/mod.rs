//! Schedules (docs/schedules.md): cron expressions in a time zone that
//! execute a workflow or submit a manifest when they fall due, kept in
//! the history with a record of every time each fell due.
//!
//! - [`definition`]: what a schedule is, stored as JSON; [`calendar`]:
//!   when it falls due (croner, chrono-tz, jitter).
//! - [`action`]: its action checked, and started idempotently.
//! - [`live`]: one task per schedule, sleeping until its next time; the
//!   overlap policy; runs recorded with the cursor.
//! - [`catch_up`]: at start, what fell due while the daemon was down.
//!
//! Sits on the engine and the manifest runner, under the API.

mod action;
mod calendar;
mod catch_up;
pub(crate) mod definition;
mod error;
mod live;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

pub(crate) use error::{ScheduleError, Violation};

use action::Starter;
use definition::Definition;
use live::{Live, Occasion};

use crate::clock::now_ms;
use crate::engine::Engine;
use crate::manifest::submit::ManifestRunner;
use crate::store::{ScheduleRecord, ScheduleRunRecord, ScheduleWrite, StoreReader, StoreWriter};

/// Next fire times shown when a request does not say.
pub(crate) const DEFAULT_NEXT_FIRE_TIMES: usize = 5;
/// Most next fire times computed for one request.
pub(crate) const MAX_NEXT_FIRE_TIMES: usize = 100;

/// A schedule as shown to clients.
#[derive(Debug, Clone)]
pub(crate) struct ScheduleView {
    /// Its id, pause state, times.
    pub(crate) record: ScheduleRecord,
    /// Its definition.
    pub(crate) definition: Arc<Definition>,
    /// The next times it acts (jitter applied).
    pub(crate) next_fire_ms: Vec<i64>,
    /// Its latest runs, newest first (GetSchedule only).
    pub(crate) recent_runs: Vec<ScheduleRunRecord>,
}

/// The daemon's schedules.
pub(crate) struct Schedules {
    starter: Starter,
    writer: StoreWriter,
    reader: Arc<StoreReader>,
    live: Mutex<BTreeMap<String, Arc<Live>>>,
    /// Stops every timer.
    stop: CancellationToken,
}

impl Schedules {
    /// The schedules over an engine (and a manifest runner, when the
    /// daemon runs manifests). Nothing runs until [`Schedules::start`].
    pub(crate) fn new(
        engine: Arc<Engine>,
        manifests: Option<Arc<ManifestRunner>>,
        retries: Option<Arc<crate::retries::Retries>>,
        writer: StoreWriter,
        reader: Arc<StoreReader>,
    ) -> Arc<Self> {
        Arc::new(Schedules {
            starter: Starter {
                engine,
                manifests,
                retries,
            },
            writer,
            reader,
            live: Mutex::new(BTreeMap::new()),
            stop: CancellationToken::new(),
        })
    }

    /// Loads every stored schedule and starts its timer (each first
    /// catches up what fell due while the daemon was down).
    pub(crate) async fn start(self: &Arc<Self>) -> Result<(), ScheduleError> {
        let records = self.reader.off_runtime(|r| r.schedules()).await?;
        for record in records {
            let compiled = Definition::from_json(&record.definition)
                .map_err(|e| e.to_string())
                .and_then(|definition| {
                    let calendar = calendar::Calendar::compile(&record.id, &definition)
                        .map_err(|violations| ScheduleError::Invalid(violations).to_string())?;
                    Ok((definition, calendar))
                });
            match compiled {
                Ok((definition, calendar)) => {
                    self.spawn(Live::new(record, definition, calendar));
                }
                // Stored by a daemon that understood it; this one does not
                // (a downgrade): left alone, not deleted.
                Err(error) => {
                    tracing::error!(schedule = %record.id, %error, "a stored schedule cannot be read; it does not run")
                }
            }
        }
        tokio::spawn(self.clone().watch_clock());
        Ok(())
    }

    /// Stops every timer (the daemon is shutting down).
    pub(crate) fn stop(&self) {
        self.stop.cancel();
    }

    fn spawn(self: &Arc<Self>, live: Live) -> Arc<Live> {
        let live = Arc::new(live);
        self.live.lock().insert(live.id.clone(), live.clone());
        tokio::spawn(self.clone().keep(live.clone()));
        live
    }

    fn find(&self, id: &str) -> Result<Arc<Live>, ScheduleError> {
        self.live
            .lock()
            .get(id)
            .cloned()
            .ok_or_else(|| ScheduleError::NotFound(id.to_string()))
    }

    /// Every violation of `definition` as a new or changed schedule `id`.
    async fn check(
        &self,
        id: &str,
        definition: &Definition,
    ) -> Result<calendar::Calendar, ScheduleError> {
        let mut violations: Vec<Violation> = definition::check_id(id).into_iter().collect();
        if definition.end_ms.is_some_and(|end| end < now_ms()) {
            violations.push(Violation::new(
                "schedule.spec.end_time",
                "is in the past: the schedule would never fall due",
            ));
        }
        let calendar = calendar::Calendar::compile(id, definition)
            .map_err(|v| violations.extend(v))
            .ok();
        violations.extend(self.starter.check(definition).await);
        match calendar {
            Some(calendar) if violations.is_empty() => Ok(calendar),
            _ => Err(ScheduleError::Invalid(violations)),
        }
    }

    /// Creates a schedule; it next falls due after now.
    pub(crate) async fn create(
        self: &Arc<Self>,
        id: String,
        definition: Definition,
        paused: bool,
        note: String,
    ) -> Result<ScheduleView, ScheduleError> {
        let calendar = self.check(&id, &definition).await?;
        let now = now_ms();
        let record = ScheduleRecord {
            id,
            definition: definition.to_json(),
            paused,
            note,
            create_ms: now,
            update_ms: now,
            handled_ms: now,
        };
        self.writer
            .schedule(ScheduleWrite::Create(Box::new(record.clone())))
            .await?;
        let live = self.spawn(Live::new(record, definition, calendar));
        Ok(self.view(&live, DEFAULT_NEXT_FIRE_TIMES, Vec::new()))
    }

    /// Replaces a schedule's definition; it next falls due after now.
    pub(crate) async fn update(
        &self,
        id: &str,
        definition: Definition,
    ) -> Result<ScheduleView, ScheduleError> {
        let live = self.find(id)?;
        let calendar = self.check(id, &definition).await?;
        let now = now_ms();
        self.writer
            .schedule(ScheduleWrite::Update {
                id: id.to_string(),
                definition: definition.to_json(),
                update_ms: now,
                handled_ms: now,
            })
            .await?;
        {
            let mut state = live.state.lock();
            state.record.definition = definition.to_json();
            state.record.update_ms = now;
            state.record.handled_ms = state.record.handled_ms.max(now);
            state.definition = Arc::new(definition);
            state.calendar = Arc::new(calendar);
        }
        live.changed.notify_one();
        Ok(self.view(&live, DEFAULT_NEXT_FIRE_TIMES, Vec::new()))
    }

    /// Pauses or unpauses a schedule; the times it fell due while paused
    /// are not caught up.
    pub(crate) async fn pause(
        &self,
        id: &str,
        paused: bool,
        note: String,
    ) -> Result<ScheduleView, ScheduleError> {
        let live = self.find(id)?;
        let now = now_ms();
        self.writer
            .schedule(ScheduleWrite::Pause {
                id: id.to_string(),
                paused,
                note: note.clone(),
                update_ms: now,
            })
            .await?;
        {
            let mut state = live.state.lock();
            state.record.paused = paused;
            state.record.note = note;
            state.record.update_ms = now;
            state.record.handled_ms = state.record.handled_ms.max(now);
        }
        live.changed.notify_one();
        Ok(self.view(&live, DEFAULT_NEXT_FIRE_TIMES, Vec::new()))
    }

    /// Deletes a schedule and its runs' records.
    pub(crate) async fn delete(&self, id: &str) -> Result<(), ScheduleError> {
        let live = self.find(id)?;
        // After a run in progress is recorded: its record must not land on
        // a schedule re-created under the same id.
        let _acting = live.acting.lock().await;
        self.writer
            .schedule(ScheduleWrite::Delete { id: id.to_string() })
            .await?;
        live.state.lock().deleted = true;
        live.changed.notify_one();
        self.live.lock().remove(id);
        Ok(())
    }

    /// Acts on a schedule now, under its overlap policy. With a
    /// `request_id`, a repeated call returns the run of the first.
    pub(crate) async fn trigger(
        self: &Arc<Self>,
        id: &str,
        request_id: Option<String>,
    ) -> Result<ScheduleRunRecord, ScheduleError> {
        let live = self.find(id)?;
        let key = match request_id {
            Some(key) => {
                let (schedule, run_key) = (id.to_string(), format!("schedule/{id}/trigger/{key}"));
                let earlier = self
                    .reader
                    .off_runtime(move |r| r.schedule_run(&schedule, &run_key))
                    .await?;
                if let Some(run) = earlier {
                    return Ok(run);
                }
                key
            }
            None => uuid::Uuid::now_v7().to_string(),
        };
        self.act(&live, Occasion::Trigger(now_ms(), key))
            .await
            .ok_or(ScheduleError::ShuttingDown)
    }

    /// One schedule with its next `next` fire times and `recent` latest
    /// runs.
    pub(crate) async fn get(
        &self,
        id: &str,
        next: usize,
        recent: usize,
    ) -> Result<ScheduleView, ScheduleError> {
        let live = self.find(id)?;
        let key = id.to_string();
        let runs = self
            .reader
            .off_runtime(move |r| r.schedule_runs(&key, None, recent))
            .await?;
        Ok(self.view(&live, next, runs))
    }

    /// Up to `limit` schedules by id, after the id `after`, each with its
    /// next fire time.
    pub(crate) fn list(
        &self,
        after: Option<&str>,
        limit: usize,
        seen: &crate::namespaces::Visibility,
    ) -> Vec<ScheduleView> {
        use std::ops::Bound;
        let live: Vec<_> = {
            let map = self.live.lock();
            let start = match after {
                Some(after) => Bound::Excluded(after.to_string()),
                None => Bound::Unbounded,
            };
            map.range((start, Bound::Unbounded))
                .filter(|(_, live)| seen.sees(&live.state.lock().definition.namespace))
                .take(limit)
                .map(|(_, live)| live.clone())
                .collect()
        };
        live.iter().map(|l| self.view(l, 1, Vec::new())).collect()
    }

    fn view(&self, live: &Live, next: usize, recent_runs: Vec<ScheduleRunRecord>) -> ScheduleView {
        let state = live.state.lock();
        let next_fire_ms = if state.record.paused {
            Vec::new()
        } else {
            state
                .calendar
                .upcoming(state.record.handled_ms, next)
                .into_iter()
                .map(|t| state.calendar.fire_ms(t))
                .collect()
        };
        ScheduleView {
            record: state.record.clone(),
            definition: state.definition.clone(),
            next_fire_ms,
            recent_runs,
        }
    }
}
