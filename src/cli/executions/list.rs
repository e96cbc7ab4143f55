//! `wfctl list`: executions, newest first, filtered by workflow, state,
//! label, batch or schedule.

use crate::cli::{
    args::{GlobalArgs, ListArgs},
    context::Ctx,
    error::CliError,
    input::{collect_labels, parse_state},
    render::execution::print_executions,
};
use crate::pb;

/// `wfctl list`.
pub(crate) async fn run(globals: &GlobalArgs, args: ListArgs) -> Result<(), CliError> {
    let states = args
        .states
        .iter()
        .map(|s| parse_state(s).map(|s| s as i32))
        .collect::<Result<Vec<_>, _>>()?;
    let filter = pb::ListExecutionsRequest {
        workflow_id: args.workflow.unwrap_or_default(),
        states,
        labels: collect_labels(&args.labels)?,
        batch_id: args.batch.unwrap_or_default(),
        schedule_id: args.schedule.unwrap_or_default(),
        namespace: args.namespace.field(),
        ..Default::default()
    };
    let ctx = &Ctx::connect(globals).await?;
    let listed = ctx.list_executions_paged(filter, args.limit).await?;
    print_executions(ctx.output, &listed.executions, listed.batch.as_ref());
    Ok(())
}
