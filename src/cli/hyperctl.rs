//! hyperctl's command forms, kept verbatim for its users:
//!
//! ```text
//! wfctl workflow -op status|list|queue|watch|submit [-id ID] [-file F] [-dir D] [-json]
//! wfctl manifest create|validate -file F|submit -file F|status -id ID|generate DISK OUT_DIR
//! ```
//!
//! Flags follow Go's `flag` package ([`super::go_flags`]); each form's flags
//! are declared once, in its [`Form`] table.
//!
//! `manifest validate` and `manifest submit` call ValidateManifest and
//! SubmitManifest ([`super::manifests`]); `manifest create` (the four-step
//! builder) and `manifest generate` write a manifest on this side
//! ([`super::manifest_builder`]).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use tokio::task::JoinSet;

use super::{
    args::GlobalArgs,
    context::Ctx,
    error::CliError,
    follow::{follow, EventStyle},
    go_flags::{self, Flag, Form, GoFlags, Takes},
    input::{proto_duration, read_data_file},
    manifest_builder, manifests,
    outcome::{follow_to_end, outcome, wait_and_print},
    render::{
        execution::{print_execution, print_executions, print_started},
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
const WORKFLOW: Form = Form {
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
        go_flags::ADDR,
        go_flags::JSON,
    ],
};

/// `wfctl manifest validate|submit|status ...` (create and generate have
/// their own, [`manifest_builder::CREATE`] and [`manifest_builder::GENERATE`]).
const MANIFEST: Form = Form {
    synopsis: "wfctl manifest validate -file F [flags]
wfctl manifest submit -file F [flags]
wfctl manifest status -id ID [flags]
wfctl manifest create [flags]    (see wfctl manifest create -help)
wfctl manifest generate DISK OUT_DIR [flags]",
    flags: &[
        Flag {
            name: "file",
            takes: Takes::Value("F"),
            help: "validate, submit: the manifest file (JSON or YAML)",
        },
        Flag {
            name: "dir",
            takes: Takes::Value("D"),
            help: "the directory a relative -file is in",
        },
        Flag {
            name: "id",
            takes: Takes::Value("ID"),
            help: "status: the execution",
        },
        Flag {
            name: "request-id",
            takes: Takes::Value("R"),
            help: "submit: idempotency key; a repeated submit returns the same executions",
        },
        Flag {
            name: "wait",
            takes: Takes::Bool,
            help: "submit: wait until every execution ends; exit 1 unless all SUCCEEDED",
        },
        Flag {
            name: "output",
            takes: Takes::Value("DIR"),
            help: "hyperctl's; accepted and ignored (the manifest says where output goes)",
        },
        Flag {
            name: "dry-run",
            takes: Takes::Bool,
            help: "hyperctl's; accepted and ignored (validate checks without running)",
        },
        go_flags::ADDR,
        go_flags::JSON,
    ],
};
/// Runs `wfctl workflow ...` or `wfctl manifest ...`.
pub(crate) async fn run(globals: &GlobalArgs, verb: &str, args: &[String]) -> Result<(), CliError> {
    match verb {
        "workflow" => workflow(globals, args).await,
        "manifest" => manifest(globals, args).await,
        other => Err(CliError::Usage(format!("unknown hyperctl verb {other:?}"))),
    }
}

fn is_help(args: &[String]) -> bool {
    args.iter()
        .any(|a| matches!(a.as_str(), "-h" | "-help" | "--help" | "help"))
}

/// `-file`, relative to `-dir` when that is given and the file's path is
/// relative.
fn file_flag(flags: &GoFlags) -> Option<PathBuf> {
    let file = Path::new(flags.value("file")?);
    Some(match flags.value("dir") {
        Some(dir) if file.is_relative() => Path::new(dir).join(file),
        _ => file.to_path_buf(),
    })
}

/// A usage error: `message`, then the form's usage text.
fn usage_error(message: &str, form: &Form) -> CliError {
    CliError::Usage(format!("{message}\n{}", form.usage()))
}

async fn workflow(globals: &GlobalArgs, args: &[String]) -> Result<(), CliError> {
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
        Op::Status => print_status(ctx.output, &ctx.get_status().await?),
        Op::List => {
            let executions = ctx
                .list_executions(pb::ListExecutionsRequest::default(), limit)
                .await?;
            print_executions(ctx.output, &executions);
        }
        Op::Queue => print_executions(ctx.output, &ctx.list_executions(active_filter(), 0).await?),
        Op::Watch => {
            return match flags.value("id") {
                Some(id) => follow_to_end(&ctx, id).await,
                None => watch_active(&ctx).await,
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

fn active_filter() -> pb::ListExecutionsRequest {
    pb::ListExecutionsRequest {
        states: vec![
            ExecutionState::Queued as i32,
            ExecutionState::Running as i32,
        ],
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
        timeout: job
            .timeout
            .map(|t| proto_duration(t, "timeout"))
            .transpose()?,
        labels: job.labels.into_iter().collect(),
    })
}
/// Follows every queued or running execution until all have ended, each
/// shown [`EventStyle::Tagged`]. Fails when any did not succeed.
async fn watch_active(ctx: &Ctx) -> Result<(), CliError> {
    let active = ctx.list_executions(active_filter(), 0).await?;
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

async fn manifest(globals: &GlobalArgs, args: &[String]) -> Result<(), CliError> {
    if args.is_empty() || is_help(args) {
        match args.first().map(String::as_str) {
            Some("create") => println!("{}", manifest_builder::CREATE.usage()),
            Some("generate") => println!("{}", manifest_builder::GENERATE.usage()),
            _ => println!("{}", MANIFEST.usage()),
        }
        return if args.is_empty() {
            Err(CliError::Usage("manifest needs a verb".to_string()))
        } else {
            Ok(())
        };
    }
    // create and generate take their own flags (the manifest's answers).
    match args[0].as_str() {
        "create" => {
            let flags = manifest_builder::CREATE.parse(&args[1..])?;
            return manifest_builder::create(&flags.apply_to(globals), &flags).await;
        }
        "generate" => {
            let flags = manifest_builder::GENERATE.parse(&args[1..])?;
            return manifest_builder::generate(&flags.apply_to(globals), &flags).await;
        }
        _ => {}
    }
    let flags = MANIFEST.parse(args)?;
    let Some((verb, rest)) = flags.positionals.split_first() else {
        return Err(usage_error("manifest needs a verb", &MANIFEST));
    };
    if !matches!(verb.as_str(), "status" | "validate" | "submit") {
        return Err(usage_error(
            &format!("unknown manifest verb {verb:?}"),
            &MANIFEST,
        ));
    }
    if let Some(extra) = rest.first() {
        return Err(usage_error(
            &format!("unexpected argument {extra:?}"),
            &MANIFEST,
        ));
    }
    let globals = flags.apply_to(globals);
    if verb == "status" {
        let id = flags
            .value("id")
            .ok_or_else(|| usage_error("manifest status needs -id ID", &MANIFEST))?;
        let ctx = Ctx::connect(&globals).await?;
        print_execution(ctx.output, &ctx.get_execution(id).await?);
        return Ok(());
    }
    let path = file_flag(&flags)
        .ok_or_else(|| usage_error(&format!("manifest {verb} needs -file F"), &MANIFEST))?;
    let file = manifests::read(&path)?;
    let ctx = Ctx::connect(&globals).await?;
    if verb == "validate" {
        manifests::validate(&ctx, &path, file).await
    } else {
        let request_id = flags.value("request-id").map(str::to_string);
        manifests::submit(&ctx, file, request_id, flags.switch("wait")).await
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

    #[test]
    fn every_form_declares_each_flag_once() {
        for form in [&WORKFLOW, &MANIFEST, &manifest_builder::CREATE] {
            let mut names: Vec<&str> = form.flags.iter().map(|f| f.name).collect();
            names.sort_unstable();
            let count = names.len();
            names.dedup();
            assert_eq!(names.len(), count, "{}", form.synopsis);
        }
    }

    #[test]
    fn a_relative_file_is_looked_up_in_dir() {
        let flags = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            WORKFLOW.parse(&args).unwrap()
        };
        assert_eq!(
            file_flag(&flags(&["-file", "job.yaml", "-dir", "/jobs"])),
            Some(PathBuf::from("/jobs/job.yaml"))
        );
        assert_eq!(
            file_flag(&flags(&["-file", "/abs/job.yaml", "-dir", "/jobs"])),
            Some(PathBuf::from("/abs/job.yaml"))
        );
        assert_eq!(file_flag(&flags(&["-dir", "/jobs"])), None);
    }
}
