//! `workflow-exec`: sets up a workflow program's start (control group,
//! parent-death signal, limits), then execs it. Started by the daemon;
//! see `workflow_manager::exec_shim`.

fn main() {
    std::process::exit(workflow_manager::exec_shim::main(
        std::env::args_os().skip(1).collect(),
    ));
}
