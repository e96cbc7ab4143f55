//! The sequencer of one execution's log: it hands out the execution's
//! gap-free sequence numbers, folds events into its tree and counts, and
//! queues them for the history writer, so the order of sequence numbers is
//! the order of writes and of live delivery.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::clock::now_ms;
use crate::events::{ExecutionState, Lifecycle, LogCounts, LogEvent, LogPayload, WorkflowEvent};
use crate::metrics::ExecutionMetrics;
use crate::program_limits::ProgramUsage;
use crate::store::{
    ArtifactRecord, ExecutionRecord, FinalOutcome, StoreError, StoreWriter, WriteOp, WriteSlot,
};
use crate::tree::ExecutionTree;

/// The sequencer of one execution's log. It is only ever locked briefly,
/// never across a wait for the history writer: writers reserve room in the
/// writer's queue first (the runner's `record_output`), so readers of the
/// live tree and a cancel are not held up by a history that cannot be
/// written (a full disk).
pub(super) struct ExecutionLog {
    rowid: i64,
    next_sequence: u64,
    /// The execution's tree, as its events so far build it.
    pub(super) tree: ExecutionTree,
    /// Its log counts so far.
    pub(super) counts: LogCounts,
    /// Events numbered while the writer's queue was full
    /// ([`ExecutionLog::record_without_waiting`]); they go, in order, ahead
    /// of the next write of this execution.
    held: Vec<Arc<LogEvent>>,
    /// Start time, pid and process start time, once started.
    started: Option<(i64, i32, Option<u64>)>,
    /// Artifacts recorded in this daemon's life (as the writer stores them).
    artifacts: Vec<ArtifactRecord>,
    /// Start and end time, once it has ended successfully: the engine
    /// adds the run to its workflow's history for the estimates once the
    /// end is committed.
    succeeded: Option<(i64, i64)>,
    /// Whether its end is numbered (queued for the history, maybe
    /// committed): it no longer counts as active in a batch's estimate.
    end_numbered: bool,
    /// Its handles into the metrics, looked up once.
    metrics: ExecutionMetrics,
}

impl ExecutionLog {
    /// The log of execution `rowid`, whose next event gets
    /// `next_sequence`, with the tree and counts of the events before it.
    pub(super) fn new(
        rowid: i64,
        next_sequence: u64,
        tree: ExecutionTree,
        counts: LogCounts,
        metrics: ExecutionMetrics,
    ) -> Self {
        ExecutionLog {
            rowid,
            next_sequence,
            tree,
            counts,
            held: Vec::new(),
            started: None,
            artifacts: Vec::new(),
            succeeded: None,
            end_numbered: false,
            metrics,
        }
    }

    /// Numbers events, folds them into the tree and queues them for the
    /// history in `slot`: one queue entry for the batch. This is what keeps
    /// a program printing hundreds of thousands of lines a second cheap to
    /// follow.
    pub(super) fn append(&mut self, slot: WriteSlot, payloads: Vec<LogPayload>) {
        self.hold(payloads);
        slot.send(WriteOp::Append {
            execution: self.rowid,
            events: std::mem::take(&mut self.held),
        });
    }

    /// Numbers program output, folding it into the tree and counts, and
    /// holds it for the next write, after what is held already. The runner
    /// holds the lines read with the program's exit this way for the end's
    /// write: the error the end reports then knows of a failure printed
    /// last, and the lines cost no commit of their own.
    pub(super) fn hold(&mut self, payloads: Vec<LogPayload>) {
        // One relaxed add per batch: the lines' count is all it costs.
        self.metrics.lines(payloads.len());
        self.held.reserve(payloads.len());
        for payload in payloads {
            let event = Arc::new(self.number(payload));
            self.held.push(event);
        }
    }

    /// Numbers an event of the daemon's own (a cancel, a kill, a timeout)
    /// and queues it if the writer's queue has room; otherwise holds it for
    /// the next write, so that stopping a program never waits for the
    /// history.
    pub(super) fn record_without_waiting(
        &mut self,
        writer: &StoreWriter,
        payload: LogPayload,
    ) -> Result<(), StoreError> {
        let event = Arc::new(self.number(payload));
        self.held.push(event);
        if let Some(slot) = writer.try_reserve()? {
            self.append(slot, Vec::new());
        }
        Ok(())
    }

    fn number(&mut self, payload: LogPayload) -> LogEvent {
        let time_ms = now_ms();
        if let LogPayload::Event(event) = &payload {
            self.tree.apply(event);
            if let WorkflowEvent::StateFileCreated {
                phase,
                file_path,
                description,
            } = event
            {
                self.artifacts.push(ArtifactRecord {
                    phase: *phase,
                    path: file_path.clone(),
                    description: description.clone(),
                    time_ms,
                });
            }
        }
        self.counts.record(&payload);
        let event = LogEvent {
            sequence: self.next_sequence,
            time_ms,
            payload,
        };
        self.next_sequence += 1;
        event
    }

    /// Queues the RUNNING state without a pid, for just before the spawn
    /// (see [`WriteOp::MarkStarting`]); the receiver is signalled once it
    /// is committed.
    pub(super) fn mark_starting(&self, slot: WriteSlot) -> oneshot::Receiver<()> {
        let (committed, receiver) = oneshot::channel();
        slot.send(WriteOp::MarkStarting {
            execution: self.rowid,
            committed,
        });
        receiver
    }

    /// Numbers the `started` event and queues it with the RUNNING state,
    /// in one write.
    pub(super) fn start(
        &mut self,
        slot: WriteSlot,
        pid: i32,
        start_ms: i64,
        pid_start_ticks: Option<u64>,
        argv: Vec<String>,
    ) {
        // Events are held only by a running execution's runner, after this.
        debug_assert!(self.held.is_empty(), "events held before the start");
        let started = self.number(LogPayload::Lifecycle(Lifecycle::Started { pid, argv }));
        self.started = Some((start_ms, pid, pid_start_ticks));
        self.metrics.started();
        slot.send(WriteOp::MarkStarted {
            execution: self.rowid,
            start_ms,
            pid,
            pid_start_ticks,
            started: Arc::new(started),
        });
    }

    /// Queues the final state with any held events, the `last` events and
    /// the terminal `finished` event, in one write; the receiver is
    /// signalled once it is committed. With the execution as it was
    /// `accepted`, also returns it in its final state, as the history will
    /// have it.
    pub(super) fn queue_finish(
        &mut self,
        slot: WriteSlot,
        last: Vec<LogPayload>,
        ending: Ending,
        accepted: Option<&ExecutionRecord>,
    ) -> (oneshot::Receiver<()>, Option<ExecutionRecord>) {
        let end = self.number_end(last, ending);
        let ended = accepted.map(|accepted| self.ended(accepted, &end.outcome));
        let (write, committed) = end.into_write(self.rowid);
        slot.send(write);
        (committed, ended)
    }

    /// Numbers the end: any held events, the `last` events and the
    /// terminal `finished` event, stamped now, to be queued as one write.
    pub(super) fn number_end(&mut self, last: Vec<LogPayload>, ending: Ending) -> NumberedEnd {
        self.end_numbered = true;
        let mut events = std::mem::take(&mut self.held);
        events.extend(
            last.into_iter()
                .map(|payload| Arc::new(self.number(payload))),
        );
        let finished = self.number(LogPayload::Lifecycle(Lifecycle::Finished {
            state: ending.state,
            error: ending.error.clone(),
        }));
        let ran = self.started.map(|(start_ms, ..)| {
            Duration::from_millis(finished.time_ms.saturating_sub(start_ms).max(0) as u64)
        });
        self.metrics.ended(ending.state, ran);
        if let (ExecutionState::Succeeded, Some((start_ms, ..))) = (ending.state, self.started) {
            self.succeeded = Some((start_ms, finished.time_ms));
        }
        let outcome = FinalOutcome {
            state: ending.state,
            end_ms: finished.time_ms,
            exit_code: ending.exit_code,
            signal: ending.signal,
            error: ending.error,
            usage: ending.usage,
            tree: self.tree.clone(),
            counts: self.counts,
        };
        events.push(Arc::new(finished));
        NumberedEnd { outcome, events }
    }

    /// Whether its end is numbered ([`ExecutionLog::number_end`]).
    pub(super) fn end_numbered(&self) -> bool {
        self.end_numbered
    }

    /// Start and end time of the run, if it has ended successfully.
    pub(super) fn successful_run(&self) -> Option<(i64, i64)> {
        self.succeeded
    }

    /// The execution `accepted` as it will be stored once `outcome` is.
    fn ended(&self, accepted: &ExecutionRecord, outcome: &FinalOutcome) -> ExecutionRecord {
        let (start_ms, pid, pid_start_ticks) = match self.started {
            Some((start_ms, pid, ticks)) => (Some(start_ms), Some(pid), ticks),
            None => (None, None, None),
        };
        ExecutionRecord {
            state: outcome.state,
            start_ms,
            end_ms: Some(outcome.end_ms),
            exit_code: outcome.exit_code,
            signal: outcome.signal,
            error: outcome.error.clone(),
            usage: outcome.usage,
            pid,
            pid_start_ticks,
            tree: Some(outcome.tree.clone()),
            counts: Some(outcome.counts),
            artifacts: self.artifacts.clone(),
            ..accepted.clone()
        }
    }
}

/// How an execution ended.
#[derive(Debug)]
pub(super) struct Ending {
    pub(super) state: ExecutionState,
    pub(super) exit_code: Option<i32>,
    pub(super) signal: Option<i32>,
    pub(super) error: String,
    /// What the program used, when it was reaped.
    pub(super) usage: Option<ProgramUsage>,
}

impl Ending {
    /// An ending with no process exit to report.
    pub(super) fn without_exit(state: ExecutionState, error: String) -> Ending {
        Ending {
            state,
            exit_code: None,
            signal: None,
            error,
            usage: None,
        }
    }
}

/// An execution's end, numbered but not yet queued for the history.
pub(super) struct NumberedEnd {
    /// The final state, as the history will store it.
    pub(super) outcome: FinalOutcome,
    events: Vec<Arc<LogEvent>>,
}

impl NumberedEnd {
    /// The write that stores it, and a receiver signalled once that is
    /// committed.
    pub(super) fn into_write(self, execution: i64) -> (WriteOp, oneshot::Receiver<()>) {
        let (committed, on_commit) = oneshot::channel();
        let write = WriteOp::MarkFinished {
            execution,
            outcome: Box::new(self.outcome),
            events: self.events,
            committed,
        };
        (write, on_commit)
    }
}
