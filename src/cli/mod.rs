//! `wfctl`: the command-line client of `workflowd`, in the style of
//! hyper2kvm's `hyperctl`. It talks to the daemon over gRPC only and never
//! reads the daemon's files or database.
//!
//! One file per group of verbs: [`workflows`] (list, describe),
//! [`executions`] (run, get, list, cancel), [`logs`] (logs and following a
//! run), [`status`], and [`hyperctl`] (the `workflow -op ...` and
//! `manifest ...` forms, parsed by hand because their Go-style single-dash
//! long flags are not what clap parses), [`manifests`] (validating and
//! submitting hyper2kvm manifests), [`manifest_builder`] (writing one:
//! `manifest create` and `manifest generate`). [`output`] is the one printer
//! (messages through [`proto_json`], human text through
//! [`terminal_text`]), [`progress`] the live tree shown while following.
//! See docs/wfctl.md.

use std::{ffi::OsString, time::Duration};

use clap::{CommandFactory, Parser, Subcommand};
use tonic::transport::Channel;

use crate::client_addr;
use crate::pb::workflow_service_client::WorkflowServiceClient;

/// The hyperctl forms and address notes of `wfctl --help` (a macro so that
/// `concat!` can join it with the exit-code table).
macro_rules! after_long_help_text {
    () => {
        "\
hyperctl forms (Go-style single-dash flags, as hyperctl users type them):
  wfctl workflow -op status|list|queue|watch|submit [-id ID] [-file F] [-dir D] [-json]
  wfctl manifest validate -file F [-json]
  wfctl manifest submit -file F [-request-id R] [-wait] [-json]
  wfctl manifest status -id ID [-json]
  wfctl manifest create [-interactive|-non-interactive] [-source-path P] [...] [-file F] [-submit]
  wfctl manifest generate DISK OUT_DIR [-format json|yaml] [-force]
    (`wfctl manifest create -help` lists every flag of create and generate)

The daemon address: --addr, else WORKFLOWD_ADDR (WFCTL_ADDR is still read, with a
warning, for one release), e.g. 127.0.0.1:50051, http://host:port or
unix:/path/to/socket (default http://127.0.0.1:50051).

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

pub mod error;
pub mod executions;
pub mod hyperctl;
pub mod logs;
pub mod manifest_builder;
pub mod manifests;
pub mod output;
pub mod progress;
pub mod proto_json;
pub mod status;
pub mod terminal_text;
pub mod workflows;

pub use error::{exit, CliError};
pub use output::OutputFormat;

const LONG_ABOUT: &str = "\
wfctl talks to the workflow daemon (workflowd) over gRPC: it lists and describes
workflows, starts executions and follows them live, reads logs and history,
cancels executions and shows the daemon's status.

Data goes to stdout, everything else (progress, notices, errors) to stderr.
Read commands take -o table|json|yaml; JSON and YAML are the proto messages in
the proto3 JSON mapping, as protojson and hyperctl -json print them (camelCase
keys, full enum names such as EXECUTION_STATE_SUCCEEDED, 64-bit integers as
strings, default fields left out). Text from workflow programs is shown with
control characters and escape sequences as visible escapes (\x1b).";

/// Global flags, shared by the native verbs and the hyperctl forms.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Address of the workflow daemon: host:port, http://host:port or
    /// unix:/path [default: $WORKFLOWD_ADDR, else http://127.0.0.1:50051].
    #[arg(long, global = true)]
    pub addr: Option<String>,
    /// Output format of read commands.
    #[arg(
        short = 'o',
        long,
        global = true,
        value_enum,
        default_value_t = OutputFormat::Table
    )]
    pub output: OutputFormat,
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
pub struct Cli {
    /// Flags every verb takes.
    #[command(flatten)]
    pub globals: GlobalArgs,
    /// The verb.
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs of `wfctl`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List or describe the workflows the daemon discovered.
    #[command(subcommand)]
    Workflows(workflows::WorkflowsCommand),
    /// Start an execution of a workflow.
    Run(executions::RunArgs),
    /// Print the log of an execution (history, then live with -f).
    Logs(logs::LogsArgs),
    /// Show one execution with its phase/task/agent tree.
    Get(executions::GetArgs),
    /// List executions, newest first.
    List(executions::ListArgs),
    /// Cancel an execution (SIGTERM, then SIGKILL after the grace period).
    Cancel(executions::CancelArgs),
    /// Show the daemon's status: version, workers, queue, history counts.
    Status,
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
}

impl GlobalArgs {
    /// The daemon address: `--addr`, else `WORKFLOWD_ADDR`, else the
    /// deprecated `WFCTL_ADDR` (with a warning on stderr), else the default.
    pub fn daemon_addr(&self) -> String {
        client_addr::resolve(self.addr.as_deref(), |warning| {
            output::print_note(&format!("wfctl: warning: {warning}"));
        })
    }
}

/// A connection to the daemon plus what every command needs to print.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The daemon address as the user gave it (for error messages).
    pub addr: String,
    /// The gRPC client.
    pub client: WorkflowServiceClient<Channel>,
    /// The `--output` format.
    pub output: OutputFormat,
}

impl Ctx {
    /// Connects to the daemon; a failure is [`CliError::Unavailable`].
    pub async fn connect(globals: &GlobalArgs) -> Result<Ctx, CliError> {
        let addr = globals.daemon_addr().trim().to_string();
        let unavailable = |reason: String| CliError::Unavailable {
            addr: addr.clone(),
            reason,
        };
        let endpoint = client_addr::endpoint(&addr)
            .map_err(|e| CliError::Usage(e.to_string()))?
            .connect_timeout(Duration::from_secs(5));
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| unavailable(innermost_cause(&e)))?;
        Ok(Ctx {
            addr: addr.clone(),
            client: WorkflowServiceClient::new(channel),
            output: globals.output,
        })
    }

    /// Maps an error status of a call to a [`CliError`].
    pub fn status_error(&self, status: tonic::Status) -> CliError {
        CliError::from_status(status, &self.addr)
    }
}

/// The most specific message in an error's source chain ("Connection
/// refused (os error 111)" rather than "transport error").
pub(crate) fn innermost_cause(error: &dyn std::error::Error) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// What the command line asked for.
#[derive(Debug)]
pub enum Invocation {
    /// A native verb, parsed by clap.
    Native(Cli),
    /// A hyperctl form (`workflow ...` or `manifest ...`), parsed by hand.
    Hyperctl {
        /// Global flags given before the verb.
        globals: GlobalArgs,
        /// `workflow` or `manifest`.
        verb: String,
        /// Everything after the verb.
        args: Vec<String>,
    },
}

/// Parses the command line. On `Err` the process should exit with the code
/// (help and version were printed and give 0; usage errors give 2).
pub fn parse(args: Vec<OsString>) -> Result<Invocation, i32> {
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
        return match OnlyGlobals::try_parse_from(&args[..position]) {
            Ok(parsed) => Ok(Invocation::Hyperctl {
                globals: parsed.globals,
                verb,
                args: rest,
            }),
            Err(e) => {
                let _ = e.print();
                Err(e.exit_code())
            }
        };
    }
    match Cli::try_parse_from(args) {
        Ok(cli) => Ok(Invocation::Native(cli)),
        Err(e) => {
            let _ = e.print();
            Err(e.exit_code())
        }
    }
}

/// The index of `workflow` or `manifest` when it is the verb, i.e. when only
/// global flags come before it.
fn hyperctl_verb_position(args: &[OsString]) -> Option<usize> {
    let mut i = 1;
    while i < args.len() {
        let arg = args[i].to_str()?;
        match arg {
            "workflow" | "manifest" => return Some(i),
            "--addr" | "-o" | "--output" => i += 2,
            _ if arg.starts_with("--addr=") || arg.starts_with("--output=") => i += 1,
            _ if arg.starts_with("-o") && arg.len() > 2 => i += 1,
            _ => return None,
        }
    }
    None
}

/// Runs a parsed invocation and returns the exit code, reporting any error
/// on stderr.
pub async fn execute(invocation: Invocation) -> i32 {
    let result = match invocation {
        Invocation::Native(cli) => run_native(cli).await,
        Invocation::Hyperctl {
            globals,
            verb,
            args,
        } => hyperctl::run(&globals, &verb, &args).await,
    };
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            e.report();
            e.exit_code()
        }
    }
}

async fn run_native(cli: Cli) -> Result<(), CliError> {
    let globals = cli.globals;
    match cli.command {
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "wfctl", &mut std::io::stdout());
            Ok(())
        }
        Command::Workflow { args } => hyperctl::run(&globals, "workflow", &args).await,
        Command::Manifest { args } => hyperctl::run(&globals, "manifest", &args).await,
        // Commands that check their own arguments first connect themselves,
        // so a usage error is reported as one even when the daemon is down.
        Command::Run(args) => executions::run(&globals, args).await,
        Command::List(args) => executions::list(&globals, args).await,
        Command::Cancel(args) => executions::cancel(&globals, args).await,
        command => {
            let ctx = Ctx::connect(&globals).await?;
            match command {
                Command::Workflows(cmd) => workflows::run(&ctx, cmd).await,
                Command::Logs(args) => logs::run(&ctx, args).await,
                Command::Get(args) => executions::get(&ctx, args).await,
                Command::Status => status::run(&ctx).await,
                _ => unreachable!("handled above"),
            }
        }
    }
}

/// The whole of `wfctl`: parses `std::env::args_os()`, runs the command on
/// a Tokio runtime and returns the process exit code.
pub fn main() -> i32 {
    let invocation = match parse(std::env::args_os().collect()) {
        Ok(invocation) => invocation,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("wfctl: cannot start the async runtime: {e}");
            return exit::USAGE;
        }
    };
    runtime.block_on(execute(invocation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyperctl_verbs_are_found_after_global_flags_only() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            hyperctl_verb_position(&args(&["wfctl", "workflow", "-op", "list"])),
            Some(1)
        );
        assert_eq!(
            hyperctl_verb_position(&args(&["wfctl", "--addr", "x:1", "-o", "json", "manifest"])),
            Some(5)
        );
        assert_eq!(
            hyperctl_verb_position(&args(&["wfctl", "run", "workflow"])),
            None
        );
        assert_eq!(
            hyperctl_verb_position(&args(&["wfctl", "workflows", "list"])),
            None
        );
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
