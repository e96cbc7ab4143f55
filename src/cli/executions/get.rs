//! `wfctl get`: one execution with its phase/task/agent tree.

use crate::cli::{
    args::GetArgs, context::Ctx, error::CliError, render::execution::print_execution,
};

/// `wfctl get`.
pub(crate) async fn run(ctx: &Ctx, args: GetArgs) -> Result<(), CliError> {
    let execution = ctx.get_execution(&args.execution_id).await?;
    print_execution(ctx.output, &execution);
    Ok(())
}
