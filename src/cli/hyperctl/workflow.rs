//! `wfctl workflow -op status|list|queue|watch|submit`: hyperctl's
//! workflow form, each op the native verb it stands for (`-op submit` reads
//! a job file, `-op watch` without `-id` follows every active execution).

use std::collections::BTreeMap;

use serde::Deserialize;
use tokio::task::JoinSet;

use super::{file_flag, is_help, usage_error};
use crate::cli::{
    args::GlobalArgs,
    context::Ctx,
    error::CliError,
    follow::{follow, EventStyle},
    go_flags::{self, Flag, Form, GoFlags, Takes},
    input::{proto_duration, read_data_file},
    outcome::{follow_to_end, outcome, wait_and_print},
    render::{
        execution::{print_executions, print_started},
        print_note, short_state,
        status::print_status,
    },
};
use crate::pb::{self, ExecutionState};

/// The ops of `workflow -op`, as its usage shows them.
const OPS: &str = "status|list|queue|watch|submit";

/// What `workflow -op` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// The daemon's status (`wfctl status`).
    Status,
    /// Executions, newest first (`wfctl list`).
    List,
    /// The queued and running executions.
    Queue,
    /// Follow one execution (`-id`), or every queued or running one.
    Watch,
    /// Start an execution from a job file.
    Submit,
}

impl Op {
    /// The op named `name`, one of [`OPS`].
    fn named(name: &str) -> Option<Op> {
        Some(match name {
            "status" => Op::Status,
            "list" => Op::List,
            "queue" => Op::Queue,
            "watch" => Op::Watch,
            "submit" => Op::Submit,
            _ => return None,
        })
    }
}

/// `wfctl workflow -op ...`.
pub(super) const WORKFLOW: Form = Form {
    synopsis: "wfctl workflow -op status|list|queue|watch|submit [flags]",
    flags: &[
        Flag {
            name: "op",
            takes: Takes::Value(OPS),
            help: "what to do",
        },
        Flag {
            name: "id",
            takes: Takes::Value("ID"),
            help: "watch: the execution to follow (else every queued or running one)",
        },
        Flag {
            name: "file",
            takes: Takes::Value("F"),
            help: "submit: the job file (JSON or YAML: workflow, inputs, labels, ...)",
        },
        Flag {
            name: "dir",
            takes: Takes::Value("D"),
            help: "submit: the directory a relative -file is in (ignored otherwise)",
        },
        Flag {
            name: "limit",
            takes: Takes::Value("N"),
            help: "list: at most N executions (0 = all; default 50)",
        },
        Flag {
            name: "wait",
            takes: Takes::Bool,
            help: "submit: wait until the execution ends; exit 1 unless it SUCCEEDED",
        },
        Flag {
            help: "submit: the namespace to start in (default: the token's only namespace, \
                   else default); list, queue, watch: only that namespace's executions; \
                   status: only their counts",
            ..go_flags::NAMESPACE
        },
        go_flags::ADDR,
        go_flags::JSON,
    ],
};

/// `wfctl workflow ...`: parses the form and runs its op.
pub(super) async fn run(globals: &GlobalArgs, args: &[String]) -> Result<(), CliError> {
    if is_help(args) {
        println!("{}", WORKFLOW.usage());
        return Ok(());
    }
    let flags = WORKFLOW.parse(args)?;
    if let Some(extra) = flags.positionals.first() {
        return Err(usage_error(
            &format!("unexpected argument {extra:?}"),
            &WORKFLOW,
        ));
    }
    let name = flags
        .value("op")
        .ok_or_else(|| usage_error("-op is required", &WORKFLOW))?;
    let op = Op::named(name).ok_or_else(|| {
        usage_error(
            &format!("unknown -op {name:?}; one of {}", OPS.replace('|', ", ")),
            &WORKFLOW,
        )
    })?;
    let limit = match flags.value("limit") {
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| CliError::Usage(format!("invalid value {text:?} for -limit")))?,
        None => 50,
    };
    let namespace = flags.value("namespace").unwrap_or_default().to_string();
    if !namespace.is_empty() && flags.value("id").is_some() {
        eprintln!("wfctl: note: -namespace is ignored by -op {name}");
    }
    if flags.value("dir").is_some() && op != Op::Submit {
        eprintln!(
            "wfctl: note: -dir is ignored; wfctl asks the daemon over gRPC (pick it with -addr)"
        );
    }
    let globals = flags.apply_to(globals);
    // Read the job file before connecting, so a bad file is a usage error
    // whether or not the daemon is up.
    let job = if op == Op::Submit {
        Some(read_job(&flags)?)
    } else {
        None
    };
    let ctx = Ctx::connect(&globals).await?;
    match op {
        Op::Status => print_status(ctx.output, &ctx.get_status(&namespace).await?),
        Op::List => {
            let request = pb::ListExecutionsRequest {
                namespace: namespace.clone(),
                ..Default::default()
            };
            let executions = ctx.list_executions(request, limit).await?;
            print_executions(ctx.output, &executions, None);
        }
        Op::Queue => print_executions(
            ctx.output,
            &ctx.list_executions(active_filter(&namespace), 0).await?,
            None,
        ),
        Op::Watch => {
            return match flags.value("id") {
                Some(id) => follow_to_end(&ctx, id).await,
                None => watch_active(&ctx, &namespace).await,
            }
        }
        Op::Submit => {
            let request = job.expect("submit reads its job file");
            let execution = ctx.start(request).await?;
            if flags.switch("wait") {
                return wait_and_print(&ctx, &execution.id).await;
            }
            print_started(ctx.output, &execution);
        }
    }
    Ok(())
}

/// The queued and running executions (of `namespace`, when not empty).
fn active_filter(namespace: &str) -> pb::ListExecutionsRequest {
    pb::ListExecutionsRequest {
        states: vec![
            ExecutionState::Queued as i32,
            ExecutionState::Running as i32,
        ],
        namespace: namespace.to_string(),
        ..Default::default()
    }
}

/// A job file of `workflow -op submit -file F`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobFile {
    /// The workflow id.
    #[serde(alias = "workflow_id")]
    workflow: String,
    /// Input values by name.
    #[serde(default)]
    inputs: BTreeMap<String, serde_json::Value>,
    /// Labels.
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// Idempotency key.
    #[serde(default)]
    request_id: Option<String>,
    /// Time limit in seconds.
    #[serde(default)]
    timeout: Option<f64>,
}

/// Reads `-file` (relative to `-dir` when given) into an Execute request.
fn read_job(flags: &GoFlags) -> Result<pb::ExecuteRequest, CliError> {
    let path = file_flag(flags)
        .ok_or_else(|| usage_error("-op submit needs -file JOB.yaml", &WORKFLOW))?;
    let value = read_data_file(&path)?;
    if let Some(object) = value.as_object() {
        if ["pipeline", "manifest_version", "batch", "vms", "disks"]
            .iter()
            .any(|k| object.contains_key(*k))
        {
            return Err(CliError::Unsupported(format!(
                "{} looks like a pipeline manifest, which -op submit does not take; \
                 run it with `wfctl manifest submit -file {}`",
                path.display(),
                path.display()
            )));
        }
    }
    let job: JobFile = serde_json::from_value(value).map_err(|e| {
        CliError::Usage(format!(
            "{} is not a job file ({{workflow: ID, inputs: {{...}}}}): {e}",
            path.display()
        ))
    })?;
    Ok(pb::ExecuteRequest {
        workflow_id: job.workflow,
        inputs: job
            .inputs
            .iter()
            .map(|(k, v)| (k.clone(), crate::proto_value::from_json(v)))
            .collect(),
        request_id: job.request_id.unwrap_or_default(),
        limits: None,
        timeout: job
            .timeout
            .map(|t| proto_duration(t, "timeout"))
            .transpose()?,
        labels: job.labels.into_iter().collect(),
        retry_policy: None,
        namespace: flags.value("namespace").unwrap_or_default().to_string(),
    })
}

/// Follows every queued or running execution (of `namespace`, when not
/// empty) until all have ended, each shown [`EventStyle::Tagged`]. Fails
/// when any did not succeed.
async fn watch_active(ctx: &Ctx, namespace: &str) -> Result<(), CliError> {
    let active = ctx.list_executions(active_filter(namespace), 0).await?;
    if active.is_empty() {
        print_note("wfctl: no queued or running executions to watch");
        return Ok(());
    }
    print_note(&format!("wfctl: watching {} execution(s)", active.len()));
    let mut tasks = JoinSet::new();
    for execution in active {
        let ctx = ctx.clone();
        tasks.spawn(async move {
            let style = EventStyle::Tagged(ctx.output);
            let result = follow(&ctx, &execution.id, 0, true, style).await;
            (execution.id, result)
        });
    }
    let mut first_failure = None;
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let Ok((id, result)) = joined else { continue };
        match result {
            Ok(Some(finished)) => {
                print_note(&format!("{id} {}", short_state(finished.state())));
                if let Err(e) = outcome(&ctx.addr, &id, finished.state(), finished.error) {
                    first_failure.get_or_insert(e);
                }
            }
            Ok(None) => print_note(&format!("{id} log ended before the execution finished")),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match (first_error, first_failure) {
        (Some(e), _) | (None, Some(e)) => Err(e),
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_the_usage_shows_is_an_op() {
        let ops: Vec<Op> = OPS.split('|').filter_map(Op::named).collect();
        assert_eq!(
            ops,
            [Op::Status, Op::List, Op::Queue, Op::Watch, Op::Submit]
        );
    }
}
