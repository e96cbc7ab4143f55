//! `wfctl schedule create` and `update`: send the schedule, print its id
//! (or the stored Schedule with `-o json`), and note on stderr when it next
//! falls due.

use super::returned;
use crate::cli::{
    context::Ctx,
    error::CliError,
    render::{print::timestamp_text, print_note, schedule::print_created},
};
use crate::pb;

/// Creates `schedule` (CreateSchedule).
pub(crate) async fn create(ctx: &Ctx, schedule: pb::Schedule) -> Result<(), CliError> {
    let id = schedule.id.clone();
    let request = pb::CreateScheduleRequest {
        schedule: Some(schedule),
    };
    let response = ctx.message(ctx.client.clone().create_schedule(request).await)?;
    stored(ctx, "created", &returned(response.schedule, &id)?);
    Ok(())
}

/// Replaces the definition of the schedule `schedule.id` (UpdateSchedule).
/// Without `--namespace` the schedule stays in its namespace: the daemon
/// would read an empty one as `default` and move it.
pub(crate) async fn update(ctx: &Ctx, mut schedule: pb::Schedule) -> Result<(), CliError> {
    let id = schedule.id.clone();
    if schedule.namespace.is_empty() {
        let current = ctx.message(
            ctx.client
                .clone()
                .get_schedule(pb::GetScheduleRequest {
                    schedule_id: id.clone(),
                    next_fire_times: 1,
                    recent_runs: 1,
                })
                .await,
        )?;
        schedule.namespace = returned(current.schedule, &id)?.namespace;
    }
    let request = pb::UpdateScheduleRequest {
        schedule_id: id.clone(),
        schedule: Some(schedule),
    };
    let response = ctx.message(ctx.client.clone().update_schedule(request).await)?;
    stored(ctx, "updated", &returned(response.schedule, &id)?);
    Ok(())
}

/// Prints a schedule the daemon stored, with a note saying what was done
/// and when it next falls due.
fn stored(ctx: &Ctx, done: &str, schedule: &pb::Schedule) {
    let next = match schedule.next_fire_times.first() {
        _ if schedule.paused => "paused".to_string(),
        Some(time) => format!("next fire time {}", timestamp_text(Some(time))),
        None => "it does not fall due again".to_string(),
    };
    print_note(&format!("wfctl: {done} schedule {} ({next})", schedule.id));
    print_created(ctx.output, schedule);
}
