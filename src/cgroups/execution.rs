//! One execution's control group (in each v1 hierarchy, or in the unified
//! one): created with its limits before the spawn, joined by the program
//! itself between fork and exec (so not one of its forks happens
//! outside), sampled by the runner, emptied and removed at the end.

use std::ffi::CString;
use std::io::{Error, ErrorKind};
use std::path::{Path, PathBuf};

use rustix::process::{kill_process, Pid, Signal};

use super::{Controller, GroupDirs};
use crate::program_limits::ProgramLimits;

/// Rounds of SIGKILL to everything in the group before giving up.
const KILL_ROUNDS: usize = 100;

/// Tries to remove a group still busy, pausing from 0.1 ms doubling up to
/// 200 ms between them: about two seconds in all.
const REMOVE_TRIES: usize = 20;

/// One execution's group.
#[derive(Debug)]
pub struct ExecutionCgroup {
    dirs: GroupDirs,
}

/// What an execution's group holds and has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupSample {
    /// Tasks (processes and their threads) in it now (pids.current).
    pub tasks: u64,
    /// Forks the process limit refused (pids.events `max`).
    pub forks_refused: u64,
    /// Processes the kernel's OOM killer killed in it
    /// (memory.oom_control `oom_kill`), at its limit or for the machine.
    pub oom_kills: u64,
    /// Times its memory, or memory and swap, reached its limit
    /// (memory.failcnt, memory.memsw.failcnt).
    pub memory_limit_hits: u64,
    /// Its process limit (pids.max), when it has one.
    pub tasks_max: Option<u64>,
    /// The most memory charged to it at once, page cache included
    /// (memory.max_usage_in_bytes).
    pub memory_peak_bytes: u64,
    /// CPU time of everything that ran in it (cpuacct.usage), in ns.
    pub cpu_ns: u64,
}

impl ExecutionCgroup {
    /// The group at `dirs`, not created.
    pub(super) fn existing(dirs: GroupDirs) -> ExecutionCgroup {
        ExecutionCgroup { dirs }
    }

    /// Creates the group at `dirs` with `limits`; nothing is left behind
    /// when it fails.
    pub(super) fn create(
        dirs: GroupDirs,
        limits: &ProgramLimits,
    ) -> std::io::Result<ExecutionCgroup> {
        let group = ExecutionCgroup::existing(dirs);
        let made = group.make(limits);
        if made.is_err() {
            let _ = group.remove();
        }
        made.map(|()| group)
    }

    fn make(&self, limits: &ProgramLimits) -> std::io::Result<()> {
        for dir in self.dirs.dirs() {
            // v1: the daemon's own group too, for its first run with
            // limits (v2 made it at the daemon's start).
            match std::fs::create_dir_all(dir) {
                Err(e) if e.kind() != ErrorKind::AlreadyExists => {
                    return Err(with_path(e, dir));
                }
                _ => {}
            }
        }
        if let Some(max) = limits.max_processes {
            write(&self.file(Controller::Pids, "pids.max"), &max.to_string())?;
        }
        let Some(bytes) = limits.memory_bytes else {
            return Ok(());
        };
        match &self.dirs {
            GroupDirs::V1(_) => {
                write(
                    &self.file(Controller::Memory, "memory.limit_in_bytes"),
                    &bytes.to_string(),
                )?;
                // With swap accounting, memory and swap together get the
                // same limit, so a program cannot go past it by swapping.
                let with_swap = self.file(Controller::Memory, "memory.memsw.limit_in_bytes");
                if with_swap.exists() {
                    write(&with_swap, &bytes.to_string())?;
                }
            }
            GroupDirs::Unified(dir) => {
                write(&dir.join("memory.max"), &bytes.to_string())?;
                // v2 limits swap on its own: none, so that, as in v1,
                // memory and swap together stay within the limit.
                let swap = dir.join("memory.swap.max");
                if swap.exists() {
                    write(&swap, "0")?;
                }
                // An OOM kill takes the whole run, not one process of it
                // picked by the kernel: the run is over either way (Linux
                // 4.19; before, the runner kills the rest).
                let oom_group = dir.join("memory.oom.group");
                if oom_group.exists() {
                    write(&oom_group, "1")?;
                }
            }
        }
        Ok(())
    }

    /// The files a process writes "0" to, to join the group:
    /// cgroup.procs in each of its directories.
    pub fn join_files(&self) -> Vec<CString> {
        self.dirs
            .dirs()
            .filter_map(|dir| {
                CString::new(
                    dir.join("cgroup.procs")
                        .into_os_string()
                        .into_encoded_bytes(),
                )
                .ok()
            })
            .collect()
    }

    /// Reads what the group holds and has seen.
    pub fn sample(&self) -> CgroupSample {
        let number = |controller, name| {
            std::fs::read_to_string(self.file(controller, name))
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        // `key value` lines.
        let keyed = |controller, name, key: &str| {
            std::fs::read_to_string(self.file(controller, name))
                .ok()
                .and_then(|text| {
                    text.lines().find_map(|line| {
                        let (k, v) = line.split_once(' ')?;
                        (k == key).then(|| v.trim().parse::<u64>().ok())?
                    })
                })
                .unwrap_or(0)
        };
        let tasks = CgroupSample {
            tasks: number(Controller::Pids, "pids.current"),
            forks_refused: keyed(Controller::Pids, "pids.events", "max"),
            tasks_max: std::fs::read_to_string(self.file(Controller::Pids, "pids.max"))
                .ok()
                .and_then(|text| text.trim().parse().ok()),
            ..CgroupSample::default()
        };
        match self.dirs {
            GroupDirs::V1(_) => CgroupSample {
                oom_kills: keyed(Controller::Memory, "memory.oom_control", "oom_kill"),
                memory_limit_hits: number(Controller::Memory, "memory.failcnt")
                    + number(Controller::Memory, "memory.memsw.failcnt"),
                memory_peak_bytes: number(Controller::Memory, "memory.max_usage_in_bytes"),
                cpu_ns: number(Controller::Cpuacct, "cpuacct.usage"),
                ..tasks
            },
            GroupDirs::Unified(_) => CgroupSample {
                oom_kills: keyed(Controller::Memory, "memory.events", "oom_kill"),
                memory_limit_hits: keyed(Controller::Memory, "memory.events", "max"),
                // memory.peak is Linux 5.19's; before it, what is charged
                // now (the runner keeps the highest it sampled).
                memory_peak_bytes: match number(Controller::Memory, "memory.peak") {
                    0 => number(Controller::Memory, "memory.current"),
                    peak => peak,
                },
                cpu_ns: keyed(Controller::Cpuacct, "cpu.stat", "usage_usec").saturating_mul(1_000),
                ..tasks
            },
        }
    }

    /// Sends `signal` to every process in the group; returns how many.
    pub fn signal_all(&self, signal: Signal) -> usize {
        self.members()
            .into_iter()
            .filter(|pid| Pid::from_raw(*pid).is_some_and(|pid| kill_process(pid, signal).is_ok()))
            .count()
    }

    /// Kills everything in the group, forks made meanwhile included;
    /// returns how many processes were killed.
    pub fn kill_all(&self) -> usize {
        // v2 from Linux 5.14: the kernel kills them all at once, a fork
        // racing with it included. The rounds below then find none, or
        // those still exiting (signalling them again is harmless).
        if let GroupDirs::Unified(dir) = &self.dirs {
            let members = self.members().len();
            if std::fs::write(dir.join("cgroup.kill"), "1").is_ok() {
                self.signal_rounds();
                return members;
            }
        }
        self.signal_rounds()
    }

    /// SIGKILL to everything in the group, again until a round finds
    /// none: each round kills what the last one saw, and a process forked
    /// meanwhile is seen in the next. Returns how many were signalled.
    fn signal_rounds(&self) -> usize {
        let mut killed = 0;
        for _ in 0..KILL_ROUNDS {
            let round = self.signal_all(Signal::KILL);
            if round == 0 {
                break;
            }
            killed += round;
        }
        killed
    }

    /// Kills what is left and removes the group's directories.
    pub fn remove(&self) -> std::io::Result<()> {
        self.kill_all();
        let mut first_error = None;
        for dir in self.dirs.dirs() {
            // A process killed just now may still be exiting (freeing a
            // large memory takes a while): tries with a growing pause, for
            // about two seconds in all.
            let mut result = Ok(());
            let mut pause = std::time::Duration::from_micros(100);
            for _ in 0..REMOVE_TRIES {
                result = std::fs::remove_dir(dir);
                match &result {
                    Err(e) if e.raw_os_error() == Some(rustix::io::Errno::BUSY.raw_os_error()) => {
                        self.kill_all();
                        std::thread::sleep(pause);
                        pause = (pause * 2).min(std::time::Duration::from_millis(200));
                    }
                    _ => break,
                }
            }
            match result {
                Err(e) if e.kind() != ErrorKind::NotFound => {
                    first_error.get_or_insert(with_path(e, dir));
                }
                _ => {}
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Pids in the group.
    fn members(&self) -> Vec<i32> {
        std::fs::read_to_string(self.file(Controller::Pids, "cgroup.procs"))
            .map(|text| text.lines().filter_map(|l| l.trim().parse().ok()).collect())
            .unwrap_or_default()
    }

    /// The file `name` of `controller` (v2: all in the one directory).
    fn file(&self, controller: Controller, name: &str) -> PathBuf {
        match &self.dirs {
            GroupDirs::V1(dirs) => dirs
                .iter()
                .find(|(c, _)| *c == controller)
                .map(|(_, dir)| dir.join(name))
                .expect("a group in every hierarchy"),
            GroupDirs::Unified(dir) => dir.join(name),
        }
    }
}

fn write(path: &Path, value: &str) -> std::io::Result<()> {
    std::fs::write(path, value).map_err(|e| with_path(e, path))
}

fn with_path(e: Error, path: &Path) -> Error {
    Error::new(e.kind(), format!("{}: {e}", path.display()))
}
