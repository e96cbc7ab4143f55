//! `wfctl schedule trigger`: run a schedule's action now and print the
//! run. A run the daemon did not start (SKIPPED under the overlap policy,
//! or FAILED) is printed, then fails with exit code 6, as hyperctl's does.

use crate::cli::{
    context::Ctx,
    error::CliError,
    render::schedule::{outcome_text, print_run},
};
use crate::pb::{self, ScheduleRunOutcome};

/// Triggers a schedule (TriggerSchedule); with `request_id`, a repeated
/// trigger returns the first one's run.
pub(crate) async fn trigger(
    ctx: &Ctx,
    schedule_id: &str,
    request_id: Option<String>,
) -> Result<(), CliError> {
    let request = pb::TriggerScheduleRequest {
        schedule_id: schedule_id.to_string(),
        request_id: request_id.unwrap_or_default(),
    };
    let run = ctx
        .message(ctx.client.clone().trigger_schedule(request).await)?
        .run
        .unwrap_or_default();
    print_run(ctx.output, &run);
    match run.outcome() {
        ScheduleRunOutcome::Started | ScheduleRunOutcome::Buffered => Ok(()),
        outcome => Err(CliError::RunNotStarted {
            schedule_id: schedule_id.to_string(),
            outcome: outcome_text(outcome).to_string(),
            error: run.error,
        }),
    }
}
