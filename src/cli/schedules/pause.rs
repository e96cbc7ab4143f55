//! `wfctl schedule pause` and `unpause`, with a note saying why.

use super::returned;
use crate::cli::{context::Ctx, error::CliError, render::schedule::print_schedule_state};
use crate::pb;

/// Pauses (`paused`) or unpauses a schedule (PauseSchedule) and prints its
/// new state.
pub(crate) async fn pause(
    ctx: &Ctx,
    schedule_id: &str,
    paused: bool,
    note: Option<String>,
) -> Result<(), CliError> {
    let request = pb::PauseScheduleRequest {
        schedule_id: schedule_id.to_string(),
        paused,
        note: note.unwrap_or_default(),
    };
    let response = ctx.message(ctx.client.clone().pause_schedule(request).await)?;
    print_schedule_state(ctx.output, &returned(response.schedule, schedule_id)?);
    Ok(())
}
