//! `wfctl`: the command-line client of `workflowd`, in the style of
//! hyper2kvm's `hyperctl`. It talks to the daemon over gRPC only and never
//! reads the daemon's files or database. Its one public item is [`main`].
//!
//! The parts, as restate's and uv's CLIs have them: `args` is the command
//! line (clap definitions, help texts); one file per verb: `workflows`
//! (list, describe), `executions` (`run`, `get`, `list`, `cancel`, a file
//! each), `schedules` (`schedule create|update|list|describe|pause|
//! unpause|trigger|delete`, a file each), `webhooks` (`webhook add|list|
//! remove|deliveries|test`, a file each), `logs`, `status`, `hyperctl` (the
//! `workflow -op ...`, `manifest ...` and `schedules ...` forms, flags
//! parsed by `go_flags`), `manifests`
//! (validating and submitting hyper2kvm manifests), `manifest_builder`
//! (writing one: `manifest create` and `manifest generate`), `tui` (the
//! full-screen dashboard, a client of its own over the same API). Shared by the
//! verbs: `context` (the connection and the calls several verbs make),
//! `input` (what the user types, as request values), `follow` (the one
//! log-stream loop), `outcome` (whether a waited-on execution succeeded),
//! `error` (failures and exit codes) and `render`, where every message and
//! result is formatted (the interactive builder asks its questions itself,
//! and hyperctl's forms print its plain one-line answers). Verbs never
//! import each other, except that the hyperctl `manifest` and `schedules`
//! forms hand their work to `manifests`, `manifest_builder` and
//! `schedules`, whose forms they are. See docs/wfctl.md.

mod args;
mod context;
mod error;
mod executions;
mod follow;
mod go_flags;
mod hyperctl;
mod input;
mod logs;
mod manifest_builder;
mod manifests;
mod outcome;
mod render;
mod schedules;
mod status;
mod tokens;
mod tui;
mod webhooks;
mod workflows;

use clap::CommandFactory;

use self::{
    args::{Cli, Command, Invocation},
    context::Ctx,
    error::{exit, CliError},
};

/// The whole of `wfctl`: parses `std::env::args_os()`, runs the command on
/// a Tokio runtime and returns the process exit code.
pub fn main() -> i32 {
    let invocation = match args::parse(std::env::args_os().collect()) {
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

/// Runs a parsed invocation and returns the exit code, reporting any error
/// on stderr.
async fn execute(invocation: Invocation) -> i32 {
    let result = match invocation {
        Invocation::Native(cli) => run_native(*cli).await,
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

/// Routes a native verb to its file: every verb of [`Command`] is matched.
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
        Command::Schedules { args } => hyperctl::run(&globals, "schedules", &args).await,
        // Commands that check their own arguments first connect themselves,
        // so a usage error is reported as one even when the daemon is down.
        Command::Run(args) => executions::run::run(&globals, args).await,
        Command::List(args) => executions::list::run(&globals, args).await,
        Command::Cancel(args) => executions::cancel::run(&globals, args).await,
        Command::Schedule(command) => schedules::run(&globals, *command).await,
        Command::Webhook(command) => webhooks::run(&globals, command).await,
        Command::Token(command) => tokens::run(&globals, command).await,
        Command::Audit { limit } => tokens::audit(&Ctx::connect(&globals).await?, limit).await,
        Command::Workflows(command) => {
            workflows::run(&Ctx::connect(&globals).await?, command).await
        }
        Command::Logs(args) => logs::run(&Ctx::connect(&globals).await?, args).await,
        Command::Get(args) => executions::get::run(&Ctx::connect(&globals).await?, args).await,
        Command::Status { namespace } => {
            status::run(
                &Ctx::connect(&globals).await?,
                &namespace.unwrap_or_default(),
            )
            .await
        }
        Command::Drain { daemon_id } => {
            status::drain(
                &Ctx::connect(&globals).await?,
                &daemon_id.unwrap_or_default(),
            )
            .await
        }
        Command::Tui(args) => tui::run(&globals, args).await,
    }
}
