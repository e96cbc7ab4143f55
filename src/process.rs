//! Process-group signalling and identification of our own children, so the
//! daemon can stop a whole workflow tree and, after a crash, recognise the
//! orphans of its previous life without killing an unrelated process that
//! happens to reuse a pid.

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// Sends `signal` to the process group `pgid`. Returns false when the group
/// no longer exists.
pub fn kill_group(pgid: i32, signal: Signal) -> bool {
    if pgid <= 1 {
        // Never signal init's group or "every process" (-1) by mistake.
        return false;
    }
    killpg(Pid::from_raw(pgid), signal).is_ok()
}

/// The start time of a process in clock ticks since boot (field 22 of
/// /proc/PID/stat). Together with the pid it identifies a process across pid
/// reuse.
pub fn start_time_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses; the
    // fields after it start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the process `pid` is still the one that started at `start_ticks`
/// and is not a zombie.
pub fn is_same_live_process(pid: i32, start_ticks: u64) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(close) = stat.rfind(')') else {
        return false;
    };
    let mut fields = stat[close + 1..].split_whitespace();
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
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let rest = stat[stat.rfind(')')? + 1..].to_string();
                    let mut fields = rest.split_whitespace();
                    let state = fields.next()?;
                    let pgrp = fields.nth(1)?.parse::<i32>().ok()?;
                    Some(state != "Z" && pgrp == pgid)
                })
                .unwrap_or(false)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_start_time_is_readable_and_matches() {
        let me = std::process::id() as i32;
        let ticks = start_time_ticks(me).expect("own stat");
        assert!(is_same_live_process(me, ticks));
        assert!(!is_same_live_process(me, ticks + 1));
    }
}
