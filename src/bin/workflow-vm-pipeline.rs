//! `workflow-vm-pipeline`: runs one VM's conversion pipeline as a workflow
//! program (see `workflow_manager::vm` and docs/vm-pipeline.md).

use clap::Parser;
use workflow_manager::policy::WorkflowPolicy;
use workflow_manager::vm::{self, Args, Cancel};

fn main() {
    let args = Args::parse();
    if args.workflow_metadata {
        // Discovery passes the policy for the tool names; a run by hand
        // without one still gets the metadata.
        let policy = WorkflowPolicy::from_env().ok();
        let json = serde_json::to_string_pretty(&vm::metadata(policy.as_ref()))
            .expect("metadata serializes");
        println!("{json}");
        return;
    }
    let policy = match WorkflowPolicy::from_env() {
        Ok(policy) => policy,
        Err(e) => {
            eprintln!("workflow-vm-pipeline: {e}");
            std::process::exit(2);
        }
    };
    let options = match args.options(policy) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("workflow-vm-pipeline: cannot read the working directory: {e}");
            std::process::exit(1);
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
        vm::run(options, cancel).await
    });
    // Dropping the runtime would wait for the signal task; exit directly.
    std::process::exit(code);
}
