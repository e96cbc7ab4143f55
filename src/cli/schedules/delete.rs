//! `wfctl schedule delete`: the schedule and its runs' records go; the
//! executions it started stay in the history.

use crate::cli::{context::Ctx, error::CliError, render::print_note};
use crate::pb;

/// Deletes a schedule (DeleteSchedule); says so on stderr.
pub(crate) async fn delete(ctx: &Ctx, schedule_id: &str) -> Result<(), CliError> {
    let request = pb::DeleteScheduleRequest {
        schedule_id: schedule_id.to_string(),
    };
    ctx.message(ctx.client.clone().delete_schedule(request).await)?;
    print_note(&format!("wfctl: deleted schedule {schedule_id}"));
    Ok(())
}
