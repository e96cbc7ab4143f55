//! The runner's blocking waits: one `poll(2)` over the program's pipes,
//! its pidfd and the worker's wake-up, and, while the history's queue is
//! full, a wait on the runtime for room that a stop still interrupts.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Instant;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::oneshot;

use super::OutputPipe;
use crate::engine::active::ActiveExecution;
use crate::engine::Engine;
use crate::events::StopReason;
use crate::process::Wakeup;
use crate::store::WriteSlot;

/// Which of the things [`wait_for_any`] watches are ready.
pub(super) struct Ready {
    /// Stdout, stderr: readable or closed.
    pub(super) outputs: [bool; 2],
    /// The program has exited.
    pub(super) exited: bool,
}

/// Blocks until a pipe is readable (or closed), the program has exited
/// (`exit`, while it is watched), the worker is woken (a stop request) or
/// `deadline` passes.
pub(super) fn wait_for_any(
    outputs: &[OutputPipe; 2],
    exit: Option<&OwnedFd>,
    wake: &Wakeup,
    deadline: Option<Instant>,
) -> Result<Ready, String> {
    let readable = PollFlags::IN;
    let mut fds = Vec::with_capacity(4);
    // Which entry of `fds` each of stdout, stderr and the exit is.
    let mut slots = [None; 3];
    for (i, output) in outputs.iter().enumerate() {
        if let Some(pipe) = &output.pipe {
            slots[i] = Some(fds.len());
            fds.push(PollFd::from_borrowed_fd(pipe.as_fd(), readable));
        }
    }
    if let Some(exit) = exit {
        slots[2] = Some(fds.len());
        fds.push(PollFd::from_borrowed_fd(exit.as_fd(), readable));
    }
    let wake_slot = fds.len();
    fds.push(PollFd::from_borrowed_fd(wake.as_fd(), readable));
    // To the nanosecond (ppoll), so it never returns before the deadline
    // and spins.
    let timeout = deadline.map(|at| {
        let left = at.saturating_duration_since(Instant::now());
        Timespec {
            tv_sec: left.as_secs().try_into().unwrap_or(i64::MAX),
            tv_nsec: left.subsec_nanos().into(),
        }
    });
    let nothing = Ready {
        outputs: [false; 2],
        exited: false,
    };
    match poll(&mut fds, timeout.as_ref()) {
        Ok(_) => {}
        Err(rustix::io::Errno::INTR) => return Ok(nothing),
        Err(e) => return Err(format!("waiting for the program's output failed: {e}")),
    }
    let ready = |slot: Option<usize>| slot.is_some_and(|i| !fds[i].revents().is_empty());
    if ready(Some(wake_slot)) {
        // Non-blocking: a wake-up meant for an execution this thread ran
        // before is consumed here too, harmlessly.
        wake.consume();
    }
    Ok(Ready {
        outputs: [ready(slots[0]), ready(slots[1])],
        exited: ready(slots[2]),
    })
}

/// How a wait for room in the history's queue ended.
pub(super) enum HistoryWait {
    Room(WriteSlot),
    /// The program exited meanwhile.
    Exited,
    /// A stop request or the deadline.
    Interrupted,
}

/// Blocks until the history's queue has room (the common way out, while
/// a program floods faster than the history commits), the program exits
/// (`exit`, while it is watched), the worker is woken or `deadline`
/// passes: a stop is acted on even while the history cannot be written (a
/// full disk). It waits on the runtime, where the queue's room is
/// signalled.
pub(super) fn wait_for_history(
    engine: &Engine,
    execution: &ActiveExecution,
    exit: Option<&OwnedFd>,
    wake: &Wakeup,
    deadline: Option<Instant>,
) -> Result<HistoryWait, String> {
    engine.runtime.block_on(async {
        let exit = exit.map(|fd| watch(fd.as_fd())).transpose()?;
        let woken = watch(wake.as_fd())?;
        let exited = async {
            match &exit {
                Some(exit) => exit.readable().await.map(drop),
                None => std::future::pending().await,
            }
        };
        let deadline = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            slot = execution.writer.reserve() => slot.map(HistoryWait::Room).map_err(|e| e.to_string()),
            _ = exited => Ok(HistoryWait::Exited),
            _ = woken.readable() => {
                // Consumed, or the next wait would return at once again
                // while the history stays full.
                wake.consume();
                Ok(HistoryWait::Interrupted)
            }
            () = deadline => Ok(HistoryWait::Interrupted),
        }
    })
}

/// Watches `fd` for reading on the runtime, inside one `block_on`.
fn watch(fd: BorrowedFd<'_>) -> Result<AsyncFd<BorrowedFd<'_>>, String> {
    // SAFETY: a borrowed descriptor stays open, and the same, for as long
    // as the borrow, which outlives this AsyncFd (dropped at the end of
    // the block_on).
    unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
        .map_err(|e| format!("waiting for the history failed: {e}"))
}

/// Blocks until `committed` is signalled (None) or a stop is requested
/// (its reason): a stop is acted on even while the history cannot be
/// written (a full disk). A wake-up without a stop (one left from an
/// execution this thread ran before) waits on.
pub(super) fn wait_for_commit(
    engine: &Engine,
    execution: &ActiveExecution,
    committed: &mut oneshot::Receiver<()>,
    wake: &Wakeup,
) -> Result<Option<StopReason>, String> {
    let stopped = || "not started: its start could not be recorded in the history".to_string();
    match committed.try_recv() {
        Ok(()) => return Ok(None),
        Err(oneshot::error::TryRecvError::Closed) => return Err(stopped()),
        Err(oneshot::error::TryRecvError::Empty) => {}
    }
    loop {
        let done = engine.runtime.block_on(async {
            let woken = watch(wake.as_fd())?;
            tokio::select! {
                done = &mut *committed => done.map(|()| true).map_err(|_| stopped()),
                _ = woken.readable() => {
                    wake.consume();
                    Ok(false)
                }
            }
        })?;
        if done {
            return Ok(None);
        }
        if let Some(stop) = execution.control().stop {
            return Ok(Some(stop.reason));
        }
    }
}
