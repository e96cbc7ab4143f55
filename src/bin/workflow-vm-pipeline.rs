//! `workflow-vm-pipeline`: runs one VM's conversion pipeline as a workflow
//! program (see `workflow_manager::vm` and docs/vm-pipeline.md). `workflowd`
//! carries the same program; this binary is for running it on its own.

use clap::Parser;
use workflow_manager::vm::{program, Args};

fn main() {
    std::process::exit(program::main(Args::parse()));
}
