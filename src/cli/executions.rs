//! `wfctl run`, `wfctl get`, `wfctl list` and `wfctl cancel`.

use std::{collections::HashMap, path::Path, time::Duration};

use clap::Args;

use super::{
    error::short_state,
    logs::{self, Render},
    output::{
        self, print_fields, print_line, print_message, print_note, print_table, OutputFormat,
    },
    CliError, Ctx, GlobalArgs,
};
use crate::pb::{self, ExecutionState, NodeStatus};

/// Flags of `wfctl run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The workflow id.
    pub workflow_id: String,
    /// An input value, `name=value` (repeatable; wins over --inputs-file).
    #[arg(short, long = "input", value_name = "NAME=VALUE")]
    pub inputs: Vec<String>,
    /// A JSON or YAML file with an object of input values.
    #[arg(long, value_name = "FILE")]
    pub inputs_file: Option<std::path::PathBuf>,
    /// A label, `key=value`, to find the execution by later (repeatable).
    #[arg(short, long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Idempotency key: repeating a run with the same id returns the first
    /// execution instead of starting another.
    #[arg(long)]
    pub request_id: Option<String>,
    /// Wall-clock limit in seconds; the run ends TIMED_OUT when reached.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Wait until the execution ends, then print it; exit 1 unless it SUCCEEDED.
    #[arg(short, long)]
    pub wait: bool,
    /// Follow the execution live (phase/task tree on stderr, program output
    /// on stdout) until it ends; exit 1 unless it SUCCEEDED.
    #[arg(short, long)]
    pub follow: bool,
}

/// Flags of `wfctl get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The execution id.
    pub execution_id: String,
}

/// Flags of `wfctl list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only executions of this workflow.
    #[arg(long)]
    pub workflow: Option<String>,
    /// Only executions in this state, e.g. running or FAILED (repeatable).
    #[arg(long = "state", value_name = "STATE")]
    pub states: Vec<String>,
    /// Only executions with this label, `key=value` (repeatable, all must match).
    #[arg(short, long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Only the executions of this batch (a batch manifest's batch id).
    #[arg(long = "batch", value_name = "BATCH_ID")]
    pub batch: Option<String>,
    /// At most this many executions (0 = all).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

/// Flags of `wfctl cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The execution id.
    pub execution_id: String,
    /// Seconds between SIGTERM and SIGKILL (the daemon's default when unset).
    #[arg(long, value_name = "SECS")]
    pub grace: Option<f64>,
    /// SIGKILL at once.
    #[arg(long)]
    pub force: bool,
}

/// Splits `key=value`; `what` names the flag for the error message.
pub fn parse_pair(text: &str, what: &str) -> Result<(String, String), CliError> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(CliError::Usage(format!(
            "{what} {text:?} is not of the form key=value"
        ))),
    }
}

/// Reads a JSON or YAML file (by extension; YAML, a superset of JSON, for
/// any other name) into a JSON value.
pub fn read_data_file(path: &Path) -> Result<serde_json::Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let parsed = if is_json {
        serde_json::from_str(&text).map_err(|e| e.to_string())
    } else {
        crate::yaml::from_str(&text).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| CliError::Usage(format!("cannot parse {}: {e}", path.display())))
}

/// Input values from an optional file (an object) and `name=value` flags,
/// the flags winning.
pub fn collect_inputs(
    file: Option<&Path>,
    pairs: &[String],
) -> Result<HashMap<String, prost_types::Value>, CliError> {
    let mut inputs = HashMap::new();
    if let Some(path) = file {
        match read_data_file(path)? {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    inputs.insert(k, crate::proto_value::from_json(&v));
                }
            }
            serde_json::Value::Null => {}
            _ => {
                return Err(CliError::Usage(format!(
                    "{} must hold an object of input values",
                    path.display()
                )))
            }
        }
    }
    for pair in pairs {
        let (name, value) = parse_pair(pair, "--input")?;
        inputs.insert(name, prost_types::Value::from(value));
    }
    Ok(inputs)
}

/// `key=value` flags as a map.
pub fn collect_labels(pairs: &[String]) -> Result<HashMap<String, String>, CliError> {
    pairs.iter().map(|p| parse_pair(p, "--label")).collect()
}

/// Seconds from a flag as a proto duration.
pub fn proto_duration(secs: f64, flag: &str) -> Result<prost_types::Duration, CliError> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(CliError::Usage(format!(
            "{flag} must be a non-negative number of seconds"
        )));
    }
    prost_types::Duration::try_from(Duration::from_secs_f64(secs))
        .map_err(|_| CliError::Usage(format!("{flag} is too large")))
}

/// Sends Execute and notes on stderr what happened.
pub async fn start(ctx: &Ctx, request: pb::ExecuteRequest) -> Result<pb::Execution, CliError> {
    let workflow_id = request.workflow_id.clone();
    let response = ctx
        .client
        .clone()
        .execute(request)
        .await
        .map_err(|s| ctx.status_error(s))?
        .into_inner();
    let execution = response
        .execution
        .ok_or_else(|| CliError::NotFound(format!("no execution returned for {workflow_id}")))?;
    if response.started {
        print_note(&format!(
            "wfctl: started execution {} of {} ({})",
            execution.id,
            workflow_id,
            short_state(execution.state())
        ));
    } else {
        print_note(&format!(
            "wfctl: execution {} already exists for this request id ({}); not started again",
            execution.id,
            short_state(execution.state())
        ));
    }
    Ok(execution)
}

/// `wfctl run`.
pub async fn run(globals: &GlobalArgs, args: RunArgs) -> Result<(), CliError> {
    let request = pb::ExecuteRequest {
        workflow_id: args.workflow_id.clone(),
        inputs: collect_inputs(args.inputs_file.as_deref(), &args.inputs)?,
        request_id: args.request_id.clone().unwrap_or_default(),
        timeout: args
            .timeout
            .map(|t| proto_duration(t, "--timeout"))
            .transpose()?,
        labels: collect_labels(&args.labels)?,
    };
    let ctx = &Ctx::connect(globals).await?;
    let execution = start(ctx, request).await?;
    if args.follow {
        return follow_to_end(ctx, &execution.id).await;
    }
    if args.wait {
        return wait_and_print(ctx, &execution.id).await;
    }
    match ctx.output {
        OutputFormat::Table => print_line(&execution.id),
        format => print_message(format, &execution),
    }
    Ok(())
}

/// Follows an execution's log live until it ends; the result says whether
/// it SUCCEEDED.
pub async fn follow_to_end(ctx: &Ctx, execution_id: &str) -> Result<(), CliError> {
    let render = Render::choose(ctx.output, true);
    let finished = logs::follow(ctx, execution_id, 0, true, render).await?;
    outcome(ctx, execution_id, finished).await.map(|_| ())
}

/// Waits (silently) until the execution ends, prints it, and fails unless it
/// SUCCEEDED.
pub async fn wait_and_print(ctx: &Ctx, execution_id: &str) -> Result<(), CliError> {
    print_note(&format!(
        "wfctl: waiting for execution {execution_id} to finish"
    ));
    let execution = wait_execution(ctx, execution_id).await?;
    print_execution(ctx.output, &execution);
    judge(ctx, &execution).map(|_| ())
}

/// Waits until the execution ends (WaitExecution) and returns it.
pub async fn wait_execution(ctx: &Ctx, execution_id: &str) -> Result<pb::Execution, CliError> {
    let request = pb::WaitExecutionRequest {
        execution_id: execution_id.to_string(),
    };
    let answer = ctx.client.clone().wait_execution(request).await;
    answered(ctx, execution_id, answer.map(|r| r.into_inner().execution))
}

/// The execution a call answered with; a failed call or an empty answer is
/// a [`CliError`].
fn answered(
    ctx: &Ctx,
    execution_id: &str,
    answer: Result<Option<pb::Execution>, tonic::Status>,
) -> Result<pb::Execution, CliError> {
    answer
        .map_err(|s| ctx.status_error(s))?
        .ok_or_else(|| CliError::NotFound(format!("execution {execution_id} not found")))
}

/// Turns the final `finished` event (or, without one, the execution's state)
/// into success or [`CliError::WorkflowFailed`].
pub async fn outcome(
    ctx: &Ctx,
    execution_id: &str,
    finished: Option<pb::Finished>,
) -> Result<ExecutionState, CliError> {
    match finished {
        Some(f) => verdict(ctx, execution_id, f.state(), f.error),
        None => judge(ctx, &get_execution(ctx, execution_id).await?),
    }
}

/// Success, or [`CliError::WorkflowFailed`] for an execution that did not
/// succeed.
pub fn judge(ctx: &Ctx, execution: &pb::Execution) -> Result<ExecutionState, CliError> {
    verdict(
        ctx,
        &execution.id,
        execution.state(),
        execution.error.clone(),
    )
}

fn verdict(
    ctx: &Ctx,
    execution_id: &str,
    state: ExecutionState,
    error: String,
) -> Result<ExecutionState, CliError> {
    match state {
        ExecutionState::Succeeded => Ok(state),
        ExecutionState::Queued | ExecutionState::Running | ExecutionState::Unspecified => {
            Err(CliError::Unavailable {
                addr: ctx.addr.clone(),
                reason: format!(
                    "the daemon stopped reporting on execution {execution_id} while it was still {}",
                    short_state(state)
                ),
            })
        }
        _ => Err(CliError::WorkflowFailed {
            execution_id: execution_id.to_string(),
            state,
            error,
        }),
    }
}

/// Fetches one execution.
pub async fn get_execution(ctx: &Ctx, execution_id: &str) -> Result<pb::Execution, CliError> {
    let request = pb::GetExecutionRequest {
        execution_id: execution_id.to_string(),
    };
    let answer = ctx.client.clone().get_execution(request).await;
    answered(ctx, execution_id, answer.map(|r| r.into_inner().execution))
}

/// `wfctl get`.
pub async fn get(ctx: &Ctx, args: GetArgs) -> Result<(), CliError> {
    let execution = get_execution(ctx, &args.execution_id).await?;
    print_execution(ctx.output, &execution);
    Ok(())
}

/// Prints an execution: its fields and tree as text, or the message.
pub fn print_execution(format: OutputFormat, execution: &pb::Execution) {
    if format != OutputFormat::Table {
        print_message(format, execution);
        return;
    }
    let mut fields = vec![
        ("Execution", execution.id.clone()),
        (
            "Workflow",
            format!("{} ({})", execution.workflow_id, execution.workflow_name),
        ),
        ("State", short_state(execution.state()).to_string()),
    ];
    match (execution.exit_code, execution.signal) {
        (Some(code), _) => fields.push(("Exit code", code.to_string())),
        (None, Some(signal)) => fields.push(("Signal", signal.to_string())),
        _ => {}
    }
    if !execution.error.is_empty() {
        fields.push(("Error", execution.error.clone()));
    }
    fields.push((
        "Created",
        output::timestamp_text(execution.create_time.as_ref()),
    ));
    fields.push((
        "Started",
        output::timestamp_text(execution.start_time.as_ref()),
    ));
    fields.push(("Ended", output::timestamp_text(execution.end_time.as_ref())));
    if let Some(secs) =
        output::seconds_between(execution.start_time.as_ref(), execution.end_time.as_ref())
    {
        fields.push(("Duration", output::human_secs(secs)));
    }
    if execution.pid != 0 {
        fields.push(("PID", execution.pid.to_string()));
    }
    fields.push(("Inputs", output::pairs_text(&execution.inputs)));
    fields.push(("Labels", output::pairs_text(&execution.labels)));
    if !execution.request_id.is_empty() {
        fields.push(("Request id", execution.request_id.clone()));
    }
    if let Some(timeout) = &execution.timeout {
        fields.push((
            "Timeout",
            output::human_secs(output::duration_secs(timeout)),
        ));
    }
    if let Some(c) = &execution.log_counts {
        fields.push((
            "Log",
            format!(
                "{} events: {} stdout lines, {} stderr lines, {} structured events",
                c.total, c.stdout_lines, c.stderr_lines, c.events
            ),
        ));
    }
    print_fields(&fields);
    if !execution.phases.is_empty() {
        print_line("");
        print_line("Phases:");
        for line in tree_lines(&execution.phases) {
            print_line(&format!("  {line}"));
        }
    }
    if !execution.artifacts.is_empty() {
        print_line("");
        print_line("Artifacts:");
        for a in &execution.artifacts {
            print_line(&format!(
                "  phase {}  {}  {}",
                a.phase, a.path, a.description
            ));
        }
    }
}

/// The mark of a node's status in trees: `✓` completed, `✗` failed, `▸` running.
pub fn status_mark(status: NodeStatus) -> &'static str {
    match status {
        NodeStatus::Completed => "✓",
        NodeStatus::Failed => "✗",
        NodeStatus::Running => "▸",
        NodeStatus::Unspecified => "?",
    }
}

/// The phase/task/agent tree as indented lines.
pub fn tree_lines(phases: &[pb::Phase]) -> Vec<String> {
    let mut lines = Vec::new();
    for phase in phases {
        let mut line = format!(
            "{} phase {} {}",
            status_mark(phase.status()),
            phase.index,
            phase.name
        );
        if phase.total_phases > 0 {
            line.push_str(&format!(" ({}/{})", phase.index + 1, phase.total_phases));
        }
        if !phase.error.is_empty() {
            line.push_str(&format!(": {}", phase.error));
        }
        lines.push(line);
        for task in &phase.tasks {
            let mut line = format!("  {} {}", status_mark(task.status()), task.task_id);
            if !task.description.is_empty() {
                line.push_str(&format!("  {}", task.description));
            }
            if task.status() == NodeStatus::Running && task.percent >= 0 {
                line.push_str(&format!("  {}%", task.percent));
            }
            line.push_str(&outcome_text(&task.result, &task.error));
            if task.status() == NodeStatus::Running {
                if let Some(last) = task.messages.last() {
                    line.push_str(&format!("  [{last}]"));
                }
            }
            lines.push(line);
            for agent in &task.agents {
                let mut line = format!("    {} {}", status_mark(agent.status()), agent.name);
                if !agent.description.is_empty() {
                    line.push_str(&format!("  {}", agent.description));
                }
                line.push_str(&outcome_text(&agent.result, &agent.error));
                lines.push(line);
            }
        }
    }
    lines
}

fn outcome_text(result: &str, error: &str) -> String {
    if !error.is_empty() {
        format!(" -> error: {error}")
    } else if !result.is_empty() {
        format!(" -> {result}")
    } else {
        String::new()
    }
}

/// A state name as the user may type it: `running`, `RUNNING` or
/// `EXECUTION_STATE_RUNNING`.
pub fn parse_state(text: &str) -> Result<ExecutionState, CliError> {
    let upper = text.trim().to_ascii_uppercase().replace('-', "_");
    let full = if upper.starts_with("EXECUTION_STATE_") {
        upper
    } else {
        format!("EXECUTION_STATE_{upper}")
    };
    match ExecutionState::from_str_name(&full) {
        Some(state) if state != ExecutionState::Unspecified => Ok(state),
        _ => Err(CliError::Usage(format!(
            "unknown state {text:?}; one of queued, running, succeeded, failed, cancelled, timed_out, interrupted"
        ))),
    }
}

/// Lists executions with a filter, paging until `limit` (0 = all).
pub async fn fetch_executions(
    ctx: &Ctx,
    filter: pb::ListExecutionsRequest,
    limit: usize,
) -> Result<Vec<pb::Execution>, CliError> {
    let mut executions = Vec::new();
    let mut request = filter;
    loop {
        let want = if limit == 0 {
            1000
        } else {
            (limit - executions.len()).min(1000)
        };
        request.page_size = want as i32;
        let page = ctx
            .client
            .clone()
            .list_executions(request.clone())
            .await
            .map_err(|s| ctx.status_error(s))?
            .into_inner();
        executions.extend(page.executions);
        if page.next_page_token.is_empty() || (limit != 0 && executions.len() >= limit) {
            if limit != 0 {
                executions.truncate(limit);
            }
            return Ok(executions);
        }
        request.page_token = page.next_page_token;
    }
}

/// Prints a list of executions as a table or as a ListExecutionsResponse.
pub fn print_executions(format: OutputFormat, executions: &[pb::Execution]) {
    if format != OutputFormat::Table {
        print_message(
            format,
            &pb::ListExecutionsResponse {
                executions: executions.to_vec(),
                next_page_token: String::new(),
            },
        );
        return;
    }
    let rows: Vec<Vec<String>> = executions
        .iter()
        .map(|e| {
            let duration = output::seconds_between(e.start_time.as_ref(), e.end_time.as_ref())
                .map(output::human_secs)
                .unwrap_or_else(|| "-".to_string());
            let exit = match (e.exit_code, e.signal) {
                (Some(code), _) => code.to_string(),
                (None, Some(signal)) => format!("sig {signal}"),
                _ => "-".to_string(),
            };
            vec![
                e.id.clone(),
                e.workflow_id.clone(),
                short_state(e.state()).to_string(),
                output::timestamp_text(e.create_time.as_ref()),
                duration,
                exit,
            ]
        })
        .collect();
    print_table(
        &["ID", "WORKFLOW", "STATE", "CREATED", "DURATION", "EXIT"],
        &rows,
    );
}

/// `wfctl list`.
pub async fn list(globals: &GlobalArgs, args: ListArgs) -> Result<(), CliError> {
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
        ..Default::default()
    };
    let ctx = &Ctx::connect(globals).await?;
    let executions = fetch_executions(ctx, filter, args.limit).await?;
    print_executions(ctx.output, &executions);
    Ok(())
}

/// `wfctl cancel`.
pub async fn cancel(globals: &GlobalArgs, args: CancelArgs) -> Result<(), CliError> {
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
    let response = ctx
        .client
        .clone()
        .cancel(request)
        .await
        .map_err(|s| ctx.status_error(s))?
        .into_inner();
    match ctx.output {
        OutputFormat::Table => {
            let execution = response.execution.clone().unwrap_or_default();
            let what = if response.already_requested {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_pair("a=b=c", "--input").unwrap(),
            ("a".to_string(), "b=c".to_string())
        );
        assert!(parse_pair("novalue", "--input").is_err());
        assert!(parse_pair("=v", "--input").is_err());
    }

    #[test]
    fn states_parse_in_any_case_and_form() {
        assert_eq!(parse_state("running").unwrap(), ExecutionState::Running);
        assert_eq!(parse_state("TIMED_OUT").unwrap(), ExecutionState::TimedOut);
        assert_eq!(parse_state("timed-out").unwrap(), ExecutionState::TimedOut);
        assert_eq!(
            parse_state("EXECUTION_STATE_FAILED").unwrap(),
            ExecutionState::Failed
        );
        assert!(parse_state("done").is_err());
        assert!(parse_state("unspecified").is_err());
    }
}
