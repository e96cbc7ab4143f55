//! hyperctl's command forms, kept verbatim for its users:
//!
//! ```text
//! wfctl workflow -op status|list|queue|watch|submit [-id ID] [-file F] [-dir D] [-json]
//! wfctl manifest create|validate -file F|submit -file F|status -id ID|generate DISK OUT_DIR
//! ```
//!
//! Flags follow Go's `flag` package: one or two dashes, `-name value` or
//! `-name=value`, booleans without a value, `--` ends the flags. They are
//! parsed here by hand because clap does not take single-dash long flags.
//!
//! `manifest validate` and `manifest submit` call ValidateManifest and
//! SubmitManifest ([`super::manifests`]); `manifest create` (the four-step
//! builder) and `manifest generate` write a manifest on this side
//! ([`super::manifest_builder`]).

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
};

use serde::Deserialize;
use tokio::task::JoinSet;

use super::{
    error::short_state,
    executions, logs, manifest_builder, manifests,
    output::{self, OutputFormat},
    status, CliError, Ctx, GlobalArgs,
};
use crate::pb::{self, log_event::Payload, ExecutionState};

const WORKFLOW_USAGE: &str = "usage: wfctl workflow -op status|list|queue|watch|submit [-id ID] [-file F] [-dir D] [-limit N] [-wait] [-json]";
const MANIFEST_USAGE: &str = "usage: wfctl manifest create [flags]|validate -file F|submit -file F [-request-id R] [-wait]|status -id ID [-json]|generate DISK OUT_DIR [flags]";

/// Flags parsed the way Go's `flag` package does.
#[derive(Debug, Default, PartialEq)]
pub struct GoFlags {
    /// Flags with a value, by name without dashes.
    pub values: HashMap<String, String>,
    /// Boolean flags that were given, with their value (the last one wins).
    pub switches: HashMap<String, bool>,
    /// Arguments that are not flags, in order.
    pub positionals: Vec<String>,
}

impl GoFlags {
    /// The value of a flag with a value.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Whether a boolean flag was set (to true).
    pub fn switch(&self, name: &str) -> bool {
        self.bool_value(name) == Some(true)
    }

    /// A boolean flag's value, None when it was not given (so that
    /// `-compress=false` can turn off what defaults to on).
    pub fn bool_value(&self, name: &str) -> Option<bool> {
        self.switches.get(name).copied()
    }
}

/// Parses Go-style flags. `value_flags` take a value; `bool_flags` do not
/// (but accept `=true`/`=false`). Flags and positionals may interleave.
pub fn parse_go_flags(
    args: &[String],
    value_flags: &[&str],
    bool_flags: &[&str],
    usage: &str,
) -> Result<GoFlags, CliError> {
    let mut flags = GoFlags::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            flags.positionals.extend(args[i..].iter().cloned());
            break;
        }
        let Some(body) = arg
            .strip_prefix("--")
            .or_else(|| arg.strip_prefix('-'))
            .filter(|b| !b.is_empty())
        else {
            flags.positionals.push(arg.clone());
            continue;
        };
        let (name, inline) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (body, None),
        };
        if bool_flags.contains(&name) {
            let on = match inline.as_deref() {
                None | Some("true") | Some("1") | Some("t") | Some("T") | Some("TRUE") => true,
                Some("false") | Some("0") | Some("f") | Some("F") | Some("FALSE") => false,
                Some(other) => {
                    return Err(CliError::Usage(format!(
                        "invalid boolean value {other:?} for -{name}\n{usage}"
                    )))
                }
            };
            flags.switches.insert(name.to_string(), on);
        } else if value_flags.contains(&name) {
            let value = match inline {
                Some(value) => value,
                None if i < args.len() => {
                    i += 1;
                    args[i - 1].clone()
                }
                None => {
                    return Err(CliError::Usage(format!(
                        "flag needs an argument: -{name}\n{usage}"
                    )))
                }
            };
            flags.values.insert(name.to_string(), value);
        } else {
            return Err(CliError::Usage(format!(
                "flag provided but not defined: -{name}\n{usage}"
            )));
        }
    }
    Ok(flags)
}

/// Runs `wfctl workflow ...` or `wfctl manifest ...`.
pub async fn run(globals: &GlobalArgs, verb: &str, args: &[String]) -> Result<(), CliError> {
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

/// The globals with `-addr` and `-json` of a hyperctl form applied.
fn apply_globals(globals: &GlobalArgs, flags: &GoFlags) -> GlobalArgs {
    let mut globals = globals.clone();
    if let Some(addr) = flags.value("addr") {
        globals.addr = Some(addr.to_string());
    }
    if flags.switch("json") {
        globals.output = OutputFormat::Json;
    }
    globals
}

async fn workflow(globals: &GlobalArgs, args: &[String]) -> Result<(), CliError> {
    if is_help(args) {
        println!("{WORKFLOW_USAGE}");
        return Ok(());
    }
    let flags = parse_go_flags(
        args,
        &["op", "id", "file", "dir", "addr", "limit"],
        &["json", "wait"],
        WORKFLOW_USAGE,
    )?;
    if let Some(extra) = flags.positionals.first() {
        return Err(CliError::Usage(format!(
            "unexpected argument {extra:?}\n{WORKFLOW_USAGE}"
        )));
    }
    let op = flags
        .value("op")
        .ok_or_else(|| CliError::Usage(format!("-op is required\n{WORKFLOW_USAGE}")))?
        .to_string();
    if !matches!(
        op.as_str(),
        "status" | "list" | "queue" | "watch" | "submit"
    ) {
        return Err(CliError::Usage(format!(
            "unknown -op {op:?}; one of status, list, queue, watch, submit\n{WORKFLOW_USAGE}"
        )));
    }
    let limit = match flags.value("limit") {
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| CliError::Usage(format!("invalid value {text:?} for -limit")))?,
        None => 50,
    };
    if flags.value("dir").is_some() && op != "submit" {
        eprintln!(
            "wfctl: note: -dir is ignored; wfctl asks the daemon over gRPC (pick it with -addr)"
        );
    }
    let globals = apply_globals(globals, &flags);
    // Read the job file before connecting, so a bad file is a usage error
    // whether or not the daemon is up.
    let job = if op == "submit" {
        Some(read_job(&flags)?)
    } else {
        None
    };
    let ctx = Ctx::connect(&globals).await?;
    match op.as_str() {
        "status" => {
            let status = status::fetch(&ctx).await?;
            status::print_status(ctx.output, &status);
            Ok(())
        }
        "list" => {
            let executions =
                executions::fetch_executions(&ctx, pb::ListExecutionsRequest::default(), limit)
                    .await?;
            executions::print_executions(ctx.output, &executions);
            Ok(())
        }
        "queue" => {
            let executions = executions::fetch_executions(&ctx, active_filter(), 0).await?;
            executions::print_executions(ctx.output, &executions);
            Ok(())
        }
        "watch" => match flags.value("id") {
            Some(id) => executions::follow_to_end(&ctx, id).await,
            None => watch_active(&ctx).await,
        },
        _ => {
            let request = job.expect("submit reads its job file");
            let execution = executions::start(&ctx, request).await?;
            if flags.switch("wait") {
                return executions::wait_and_print(&ctx, &execution.id).await;
            }
            match ctx.output {
                OutputFormat::Table => output::print_line(&execution.id),
                format => output::print_message(format, &execution),
            }
            Ok(())
        }
    }
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
    let file = flags.value("file").ok_or_else(|| {
        CliError::Usage(format!("-op submit needs -file JOB.yaml\n{WORKFLOW_USAGE}"))
    })?;
    let mut path = PathBuf::from(file);
    if let Some(dir) = flags.value("dir") {
        if path.is_relative() {
            path = Path::new(dir).join(path);
        }
    }
    let value = executions::read_data_file(&path)?;
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
            .map(|t| executions::proto_duration(t, "timeout"))
            .transpose()?,
        labels: job.labels.into_iter().collect(),
    })
}

/// Follows every queued or running execution until all have ended, each
/// line prefixed with the last 8 characters of the execution's id. Fails when any did not
/// succeed.
async fn watch_active(ctx: &Ctx) -> Result<(), CliError> {
    let active = executions::fetch_executions(ctx, active_filter(), 0).await?;
    if active.is_empty() {
        output::print_note("wfctl: no queued or running executions to watch");
        return Ok(());
    }
    output::print_note(&format!("wfctl: watching {} execution(s)", active.len()));
    let mut tasks = JoinSet::new();
    for execution in active {
        let ctx = ctx.clone();
        tasks.spawn(async move {
            let result = watch_one(&ctx, &execution.id).await;
            (execution.id, result)
        });
    }
    let mut first_failure = None;
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let Ok((id, result)) = joined else { continue };
        match result {
            Ok(Some(finished)) if finished.state() == ExecutionState::Succeeded => {
                output::print_note(&format!("{id} SUCCEEDED"));
            }
            Ok(Some(finished)) => {
                output::print_note(&format!("{id} {}", short_state(finished.state())));
                first_failure.get_or_insert(CliError::WorkflowFailed {
                    execution_id: id,
                    state: finished.state(),
                    error: finished.error,
                });
            }
            Ok(None) => {
                output::print_note(&format!("{id} log ended before the execution finished"))
            }
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

/// Follows one execution for [`watch_active`], prefixing its lines.
async fn watch_one(ctx: &Ctx, execution_id: &str) -> Result<Option<pb::Finished>, CliError> {
    // UUIDv7 ids share their leading (time) digits; the tail tells them apart.
    let short: String = execution_id
        .chars()
        .skip(execution_id.chars().count().saturating_sub(8))
        .collect();
    let mut stream = ctx
        .client
        .clone()
        .stream_logs(pb::StreamLogsRequest {
            execution_id: execution_id.to_string(),
            from_sequence: 0,
            follow: true,
        })
        .await
        .map_err(|s| ctx.status_error(s))?
        .into_inner();
    let mut finished = None;
    while let Some(response) = stream.message().await.map_err(|s| ctx.status_error(s))? {
        let Some(event) = response.event else {
            continue;
        };
        if let Some(Payload::Finished(f)) = &event.payload {
            finished = Some(f.clone());
        }
        match ctx.output {
            OutputFormat::Table => match logs::output_text(&event) {
                Some(text) => output::print_line(&format!("{short} | {text}")),
                None => output::print_note(&format!("{short} {}", logs::event_line(&event))),
            },
            format => {
                // Lines of several executions interleave: each names its own.
                let mut value = output::to_json(&event);
                if let Some(object) = value.as_object_mut() {
                    object.insert("executionId".into(), execution_id.into());
                }
                output::print_stream_value(format, &value);
            }
        }
    }
    Ok(finished)
}

async fn manifest(globals: &GlobalArgs, args: &[String]) -> Result<(), CliError> {
    if args.is_empty() || is_help(args) {
        match args.first().map(String::as_str) {
            Some("create") => println!("{}", manifest_builder::CREATE_USAGE),
            Some("generate") => println!("{}", manifest_builder::GENERATE_USAGE),
            _ => println!("{MANIFEST_USAGE}"),
        }
        return if args.is_empty() {
            Err(CliError::Usage("manifest needs a verb".to_string()))
        } else {
            Ok(())
        };
    }
    // create and generate take their own flags (the manifest's answers).
    match args[0].as_str() {
        "create" | "generate" => {
            let verb = args[0].as_str();
            let usage = if verb == "create" {
                manifest_builder::CREATE_USAGE
            } else {
                manifest_builder::GENERATE_USAGE
            };
            let flags = parse_go_flags(
                &args[1..],
                manifest_builder::VALUE_FLAGS,
                manifest_builder::BOOL_FLAGS,
                usage,
            )?;
            let globals = apply_globals(globals, &flags);
            return if verb == "create" {
                manifest_builder::create(&globals, &flags, &flags.positionals).await
            } else {
                manifest_builder::generate(&globals, &flags, &flags.positionals).await
            };
        }
        _ => {}
    }
    let flags = parse_go_flags(
        args,
        &["file", "id", "addr", "dir", "output", "request-id"],
        &["json", "dry-run", "wait"],
        MANIFEST_USAGE,
    )?;
    let Some((verb, rest)) = flags.positionals.split_first() else {
        return Err(CliError::Usage(format!(
            "manifest needs a verb\n{MANIFEST_USAGE}"
        )));
    };
    match verb.as_str() {
        "status" => {
            if let Some(extra) = rest.first() {
                return Err(CliError::Usage(format!(
                    "unexpected argument {extra:?}\n{MANIFEST_USAGE}"
                )));
            }
            let id = flags.value("id").ok_or_else(|| {
                CliError::Usage(format!("manifest status needs -id ID\n{MANIFEST_USAGE}"))
            })?;
            let ctx = Ctx::connect(&apply_globals(globals, &flags)).await?;
            let execution = executions::get_execution(&ctx, id).await?;
            executions::print_execution(ctx.output, &execution);
            Ok(())
        }
        "validate" | "submit" => {
            if let Some(extra) = rest.first() {
                return Err(CliError::Usage(format!(
                    "unexpected argument {extra:?}\n{MANIFEST_USAGE}"
                )));
            }
            let file = flags.value("file").ok_or_else(|| {
                CliError::Usage(format!("manifest {verb} needs -file F\n{MANIFEST_USAGE}"))
            })?;
            let mut path = PathBuf::from(file);
            if let Some(dir) = flags.value("dir") {
                if path.is_relative() {
                    path = Path::new(dir).join(path);
                }
            }
            let (content, file_name) = manifests::read(&path)?;
            let ctx = Ctx::connect(&apply_globals(globals, &flags)).await?;
            if verb == "validate" {
                manifests::validate(&ctx, &path, content, file_name).await
            } else {
                manifests::submit(
                    &ctx,
                    content,
                    file_name,
                    flags.value("request-id").map(str::to_string),
                    flags.switch("wait"),
                )
                .await
            }
        }
        other => Err(CliError::Usage(format!(
            "unknown manifest verb {other:?}\n{MANIFEST_USAGE}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn go_flags_take_one_or_two_dashes_and_inline_values() {
        let flags = parse_go_flags(
            &strings(&["-op", "list", "--file=job.yaml", "-json", "pos", "--", "-x"]),
            &["op", "file"],
            &["json"],
            "usage",
        )
        .unwrap();
        assert_eq!(flags.value("op"), Some("list"));
        assert_eq!(flags.value("file"), Some("job.yaml"));
        assert!(flags.switch("json"));
        assert_eq!(flags.positionals, strings(&["pos", "-x"]));
    }

    #[test]
    fn go_flag_errors_read_like_go() {
        let err = parse_go_flags(&strings(&["-nope"]), &["op"], &[], "usage").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("flag provided but not defined: -nope"));
        let err = parse_go_flags(&strings(&["-op"]), &["op"], &[], "usage").unwrap_err();
        assert!(err.to_string().starts_with("flag needs an argument: -op"));
        let flags = parse_go_flags(&strings(&["-json=false"]), &[], &["json"], "u").unwrap();
        assert!(!flags.switch("json"));
    }
}
