//! Cancel: a running execution is asked to stop (its runner sends the
//! signals); a queued one is taken off the queue and ended at once, never
//! to start.

use std::sync::Arc;

use super::active::{ActiveExecution, Phase, StopRequest, CANCELLED_WHILE_QUEUED};
use super::execution_log::Ending;
use super::{parse_id, CancelRequest, Engine, EngineError};
use crate::events::{ExecutionState, Lifecycle, LogPayload, StopReason};
use crate::store::ExecutionRecord;

impl Engine {
    /// Cancels an execution. Returns it and whether a cancel was already in
    /// progress.
    pub(crate) async fn cancel(
        self: &Arc<Self>,
        id: &str,
        request: CancelRequest,
    ) -> Result<(ExecutionRecord, bool), EngineError> {
        let uuid = parse_id(id)?;
        let active = self.active_map().get(&uuid).cloned();
        let Some(active) = active else {
            let record = self.execution(id).await?;
            return Err(EngineError::AlreadyFinished {
                id: id.to_string(),
                state: record.state,
            });
        };
        let grace = request
            .grace_period
            .unwrap_or(self.config.default_grace_period);
        let stop = StopRequest {
            reason: StopReason::Client,
            grace,
            force: request.force,
        };

        let dequeued = self.scheduler().dequeue(uuid, &active.namespace);
        let already_requested = match dequeued {
            Some(queued) => {
                self.cancel_queued(queued, stop).await;
                false
            }
            None => !active.request_stop(stop),
        };
        let record = self.execution(id).await?;
        Ok((record, already_requested))
    }

    /// Ends an execution that a cancel took off the queue: its end is
    /// numbered now and committed in the background. Returns once it is
    /// committed, or at once while the history cannot be written (a full
    /// disk): like a cancel of a running execution, which never waits for
    /// the history, it answers, and readers see the execution CANCELLED
    /// meanwhile. Off the queue, it can no longer start either way.
    async fn cancel_queued(self: &Arc<Self>, queued: Arc<ActiveExecution>, stop: StopRequest) {
        let end = queued.log().number_end(
            vec![LogPayload::Lifecycle(Lifecycle::CancelRequested {
                grace_ms: stop.grace.as_millis() as u64,
                force: stop.force,
                reason: stop.reason,
            })],
            Ending::without_exit(ExecutionState::Cancelled, CANCELLED_WHILE_QUEUED.into()),
        );
        {
            let mut control = queued.control();
            control.phase = Phase::CancelledWhileQueued {
                end_ms: end.outcome.end_ms,
            };
            // A repeated cancel says it was already requested.
            control.stop = Some(stop);
        }
        let mut gone = queued.gone.subscribe();
        let engine = self.clone();
        tokio::spawn(async move {
            if let Err(e) = queued.store_end(end).await {
                tracing::error!(execution = %queued.id, error = %e, "could not record the cancel of a queued execution");
            }
            engine.forget(&queued);
        });
        tokio::select! {
            _ = gone.wait_for(|gone| *gone) => {}
            () = self.writer.failing() => {}
        }
    }
}
