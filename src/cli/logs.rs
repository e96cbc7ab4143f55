//! `wfctl logs EXEC_ID [-f] [--from N]`: an execution's log, history then
//! (with `-f`) live until it ends.

use super::{
    args::LogsArgs,
    context::Ctx,
    error::CliError,
    follow::{follow, EventStyle},
    outcome::followed_outcome,
};

/// `wfctl logs`.
pub(crate) async fn run(ctx: &Ctx, args: LogsArgs) -> Result<(), CliError> {
    let style = EventStyle::choose(ctx.output, args.follow);
    let finished = follow(ctx, &args.execution_id, args.from, args.follow, style).await?;
    if args.follow {
        followed_outcome(ctx, &args.execution_id, finished).await?;
    }
    Ok(())
}
