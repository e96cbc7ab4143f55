//! The program's `main`: shared by the `workflow-vm-pipeline` binary and by
//! `workflowd`, which carries the pipeline and runs it when it is started
//! under the pipeline's name (the bundled workflow link), so the daemon
//! binary alone is the whole product.

use tokio_util::sync::CancellationToken;

use super::{metadata, pipeline, Args};
use crate::policy::WorkflowPolicy;

/// Runs the program for `args` and returns its exit code.
pub fn main(args: Args) -> i32 {
    if args.workflow_metadata {
        // Discovery passes the policy for the tool names; a run by hand
        // without one still gets the metadata.
        let policy = WorkflowPolicy::from_env().ok();
        let json =
            serde_json::to_string_pretty(&metadata(policy.as_ref())).expect("metadata serializes");
        println!("{json}");
        return 0;
    }
    let policy = match WorkflowPolicy::from_env() {
        Ok(policy) => policy,
        Err(e) => {
            eprintln!("workflow-vm-pipeline: {e}");
            return 2;
        }
    };
    let options = match args.options(policy) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("workflow-vm-pipeline: cannot read the working directory: {e}");
            return 1;
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("start the tokio runtime");
    let code = runtime.block_on(async {
        // Installed before any child starts: a SIGTERM must never kill us
        // before the partial output is removed.
        let cancel = match cancel_on_signals() {
            Ok(cancel) => cancel,
            Err(e) => {
                eprintln!("workflow-vm-pipeline: cannot install signal handlers: {e}");
                return 1;
            }
        };
        pipeline::run(options, cancel).await
    });
    // Dropping the runtime would wait for the signal task: the caller exits
    // directly with the code instead.
    std::mem::forget(runtime);
    code
}

/// A token cancelled by the first SIGTERM or SIGINT: the daemon cancels an
/// execution by sending SIGTERM to its whole process group. Must be called
/// from within a tokio runtime, before any child is started.
fn cancel_on_signals() -> std::io::Result<CancellationToken> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        cancel.cancel();
        // Keep the handlers installed: a second signal must not kill us
        // half-way through the cleanup.
        loop {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
    });
    Ok(token)
}
