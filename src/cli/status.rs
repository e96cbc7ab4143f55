//! `wfctl status`: the daemon's version, workers, queue and history counts.

use super::{context::Ctx, error::CliError, render::status::print_status};

/// `wfctl status`.
pub(crate) async fn run(ctx: &Ctx) -> Result<(), CliError> {
    let status = ctx.get_status().await?;
    print_status(ctx.output, &status);
    Ok(())
}
