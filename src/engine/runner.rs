//! Runs one execution: starts the program in its own process group and
//! working directory, reads stdout and stderr line by line into the log,
//! enforces the timeout, and stops the group on request (SIGTERM, grace,
//! SIGKILL).

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::io::AsyncRead;
use tokio::time::Instant;

use super::line_reader::{LineReader, MAX_LINE_BYTES};
use super::{ActiveExecution, Ending, Engine, Phase, ProgramLive, StopRequest};
use crate::clock::now_ms;
use crate::events::{
    classify_line, ExecutionState, Lifecycle, LogPayload, OutputStream, StopReason,
};
use crate::process::{kill_group, SpawnClock};

/// How long output may keep arriving after the program exited before the
/// leftovers of its process group are killed.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

/// Runs the execution to its end and retires it.
pub(super) async fn run(engine: Arc<Engine>, execution: Arc<ActiveExecution>) {
    let (last, ending) = match start_and_wait(&engine, &execution).await {
        Ok(ran) => ran,
        Err(error) => (
            Vec::new(),
            Ending::without_exit(ExecutionState::Failed, error),
        ),
    };
    // The process group is gone, so nothing writes in the directory any
    // more; retiring it before the end is recorded means a client that saw
    // the end finds the directory kept or recycled, never in between.
    engine
        .run_dirs
        .retire(&engine.run_dirs.path_of(&execution.id));
    let queued = execution.writer.reserve().await.map(|slot| {
        execution
            .log()
            .queue_finish(slot, last, ending, execution.accepted.as_ref())
    });
    engine.release_worker();
    // Forgotten only once the end is committed, so a reader finds the
    // execution either active or finished in the history.
    let committed = match queued {
        Ok((committed, ended)) => committed
            .await
            .map(|()| ended)
            .map_err(|_| "the history writer stopped".to_string()),
        Err(e) => Err(e.to_string()),
    };
    match committed {
        Ok(Some(ended)) => {
            let _ = execution.ended.set(ended);
        }
        Ok(None) => {}
        Err(e) => {
            tracing::error!(execution = %execution.id, error = %e, "could not record the end of an execution")
        }
    }
    engine.forget(&execution);
}

/// Runs the program to its exit; returns the `exited` event and how the
/// execution ended.
async fn start_and_wait(
    engine: &Arc<Engine>,
    execution: &Arc<ActiveExecution>,
) -> Result<(Vec<LogPayload>, Ending), String> {
    let work_dir = engine.run_dirs.prepare(&execution.id).map_err(|e| {
        format!(
            "cannot create working directory {}: {e}",
            engine.run_dirs.path_of(&execution.id).display()
        )
    })?;
    let (program, args) = execution.argv.split_first().ok_or("empty argv")?;
    // Room for the `started` event is taken before the program starts: a
    // program whose start cannot be recorded (the history is stuck on a
    // full disk) is not started, and once started it is recorded at once.
    let slot = execution
        .writer
        .reserve()
        .await
        .map_err(|e| e.to_string())?;
    let live = ProgramLive::begin(engine, execution);
    // A stop that came while waiting for that room ends it unstarted.
    if let Some(stop) = execution.control().stop {
        let (state, error) = stopped(execution, stop.reason);
        return Ok((
            Vec::new(),
            Ending::without_exit(state, format!("{error} (before the program started)")),
        ));
    }
    let clock = SpawnClock::before_spawn();
    let mut child = tokio::process::Command::new(program)
        .args(args)
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
    let pid = child
        .id()
        .map(|p| p as i32)
        .ok_or("program exited before its pid was read")?;
    let start_ticks = clock.start_ticks_of(pid);
    let start_ms = now_ms();
    execution
        .log()
        .start(slot, pid, start_ms, start_ticks, execution.argv.clone());
    execution.control().phase = Phase::Running { pid, start_ms };

    let stdout = tokio::spawn(pump(
        execution.clone(),
        child.stdout.take().expect("piped"),
        OutputStream::Stdout,
    ));
    let stderr = tokio::spawn(pump(
        execution.clone(),
        child.stderr.take().expect("piped"),
        OutputStream::Stderr,
    ));

    let timeout_at = execution.timeout.map(|t| Instant::now() + t);
    let mut kill_at: Option<Instant> = None;
    let mut stop_reason: Option<StopReason> = None;
    let mut killed = false;
    let status: ExitStatus = loop {
        let stop = execution.control().stop;
        if let Some(stop) = stop {
            if stop_reason.is_none() {
                stop_reason = Some(stop.reason);
                begin_stop(execution, pid, stop);
                if stop.force {
                    killed = true;
                } else {
                    kill_at = Some(Instant::now() + stop.grace);
                }
            } else if stop.force && !killed {
                kill(execution, pid);
                killed = true;
            }
        }
        tokio::select! {
            status = child.wait() => break status.map_err(|e| format!("waiting for the program failed: {e}"))?,
            _ = execution.stop_requested.notified() => {}
            _ = sleep_until(kill_at), if kill_at.is_some() && !killed => {
                kill(execution, pid);
                killed = true;
            }
            _ = sleep_until(timeout_at), if timeout_at.is_some() && stop_reason.is_none() => {
                let timeout = execution.timeout.unwrap_or_default();
                record(execution, LogPayload::Lifecycle(Lifecycle::TimedOut { timeout_ms: timeout.as_millis() as u64 }));
                execution.request_stop(StopRequest {
                    reason: StopReason::Timeout,
                    grace: engine.config.default_grace_period,
                    force: false,
                });
            }
        }
    };

    // The program is gone; anything left in its group (a backgrounded
    // grandchild) would be an orphan nobody watches. Give its output a moment
    // to drain, then kill what remains of the group (a no-op when empty).
    let drained = async {
        let _ = stdout.await;
        let _ = stderr.await;
    };
    tokio::pin!(drained);
    let drained_in_time = tokio::time::timeout(DRAIN_AFTER_EXIT, &mut drained)
        .await
        .is_ok();
    kill_group(pid, Signal::SIGKILL);
    drop(live);
    if !drained_in_time {
        drained.await;
    }

    let exit_code = status.code();
    let signal = status.signal();

    let last_error = execution.log().tree.last_error.clone();
    let (state, error) = match stop_reason {
        Some(reason) => stopped(execution, reason),
        None if status.success() => (ExecutionState::Succeeded, String::new()),
        None => {
            let how = match (exit_code, signal) {
                (Some(code), _) => format!("exited with code {code}"),
                (None, Some(signal)) => format!("killed by signal {signal}"),
                (None, None) => format!("ended with {status}"),
            };
            let error = match last_error {
                Some(reported) => format!("{how}: {reported}"),
                None => how,
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
    }
}

fn begin_stop(execution: &ActiveExecution, pid: i32, stop: StopRequest) {
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
        kill(execution, pid);
    } else {
        kill_group(pid, Signal::SIGTERM);
    }
}

fn kill(execution: &ActiveExecution, pid: i32) {
    kill_group(pid, Signal::SIGKILL);
    record(
        execution,
        LogPayload::Lifecycle(Lifecycle::Killed {
            signal: Signal::SIGKILL as i32,
        }),
    );
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
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

/// Most lines emitted as one batch.
const MAX_BATCH: usize = 1024;

/// Reads one pipe to its end, emitting its lines in batches of what is
/// already buffered (one line at a time when the program is slow, so
/// latency stays low; many at once when it floods).
async fn pump(execution: Arc<ActiveExecution>, pipe: impl AsyncRead + Unpin, stream: OutputStream) {
    let mut reader = LineReader::new(pipe, MAX_LINE_BYTES);
    let mut batch = Vec::new();
    loop {
        let mut ended = false;
        loop {
            match reader.next_line().await {
                Ok(Some(line)) => batch.push(classify_line(stream, line.text, line.truncated)),
                Ok(None) => ended = true,
                Err(e) => {
                    tracing::warn!(execution = %execution.id, ?stream, error = %e, "reading program output failed");
                    ended = true;
                }
            }
            if ended || batch.len() >= MAX_BATCH || !reader.has_buffered_input() {
                break;
            }
        }
        if !batch.is_empty() {
            let payloads = std::mem::take(&mut batch);
            if let Err(e) = execution.append(payloads).await {
                tracing::error!(execution = %execution.id, error = %e, "could not record program output");
            }
        }
        if ended {
            break;
        }
    }
}
