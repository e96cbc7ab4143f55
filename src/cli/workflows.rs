//! `wfctl workflows list` and `wfctl workflows describe ID`.

use super::{
    args::WorkflowsCommand,
    context::Ctx,
    error::CliError,
    render::workflow::{print_workflow, print_workflows},
};
use crate::pb;

/// Runs a `workflows` verb.
pub(crate) async fn run(ctx: &Ctx, command: WorkflowsCommand) -> Result<(), CliError> {
    match command {
        WorkflowsCommand::List { namespace } => print_workflows(
            ctx.output,
            &list_all(ctx, &namespace.unwrap_or_default()).await?,
        ),
        WorkflowsCommand::Describe { id } => print_workflow(ctx.output, &get(ctx, &id).await?),
    }
    Ok(())
}

/// Every workflow (of `namespace`, when not empty), all pages fetched,
/// plus the discovery errors.
async fn list_all(ctx: &Ctx, namespace: &str) -> Result<pb::ListWorkflowsResponse, CliError> {
    let mut all = pb::ListWorkflowsResponse::default();
    let mut page_token = String::new();
    loop {
        let request = pb::ListWorkflowsRequest {
            page_size: 1000,
            page_token,
            namespace: namespace.to_string(),
        };
        let page = ctx.message(ctx.client.clone().list_workflows(request).await)?;
        all.workflows.extend(page.workflows);
        all.discovery_errors = page.discovery_errors;
        if page.next_page_token.is_empty() {
            return Ok(all);
        }
        page_token = page.next_page_token;
    }
}

/// Fetches one workflow.
async fn get(ctx: &Ctx, id: &str) -> Result<pb::Workflow, CliError> {
    let request = pb::GetWorkflowRequest {
        workflow_id: id.to_string(),
    };
    ctx.message(ctx.client.clone().get_workflow(request).await)?
        .workflow
        .ok_or_else(|| CliError::NotFound(format!("workflow {id:?} not found")))
}
