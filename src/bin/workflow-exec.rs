//! `workflow-exec`: sets up the start of a workflow program with resource
//! limits (its control group, setrlimit), then execs it. Started by the
//! daemon; see `workflow_manager::exec_shim`.

fn main() {
    std::process::exit(workflow_manager::exec_shim::main(
        std::env::args_os().skip(1).collect(),
    ));
}
