//! The runner's side of [`crate::program_limits`] while a program runs:
//! the sampling against the memory, process and CPU limits, and the
//! reaping that reads what the run used (what is set before the exec is
//! in `start.rs`).
//!
//! With a control group ([`crate::cgroups`]) the kernel holds the run to
//! its process and memory limits, and the sampling only reads what it
//! did. Without one, a watch of the process group is what can hold a
//! whole tree to a limit: setrlimit binds each process alone, and
//! RLIMIT_NPROC counts every process of the user (and nothing for root).
//! Sampling every [`WATCH_INTERVAL`] lets a fast allocator or a fork bomb
//! overshoot for that long, or longer on a machine it keeps busy, before
//! the group is killed; docs/security.md says so.

use std::ffi::CString;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::cgroups::{CgroupSample, ExecutionCgroup};
use crate::process::{clock_ticks_per_second, group_usage};
use crate::program_limits::{ProgramLimits, ProgramUsage};

/// How often a watched group is sampled.
pub(super) const WATCH_INTERVAL: Duration = Duration::from_millis(50);

/// Samples a run with limits: its control group, or else its process
/// group. Removes the control group when dropped.
pub(super) struct LimitWatch {
    limits: ProgramLimits,
    cgroup: Option<ExecutionCgroup>,
    next_sample: Instant,
    peak_resident_bytes: u64,
    cpu_ms: u64,
    ticks_per_second: u64,
}

impl LimitWatch {
    /// A watch when `limits` has something to watch, of `cgroup` when the
    /// run has one.
    pub(super) fn new(
        limits: &ProgramLimits,
        cgroup: Option<ExecutionCgroup>,
    ) -> Option<LimitWatch> {
        limits.needs_watch().then(|| LimitWatch {
            limits: *limits,
            cgroup,
            next_sample: Instant::now(),
            peak_resident_bytes: 0,
            cpu_ms: 0,
            ticks_per_second: clock_ticks_per_second().unwrap_or(100),
        })
    }

    /// The files the program writes to, to join its control group.
    pub(super) fn join_files(&self) -> Vec<CString> {
        self.cgroup
            .as_ref()
            .map(ExecutionCgroup::join_files)
            .unwrap_or_default()
    }

    /// Sends `signal` to the processes of the control group, those that
    /// left the process group included.
    pub(super) fn signal(&self, signal: Signal) {
        if let Some(cgroup) = &self.cgroup {
            cgroup.signal_all(signal);
        }
    }

    /// Once the program has exited: the limit the kernel enforced, if it
    /// did (an OOM kill at the memory limit, a fork refused at the process
    /// limit), and the usage the control
    /// group counted, folded into `usage`.
    pub(super) fn after_exit(&mut self, usage: &mut ProgramUsage) -> Option<String> {
        usage.peak_memory_bytes = Some(self.peak_resident_bytes);
        usage.cpu_time_ms = usage.cpu_time_ms.max(self.cpu_ms);
        let sample = self.cgroup.as_ref()?.sample();
        usage.peak_memory_bytes = Some(self.peak_resident_bytes.max(sample.memory_peak_bytes));
        usage.cpu_time_ms = usage.cpu_time_ms.max(sample.cpu_ns / 1_000_000);
        self.kernel_breach(&sample)
    }

    /// What the kernel enforced in the control group, blamed on this
    /// run's limit only when it has one and reached it: an OOM kill for
    /// the machine, or a fork refused at a parent group's limit (systemd's
    /// TasksMax), is said as such.
    fn kernel_breach(&self, sample: &CgroupSample) -> Option<String> {
        if sample.oom_kills > 0 {
            return Some(match self.limits.memory_bytes {
                // With memory and swap limited together this kernel counts
                // no failures; a peak at the limit says the same.
                Some(max) if sample.memory_limit_hits > 0 || sample.memory_peak_bytes >= max => {
                    format!(
                        "memory limit reached: the kernel's OOM killer stopped a process at the {} limit",
                        mebibytes(max)
                    )
                }
                _ => "the kernel's OOM killer stopped a process (the machine, or a group above \
                      this run's, ran out of memory)"
                    .to_string(),
            });
        }
        if sample.forks_refused > 0 {
            return Some(match (self.limits.max_processes, sample.tasks_max) {
                (Some(max), Some(tasks_max)) if u64::from(max) == tasks_max => format!(
                    "process limit reached: a fork was refused at {max} (pids.max; threads count too)"
                ),
                _ => "a fork was refused by a process limit above this run's (such as systemd's \
                      TasksMax)"
                    .to_string(),
            });
        }
        None
    }

    /// When the next sample is due.
    pub(super) fn next_sample(&self) -> Instant {
        self.next_sample
    }

    /// Samples the group led by `pgid` when a sample is due; returns what
    /// it went over, if anything.
    pub(super) fn check(&mut self, pgid: i32, now: Instant) -> Option<String> {
        if now < self.next_sample {
            return None;
        }
        self.next_sample = now + WATCH_INTERVAL;
        if let Some(cgroup) = &self.cgroup {
            let sample = cgroup.sample();
            self.peak_resident_bytes = self.peak_resident_bytes.max(sample.memory_peak_bytes);
            self.cpu_ms = sample.cpu_ns / 1_000_000;
            return self.kernel_breach(&sample).or_else(|| self.cpu_breach());
        }
        let usage = group_usage(pgid);
        self.peak_resident_bytes = self.peak_resident_bytes.max(usage.resident_bytes);
        if let Some(max) = self.limits.memory_bytes {
            if usage.resident_bytes > max {
                return Some(format!(
                    "memory limit reached: {} resident in {} process(es), limit {}",
                    mebibytes(usage.resident_bytes),
                    usage.processes,
                    mebibytes(max)
                ));
            }
        }
        if let Some(max) = self.limits.max_processes {
            if usage.processes > max {
                return Some(format!(
                    "process limit reached: {} processes, limit {max}",
                    usage.processes
                ));
            }
        }
        self.cpu_ms = usage.cpu_ticks.saturating_mul(1_000) / self.ticks_per_second;
        self.cpu_breach()
    }

    fn cpu_breach(&self) -> Option<String> {
        let max_ms = self.limits.cpu_time_ms?;
        (self.cpu_ms > max_ms).then(|| {
            format!(
                "CPU time limit reached: {:.2} s used, limit {:.2} s",
                self.cpu_ms as f64 / 1_000.0,
                max_ms as f64 / 1_000.0
            )
        })
    }
}

impl Drop for LimitWatch {
    fn drop(&mut self) {
        if let Some(cgroup) = &self.cgroup {
            if let Err(e) = cgroup.remove() {
                tracing::warn!(error = %e, "could not remove an execution's control group");
            }
        }
    }
}

/// What the output limit says about `bytes` written so far.
pub(super) fn output_breach(limits: &ProgramLimits, bytes: u64) -> Option<String> {
    let max = limits.max_output_bytes?;
    (bytes > max).then(|| format!("output limit reached: more than {max} bytes written"))
}

/// What a program killed by `signal` under `limits` ran into, when the
/// kernel enforced it: SIGXCPU at RLIMIT_CPU, one process's CPU time.
pub(super) fn signal_breach(limits: &ProgramLimits, signal: Option<i32>) -> Option<String> {
    let cpu_ms = limits.cpu_time_ms?;
    (signal == Some(Signal::XCPU.as_raw())).then(|| {
        format!(
            "CPU time limit reached: one process used {} s (RLIMIT_CPU, the {:.2} s limit in \
             whole seconds; SIGXCPU)",
            cpu_ms.div_ceil(1_000),
            cpu_ms as f64 / 1_000.0
        )
    })
}

/// Reaps the child `pid`, which must be ours and not yet reaped, with
/// what it and the descendants it waited for used. std's `Child::wait`
/// does not return the rusage of wait4(2).
pub(super) fn reap_with_usage(pid: i32) -> std::io::Result<(ExitStatus, ProgramUsage)> {
    let mut status = 0;
    // SAFETY: rusage is plain old data; all zeroes is a valid value.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to locals that outlive the call.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut rusage) };
        if reaped == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    let ms = |t: libc::timeval| t.tv_sec.max(0) as u64 * 1_000 + t.tv_usec.max(0) as u64 / 1_000;
    Ok((
        ExitStatus::from_raw(status),
        ProgramUsage {
            // Not ru_maxrss: a vfork'd child takes its parent's peak at
            // exec. Measured by the limit watch, when there is one.
            peak_memory_bytes: None,
            cpu_time_ms: ms(rusage.ru_utime) + ms(rusage.ru_stime),
        },
    ))
}

fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
