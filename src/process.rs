//! Process-group signalling and identification of our own children, so the
//! daemon can stop a whole workflow tree and, after a crash, recognise the
//! orphans of its previous life without killing an unrelated process that
//! happens to reuse a pid.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::event::{eventfd, EventfdFlags};
use rustix::process::{kill_process_group, Pid, Signal};
use rustix::time::{clock_gettime, ClockId};

/// Sends `signal` to the process group `pgid`. Returns false when the group
/// no longer exists.
pub fn kill_group(pgid: i32, signal: Signal) -> bool {
    if pgid <= 1 {
        // Never signal init's group or "every process" (-1) by mistake.
        return false;
    }
    Pid::from_raw(pgid).is_some_and(|group| kill_process_group(group, signal).is_ok())
}

/// A wake-up for a thread blocked in poll(2) (an eventfd): one thread
/// signals it, the polling one sees it readable and consumes it.
#[derive(Debug)]
pub struct Wakeup(OwnedFd);

impl Wakeup {
    /// A new wake-up, not signalled.
    pub fn new() -> std::io::Result<Self> {
        Ok(Wakeup(eventfd(
            0,
            EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK,
        )?))
    }

    /// Makes it readable until consumed. Only fails when the counter would
    /// overflow, and then it is readable anyway.
    pub fn signal(&self) {
        let _ = rustix::io::write(&self.0, &1u64.to_ne_bytes());
    }

    /// Consumes every signal so far. Non-blocking: nothing to consume is
    /// fine.
    pub fn consume(&self) {
        let mut count = [0u8; 8];
        let _ = rustix::io::read(&self.0, &mut count);
    }
}

impl AsFd for Wakeup {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// A pidfd for the child `pid`: it polls readable once the child has
/// exited. Safe from pid reuse as long as the child is not reaped yet.
pub fn pidfd_of(pid: i32) -> std::io::Result<OwnedFd> {
    let pid =
        Pid::from_raw(pid).ok_or_else(|| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    Ok(rustix::process::pidfd_open(
        pid,
        rustix::process::PidfdFlags::empty(),
    )?)
}

/// /proc/PID/stat from field 3 (the state) on, so that field N is word
/// N - 3 of it. The command name before it (field 2) may contain spaces
/// and parentheses, so the fields after it start after the last ')'.
pub fn stat_from_state(pid: i32) -> Option<String> {
    let mut stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let end = stat.rfind(')')?;
    stat.drain(..=end);
    Some(stat)
}

/// Clock ticks per second (USER_HZ), the unit of times in /proc/PID/stat.
pub fn clock_ticks_per_second() -> Option<u64> {
    Some(rustix::param::clock_ticks_per_second()).filter(|&hz| hz > 0)
}

/// The start time of a process in clock ticks since boot (field 22 of
/// /proc/PID/stat). Together with the pid it identifies a process across pid
/// reuse.
pub fn start_time_ticks(pid: i32) -> Option<u64> {
    stat_from_state(pid)?
        .split_whitespace()
        .nth(22 - 3)?
        .parse()
        .ok()
}

/// Reads the boot-time clock around a spawn to learn the child's start time
/// without reading /proc.
///
/// The kernel stamps a process's start time (`start_boottime`, reported in
/// /proc/PID/stat in whole clock ticks) while forking it, so it lies between
/// a reading of CLOCK_BOOTTIME taken before the spawn and one taken after.
/// When both readings fall in the same tick, that tick is the child's start
/// time, exactly. Only when they straddle a tick boundary (10 ms) is /proc
/// read, which costs an open, a few reads and a close, plus the kernel's
/// clean-up of the /proc entries it instantiated when the child is reaped.
/// On an idle machine a spawn returns within a fraction of a millisecond,
/// so straddling is rare; with both cores busy, posix_spawn returns only
/// when the spawning thread is scheduled again after the child's exec,
/// which can take a sizeable part of a tick, and straddling is common
/// enough that the exact case is worth having.
#[derive(Debug, Clone, Copy)]
pub struct SpawnClock {
    before: Option<u64>,
}

impl SpawnClock {
    /// Reads the clock; call right before spawning.
    pub fn before_spawn() -> SpawnClock {
        SpawnClock {
            before: boot_time_ticks(),
        }
    }

    /// The start time of `pid`, spawned since [`SpawnClock::before_spawn`],
    /// in the clock ticks of [`start_time_ticks`]; call right after the spawn.
    pub fn start_ticks_of(self, pid: i32) -> Option<u64> {
        match (self.before, boot_time_ticks()) {
            (Some(before), Some(after)) if before == after => Some(before),
            _ => start_time_ticks(pid),
        }
    }
}

/// CLOCK_BOOTTIME in clock ticks (USER_HZ), rounded down as the kernel
/// rounds start times in /proc/PID/stat.
fn boot_time_ticks() -> Option<u64> {
    static NANOS_PER_TICK: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    let nanos_per_tick = (*NANOS_PER_TICK.get_or_init(|| {
        // The kernel divides exactly only when USER_HZ divides a second.
        clock_ticks_per_second()
            .filter(|&hz| 1_000_000_000 % hz == 0)
            .map(|hz| 1_000_000_000 / hz)
    }))?;
    let now = clock_gettime(ClockId::Boottime);
    let nanos = u64::try_from(now.tv_sec).ok()? * 1_000_000_000 + now.tv_nsec as u64;
    Some(nanos / nanos_per_tick)
}

/// Whether the process `pid` is still the one that started at `start_ticks`
/// and is not a zombie.
pub fn is_same_live_process(pid: i32, start_ticks: u64) -> bool {
    let Some(stat) = stat_from_state(pid) else {
        return false;
    };
    let mut fields = stat.split_whitespace();
    let state = fields.next();
    let started = fields.nth(18).and_then(|t| t.parse::<u64>().ok());
    state != Some("Z") && started == Some(start_ticks)
}

/// Pids of every live process in the process group `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            stat_from_state(*pid)
                .and_then(|stat| {
                    let mut fields = stat.split_whitespace();
                    let state = fields.next()?;
                    let pgrp = fields.nth(1)?.parse::<i32>().ok()?;
                    Some(state != "Z" && pgrp == pgid)
                })
                .unwrap_or(false)
        })
        .collect()
}

/// What the live processes of one process group hold right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupUsage {
    /// Live (not zombie) members.
    pub processes: u32,
    /// Their resident memory together, in bytes.
    pub resident_bytes: u64,
    /// Their CPU time together, with that of the children they reaped, in
    /// clock ticks.
    pub cpu_ticks: u64,
}

/// Sums up the live members of the process group `pgid` from /proc: one
/// read of /proc/PID/stat per process on the machine.
pub fn group_usage(pgid: i32) -> GroupUsage {
    let mut usage = GroupUsage::default();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return usage;
    };
    let page_bytes = rustix::param::page_size() as u64;
    for pid in entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
    {
        let Some(stat) = stat_from_state(pid) else {
            continue;
        };
        // Word N - 3 is field N of proc_pid_stat(5): 3 state, 5 pgrp,
        // 14-17 utime, stime, cutime, cstime, 24 rss (pages).
        let words: Vec<&str> = stat.split_whitespace().take(22).collect();
        let number = |field: usize| words.get(field - 3).and_then(|w| w.parse::<u64>().ok());
        if words.first() == Some(&"Z") || number(5) != Some(pgid as u64) {
            continue;
        }
        usage.processes += 1;
        usage.resident_bytes += number(24).unwrap_or(0) * page_bytes;
        usage.cpu_ticks += (14..=17).filter_map(number).sum::<u64>();
    }
    usage
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;

    use super::*;

    #[test]
    fn a_group_of_sleepers_is_counted_with_its_memory() {
        let mut children: Vec<_> = (0..3)
            .map(|_| {
                std::process::Command::new("sleep")
                    .arg("30")
                    .process_group(0)
                    .spawn()
                    .expect("spawn sleep")
            })
            .collect();
        // Each leads its own group: one member each. A process just past
        // exec may not have its resident pages counted yet (the kernel
        // folds per-thread counters into the total lazily), so wait for the
        // count rather than read it once.
        let pgid = children[0].id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let usage = loop {
            let usage = group_usage(pgid);
            if usage.resident_bytes > 0 || std::time::Instant::now() > deadline {
                break usage;
            }
            std::thread::yield_now();
        };
        assert_eq!(usage.processes, 1);
        assert!(usage.resident_bytes > 0, "{usage:?}");
        for child in &mut children {
            child.kill().expect("kill");
            child.wait().expect("reap");
        }
        assert_eq!(group_usage(children[0].id() as i32).processes, 0);
    }

    #[test]
    fn our_own_start_time_is_readable_and_matches() {
        let me = std::process::id() as i32;
        let ticks = start_time_ticks(me).expect("own stat");
        assert!(is_same_live_process(me, ticks));
        assert!(!is_same_live_process(me, ticks + 1));
    }

    #[test]
    fn the_clock_bracket_gives_the_start_time_proc_reports() {
        let mut from_clock = 0;
        for _ in 0..50 {
            let clock = SpawnClock::before_spawn();
            let mut child = std::process::Command::new("sleep")
                .arg("5")
                .spawn()
                .expect("spawn sleep");
            let pid = child.id() as i32;
            let bracketed = clock.start_ticks_of(pid);
            let read = start_time_ticks(pid);
            if clock.before == boot_time_ticks() {
                from_clock += 1;
            }
            child.kill().expect("kill");
            child.wait().expect("reap");
            assert!(read.is_some());
            assert_eq!(bracketed, read, "spawn {pid}");
        }
        // Most spawns fit in one tick, so the bracket itself was tested.
        assert!(from_clock > 25, "only {from_clock} of 50 bracketed");
    }
}
