//! `wfctl cancel`: SIGTERM, then SIGKILL after the grace period (or at once
//! with `--force`).

use crate::cli::{
    args::{CancelArgs, GlobalArgs},
    context::Ctx,
    error::CliError,
    input::proto_duration,
    render::{print_line, print_message, short_state, PrintFormat},
};
use crate::pb;

/// `wfctl cancel`.
pub(crate) async fn run(globals: &GlobalArgs, args: CancelArgs) -> Result<(), CliError> {
    let request = pb::CancelRequest {
        execution_id: args.execution_id.clone(),
        grace_period: args
            .grace
            .map(|g| proto_duration(g, "--grace"))
            .transpose()?,
        force: args.force,
        request_id: String::new(),
    };
    let ctx = &Ctx::connect(globals).await?;
    let response = ctx.message(ctx.client.clone().cancel(request).await)?;
    match ctx.output {
        PrintFormat::Table => {
            let execution = response.execution.clone().unwrap_or_default();
            let what = if response.retry_called_off {
                "already ended; its retry called off, no attempt follows"
            } else if response.already_requested {
                "cancel already requested"
            } else {
                "cancel requested"
            };
            print_line(&format!(
                "{}  {}  {what}",
                execution.id,
                short_state(execution.state())
            ));
        }
        format => print_message(format, &response),
    }
    Ok(())
}
