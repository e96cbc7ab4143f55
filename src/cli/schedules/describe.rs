//! `wfctl schedule describe`: one schedule with its next fire times and
//! recent runs.

use super::returned;
use crate::cli::{context::Ctx, error::CliError, render::schedule::print_schedule};
use crate::pb;

/// Shows one schedule (GetSchedule); `next` and `runs` how many next fire
/// times and recent runs (the daemon's defaults when None).
pub(crate) async fn describe(
    ctx: &Ctx,
    schedule_id: &str,
    next: Option<u16>,
    runs: Option<u16>,
) -> Result<(), CliError> {
    let request = pb::GetScheduleRequest {
        schedule_id: schedule_id.to_string(),
        next_fire_times: next.map_or(0, i32::from),
        recent_runs: runs.map_or(0, i32::from),
    };
    let response = ctx.message(ctx.client.clone().get_schedule(request).await)?;
    print_schedule(ctx.output, &returned(response.schedule, schedule_id)?);
    Ok(())
}
