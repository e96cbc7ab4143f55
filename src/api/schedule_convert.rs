//! Schedules: protobuf <-> domain (src/schedules). A request's schedule
//! becomes a [`Definition`] here, every shape problem reported at once
//! with the field's path; what needs the engine (the workflow, its
//! inputs, the manifest) is checked by the schedules themselves.

use std::path::PathBuf;

use super::wire_time::{duration, pb_duration, timestamp, timestamp_ms};
use crate::pb;
use crate::schedules::definition::{
    Action, CatchUp, Definition, ManifestSource, Overlap, DEFAULT_CATCH_UP_WINDOW_MS,
};
use crate::schedules::{ScheduleView, Violation};
use crate::store::{RunOutcome, ScheduleRunRecord};

/// The definition a request's schedule asks for, or every violation in
/// its shape.
pub(super) fn definition(schedule: &pb::Schedule) -> Result<Definition, Vec<Violation>> {
    let mut violations = Vec::new();
    let spec = schedule.spec.clone().unwrap_or_default();
    let mut millis = |field: &str, value: &Option<prost_types::Duration>| -> Option<u64> {
        let value = value.as_ref()?;
        match duration(value) {
            Some(d) => Some(d.as_millis() as u64),
            None => {
                violations.push(Violation::new(
                    field,
                    "must be a non-negative duration within the Duration range",
                ));
                None
            }
        }
    };
    let jitter_ms = millis("schedule.spec.jitter", &spec.jitter).unwrap_or(0);
    let catch_up_window_ms = millis("schedule.catch_up_window", &schedule.catch_up_window)
        .unwrap_or(DEFAULT_CATCH_UP_WINDOW_MS);
    let action = action(schedule.action.as_ref(), &mut violations);
    let overlap = match pb::ScheduleOverlapPolicy::try_from(schedule.overlap_policy) {
        Ok(pb::ScheduleOverlapPolicy::Unspecified | pb::ScheduleOverlapPolicy::Skip) => {
            Overlap::Skip
        }
        Ok(pb::ScheduleOverlapPolicy::BufferOne) => Overlap::BufferOne,
        Ok(pb::ScheduleOverlapPolicy::AllowAll) => Overlap::AllowAll,
        Ok(pb::ScheduleOverlapPolicy::CancelPrevious) => Overlap::CancelPrevious,
        Err(_) => {
            violations.push(Violation::new(
                "schedule.overlap_policy",
                "must be a ScheduleOverlapPolicy value",
            ));
            Overlap::Skip
        }
    };
    let catch_up = match pb::ScheduleCatchUpPolicy::try_from(schedule.catch_up_policy) {
        Ok(pb::ScheduleCatchUpPolicy::Unspecified | pb::ScheduleCatchUpPolicy::StartOne) => {
            CatchUp::StartOne
        }
        Ok(pb::ScheduleCatchUpPolicy::Skip) => CatchUp::Skip,
        Err(_) => {
            violations.push(Violation::new(
                "schedule.catch_up_policy",
                "must be a ScheduleCatchUpPolicy value",
            ));
            CatchUp::StartOne
        }
    };
    match action {
        Some(action) if violations.is_empty() => Ok(Definition {
            cron: spec.cron,
            time_zone: spec.time_zone,
            jitter_ms,
            start_ms: spec.start_time.as_ref().map(timestamp_ms),
            end_ms: spec.end_time.as_ref().map(timestamp_ms),
            action,
            overlap,
            catch_up,
            catch_up_window_ms,
            description: schedule.description.clone(),
            namespace: if schedule.namespace.is_empty() {
                crate::namespaces::DEFAULT.to_string()
            } else {
                schedule.namespace.clone()
            },
        }),
        _ => Err(violations),
    }
}

fn action(action: Option<&pb::ScheduleAction>, violations: &mut Vec<Violation>) -> Option<Action> {
    use pb::schedule_action::Action as Which;
    use pb::schedule_manifest::Source;
    match action.and_then(|a| a.action.as_ref()) {
        None => {
            violations.push(Violation::new(
                "schedule.action",
                "is required: execute (a workflow) or manifest",
            ));
            None
        }
        Some(Which::Execute(execute)) => {
            let timeout_ms = match &execute.timeout {
                None => None,
                Some(t) => match duration(t).filter(|d| !d.is_zero()) {
                    Some(d) => Some(d.as_millis() as u64),
                    None => {
                        violations.push(Violation::new(
                            "schedule.action.execute.timeout",
                            "must be positive and at most 315576000000s",
                        ));
                        None
                    }
                },
            };
            let retry = super::retry_convert::policy(
                "schedule.action.execute.retry_policy",
                execute.retry_policy.as_ref(),
            )
            .unwrap_or_else(|problems| {
                violations.extend(problems.iter().map(|(f, d)| Violation::new(f, d)));
                None
            });
            Some(Action::Execute {
                workflow_id: execute.workflow_id.clone(),
                inputs: super::convert::json_inputs(&execute.inputs),
                timeout_ms,
                labels: execute.labels.clone().into_iter().collect(),
                retry,
            })
        }
        Some(Which::Manifest(manifest)) => {
            let source = match &manifest.source {
                Some(Source::Content(content)) if !content.is_empty() => {
                    Some(ManifestSource::Inline(content.clone()))
                }
                Some(Source::TemplatePath(path)) if PathBuf::from(path).is_absolute() => {
                    Some(ManifestSource::Template(PathBuf::from(path)))
                }
                Some(Source::TemplatePath(_)) => {
                    violations.push(Violation::new(
                        "schedule.action.manifest.template_path",
                        "must be an absolute path",
                    ));
                    None
                }
                _ => {
                    violations.push(Violation::new(
                        "schedule.action.manifest",
                        "needs content (the manifest) or template_path (a manifest file)",
                    ));
                    None
                }
            };
            let format = super::convert::format_hint(manifest.format);
            if format.is_none() {
                violations.push(Violation::new(
                    "schedule.action.manifest.format",
                    "must be a ManifestFormat value",
                ));
            }
            Some(Action::Manifest {
                source: source?,
                format: format?,
                output_dir: Some(PathBuf::from(&manifest.output_dir))
                    .filter(|dir| !dir.as_os_str().is_empty()),
                labels: manifest.labels.clone().into_iter().collect(),
            })
        }
    }
}

/// A schedule as responses show it.
pub(super) fn schedule(view: &ScheduleView) -> pb::Schedule {
    let d = &view.definition;
    let ms = |ms: u64| pb_duration(std::time::Duration::from_millis(ms));
    pb::Schedule {
        id: view.record.id.clone(),
        spec: Some(pb::ScheduleSpec {
            cron: d.cron.clone(),
            time_zone: d.time_zone.clone(),
            jitter: (d.jitter_ms > 0).then(|| ms(d.jitter_ms)),
            start_time: d.start_ms.map(timestamp),
            end_time: d.end_ms.map(timestamp),
        }),
        action: Some(pb_action(&d.action)),
        overlap_policy: match d.overlap {
            Overlap::Skip => pb::ScheduleOverlapPolicy::Skip,
            Overlap::BufferOne => pb::ScheduleOverlapPolicy::BufferOne,
            Overlap::AllowAll => pb::ScheduleOverlapPolicy::AllowAll,
            Overlap::CancelPrevious => pb::ScheduleOverlapPolicy::CancelPrevious,
        } as i32,
        catch_up_policy: match d.catch_up {
            CatchUp::StartOne => pb::ScheduleCatchUpPolicy::StartOne,
            CatchUp::Skip => pb::ScheduleCatchUpPolicy::Skip,
        } as i32,
        catch_up_window: Some(ms(d.catch_up_window_ms)),
        paused: view.record.paused,
        note: view.record.note.clone(),
        description: d.description.clone(),
        create_time: Some(timestamp(view.record.create_ms)),
        update_time: Some(timestamp(view.record.update_ms)),
        next_fire_times: view.next_fire_ms.iter().copied().map(timestamp).collect(),
        recent_runs: view.recent_runs.iter().map(run).collect(),
        namespace: d.namespace.clone(),
    }
}

fn pb_action(action: &Action) -> pb::ScheduleAction {
    use pb::schedule_action::Action as Which;
    use pb::schedule_manifest::Source;
    let which = match action {
        Action::Execute {
            workflow_id,
            inputs,
            timeout_ms,
            labels,
            retry,
        } => Which::Execute(pb::ScheduleExecute {
            workflow_id: workflow_id.clone(),
            inputs: inputs
                .iter()
                .map(|(k, v)| (k.clone(), crate::proto_value::from_json(v)))
                .collect(),
            timeout: timeout_ms.map(|t| pb_duration(std::time::Duration::from_millis(t))),
            labels: labels.clone().into_iter().collect(),
            retry_policy: retry.as_ref().map(super::retry_convert::pb_policy),
        }),
        Action::Manifest {
            source,
            format,
            output_dir,
            labels,
        } => Which::Manifest(pb::ScheduleManifest {
            source: Some(match source {
                ManifestSource::Inline(content) => Source::Content(content.clone()),
                ManifestSource::Template(path) => {
                    Source::TemplatePath(path.to_string_lossy().into_owned())
                }
            }),
            format: super::convert::pb_format_hint(*format) as i32,
            output_dir: output_dir
                .as_ref()
                .map(|d| d.to_string_lossy().into_owned())
                .unwrap_or_default(),
            labels: labels.clone().into_iter().collect(),
        }),
    };
    pb::ScheduleAction {
        action: Some(which),
    }
}

/// One run as responses show it.
pub(super) fn run(r: &ScheduleRunRecord) -> pb::ScheduleRun {
    pb::ScheduleRun {
        scheduled_time: Some(timestamp(r.scheduled_ms)),
        action_time: Some(timestamp(r.action_ms)),
        outcome: match r.outcome {
            RunOutcome::Started => pb::ScheduleRunOutcome::Started,
            RunOutcome::Skipped => pb::ScheduleRunOutcome::Skipped,
            RunOutcome::Buffered => pb::ScheduleRunOutcome::Buffered,
            RunOutcome::Missed => pb::ScheduleRunOutcome::Missed,
            RunOutcome::Failed => pb::ScheduleRunOutcome::Failed,
        } as i32,
        execution_ids: r.execution_ids.clone(),
        batch_id: r.batch_id.clone().unwrap_or_default(),
        error: r.error.clone(),
        triggered: r.triggered,
    }
}
