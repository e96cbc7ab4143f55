//! `wfctl run`: start an execution, then print its id, wait for it, or
//! follow it.

use crate::cli::{
    args::{GlobalArgs, RunArgs},
    context::Ctx,
    error::CliError,
    input::{collect_inputs, collect_labels, proto_duration},
    outcome::{follow_to_end, wait_and_print},
    render::execution::print_started,
};
use crate::pb;

/// `wfctl run`.
pub(crate) async fn run(globals: &GlobalArgs, args: RunArgs) -> Result<(), CliError> {
    let request = pb::ExecuteRequest {
        workflow_id: args.workflow_id.clone(),
        inputs: collect_inputs(args.inputs_file.as_deref(), &args.inputs)?,
        request_id: args.request_id.clone().unwrap_or_default(),
        timeout: args
            .timeout
            .map(|t| proto_duration(t, "--timeout"))
            .transpose()?,
        labels: collect_labels(&args.labels)?,
        retry_policy: None,
    };
    let ctx = &Ctx::connect(globals).await?;
    let execution = ctx.start(request).await?;
    if args.follow {
        return follow_to_end(ctx, &execution.id).await;
    }
    if args.wait {
        return wait_and_print(ctx, &execution.id).await;
    }
    print_started(ctx.output, &execution);
    Ok(())
}
