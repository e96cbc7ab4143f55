//! The program's `main`: shared by the `workflow-vm-pipeline` binary and by
//! `workflowd`, which carries the pipeline and runs it when it is started
//! under the pipeline's name (the bundled workflow link), so the daemon
//! binary alone is the whole product.

use super::{metadata, run, Args, Cancel};
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
        let cancel = match Cancel::on_signals() {
            Ok(cancel) => cancel,
            Err(e) => {
                eprintln!("workflow-vm-pipeline: cannot install signal handlers: {e}");
                return 1;
            }
        };
        run(options, cancel).await
    });
    // Dropping the runtime would wait for the signal task: the caller exits
    // directly with the code instead.
    std::mem::forget(runtime);
    code
}
