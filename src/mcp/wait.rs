//! The optional bounded wait of execute_workflow / `run_<id>`: follow the
//! execution's log until it finishes, the wait runs out or the client
//! cancels the request, sending `notifications/progress` along the way when
//! the client asked for them. Ending the wait never cancels the execution.

use std::time::{Duration, Instant};

use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::RequestContext;
use rmcp::{Peer, RoleServer};

use super::daemon::Daemon;
use super::error::{FieldStyle, Subject, ToolError};
use super::model::{self, WaitOutcome};
use crate::pb;

/// Longest wait a call may ask for.
pub(crate) const MAX_WAIT_SECONDS: u32 = 300;

/// Output lines are many; progress notifications for them are spaced at
/// least this far apart (structured and lifecycle events always go out).
const OUTPUT_PROGRESS_SPACING: Duration = Duration::from_millis(250);

/// Sends progress notifications for one request, when it carried a
/// progress token.
struct ProgressReporter {
    peer: Peer<RoleServer>,
    token: ProgressToken,
    last_output: Option<Instant>,
}

impl ProgressReporter {
    fn for_request(context: &RequestContext<RoleServer>) -> Option<ProgressReporter> {
        let token = context.meta.get_progress_token()?;
        Some(ProgressReporter {
            peer: context.peer.clone(),
            token,
            last_output: None,
        })
    }

    /// Reports one log event. The progress value is the event's sequence
    /// number, so it increases with every notification.
    async fn report(&mut self, event: &pb::LogEvent) {
        if model::is_output(event) && !model::is_finished_event(event) {
            let now = Instant::now();
            if self
                .last_output
                .is_some_and(|last| now.duration_since(last) < OUTPUT_PROGRESS_SPACING)
            {
                return;
            }
            self.last_output = Some(now);
        }
        let line = model::log_line(event);
        let param = ProgressNotificationParam::new(self.token.clone(), line.sequence as f64)
            .with_message(format!("[{}] {}", line.kind, line.text));
        if let Err(error) = self.peer.notify_progress(param).await {
            tracing::debug!(%error, "could not send a progress notification");
        }
    }
}

/// Follows `execution_id` for at most `wait`, or until the request is
/// cancelled. Returns how the wait ended.
pub(crate) async fn follow(
    daemon: &Daemon,
    execution_id: &str,
    wait: Duration,
    context: &RequestContext<RoleServer>,
) -> Result<WaitOutcome, ToolError> {
    let deadline = tokio::time::Instant::now() + wait;
    let cancelled = context.ct.clone();
    let mut progress = ProgressReporter::for_request(context);
    let to_error = |status: tonic::Status| {
        ToolError::from_status(
            &status,
            daemon.addr(),
            Subject::Execution(execution_id),
            FieldStyle::AsRequested,
        )
    };
    let mut client = daemon.client();
    let open = client.stream_logs(pb::StreamLogsRequest {
        execution_id: execution_id.to_string(),
        from_sequence: 1,
        follow: true,
    });
    let mut stream = tokio::select! {
        _ = cancelled.cancelled() => return Ok(WaitOutcome::ClientCancelled),
        _ = tokio::time::sleep_until(deadline) => return Ok(WaitOutcome::WaitExpired),
        opened = open => opened.map_err(to_error)?.into_inner(),
    };
    loop {
        let message = tokio::select! {
            biased;
            _ = cancelled.cancelled() => return Ok(WaitOutcome::ClientCancelled),
            _ = tokio::time::sleep_until(deadline) => return Ok(WaitOutcome::WaitExpired),
            message = stream.message() => message,
        };
        match message {
            Ok(Some(pb::StreamLogsResponse { event: Some(event) })) => {
                if let Some(progress) = progress.as_mut() {
                    progress.report(&event).await;
                }
                if model::is_finished_event(&event) {
                    return Ok(WaitOutcome::Finished);
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => return Ok(WaitOutcome::StreamEnded),
            Err(status) => return Err(to_error(status)),
        }
    }
}

/// The wait a caller asked for, capped at [`MAX_WAIT_SECONDS`].
pub(crate) fn bounded(wait_seconds: Option<u32>) -> Duration {
    Duration::from_secs(u64::from(wait_seconds.unwrap_or(0).min(MAX_WAIT_SECONDS)))
}
