//! What a program with limits sets up before its exec: joining its
//! control group, and the per-process CPU and open-file limits
//! (setrlimit).
//!
//! Done by `workflow-exec` ([`crate::exec_shim`]) when the daemon has it
//! next to its binary, so the spawn stays posix_spawn; otherwise in
//! std's `pre_exec`, which makes std fork the whole daemon (several times
//! the daemon's CPU per start: bench/limits.rs). Nothing at all when
//! there is nothing to set.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

use crate::program_limits::ProgramLimits;

/// What to set before the exec.
pub(super) struct StartSetup {
    /// cgroup.procs files to write "0" to.
    join: Vec<CString>,
    /// RLIMIT_CPU soft and hard, in seconds.
    cpu: Option<(u64, u64)>,
    /// RLIMIT_NOFILE.
    open_files: Option<u64>,
}

impl StartSetup {
    /// The setup for a run under `limits` that joins the control group
    /// through `join`.
    pub(super) fn new(limits: &ProgramLimits, join: Vec<CString>) -> Self {
        // A hard limit may not be raised by an unprivileged daemon: cap at
        // the daemon's own rather than fail every start.
        let capped = |resource: Resource, wanted: u64| {
            wanted.min(getrlimit(resource).maximum.unwrap_or(u64::MAX))
        };
        StartSetup {
            join,
            // SIGXCPU at the limit (whole seconds, rounded up), SIGKILL a
            // second later for a program that ignores it. The sampling
            // holds the group's total to the exact limit.
            cpu: limits.cpu_time_ms.map(|ms| {
                let secs = ms.div_ceil(1_000);
                (capped(Resource::Cpu, secs), capped(Resource::Cpu, secs + 1))
            }),
            open_files: limits
                .max_open_files
                .map(|files| capped(Resource::Nofile, files)),
        }
    }

    /// The command that starts `program` with `args` and this setup:
    /// through `shim` when there is one, else with a `pre_exec`.
    pub(super) fn command(self, shim: Option<&Path>, program: &str, args: &[String]) -> Command {
        let nothing_to_set =
            self.join.is_empty() && self.cpu.is_none() && self.open_files.is_none();
        match shim {
            _ if nothing_to_set => {
                let mut command = Command::new(program);
                command.args(args);
                command
            }
            Some(shim) => {
                let mut command = Command::new(shim);
                for file in &self.join {
                    command
                        .arg("--join")
                        .arg(OsStr::from_bytes(file.as_bytes()));
                }
                if let Some((soft, hard)) = self.cpu {
                    command.arg("--cpu").arg(format!("{soft}:{hard}"));
                }
                if let Some(files) = self.open_files {
                    command.arg("--nofile").arg(files.to_string());
                }
                command.arg("--").arg(program).args(args);
                command
            }
            None => {
                let mut command = Command::new(program);
                command.args(args);
                self.pre_exec(&mut command);
                command
            }
        }
    }

    /// Makes the forked child set it up itself before exec.
    fn pre_exec(self, command: &mut Command) {
        let set = move || -> rustix::io::Result<()> {
            for file in &self.join {
                let group = rustix::fs::open(
                    file.as_c_str(),
                    rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                )?;
                rustix::io::write(&group, b"0")?;
            }
            if let Some((soft, hard)) = self.cpu {
                setrlimit(
                    Resource::Cpu,
                    Rlimit {
                        current: Some(soft),
                        maximum: Some(hard),
                    },
                )?;
            }
            if let Some(files) = self.open_files {
                setrlimit(
                    Resource::Nofile,
                    Rlimit {
                        current: Some(files),
                        maximum: Some(files),
                    },
                )?;
            }
            Ok(())
        };
        // SAFETY: the closure runs in the forked child before exec, where
        // only async-signal-safe calls are allowed: it makes raw system
        // calls (open, write, close, setrlimit) and allocates nothing.
        unsafe {
            command.pre_exec(move || set().map_err(std::io::Error::from));
        }
    }
}
