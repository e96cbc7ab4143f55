//! `wfctl`: the command-line client of the workflow daemon. All behaviour
//! lives in `workflow_manager::cli`; this binary only runs it.

use nix::sys::signal::{signal, SigHandler, Signal};

fn main() {
    // Like other Unix tools, end quietly when the reader of stdout goes
    // away (`wfctl logs ID | head`) instead of failing on every write.
    // SAFETY: restoring the default disposition at start-up, before any
    // other thread exists.
    unsafe {
        let _ = signal(Signal::SIGPIPE, SigHandler::SigDfl);
    }
    std::process::exit(workflow_manager::cli::main());
}
