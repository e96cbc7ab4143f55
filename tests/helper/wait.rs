//! Waiting on real signals (log events, process exit) within a deadline,
//! and polling only where nothing signals.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use super::*;
use workflow_manager::process;

impl Daemon {
    /// Follows the log of an execution from the start until it finishes, and
    /// checks the log is gap-free from 1 and ends with `finished`.
    pub async fn run_to_end(&self, execution_id: &str) -> Vec<LogEvent> {
        let events = self.logs(execution_id, 0, true).await;
        assert_contiguous(&events, 1);
        assert!(
            matches!(
                events.last().and_then(|e| e.payload.as_ref()),
                Some(Payload::Finished(_))
            ),
            "the last event is `finished`: {:?}",
            kinds(&events)
        );
        events
    }

    /// Follows the log until an event matches; panics if the stream ends first.
    pub async fn wait_for_event(
        &self,
        execution_id: &str,
        what: &str,
        matches: impl Fn(&LogEvent) -> bool,
    ) -> LogEvent {
        let mut stream = self.open_stream(execution_id, 0, true).await;
        let mut seen = Vec::new();
        loop {
            let next = tokio::time::timeout(DEADLINE, stream.message())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {DEADLINE:?}; saw {seen:?}"));
            match next {
                Ok(Some(msg)) => {
                    let event = msg.event.expect("StreamLogsResponse has an event");
                    if matches(&event) {
                        return event;
                    }
                    seen.push(kind(&event));
                }
                Ok(None) => panic!("log of {execution_id} ended before {what}; saw {seen:?}"),
                Err(s) => panic!("StreamLogs {execution_id} failed waiting for {what}: {s:?}"),
            }
        }
    }

    /// Starts `workflow_id` (a program that prints `running with grandchild
    /// PID` once its grandchild runs, like `stubborn_program()` or the
    /// `ignore_sigterm` example) and waits for that line. Returns the
    /// execution, its `started` event and the grandchild's pid.
    pub async fn start_with_grandchild(
        &self,
        workflow_id: &str,
    ) -> (pb::Execution, pb::Started, i32) {
        const SAYS: &str = "running with grandchild ";
        let exec = self.execute(workflow_id, &[]).await;
        let started = self.wait_started(&exec.id).await;
        let line = self
            .wait_for_event(
                &exec.id,
                SAYS,
                |e| matches!(&e.payload, Some(Payload::Output(o)) if o.text.starts_with(SAYS)),
            )
            .await;
        let Some(Payload::Output(output)) = line.payload else {
            unreachable!("the wait matched an output line")
        };
        let pid = output.text[SAYS.len()..]
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("a pid in {:?}: {e}", output.text));
        (exec, started, pid)
    }

    /// Waits for the `started` event of an execution.
    pub async fn wait_started(&self, execution_id: &str) -> pb::Started {
        let event = self
            .wait_for_event(execution_id, "started", |e| {
                matches!(e.payload, Some(Payload::Started(_)))
            })
            .await;
        match event.payload {
            Some(Payload::Started(started)) => started,
            _ => unreachable!(),
        }
    }

    /// Waits until the program printed a line with exactly this text.
    pub async fn wait_output(&self, execution_id: &str, text: &str) -> LogEvent {
        self.wait_for_event(
            execution_id,
            &format!("output {text:?}"),
            |e| matches!(&e.payload, Some(Payload::Output(o)) if o.text == text),
        )
        .await
    }

    /// Waits until an execution is in `state` (RUNNING: its `started` event;
    /// a final state: its `finished` event) and returns it.
    pub async fn wait_state(&self, execution_id: &str, state: ExecutionState) -> pb::Execution {
        match state {
            ExecutionState::Queued => {}
            ExecutionState::Running => {
                self.wait_started(execution_id).await;
            }
            _ => {
                self.run_to_end(execution_id).await;
            }
        }
        let exec = self.get(execution_id).await;
        assert_eq!(exec.state(), state, "state of {execution_id}: {exec:?}");
        exec
    }
}

/// Reads an open StreamLogs stream until it ends (within [`DEADLINE`]).
pub async fn drain(mut stream: tonic::Streaming<pb::StreamLogsResponse>) -> Vec<LogEvent> {
    let mut events = Vec::new();
    loop {
        let next = tokio::time::timeout(DEADLINE, stream.message())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "StreamLogs did not end within {DEADLINE:?}; got {:?}",
                    kinds(&events)
                )
            });
        match next {
            Ok(Some(msg)) => events.push(msg.event.expect("StreamLogsResponse has an event")),
            Ok(None) => return events,
            Err(s) => panic!("StreamLogs failed after {} events: {s:?}", events.len()),
        }
    }
}

/// Whether a process no longer runs (no /proc entry, or a zombie).
pub fn process_gone(pid: i32) -> bool {
    match process::stat_from_state(pid) {
        None => true,
        Some(stat) => {
            let state = stat.trim_start();
            state.starts_with('Z') || state.starts_with('X')
        }
    }
}

/// Waits (polling /proc, nothing else signals it) until a process is gone.
pub async fn wait_process_gone(pid: i32, what: &str) {
    eventually(
        &format!("{what} (pid {pid}) to be gone"),
        POLL_DEADLINE,
        || async move { process_gone(pid).then_some(()) },
    )
    .await
}

/// Polls `check` every 50 ms until it returns Some, failing after `limit`.
/// Only for changes nothing signals (hot reload, process disappearance).
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
