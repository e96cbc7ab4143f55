//! Whether an execution that `wfctl` waited on or followed succeeded: the
//! one place that turns its final state into success (exit 0) or the
//! [`CliError`] that sets the exit code, and the two ways of waiting for
//! that state (following the log, or waiting silently).

use super::{
    context::Ctx,
    error::CliError,
    follow::{follow, EventStyle},
    render::{execution::print_execution, print_note, short_state},
};
use crate::pb::{self, ExecutionState};

/// The outcome of an execution that ended in `state`: success when it
/// SUCCEEDED, [`CliError::WorkflowFailed`] (exit 1) when it ended otherwise,
/// and [`CliError::Unavailable`] (exit 3) when it has not ended at all (the
/// daemon at `addr` stopped reporting on it).
pub(crate) fn outcome(
    addr: &str,
    execution_id: &str,
    state: ExecutionState,
    error: String,
) -> Result<(), CliError> {
    match state {
        ExecutionState::Succeeded => Ok(()),
        ExecutionState::Queued | ExecutionState::Running | ExecutionState::Unspecified => {
            Err(CliError::Unavailable {
                addr: addr.to_string(),
                reason: format!(
                    "the daemon stopped reporting on execution {execution_id} while it was still {}",
                    short_state(state)
                ),
            })
        }
        _ => Err(CliError::WorkflowFailed {
            execution_id: execution_id.to_string(),
            state,
            error,
        }),
    }
}

/// The [`outcome`] of an execution as the daemon returned it.
pub(crate) fn execution_outcome(ctx: &Ctx, execution: &pb::Execution) -> Result<(), CliError> {
    outcome(
        &ctx.addr,
        &execution.id,
        execution.state(),
        execution.error.clone(),
    )
}

/// The [`outcome`] of a followed log: its `finished` event, or without one
/// (the log ended early) the execution's state as fetched now.
pub(crate) async fn followed_outcome(
    ctx: &Ctx,
    execution_id: &str,
    finished: Option<pb::Finished>,
) -> Result<(), CliError> {
    match finished {
        Some(f) => outcome(&ctx.addr, execution_id, f.state(), f.error),
        None => execution_outcome(ctx, &ctx.get_execution(execution_id).await?),
    }
}

/// Follows an execution's log live until it ends, then its [`outcome`].
pub(crate) async fn follow_to_end(ctx: &Ctx, execution_id: &str) -> Result<(), CliError> {
    let style = EventStyle::choose(ctx.output, true);
    let finished = follow(ctx, execution_id, 0, true, style).await?;
    followed_outcome(ctx, execution_id, finished).await
}

/// Waits (silently) until the execution ends, prints it, then its
/// [`outcome`].
pub(crate) async fn wait_and_print(ctx: &Ctx, execution_id: &str) -> Result<(), CliError> {
    print_note(&format!(
        "wfctl: waiting for execution {execution_id} to finish"
    ));
    let execution = ctx.wait_execution(execution_id).await?;
    print_execution(ctx.output, &execution);
    execution_outcome(ctx, &execution)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::error::exit;

    #[test]
    fn only_succeeded_is_success_and_an_unended_execution_is_unavailable() {
        let exit_code = |state| {
            outcome("127.0.0.1:1", "e1", state, "why".into())
                .err()
                .map_or(exit::OK, |e| e.exit_code())
        };
        assert_eq!(exit_code(ExecutionState::Succeeded), exit::OK);
        for ended in [
            ExecutionState::Failed,
            ExecutionState::Cancelled,
            ExecutionState::TimedOut,
            ExecutionState::Interrupted,
        ] {
            assert_eq!(exit_code(ended), exit::WORKFLOW_FAILED, "{ended:?}");
        }
        for unended in [
            ExecutionState::Queued,
            ExecutionState::Running,
            ExecutionState::Unspecified,
        ] {
            assert_eq!(exit_code(unended), exit::UNAVAILABLE, "{unended:?}");
        }
        let failed = outcome("a", "e1", ExecutionState::Failed, "exit code 3".into());
        assert_eq!(
            failed.unwrap_err().to_string(),
            "execution e1 ended FAILED: exit code 3"
        );
    }
}
