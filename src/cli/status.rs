//! `wfctl status`: the daemon's version, workers, queue and history counts.

use super::{context::Ctx, error::CliError, render::status::print_status};

/// `wfctl status [--namespace N]`: the counts of `namespace`'s executions,
/// or (empty) of every namespace the token sees.
pub(crate) async fn run(ctx: &Ctx, namespace: &str) -> Result<(), CliError> {
    let status = ctx.get_status(namespace).await?;
    print_status(ctx.output, &status);
    Ok(())
}
