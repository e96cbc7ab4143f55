//! The command line of `wfctl`: the clap definitions of the native verbs
//! and the global flags, the help texts, and telling a hyperctl form
//! (`workflow ...`, `manifest ...`, `schedules ...`, parsed by
//! [`super::go_flags`]) from a native verb. The verbs themselves live in their own files;
//! the flags of `webhook` and the retry flags of `run` in [`webhook`] and [`retry`].

mod limits;
mod namespace;
mod retry;
mod tls;
mod token;
mod webhook;

use std::ffi::OsString;

use clap::{Parser, Subcommand};

pub(crate) use self::{
    limits::LimitArgs,
    namespace::NamespaceArg,
    retry::RetryArgs,
    tls::TlsArgs,
    token::{RoleArg, TokenCommand, TokenCreateArgs},
    webhook::{WebhookAddArgs, WebhookCommand},
};
use super::render::PrintFormat;
use crate::client_addr;
use crate::client_token::BearerToken;

/// The hyperctl forms and address notes of `wfctl --help` (a macro so that
/// `concat!` can join it with the exit-code table).
macro_rules! after_long_help_text {
    () => {
        "\
hyperctl forms (Go-style single-dash flags, as hyperctl users type them):
  wfctl workflow -op status|list|queue|watch|submit [-id ID] [-file F] [-dir D] [-namespace N] [-json]
  wfctl manifest validate -file F [-json]
  wfctl manifest submit -file F [-request-id R] [-namespace N] [-wait] [-json]
  wfctl manifest status -id ID [-json]
  wfctl manifest create [-interactive|-non-interactive] [-source-path P] [...] [-file F] [-submit]
  wfctl manifest generate DISK OUT_DIR [-format json|yaml] [-force]
    (`wfctl manifest create -help` lists every flag of create and generate)
  wfctl schedules create NAME CRON [CRON...] -workflow-mode workflow|manifest [...]
  wfctl schedules list|describe|pause|unpause|trigger|delete [NAME] [-note N] [-json]

The daemon address: --addr, else WORKFLOWD_ADDR (WFCTL_ADDR is still read, with a
warning, for one release), e.g. 127.0.0.1:50051, http://host:port or
unix:/path/to/socket (default http://127.0.0.1:50051). https:// trusts the
platform's CAs or --tls-ca; --tls-cert/--tls-key send a client certificate.

"
    };
}

/// The exit-code table of `wfctl --help` and docs/wfctl.md.
macro_rules! exit_codes_text {
    () => {
        "\
Exit codes:
  0  success (with --wait/--follow: the execution SUCCEEDED)
  1  the execution ended FAILED, CANCELLED, TIMED_OUT or INTERRUPTED
  2  usage error (bad flag or value, unreadable file, unsupported command)
  3  the workflow daemon cannot be reached, did not answer in time, or cannot
     take the request now
  4  the workflow or execution was not found
  5  invalid argument; each field violation is printed as `field: description`
  6  the daemon refused the request otherwise (queue full, already finished, ...)"
    };
}
const LONG_ABOUT: &str = "\
wfctl talks to the workflow daemon (workflowd) over gRPC: it lists and describes
workflows, starts executions and follows them live, reads logs and history,
cancels executions, keeps schedules and webhooks and shows the daemon's status.

Data goes to stdout, everything else (progress, notices, errors) to stderr.
Read commands take -o table|json|yaml; JSON and YAML are the proto messages in
the proto3 JSON mapping, as protojson and hyperctl -json print them (camelCase
keys, full enum names such as EXECUTION_STATE_SUCCEEDED, 64-bit integers as
strings, default fields left out). Text from workflow programs is shown with
control characters and escape sequences as visible escapes (\x1b).";

/// Global flags, shared by the native verbs and the hyperctl forms.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct GlobalArgs {
    /// Address of the workflow daemon: host:port, http://host:port,
    /// https://host:port or unix:/path [default: $WORKFLOWD_ADDR, else http://127.0.0.1:50051].
    #[arg(long, global = true)]
    pub(crate) addr: Option<String>,
    /// API token for a daemon with tokens on (`wft_...`) [default:
    /// $WORKFLOW_TOKEN]. Prefer the variable: a flag shows in `ps`.
    #[arg(long, global = true)]
    pub(crate) token: Option<String>,
    /// `--tls-ca`, `--tls-cert`, `--tls-key`.
    #[command(flatten)]
    pub(crate) tls: TlsArgs,
    /// Output format of read commands.
    #[arg(
        short = 'o',
        long,
        global = true,
        value_enum,
        default_value_t = PrintFormat::Table
    )]
    pub(crate) output: PrintFormat,
}

/// The command line of `wfctl`.
#[derive(Debug, Parser)]
#[command(
    name = "wfctl",
    version,
    about = "Command-line client of the workflow daemon (workflowd)",
    long_about = LONG_ABOUT,
    after_long_help = concat!(after_long_help_text!(), exit_codes_text!()),
    after_help = "See 'wfctl --help' for the exit codes and the hyperctl forms.",
)]
pub(crate) struct Cli {
    /// Flags every verb takes.
    #[command(flatten)]
    pub(crate) globals: GlobalArgs,
    /// The verb.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The verbs of `wfctl`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List or describe the workflows the daemon discovered.
    #[command(subcommand)]
    Workflows(WorkflowsCommand),
    /// Start an execution of a workflow.
    Run(RunArgs),
    /// Print the log of an execution (history, then live with -f).
    Logs(LogsArgs),
    /// Show one execution with its phase/task/agent tree.
    Get(GetArgs),
    /// List executions, newest first.
    List(ListArgs),
    /// Cancel an execution (SIGTERM, then SIGKILL after the grace period).
    Cancel(CancelArgs),
    /// Create, list, describe, pause, trigger or delete schedules: cron
    /// expressions that execute a workflow or submit a manifest.
    #[command(subcommand)]
    Schedule(Box<ScheduleCommand>),
    /// Add, list, remove or test webhooks (URLs the daemon POSTs signed
    /// events to) and show their deliveries.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Create, list or revoke API tokens (a daemon with auth = "tokens").
    #[command(subcommand)]
    Token(TokenCommand),
    /// Show the audit log, newest first: calls that changed something and
    /// refused calls, with who, what, which object, from where, outcome.
    Audit {
        /// At most this many events (0 = all).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Show the daemon's status: version, workers, queue, history counts.
    Status {
        /// Count only this namespace's executions [default: every
        /// namespace the token sees].
        #[arg(long, value_name = "NAMESPACE")]
        namespace: Option<String>,
    },
    /// Drain a daemon: it starts nothing more, lets what it runs finish,
    /// then stops; what is queued waits for the next daemon (a standby).
    Drain {
        /// The daemon's id, from `wfctl status` [default: the one answering].
        daemon_id: Option<String>,
    },
    /// The full-screen terminal dashboard: status, job monitor, run forms,
    /// live execution tabs, manifest builder (docs/tui.md).
    Tui(TuiArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell to generate completions for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// hyperctl form: `workflow -op status|list|queue|watch|submit [...]`.
    #[command(disable_help_flag = true)]
    Workflow {
        /// Go-style flags: -op OP [-id ID] [-file F] [-dir D] [-json].
        #[arg(num_args = 0.., allow_hyphen_values = true, trailing_var_arg = true)]
        args: Vec<String>,
    },
    /// hyperctl form: `manifest validate|submit -file F` and
    /// `manifest status -id ID`.
    #[command(disable_help_flag = true)]
    Manifest {
        /// create|validate|submit|status|generate and their Go-style flags.
        #[arg(num_args = 0.., allow_hyphen_values = true, trailing_var_arg = true)]
        args: Vec<String>,
    },
    /// hyperctl form: `schedules create NAME CRON -workflow-mode ...`,
    /// `schedules list|describe|pause|unpause|trigger|delete [NAME]`.
    #[command(disable_help_flag = true)]
    Schedules {
        /// The verb, NAME, CRON and their Go-style flags.
        #[arg(num_args = 0.., allow_hyphen_values = true, trailing_var_arg = true)]
        args: Vec<String>,
    },
}

/// The `workflows` verbs.
#[derive(Debug, Subcommand)]
pub(crate) enum WorkflowsCommand {
    /// List the discovered workflows (discovery failures are noted on stderr).
    List {
        /// Only this namespace's workflows [default: every namespace the
        /// token sees].
        #[arg(long, value_name = "NAMESPACE")]
        namespace: Option<String>,
    },
    /// Show one workflow with its inputs.
    Describe {
        /// The workflow id.
        id: String,
    },
}

/// Flags of `wfctl run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The workflow id.
    pub(crate) workflow_id: String,
    /// An input value, `name=value` (repeatable; wins over --inputs-file).
    #[arg(short, long = "input", value_name = "NAME=VALUE")]
    pub(crate) inputs: Vec<String>,
    /// A JSON or YAML file with an object of input values.
    #[arg(long, value_name = "FILE")]
    pub(crate) inputs_file: Option<std::path::PathBuf>,
    /// A label, `key=value`, to find the execution by later (repeatable).
    #[arg(short, long = "label", value_name = "KEY=VALUE")]
    pub(crate) labels: Vec<String>,
    /// Idempotency key: repeating a run with the same id returns the first
    /// execution instead of starting another.
    #[arg(long)]
    pub(crate) request_id: Option<String>,
    /// Wall-clock limit in seconds; the run ends TIMED_OUT when reached.
    #[arg(long, value_name = "SECS")]
    pub(crate) timeout: Option<f64>,
    /// How a failed run is tried again.
    #[command(flatten)]
    pub(crate) retry: RetryArgs,
    /// What the program may use.
    #[command(flatten)]
    pub(crate) limits: LimitArgs,
    #[command(flatten)]
    pub(crate) namespace: NamespaceArg,
    /// Wait until the execution ends (its last attempt, when it is
    /// retried), then print it; exit 1 unless it SUCCEEDED.
    #[arg(short, long)]
    pub(crate) wait: bool,
    /// Follow the execution live (phase/task tree on stderr, program output
    /// on stdout) until it ends, through its retries; exit 1 unless its
    /// last attempt SUCCEEDED.
    #[arg(short, long)]
    pub(crate) follow: bool,
}

/// Flags of `wfctl tui`.
#[derive(Debug, clap::Args)]
pub(crate) struct TuiArgs {
    /// Append how long each frame took to draw, in microseconds, one per
    /// line, to this file (for bench/tui.rs).
    #[arg(long, value_name = "FILE", hide = true)]
    pub(crate) frame_times: Option<std::path::PathBuf>,
    /// The namespace the run form and the manifest builder start work in,
    /// and the only one whose executions, counts and workflows the
    /// dashboard, the job monitor and the workflow list show.
    #[command(flatten)]
    pub(crate) namespace: NamespaceArg,
}

/// Flags of `wfctl get`.
#[derive(Debug, clap::Args)]
pub(crate) struct GetArgs {
    /// The execution id.
    pub(crate) execution_id: String,
}

/// Flags of `wfctl list`.
#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    /// Only executions of this workflow.
    #[arg(long)]
    pub(crate) workflow: Option<String>,
    /// Only executions in this state, e.g. running or FAILED (repeatable).
    #[arg(long = "state", value_name = "STATE")]
    pub(crate) states: Vec<String>,
    /// Only executions with this label, `key=value` (repeatable, all must match).
    #[arg(short, long = "label", value_name = "KEY=VALUE")]
    pub(crate) labels: Vec<String>,
    /// Only the executions of this batch (a batch manifest's batch id).
    #[arg(long = "batch", value_name = "BATCH_ID")]
    pub(crate) batch: Option<String>,
    /// Only the executions this schedule started.
    #[arg(long = "schedule", value_name = "SCHEDULE_ID")]
    pub(crate) schedule: Option<String>,
    #[command(flatten)]
    pub(crate) namespace: NamespaceArg,
    /// At most this many executions (0 = all).
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: usize,
}

/// Flags of `wfctl cancel`.
#[derive(Debug, clap::Args)]
pub(crate) struct CancelArgs {
    /// The execution id.
    pub(crate) execution_id: String,
    /// Seconds between SIGTERM and SIGKILL (the daemon's default when unset).
    #[arg(long, value_name = "SECS")]
    pub(crate) grace: Option<f64>,
    /// SIGKILL at once.
    #[arg(long)]
    pub(crate) force: bool,
}

/// Flags of `wfctl logs`.
#[derive(Debug, clap::Args)]
pub(crate) struct LogsArgs {
    /// The execution id.
    pub(crate) execution_id: String,
    /// Keep following live events until the execution ends; then exit 1
    /// unless it SUCCEEDED.
    #[arg(short, long)]
    pub(crate) follow: bool,
    /// First sequence number to print (1 is the first event).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) from: u64,
}

/// The `--overlap` policies (and hyperctl's `-overlap`): what happens
/// when a schedule falls due while its previous run still goes.
pub(crate) const OVERLAP_POLICIES: &[&str] =
    &["skip", "buffer-one", "allow-all", "cancel-previous"];

/// The `--catch-up` policies (and hyperctl's `-catch-up`): what happens to
/// the times a schedule fell due while the daemon was down.
pub(crate) const CATCH_UP_POLICIES: &[&str] = &["start-one", "skip"];

/// The `schedule` verbs (docs/wfctl.md, docs/schedules.md).
#[derive(Debug, Subcommand)]
pub(crate) enum ScheduleCommand {
    /// Create a schedule; prints its id (the next fire time goes to stderr).
    Create(ScheduleCreateArgs),
    /// Replace a schedule's cron, action, policies and description (give
    /// them all, as to create); its paused state, note and runs are kept.
    Update(ScheduleUpdateArgs),
    /// List the schedules: id, cron, time zone, next fire time, paused,
    /// action.
    List,
    /// Show one schedule: spec, action, policies, next fire times and
    /// recent runs.
    Describe(ScheduleDescribeArgs),
    /// Pause a schedule: nothing runs until it is unpaused.
    Pause(SchedulePauseArgs),
    /// Unpause a schedule (the times it fell due while paused are not
    /// caught up).
    Unpause(SchedulePauseArgs),
    /// Run a schedule's action now (paused or not, under its overlap
    /// policy) and print the run; exit 6 unless it started.
    Trigger(ScheduleTriggerArgs),
    /// Delete a schedule and its runs' records (its executions stay).
    Delete(ScheduleIdArgs),
}

/// What a schedule is: when it falls due and what it does then, as
/// `schedule create` and `schedule update` take it.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct ScheduleDefinitionArgs {
    /// A cron expression: 5 fields (minute hour day-of-month month
    /// day-of-week), 6 with a leading seconds field, or @daily-style
    /// (repeatable: it falls due whenever one matches).
    #[arg(long = "cron", value_name = "EXPR", required = true)]
    pub(crate) cron: Vec<String>,
    /// IANA time zone the cron expressions are read in, e.g. Europe/Paris
    /// [default: UTC].
    #[arg(long, value_name = "TZ")]
    pub(crate) timezone: Option<String>,
    /// Start each run up to this much after its time, e.g. 30s.
    #[arg(long, value_name = "DURATION")]
    pub(crate) jitter: Option<String>,
    /// Not due before this RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    pub(crate) start: Option<String>,
    /// Not due after this RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    pub(crate) end: Option<String>,
    /// Action: execute this workflow.
    #[arg(long, value_name = "WORKFLOW_ID")]
    pub(crate) workflow: Option<String>,
    /// With --workflow: an input value, `name=value` (repeatable; wins
    /// over --inputs-file).
    #[arg(short, long = "input", value_name = "NAME=VALUE")]
    pub(crate) inputs: Vec<String>,
    /// With --workflow: a JSON or YAML file with an object of input values.
    #[arg(long, value_name = "FILE")]
    pub(crate) inputs_file: Option<std::path::PathBuf>,
    /// With --workflow: the wall-clock limit of each run, e.g. 1h.
    #[arg(long, value_name = "DURATION")]
    pub(crate) timeout: Option<String>,
    /// Action: submit this manifest (its content is sent and stored now).
    #[arg(long, value_name = "FILE")]
    pub(crate) manifest: Option<std::path::PathBuf>,
    /// Action: submit the manifest in this file, which the daemon reads
    /// again at each run (it must be inside the daemon's source roots).
    #[arg(long, value_name = "PATH")]
    pub(crate) manifest_template: Option<std::path::PathBuf>,
    /// With a manifest: the output directory of each run's VMs, inside the
    /// daemon's output directory (relative: below it).
    #[arg(long, value_name = "DIR")]
    pub(crate) output_dir: Option<String>,
    /// A label of each execution, `key=value` (repeatable).
    #[arg(short, long = "label", value_name = "KEY=VALUE")]
    pub(crate) labels: Vec<String>,
    /// When it falls due while its previous run still goes [default: skip].
    #[arg(long, value_name = "POLICY", value_parser = clap::builder::PossibleValuesParser::new(OVERLAP_POLICIES))]
    pub(crate) overlap: Option<String>,
    /// The times it fell due while the daemon was down [default: start-one].
    #[arg(long, value_name = "POLICY", value_parser = clap::builder::PossibleValuesParser::new(CATCH_UP_POLICIES))]
    pub(crate) catch_up: Option<String>,
    /// With start-one: how old a missed time may be and still start
    /// [default: 1h].
    #[arg(long, value_name = "DURATION")]
    pub(crate) catch_up_window: Option<String>,
    /// Free text for people.
    #[arg(long, value_name = "TEXT")]
    pub(crate) description: Option<String>,
    /// The namespace its runs start in [default: `default`; on update,
    /// the schedule's own].
    #[arg(long, value_name = "NAMESPACE")]
    pub(crate) namespace: Option<String>,
}

/// Flags of `wfctl schedule create`.
#[derive(Debug, clap::Args)]
pub(crate) struct ScheduleCreateArgs {
    /// The schedule's id: 1 to 63 of a-z, 0-9, `.`, `_`, `-`.
    pub(crate) schedule_id: String,
    /// When it falls due and what it does.
    #[command(flatten)]
    pub(crate) definition: ScheduleDefinitionArgs,
    /// Create it paused.
    #[arg(long)]
    pub(crate) paused: bool,
    /// Why it is paused (or not), for the people reading it.
    #[arg(long, value_name = "TEXT")]
    pub(crate) note: Option<String>,
}

/// Flags of `wfctl schedule update`.
#[derive(Debug, clap::Args)]
pub(crate) struct ScheduleUpdateArgs {
    /// The schedule's id.
    pub(crate) schedule_id: String,
    /// Its new definition, whole.
    #[command(flatten)]
    pub(crate) definition: ScheduleDefinitionArgs,
}

/// Flags of `wfctl schedule describe`.
#[derive(Debug, clap::Args)]
pub(crate) struct ScheduleDescribeArgs {
    /// The schedule's id.
    pub(crate) schedule_id: String,
    /// How many next fire times to show [daemon default: 5, at most 100].
    #[arg(long, value_name = "N")]
    pub(crate) next: Option<u16>,
    /// How many recent runs to show [daemon default: 10, at most 1000].
    #[arg(long, value_name = "N")]
    pub(crate) runs: Option<u16>,
}

/// Flags of `wfctl schedule pause` and `unpause`.
#[derive(Debug, clap::Args)]
pub(crate) struct SchedulePauseArgs {
    /// The schedule's id.
    pub(crate) schedule_id: String,
    /// Why, for the people reading the schedule.
    #[arg(long, value_name = "TEXT")]
    pub(crate) note: Option<String>,
}

/// Flags of `wfctl schedule trigger`.
#[derive(Debug, clap::Args)]
pub(crate) struct ScheduleTriggerArgs {
    /// The schedule's id.
    pub(crate) schedule_id: String,
    /// Idempotency key: repeating a trigger with the same id returns the
    /// first one's run instead of acting again.
    #[arg(long)]
    pub(crate) request_id: Option<String>,
}

/// The one argument of `wfctl schedule delete`.
#[derive(Debug, clap::Args)]
pub(crate) struct ScheduleIdArgs {
    /// The schedule's id.
    pub(crate) schedule_id: String,
}

impl GlobalArgs {
    /// The daemon address: `--addr`, else `WORKFLOWD_ADDR`, else the
    /// deprecated `WFCTL_ADDR` (with a warning on stderr), else the default.
    pub(crate) fn daemon_addr(&self) -> String {
        client_addr::resolve(self.addr.as_deref(), |warning| {
            super::render::print_note(&format!("wfctl: warning: {warning}"));
        })
    }

    /// The token to send: `--token`, else `WORKFLOW_TOKEN`, else none.
    pub(crate) fn bearer_token(&self) -> Result<BearerToken, super::error::CliError> {
        BearerToken::resolve(self.token.as_deref()).map_err(super::error::CliError::Usage)
    }
}

/// What the command line asked for.
#[derive(Debug)]
pub(crate) enum Invocation {
    /// A native verb, parsed by clap.
    Native(Box<Cli>),
    /// A hyperctl form (`workflow ...`, `manifest ...` or `schedules ...`),
    /// whose Go-style flags [`super::go_flags`] parses.
    Hyperctl {
        /// Global flags given before the verb.
        globals: GlobalArgs,
        /// `workflow`, `manifest` or `schedules`.
        verb: String,
        /// Everything after the verb.
        args: Vec<String>,
    },
}

/// Parses the command line. On `Err` the process should exit with the code
/// (help and version were printed and give 0; usage errors give 2).
pub(crate) fn parse(args: Vec<OsString>) -> Result<Invocation, i32> {
    if let Some(position) = hyperctl_verb_position(&args) {
        let verb = args[position].to_string_lossy().into_owned();
        let rest: Vec<String> = args[position + 1..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        // The global flags before the verb, parsed by clap on their own.
        #[derive(Parser)]
        #[command(name = "wfctl")]
        struct OnlyGlobals {
            #[command(flatten)]
            globals: GlobalArgs,
        }
        let parsed = OnlyGlobals::try_parse_from(&args[..position]).map_err(printed)?;
        return Ok(Invocation::Hyperctl {
            globals: parsed.globals,
            verb,
            args: rest,
        });
    }
    Cli::try_parse_from(args)
        .map(|cli| Invocation::Native(Box::new(cli)))
        .map_err(printed)
}

/// Prints clap's message (help, version, or a usage error) and returns the
/// exit code that goes with it.
fn printed(error: clap::Error) -> i32 {
    let _ = error.print();
    error.exit_code()
}

/// The index of `workflow`, `manifest` or `schedules` when it is the verb,
/// i.e. when only global flags come before it.
fn hyperctl_verb_position(args: &[OsString]) -> Option<usize> {
    let mut i = 1;
    while i < args.len() {
        let arg = args[i].to_str()?;
        match arg {
            "workflow" | "manifest" | "schedules" => return Some(i),
            "--addr" | "-o" | "--output" => i += 2,
            _ if arg.starts_with("--addr=") || arg.starts_with("--output=") => i += 1,
            _ if arg.starts_with("-o") && arg.len() > 2 => i += 1,
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests;
