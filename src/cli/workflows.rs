//! `wfctl workflows list` and `wfctl workflows describe ID`.

use clap::Subcommand;

use super::{
    output::{self, print_fields, print_message, print_table, OutputFormat},
    CliError, Ctx,
};
use crate::pb;

/// The `workflows` verbs.
#[derive(Debug, Subcommand)]
pub enum WorkflowsCommand {
    /// List the discovered workflows (discovery failures are noted on stderr).
    List,
    /// Show one workflow with its inputs.
    Describe {
        /// The workflow id.
        id: String,
    },
}

/// Runs a `workflows` verb.
pub async fn run(ctx: &Ctx, command: WorkflowsCommand) -> Result<(), CliError> {
    match command {
        WorkflowsCommand::List => list(ctx).await,
        WorkflowsCommand::Describe { id } => describe(ctx, &id).await,
    }
}

/// Every workflow, all pages fetched, plus the discovery errors.
pub async fn fetch_all(ctx: &Ctx) -> Result<pb::ListWorkflowsResponse, CliError> {
    let mut all = pb::ListWorkflowsResponse::default();
    let mut page_token = String::new();
    loop {
        let page = ctx
            .client
            .clone()
            .list_workflows(pb::ListWorkflowsRequest {
                page_size: 1000,
                page_token,
            })
            .await
            .map_err(|s| ctx.status_error(s))?
            .into_inner();
        all.workflows.extend(page.workflows);
        all.discovery_errors = page.discovery_errors;
        if page.next_page_token.is_empty() {
            return Ok(all);
        }
        page_token = page.next_page_token;
    }
}

async fn list(ctx: &Ctx) -> Result<(), CliError> {
    let all = fetch_all(ctx).await?;
    match ctx.output {
        OutputFormat::Table => {
            let rows: Vec<Vec<String>> = all
                .workflows
                .iter()
                .map(|w| {
                    vec![
                        w.id.clone(),
                        w.name.clone(),
                        w.fields.len().to_string(),
                        w.description.clone(),
                    ]
                })
                .collect();
            print_table(&["ID", "NAME", "INPUTS", "DESCRIPTION"], &rows);
            for e in &all.discovery_errors {
                output::print_note(&format!(
                    "wfctl: warning: {} was not discovered: {}",
                    e.program_path, e.message
                ));
            }
        }
        format => print_message(format, &all),
    }
    Ok(())
}

/// Fetches one workflow.
pub async fn get_workflow(ctx: &Ctx, id: &str) -> Result<pb::Workflow, CliError> {
    ctx.client
        .clone()
        .get_workflow(pb::GetWorkflowRequest {
            workflow_id: id.to_string(),
        })
        .await
        .map_err(|s| ctx.status_error(s))?
        .into_inner()
        .workflow
        .ok_or_else(|| CliError::NotFound(format!("workflow {id:?} not found")))
}

async fn describe(ctx: &Ctx, id: &str) -> Result<(), CliError> {
    let workflow = get_workflow(ctx, id).await?;
    if ctx.output != OutputFormat::Table {
        print_message(ctx.output, &workflow);
        return Ok(());
    }
    print_fields(&[
        ("ID", workflow.id.clone()),
        ("Name", workflow.name.clone()),
        ("Description", workflow.description.clone()),
        ("Schema version", workflow.schema_version.clone()),
        ("Program", workflow.program_path.clone()),
        (
            "Discovered",
            output::timestamp_text(workflow.discover_time.as_ref()),
        ),
    ]);
    output::print_line("");
    if workflow.fields.is_empty() {
        output::print_line("No inputs.");
        return Ok(());
    }
    output::print_line("Inputs (* = required):");
    print_table(
        &["NAME", "TYPE", "DEFAULT", "REQ", "FLAG", "DESCRIPTION"],
        &input_rows(&workflow),
    );
    Ok(())
}

/// One table row per input field: name, type, default, required mark, the
/// flag it is passed with, description (with the phases that need it).
fn input_rows(workflow: &pb::Workflow) -> Vec<Vec<String>> {
    workflow
        .fields
        .iter()
        .map(|f| {
            let mut description = f.description.clone();
            if !f.required_for_phases.is_empty() {
                let phases: Vec<String> =
                    f.required_for_phases.iter().map(i32::to_string).collect();
                description.push_str(&format!(" (needed by phase {})", phases.join(", ")));
            }
            vec![
                f.name.clone(),
                output::field_type_text(f.r#type.as_ref()),
                f.default_value.clone().unwrap_or_else(|| "-".to_string()),
                if f.required { "*" } else { "" }.to_string(),
                f.cli_arg.clone(),
                description,
            ]
        })
        .collect()
}
