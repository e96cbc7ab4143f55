//! The workflow daemon. All behaviour lives in the library; this binary
//! parses flags, sets up logging and runs until SIGTERM or SIGINT. Started
//! under the VM pipeline's name (the link the daemon puts among its bundled
//! workflows), it is that program instead.

use std::io::Write;

use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};
use workflow_manager::bundled;
use workflow_manager::config::{Config, DaemonArgs};
use workflow_manager::vm;

fn main() -> anyhow::Result<()> {
    if workflow_manager::guardian::started_as_guardian() {
        std::process::exit(workflow_manager::guardian::main());
    }
    if bundled::started_as_vm_pipeline() {
        std::process::exit(vm::program::main(vm::Args::parse()));
    }
    let args = DaemonArgs::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WORKFLOWD_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr);
    match args.log_format.as_deref().map(str::trim) {
        None | Some("text") => logs.init(),
        Some("json") => logs.json().init(),
        Some(other) => {
            eprintln!("workflowd: setting log_format: {other:?} is not \"text\" or \"json\"");
            std::process::exit(2);
        }
    }
    let config = match Config::load(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("workflowd: {e}");
            std::process::exit(2);
        }
    };
    if args.print_config {
        println!("{config:#?}");
        return Ok(());
    }
    if let Some(file) = &args.import_history {
        print!(
            "{}",
            workflow_manager::daemon::import_history(&config, file)?
        );
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let shutdown = async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
        };
        workflow_manager::daemon::run(config, shutdown, |serving_on| {
            // The one line on stdout: scripts and tests wait for it.
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "listening on {serving_on}");
            let _ = stdout.flush();
        })
        .await?;
        Ok(())
    })
}
