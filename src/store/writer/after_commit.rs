//! What the writer does once a group is committed: publish its events to
//! live subscribers and answer the callers that wait for it.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::transaction::OpResult;
use super::WriteOp;
use crate::events::LogEvent;
use crate::store::hub::LogHub;
use crate::store::{PruneStep, StoreError};

/// What must happen once a group is committed.
pub(super) enum AfterCommit {
    Publish(i64, Vec<Arc<LogEvent>>),
    Created(
        oneshot::Sender<Result<i64, StoreError>>,
        Result<i64, StoreError>,
    ),
    Barrier(oneshot::Sender<()>),
    Close(oneshot::Sender<()>),
    /// A drop-folder or schedule change's reply.
    Applied(
        oneshot::Sender<Result<(), StoreError>>,
        Result<(), StoreError>,
    ),
    Pruned(
        oneshot::Sender<Result<PruneStep, StoreError>>,
        Result<PruneStep, StoreError>,
    ),
}

/// Adds to `after` what to do now that `op`, with its `result`, is
/// committed.
pub(super) fn after_commit(op: WriteOp, result: OpResult, after: &mut Vec<AfterCommit>) {
    match (op, result) {
        (WriteOp::CreateExecution { reply, .. }, OpResult::Created(result)) => {
            after.push(AfterCommit::Created(reply, result))
        }
        (WriteOp::Append { execution, events }, _) => {
            after.push(AfterCommit::Publish(execution, events))
        }
        (WriteOp::MarkStarting { committed, .. }, _) => after.push(AfterCommit::Barrier(committed)),
        (
            WriteOp::MarkStarted {
                execution, started, ..
            },
            _,
        ) => after.push(AfterCommit::Publish(execution, vec![started])),
        (
            WriteOp::MarkFinished {
                execution,
                events,
                committed,
                ..
            },
            _,
        ) => {
            after.push(AfterCommit::Publish(execution, events));
            after.push(AfterCommit::Barrier(committed));
        }
        (
            WriteOp::DropFile { reply, .. }
            | WriteOp::Schedule { reply, .. }
            | WriteOp::Webhook { reply, .. }
            | WriteOp::Token { reply, .. }
            | WriteOp::Audit { reply, .. }
            | WriteOp::SettleRetries { reply, .. },
            OpResult::Applied(result),
        ) => after.push(AfterCommit::Applied(reply, result)),
        (WriteOp::Prune { reply, .. }, OpResult::Pruned(result)) => {
            after.push(AfterCommit::Pruned(reply, result))
        }
        (WriteOp::Barrier { reply }, _) => after.push(AfterCommit::Barrier(reply)),
        (WriteOp::Close { reply }, _) => after.push(AfterCommit::Close(reply)),
        (op, _) => unreachable!("commit_group gave {op:?} the result of another kind"),
    }
}

/// Publishes and answers what a committed group asked for; returns the
/// reply of a close, which is sent only once the history is closed.
pub(super) fn deliver(after: Vec<AfterCommit>, hub: &LogHub) -> Option<oneshot::Sender<()>> {
    let mut close = None;
    for item in after {
        match item {
            AfterCommit::Publish(execution, events) => hub.publish(execution, events),
            AfterCommit::Created(reply, result) => {
                let _ = reply.send(result);
            }
            AfterCommit::Barrier(reply) => {
                let _ = reply.send(());
            }
            AfterCommit::Applied(reply, result) => {
                let _ = reply.send(result);
            }
            AfterCommit::Pruned(reply, result) => {
                let _ = reply.send(result);
            }
            AfterCommit::Close(reply) => close = Some(reply),
        }
    }
    close
}
