//! When a schedule falls due: its cron expressions (croner) read in its
//! time zone (chrono-tz), bounded by its start and end times, each time
//! delayed by a jitter fixed per schedule and time.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

use super::definition::Definition;
use super::error::Violation;
use crate::fnv::fnv1a;

/// The largest jitter: a day.
const MAX_JITTER_MS: u64 = 24 * 3600 * 1000;

/// A schedule's compiled spec.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    crons: Vec<Cron>,
    zone: Tz,
    jitter_ms: u64,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    /// Seeds the jitter: the same schedule and time always get the same
    /// delay, so a restart neither moves a run nor runs it twice.
    seed: u64,
}

impl Calendar {
    /// Compiles `definition`'s spec, or returns every violation in it.
    pub(crate) fn compile(id: &str, definition: &Definition) -> Result<Self, Vec<Violation>> {
        let parser = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build();
        let mut violations = Vec::new();
        if definition.cron.is_empty() {
            violations.push(Violation::new(
                "schedule.spec.cron",
                "at least one cron expression is required",
            ));
        }
        let mut crons = Vec::new();
        for (i, expression) in definition.cron.iter().enumerate() {
            match parser.parse(expression) {
                Ok(cron) => crons.push(cron),
                Err(e) => violations.push(Violation::new(
                    &format!("schedule.spec.cron[{i}]"),
                    &format!("{expression:?} is not a cron expression of 5 or 6 fields: {e}"),
                )),
            }
        }
        let zone = if definition.time_zone.is_empty() {
            Tz::UTC
        } else {
            match definition.time_zone.parse::<Tz>() {
                Ok(zone) => zone,
                Err(_) => {
                    violations.push(Violation::new(
                        "schedule.spec.time_zone",
                        &format!(
                            "{:?} is not an IANA time zone (such as Europe/Paris or UTC)",
                            definition.time_zone
                        ),
                    ));
                    Tz::UTC
                }
            }
        };
        if definition.jitter_ms > MAX_JITTER_MS {
            violations.push(Violation::new(
                "schedule.spec.jitter",
                "must be at most 24h",
            ));
        }
        if let (Some(start), Some(end)) = (definition.start_ms, definition.end_ms) {
            if end < start {
                violations.push(Violation::new(
                    "schedule.spec.end_time",
                    "must not be before start_time",
                ));
            }
        }
        if !violations.is_empty() {
            return Err(violations);
        }
        Ok(Calendar {
            crons,
            zone,
            jitter_ms: definition.jitter_ms,
            start_ms: definition.start_ms,
            end_ms: definition.end_ms,
            seed: fnv1a(id.bytes()),
        })
    }

    /// The first time after `after_ms` that it falls due (before jitter),
    /// or None when it never will again.
    pub(crate) fn next_after(&self, after_ms: i64) -> Option<i64> {
        // Due no earlier than its start time.
        let after_ms = match self.start_ms {
            Some(start) if start > after_ms => start - 1,
            _ => after_ms,
        };
        // Cron times are whole seconds: the first one after the second
        // `after_ms` falls in is the first one after `after_ms`.
        let from = self.zoned(after_ms.div_euclid(1000) * 1000)?;
        let next = self
            .crons
            .iter()
            .filter_map(|cron| cron.find_next_occurrence(&from, false).ok())
            .map(|time| time.timestamp_millis())
            .min()?;
        match self.end_ms {
            Some(end) if next > end => None,
            _ => Some(next),
        }
    }

    /// The latest time at or before `ms` that it fell due (within its
    /// start and end times), or None when there is none.
    pub(crate) fn latest_at_or_before(&self, ms: i64) -> Option<i64> {
        let ms = match self.end_ms {
            Some(end) if end < ms => end,
            _ => ms,
        };
        // Whole seconds again: the latest at or before the second `ms`
        // falls in is the latest at or before `ms`.
        let from = self.zoned(ms.div_euclid(1000) * 1000)?;
        let latest = self
            .crons
            .iter()
            .filter_map(|cron| cron.find_previous_occurrence(&from, true).ok())
            .map(|time| time.timestamp_millis())
            .max()?;
        match self.start_ms {
            Some(start) if latest < start => None,
            _ => Some(latest),
        }
    }

    fn zoned(&self, ms: i64) -> Option<DateTime<Tz>> {
        let utc = DateTime::<Utc>::from_timestamp_millis(ms)?;
        Some(self.zone.from_utc_datetime(&utc.naive_utc()))
    }

    /// The next `count` times after `after_ms`.
    pub(crate) fn upcoming(&self, after_ms: i64, count: usize) -> Vec<i64> {
        let mut times = Vec::with_capacity(count);
        let mut after = after_ms;
        while times.len() < count {
            let Some(next) = self.next_after(after) else {
                break;
            };
            times.push(next);
            after = next;
        }
        times
    }

    /// When the time `scheduled_ms` is acted on: it plus its jitter.
    pub(crate) fn fire_ms(&self, scheduled_ms: i64) -> i64 {
        if self.jitter_ms == 0 {
            return scheduled_ms;
        }
        let hash = fnv1a(
            self.seed
                .to_le_bytes()
                .into_iter()
                .chain(scheduled_ms.to_le_bytes()),
        );
        scheduled_ms + (hash % self.jitter_ms) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedules::definition::{Action, CatchUp, Overlap};

    fn definition(cron: &[&str], zone: &str) -> Definition {
        Definition {
            cron: cron.iter().map(|c| c.to_string()).collect(),
            time_zone: zone.into(),
            jitter_ms: 0,
            start_ms: None,
            end_ms: None,
            action: Action::Execute {
                workflow_id: "w".into(),
                inputs: Default::default(),
                timeout_ms: None,
                labels: Default::default(),
                retry: None,
            },
            overlap: Overlap::Skip,
            catch_up: CatchUp::StartOne,
            catch_up_window_ms: 0,
            description: String::new(),
            namespace: "default".into(),
        }
    }

    fn ms(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn five_and_six_fields_in_a_time_zone() {
        let nightly = Calendar::compile("n", &definition(&["0 2 * * *"], "Europe/Paris")).unwrap();
        // 2 AM in Paris (UTC+1 in December) is 01:00 UTC.
        assert_eq!(
            nightly.next_after(ms("2026-12-06T12:00:00Z")),
            Some(ms("2026-12-07T01:00:00Z"))
        );
        let every_second = Calendar::compile("s", &definition(&["* * * * * *"], "")).unwrap();
        assert_eq!(
            every_second.upcoming(ms("2026-12-06T12:00:00.500Z"), 2),
            vec![ms("2026-12-06T12:00:01Z"), ms("2026-12-06T12:00:02Z")]
        );
    }

    #[test]
    fn several_expressions_give_the_earliest_and_bounds_hold() {
        let mut d = definition(&["0 3 * * *", "30 1 * * *"], "UTC");
        d.start_ms = Some(ms("2026-12-08T00:00:00Z"));
        d.end_ms = Some(ms("2026-12-08T02:00:00Z"));
        let calendar = Calendar::compile("b", &d).unwrap();
        assert_eq!(
            calendar.upcoming(ms("2026-12-06T00:00:00Z"), 5),
            vec![ms("2026-12-08T01:30:00Z")]
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let violations =
            Calendar::compile("x", &definition(&["* * *", "61 * * * *"], "Mars/Olympus"))
                .unwrap_err();
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "schedule.spec.cron[0]",
                "schedule.spec.cron[1]",
                "schedule.spec.time_zone"
            ]
        );
        let none = Calendar::compile("x", &definition(&[], "")).unwrap_err();
        assert_eq!(none[0].field, "schedule.spec.cron");
    }

    #[test]
    fn the_latest_time_due_is_found_backwards() {
        let calendar = Calendar::compile("l", &definition(&["*/10 * * * * *"], "")).unwrap();
        assert_eq!(
            calendar.latest_at_or_before(ms("2026-12-06T12:00:25.700Z")),
            Some(ms("2026-12-06T12:00:20Z"))
        );
        assert_eq!(
            calendar.latest_at_or_before(ms("2026-12-06T12:00:20Z")),
            Some(ms("2026-12-06T12:00:20Z"))
        );
    }

    #[test]
    fn jitter_is_bounded_and_the_same_after_a_restart() {
        let mut d = definition(&["* * * * *"], "");
        d.jitter_ms = 30_000;
        let first = Calendar::compile("j", &d).unwrap();
        let again = Calendar::compile("j", &d).unwrap();
        let time = ms("2026-12-06T12:00:00Z");
        let delay = first.fire_ms(time) - time;
        assert!((0..30_000).contains(&delay));
        assert_eq!(again.fire_ms(time), first.fire_ms(time));
    }
}
