//! Runs one execution on a worker thread ([`super::workers`]): starts the
//! program in its own process group and working directory, reads stdout
//! and stderr line by line into the log, enforces the timeout, and stops
//! the group on request (SIGTERM, grace, SIGKILL).
//!
//! It is plain blocking code around one `poll(2)` over the two pipes, a
//! pidfd for the program's exit and the worker's wake-up eventfd (a stop
//! request): no task hand-offs between threads, no epoll registrations,
//! and the spawn's vfork wait (posix_spawn returns only once the child has
//! exec'd, which on a busy machine can be most of a short program's life)
//! stalls this thread instead of a runtime worker that the RPCs need. It
//! costs less CPU per run than a spawner built from async tasks; the
//! comparison that chose it is in the git history of bench/README.md.

mod limits;
mod output;
mod start;
mod wait;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use tokio::sync::oneshot;

use super::active::{ActiveExecution, Phase, ProgramLive, StopRequest};
use super::execution_log::Ending;
use super::Engine;
use crate::clock::now_ms;
use crate::events::{ExecutionState, Lifecycle, LogPayload, OutputStream, StopReason};
use crate::process::{kill_group, pidfd_of, SpawnClock, Wakeup};
use crate::program_limits::ProgramUsage;
use crate::program_trust;
use crate::store::ExecutionRecord;
use limits::LimitWatch;
use output::OutputPipe;
use start::StartSetup;
use wait::{wait_for_any, wait_for_commit, wait_for_history, HistoryWait};

/// How long output may keep arriving after the program exited before the
/// leftovers of its process group are killed.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

/// Most bytes taken from a pipe in one read: a whole pipe buffer, so a
/// program printing a flood is read in few system calls.
const READ_BYTES: usize = 64 * 1024;

/// Most lines emitted as one batch.
const MAX_BATCH: usize = 1024;

/// What a worker thread keeps from one execution to the next.
pub(super) struct WorkerKit {
    /// Where pipe reads land: allocated (and zeroed) once per thread, not
    /// twice per execution.
    read_buffer: Box<[u8]>,
    /// A stop request writes to it to wake the poll loop; it is lent to
    /// each execution the thread runs.
    wake: Arc<Wakeup>,
}

impl WorkerKit {
    pub(super) fn new() -> std::io::Result<Self> {
        Ok(WorkerKit {
            read_buffer: vec![0; READ_BYTES].into_boxed_slice(),
            wake: Arc::new(Wakeup::new()?),
        })
    }
}

/// An execution whose end is queued for the history but maybe not yet
/// committed.
pub(super) struct QueuedEnd {
    execution: Arc<ActiveExecution>,
    committed: Result<(oneshot::Receiver<()>, Option<ExecutionRecord>), String>,
}

impl QueuedEnd {
    /// Forgets the execution once its end is committed, so a reader finds
    /// it either active or finished in the history. Call after the worker
    /// is released: shutdown, woken by the forget, then sees the worker
    /// count without it.
    pub(super) fn forget_once_committed(self, engine: &Arc<Engine>) {
        let engine = engine.clone();
        engine.runtime.clone().spawn(async move {
            let QueuedEnd {
                execution,
                committed,
            } = self;
            let committed = match committed {
                Ok((committed, ended)) => committed
                    .await
                    .map(|()| ended)
                    .map_err(|_| "the history writer stopped".to_string()),
                Err(e) => Err(e),
            };
            match committed {
                Ok(ended) => {
                    if let Some(ended) = ended {
                        let _ = execution.ended.set(Arc::new(ended));
                    }
                    // Before the forget: a client that sees the end finds
                    // the run in the next estimate.
                    engine.remember_if_succeeded(&execution);
                }
                Err(e) => {
                    tracing::error!(execution = %execution.id, error = %e, "could not record the end of an execution")
                }
            }
            engine.forget(&execution);
        });
    }
}

/// Runs the execution to its end and queues the end for the history.
pub(super) fn run(
    engine: &Arc<Engine>,
    execution: Arc<ActiveExecution>,
    kit: &mut WorkerKit,
) -> QueuedEnd {
    let (last, ending) = match start_and_wait(engine, &execution, kit) {
        Ok(ran) => ran,
        Err(error) => (
            Vec::new(),
            Ending::without_exit(ExecutionState::Failed, error),
        ),
    };
    let run_dir = engine.run_dirs.path_of(&execution.id);
    // A program that died of a signal could not remove its partial files;
    // gone before the end is recorded, a client that saw the end never
    // finds them.
    let phase = execution.control().phase;
    if let (Some(_), Phase::Running { pid, .. }) = (ending.signal, phase) {
        engine.remove_leftovers_of(&execution.id.to_string(), pid, &run_dir);
    }
    // The process group is gone, so nothing writes in the directory any
    // more; retiring it before the end is recorded means a client that saw
    // the end finds the directory kept or recycled, never in between.
    engine.run_dirs.retire(&run_dir);
    let committed = engine
        .reserve_blocking(&execution.writer)
        .map(|slot| {
            execution
                .log()
                .queue_finish(slot, last, ending, execution.accepted.as_ref())
        })
        .map_err(|e| e.to_string());
    QueuedEnd {
        execution,
        committed,
    }
}

/// How an execution stopped before its program was spawned ends.
fn stopped_before_start(
    execution: &ActiveExecution,
    reason: StopReason,
) -> (Vec<LogPayload>, Ending) {
    let (state, error) = stopped(execution, reason);
    (
        Vec::new(),
        Ending::without_exit(state, format!("{error} (before the program started)")),
    )
}

/// Queues lines read for the history, in batches, while its queue has
/// room. Returns false when some are left because it has none.
fn record_output(execution: &ActiveExecution, read: &mut Vec<LogPayload>) -> bool {
    while !read.is_empty() {
        let slot = match execution.writer.try_reserve() {
            Ok(Some(slot)) => slot,
            Ok(None) => return false,
            Err(e) => {
                tracing::error!(execution = %execution.id, error = %e, lines = read.len(), "could not record program output");
                read.clear();
                break;
            }
        };
        let rest = read.split_off(read.len().min(MAX_BATCH));
        let batch = std::mem::replace(read, rest);
        execution.log().append(slot, batch);
    }
    true
}

/// Runs the program to its exit; returns the `exited` event and how the
/// execution ended.
fn start_and_wait(
    engine: &Arc<Engine>,
    execution: &Arc<ActiveExecution>,
    kit: &mut WorkerKit,
) -> Result<(Vec<LogPayload>, Ending), String> {
    let work_dir = engine.run_dirs.prepare(&execution.id).map_err(|e| {
        format!(
            "cannot create working directory {}: {e}",
            engine.run_dirs.path_of(&execution.id).display()
        )
    })?;
    let (program, args) = execution.argv.split_first().ok_or("empty argv")?;
    // A daemon that dies between the spawn and the `started` commit must
    // leave the execution to be INTERRUPTED at the next start, not run
    // again. The run directory just made tells a daemon on this host; on
    // a history another host may take over, RUNNING without a pid is
    // committed before the spawn (queued now, it commits meanwhile).
    let mut starting = if engine.config.running_committed_before_spawn {
        let slot = engine
            .reserve_blocking(&execution.writer)
            .map_err(|e| e.to_string())?;
        Some(execution.log().mark_starting(slot))
    } else {
        None
    };
    // Room for the `started` event is taken before the program starts: a
    // program whose start cannot be recorded (the history is stuck on a
    // full disk) is not started, and once started it is recorded at once.
    let slot = engine
        .reserve_blocking(&execution.writer)
        .map_err(|e| e.to_string())?;
    let live = ProgramLive::begin(engine, execution);
    // A stop that came while waiting for that room ends it unstarted. The
    // wake-up is lent in the same look, so a stop requested after it
    // wakes the poll loop below.
    let stop = {
        let mut control = execution.control();
        control.runner_wake = Some(kit.wake.clone());
        control.stop
    };
    if let Some(stop) = stop {
        return Ok(stopped_before_start(execution, stop.reason));
    }
    // Discovery checked it too, but the file may have changed hands since.
    program_trust::check(Path::new(program))
        .map_err(|why| format!("not started: {program}: {why}"))?;
    // A run with limits gets its control group, when the daemon has them,
    // before the spawn: the program joins it before exec.
    let cgroup = match &engine.config.cgroups {
        Some(cgroups) if execution.limits.needs_watch() => Some(
            cgroups
                .create(&execution.id.to_string(), &execution.limits)
                .map_err(|e| format!("not started: cannot create its control group: {e}"))?,
        ),
        _ => None,
    };
    let mut watch = LimitWatch::new(&execution.limits, cgroup);
    let mut command = StartSetup::new(
        &execution.limits,
        watch
            .as_ref()
            .map(LimitWatch::join_files)
            .unwrap_or_default(),
    )
    .command(engine.config.exec_shim.as_deref(), program, args);
    engine.config.program_env.apply(&mut command);
    if let Some(starting) = &mut starting {
        if let Some(reason) = wait_for_commit(engine, execution, starting, &kit.wake)? {
            return Ok(stopped_before_start(execution, reason));
        }
    }
    let clock = SpawnClock::before_spawn();
    let mut child = command
        .current_dir(&work_dir)
        .env("WORKFLOW_EXECUTION_ID", execution.id.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so cancel reaches every descendant and a Ctrl-C at
        // the daemon's terminal does not reach the workflow directly.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let pid = child.id() as i32;
    let start_ticks = clock.start_ticks_of(pid);
    // Killed by the guardian if the daemon dies before this is dropped,
    // at the end of this function, once the group is reaped and killed.
    let _guarded = engine
        .config
        .guardian
        .as_ref()
        .map(|guardian| guardian.guard(pid, start_ticks));
    let start_ms = now_ms();
    execution
        .log()
        .start(slot, pid, start_ms, start_ticks, execution.argv.clone());
    execution.control().phase = Phase::Running { pid, start_ms };
    let mut outputs = [
        OutputPipe::new(child.stdout.take().expect("piped"), OutputStream::Stdout),
        OutputPipe::new(child.stderr.take().expect("piped"), OutputStream::Stderr),
    ];
    let exit = match pidfd_of(pid) {
        Ok(exit) => exit,
        Err(e) => {
            // Not expected on Linux 5.3 or later; without a way to watch
            // the program it is not left running unseen.
            kill_group(pid, Signal::KILL);
            let _ = child.wait();
            return Err(format!("cannot watch the program (pidfd_open): {e}"));
        }
    };

    let timeout_at = execution.timeout.map(|t| Instant::now() + t);
    let mut kill_at: Option<Instant> = None;
    let mut stop_reason: Option<StopReason> = None;
    let mut killed = false;
    let mut status: Option<ExitStatus> = None;
    // Once the program is gone, anything left in its group (a backgrounded
    // grandchild) would be an orphan nobody watches: its output may drain
    // until this deadline, then what remains of the group is killed (a
    // no-op when it is empty).
    let mut drain_until: Option<Instant> = None;
    let mut live = Some(live);
    let mut read: Vec<LogPayload> = Vec::new();
    // The limit the program went over, once one is.
    let mut breach: Option<String> = None;
    let mut usage = None;
    let watched: Result<ExitStatus, String> = loop {
        let now = Instant::now();
        if status.is_none() {
            let stop = execution.control().stop;
            if let Some(stop) = stop {
                if stop_reason.is_none() {
                    stop_reason = Some(stop.reason);
                    begin_stop(execution, pid, stop, watch.as_ref());
                    if stop.force {
                        killed = true;
                    } else {
                        kill_at = Some(now + stop.grace);
                    }
                } else if stop.force && !killed {
                    kill(execution, pid, watch.as_ref());
                    killed = true;
                }
            }
            if !killed && kill_at.is_some_and(|at| now >= at) {
                kill(execution, pid, watch.as_ref());
                killed = true;
            }
            if stop_reason.is_none() && timeout_at.is_some_and(|at| now >= at) {
                let timeout = execution.timeout.unwrap_or_default();
                record(
                    execution,
                    LogPayload::Lifecycle(Lifecycle::TimedOut {
                        timeout_ms: timeout.as_millis() as u64,
                    }),
                );
                execution.request_stop(StopRequest {
                    reason: StopReason::Timeout,
                    grace: engine.config.default_grace_period,
                    force: false,
                });
                continue;
            }
            if stop_reason.is_none() {
                let output_bytes = outputs.iter().map(|output| output.bytes).sum();
                let over = watch
                    .as_mut()
                    .and_then(|watch| watch.check(pid, now))
                    .or_else(|| limits::output_breach(&execution.limits, output_bytes));
                if let Some(over) = over {
                    breach = Some(over);
                    // No grace: more of what broke the limit helps nobody.
                    execution.request_stop(StopRequest {
                        reason: StopReason::Limit,
                        grace: Duration::ZERO,
                        force: true,
                    });
                    continue;
                }
            }
        } else if live.is_some() {
            // What the program left in its group may still write: past the
            // drain deadline, or past the output limit, it is killed.
            let output_bytes = outputs.iter().map(|output| output.bytes).sum();
            let over = limits::output_breach(&execution.limits, output_bytes);
            if over.is_some() || drain_until.is_some_and(|until| now >= until) {
                breach = breach.or(over);
                kill_group(pid, Signal::KILL);
                if let Some(watch) = &watch {
                    watch.signal(Signal::KILL);
                }
                live = None;
            }
        }
        // Lines read but not yet queued hold the reading back: while the
        // history's queue is full, the pipes fill and the program waits,
        // and so does a flood, without the daemon's memory growing.
        let pipes_open = outputs.iter().any(|output| output.pipe.is_some());
        let ended = status.filter(|_| !pipes_open);
        // The last lines go with the end, in its one write: a short
        // program's log then costs the history one commit fewer.
        if let Some(exited) = ended.filter(|_| read.len() <= MAX_BATCH) {
            break Ok(exited);
        }
        let history_full = !record_output(execution, &mut read);
        if let Some(exited) = ended.filter(|_| read.is_empty()) {
            break Ok(exited);
        }

        let deadline = if status.is_none() {
            [
                kill_at.filter(|_| !killed),
                timeout_at.filter(|_| stop_reason.is_none()),
                watch
                    .as_ref()
                    .map(LimitWatch::next_sample)
                    .filter(|_| stop_reason.is_none()),
            ]
            .into_iter()
            .flatten()
            .min()
        } else {
            drain_until.filter(|_| live.is_some())
        };
        let exit_watch = status.is_none().then_some(&exit);
        let exited = if history_full {
            match wait_for_history(engine, execution, exit_watch, &kit.wake, deadline) {
                Err(e) => break Err(e),
                Ok(HistoryWait::Room(slot)) => {
                    let rest = read.split_off(read.len().min(MAX_BATCH));
                    execution
                        .log()
                        .append(slot, std::mem::replace(&mut read, rest));
                    false
                }
                Ok(HistoryWait::Exited) => true,
                Ok(HistoryWait::Interrupted) => false,
            }
        } else {
            let ready = match wait_for_any(&outputs, exit_watch, &kit.wake, deadline) {
                Ok(ready) => ready,
                Err(e) => break Err(e),
            };
            for (output, ready) in outputs.iter_mut().zip(ready.outputs) {
                if ready {
                    output.read(execution, &mut kit.read_buffer, &mut read);
                }
            }
            ready.exited
        };
        if exited {
            match limits::reap_with_usage(pid) {
                Ok((exited, used)) => {
                    status = Some(exited);
                    usage = Some(used);
                }
                Err(e) => break Err(format!("waiting for the program failed: {e}")),
            }
            drain_until = Some(Instant::now() + DRAIN_AFTER_EXIT);
        }
    };
    if live.is_some() {
        kill_group(pid, Signal::KILL);
    }
    let status = match watched {
        Ok(status) => status,
        Err(e) => {
            // The program can no longer be watched: it is not left running
            // unseen (the group was killed just above).
            if status.is_none() {
                let _ = child.wait();
            }
            return Err(e);
        }
    };
    drop(live);
    // Before the error is worked out from the tree: the last lines may say
    // why the program failed.
    execution.log().hold(read);

    let exit_code = status.code();
    let signal = status.signal();
    let last_error = execution.log().tree.last_error.clone();
    // The kernel may have enforced a limit itself (an OOM kill) before a
    // sample saw it.
    let mut usage: Option<ProgramUsage> = usage;
    if let (Some(watch), Some(usage)) = (&mut watch, &mut usage) {
        let enforced = watch.after_exit(usage);
        if breach.is_none() && stop_reason.is_none() && !status.success() {
            breach = enforced;
        }
    }
    let (state, error) = match (stop_reason, breach) {
        (Some(StopReason::Limit) | None, Some(breach)) => {
            (ExecutionState::Failed, format!("killed: {breach}"))
        }
        (Some(reason), _) => stopped(execution, reason),
        (None, _) if status.success() => (ExecutionState::Succeeded, String::new()),
        (None, _) => {
            let how = match (exit_code, signal) {
                (Some(code), _) => format!("exited with code {code}"),
                (None, Some(signal)) => format!("killed by signal {signal}"),
                (None, None) => format!("ended with {status}"),
            };
            let error = match (limits::signal_breach(&execution.limits, signal), last_error) {
                (Some(breach), _) => format!("killed: {breach}"),
                (None, Some(reported)) => format!("{how}: {reported}"),
                (None, None) => how,
            };
            (ExecutionState::Failed, error)
        }
    };
    Ok((
        vec![LogPayload::Lifecycle(Lifecycle::Exited {
            exit_code,
            signal,
        })],
        Ending {
            state,
            exit_code,
            signal,
            error,
            usage,
        },
    ))
}

/// The final state and error of an execution stopped for `reason`.
fn stopped(execution: &ActiveExecution, reason: StopReason) -> (ExecutionState, String) {
    match reason {
        StopReason::Client => (
            ExecutionState::Cancelled,
            "cancelled by a client".to_string(),
        ),
        StopReason::Timeout => (
            ExecutionState::TimedOut,
            format!(
                "timed out after {} s",
                execution.timeout.unwrap_or_default().as_secs_f64()
            ),
        ),
        StopReason::Shutdown => (
            ExecutionState::Interrupted,
            "interrupted: the daemon shut down".to_string(),
        ),
        // The runner says which limit when it stops for one.
        StopReason::Limit => (
            ExecutionState::Failed,
            "killed: a resource limit was reached".to_string(),
        ),
    }
}

/// Starts a stop: SIGTERM to the process group and the control group, or
/// a kill when forced.
fn begin_stop(
    execution: &ActiveExecution,
    pid: i32,
    stop: StopRequest,
    watch: Option<&LimitWatch>,
) {
    record(
        execution,
        LogPayload::Lifecycle(Lifecycle::CancelRequested {
            grace_ms: if stop.force {
                0
            } else {
                stop.grace.as_millis() as u64
            },
            force: stop.force,
            reason: stop.reason,
        }),
    );
    if stop.force {
        kill(execution, pid, watch);
    } else {
        kill_group(pid, Signal::TERM);
        if let Some(watch) = watch {
            watch.signal(Signal::TERM);
        }
    }
}

fn kill(execution: &ActiveExecution, pid: i32, watch: Option<&LimitWatch>) {
    kill_group(pid, Signal::KILL);
    if let Some(watch) = watch {
        watch.signal(Signal::KILL);
    }
    record(
        execution,
        LogPayload::Lifecycle(Lifecycle::Killed {
            signal: Signal::KILL.as_raw(),
        }),
    );
}

/// Records an event of the daemon's own without waiting for the history,
/// so a cancel, a kill or a timeout acts at once even while the history
/// cannot be written. A failure means the history writer is gone, which
/// only happens at the very end of shutdown, so it is logged, not
/// propagated.
fn record(execution: &ActiveExecution, payload: LogPayload) {
    if let Err(e) = execution.record_without_waiting(payload) {
        tracing::error!(execution = %execution.id, error = %e, "could not record a log event");
    }
}
