//! `wfctl`: the command-line client of the workflow daemon. All behaviour
//! lives in `workflow_manager::cli`; this binary only runs it.

fn main() {
    // Like other Unix tools, end quietly when the reader of stdout goes
    // away (`wfctl logs ID | head`) instead of failing on every write.
    // SAFETY: restoring the default disposition at start-up, before any
    // other thread exists. (libc: rustix has no signal dispositions.)
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(workflow_manager::cli::main());
}
