//! The guardian: a small process the daemon starts once, which kills the
//! process groups of the programs still running when the daemon dies
//! (docs/security.md, "A daemon that dies").
//!
//! The daemon tells it each program's process group as the program
//! starts (`+PGID START_TICKS`) and when it is done with it (`-PGID
//! START_TICKS`: a new program given the same pid meanwhile keeps its
//! entry), one line each on the guardian's stdin. When the daemon dies, however
//! it dies (kill -9 included), the kernel closes that pipe; the guardian
//! reads its end and kills every group still listed, then exits.
//!
//! Why not a parent-death signal on each program (PR_SET_PDEATHSIG): it
//! has to be set between fork and exec, which costs every start either a
//! fork of the whole daemon or one more exec (bench/limits.rs measured
//! both at about half the throughput), and it reaches only the program,
//! not what the program started. A line on a pipe costs microseconds and
//! the guardian kills the whole group.
//!
//! The guardian is the daemon's own binary started under another name
//! (like the VM pipeline), in a process group of its own, so a Ctrl-C at
//! the daemon's terminal reaches the daemon only. It calls itself
//! `workflowd-guard` (its command name), so `pkill -x workflowd` does not
//! take it too, and ignores SIGTERM, SIGINT and SIGHUP (systemd's stop
//! signals the whole unit): it leaves only when the pipe closes.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use parking_lot::Mutex;
use rustix::process::Signal;

use crate::process::{kill_group, start_time_ticks};

/// The name the guardian is started under.
pub const GUARDIAN_NAME: &str = "workflowd-guardian";

/// Whether this process was started as the guardian.
pub fn started_as_guardian() -> bool {
    std::env::args_os()
        .next()
        .as_deref()
        .and_then(|program| Path::new(program).file_name())
        .is_some_and(|name| name == GUARDIAN_NAME)
}

/// The guardian's whole life: reads the daemon's lines until the pipe
/// closes, then kills the groups still listed. Returns the exit code.
pub fn main() -> i32 {
    let _ = rustix::thread::set_name(c"workflowd-guard");
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: setting a signal to be ignored runs no handler code.
        unsafe {
            libc::signal(signal, libc::SIG_IGN);
        }
    }
    let mut groups: HashMap<i32, u64> = HashMap::new();
    let stdin = std::io::stdin().lock();
    for line in stdin.lines() {
        let Ok(line) = line else { break };
        let mut words = line.get(1..).unwrap_or("").split(' ');
        let pgid = words.next().and_then(|w| w.parse::<i32>().ok());
        let ticks: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
        match (line.as_bytes().first(), pgid) {
            (Some(b'+'), Some(pgid)) => {
                groups.insert(pgid, ticks);
            }
            (Some(b'-'), Some(pgid)) => {
                if groups.get(&pgid) == Some(&ticks) {
                    groups.remove(&pgid);
                }
            }
            _ => eprintln!("{GUARDIAN_NAME}: ignoring {line:?}"),
        }
    }
    let mut killed = 0;
    for (pgid, ticks) in groups {
        // The same rule as the daemon's recovery: the leader is still our
        // program (alive, or a zombie nobody reaped), or gone (then the
        // kernel keeps the id reserved while the group has members).
        let leader_gone = !Path::new(&format!("/proc/{pgid}")).exists();
        if (leader_gone || start_time_ticks(pgid) == Some(ticks)) && kill_group(pgid, Signal::KILL)
        {
            killed += 1;
        }
    }
    if killed > 0 {
        eprintln!("{GUARDIAN_NAME}: the daemon died; killed the process groups of {killed} program(s) it was running");
    }
    0
}

/// The daemon's side: the running guardian and the pipe to it.
#[derive(Debug)]
pub struct Guardian {
    pipe: Mutex<Option<ChildStdin>>,
    child: Mutex<Child>,
}

impl Guardian {
    /// Starts the guardian from the daemon's own binary.
    pub fn start() -> std::io::Result<Guardian> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg0(GUARDIAN_NAME)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()?;
        let pipe = child.stdin.take();
        // Never block a runner on a guardian that stopped reading (a
        // debugger, SIGSTOP): a full pipe turns the guardian off instead.
        if let Some(pipe) = &pipe {
            let flags = rustix::fs::fcntl_getfl(pipe)?;
            rustix::fs::fcntl_setfl(pipe, flags | rustix::fs::OFlags::NONBLOCK)?;
        }
        Ok(Guardian {
            pipe: Mutex::new(pipe),
            child: Mutex::new(child),
        })
    }

    /// The program leading group `pgid`, started at `start_ticks`, is to
    /// be killed if the daemon dies.
    pub fn watch(&self, pgid: i32, start_ticks: Option<u64>) {
        self.send(&format!("+{pgid} {}\n", start_ticks.unwrap_or(0)));
    }

    /// Group `pgid`, started at `start_ticks`, is done with (reaped and
    /// killed).
    pub fn forget(&self, pgid: i32, start_ticks: Option<u64>) {
        self.send(&format!("-{pgid} {}\n", start_ticks.unwrap_or(0)));
    }

    /// Watches group `pgid` until the returned guard is dropped.
    pub fn guard(&self, pgid: i32, start_ticks: Option<u64>) -> GuardedGroup<'_> {
        self.watch(pgid, start_ticks);
        GuardedGroup {
            guardian: self,
            pgid,
            start_ticks,
        }
    }

    fn send(&self, line: &str) {
        let mut pipe = self.pipe.lock();
        let Some(writer) = pipe.as_mut() else {
            return;
        };
        // A line is far below PIPE_BUF: written whole or not at all.
        if let Err(e) = writer.write_all(line.as_bytes()) {
            // The guardian died or stopped reading: said once, then off.
            tracing::error!(error = %e, "the guardian is gone or stuck: programs will outlive a dead daemon until its next start");
            *pipe = None;
        }
    }
}

/// A group the guardian watches until this is dropped: drop it once the
/// group is reaped and killed.
#[derive(Debug)]
pub struct GuardedGroup<'a> {
    guardian: &'a Guardian,
    pgid: i32,
    start_ticks: Option<u64>,
}

impl Drop for GuardedGroup<'_> {
    fn drop(&mut self) {
        self.guardian.forget(self.pgid, self.start_ticks);
    }
}

impl Drop for Guardian {
    /// Closes the pipe (the guardian then exits, with nothing to kill
    /// after a clean shutdown) and reaps it.
    fn drop(&mut self) {
        self.pipe.lock().take();
        let _ = self.child.lock().wait();
    }
}
