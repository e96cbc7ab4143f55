//! Shutdown: stop taking work, stop running executions through the
//! graceful path, leave queued ones queued for the next start, flush the
//! history, without waiting for ever on a history that cannot be written.

use std::sync::Arc;
use std::time::Duration;

use super::active::{ActiveExecution, StopRequest};
use super::Engine;
use crate::events::StopReason;

impl Engine {
    /// Stops taking work, stops running executions through the graceful
    /// path (they end INTERRUPTED), leaves queued ones QUEUED in the history
    /// for the next start, and flushes the history.
    pub(crate) async fn shutdown(&self) {
        let queued: Vec<Arc<ActiveExecution>> = {
            let mut scheduler = self.scheduler();
            scheduler.shutting_down = true;
            scheduler.queue.drain()
        };
        // Idle worker threads end; busy ones end after their execution.
        self.work_ready.notify_all();
        for execution in &queued {
            self.active_map().remove(&execution.id);
            self.hub.close(execution.rowid);
            execution.gone.send_replace(true);
        }
        let stop = StopRequest {
            reason: StopReason::Shutdown,
            grace: self.config.shutdown_grace_period,
            force: false,
        };
        let running: Vec<Arc<ActiveExecution>> = self.active_map().values().cloned().collect();
        for execution in &running {
            execution.request_stop(stop);
        }
        // Each runner needs at most the grace period plus its own clean-up.
        // While the history cannot be written (a full disk), a runner whose
        // program is gone may wait for room for its end for ever; once no
        // program is live there is nothing left to stop, so the wait ends
        // there (what the history did not get is given up below).
        let deadline = tokio::time::Instant::now()
            + self.config.shutdown_grace_period
            + Duration::from_secs(10);
        loop {
            let changed = self.runners_changed.notified();
            let running = self.scheduler().running;
            if running == 0 {
                break;
            }
            let failing = self.writer.write_failure().is_some();
            if failing && !self.any_program_live() {
                tracing::warn!(
                    running,
                    "the history cannot be written: not waiting for the ends of executions whose programs are gone"
                );
                break;
            }
            tokio::select! {
                changed = tokio::time::timeout_at(deadline, changed) => {
                    if changed.is_err() {
                        tracing::error!(running, "executions still running at the end of shutdown");
                        break;
                    }
                }
                () = self.writer.failing(), if !failing => {}
            }
        }
        // A history that cannot be written (a full disk) would hold the
        // final flush, and the shutdown, for ever: after another grace
        // period the writer gives up what it could not write.
        let flushed =
            tokio::time::timeout(self.config.shutdown_grace_period, self.writer.barrier()).await;
        let flushed = match flushed {
            Ok(flushed) => flushed,
            Err(_) => {
                tracing::error!(
                    "the history could not be written during shutdown; what is not written yet is lost"
                );
                self.writer.stop_retrying();
                self.writer.barrier().await
            }
        };
        if let Err(e) = flushed {
            tracing::error!(error = %e, "final history flush failed");
        }
    }

    /// Kills every running program at once (SIGKILL to its group and
    /// control group, no grace) and starts nothing more: the daemon is
    /// about to stop without the history (`fence.rs`). What the history
    /// gets of it is up to the daemon that takes over.
    pub(crate) fn kill_programs_now(&self) {
        self.scheduler().shutting_down = true;
        let stop = StopRequest {
            reason: StopReason::Shutdown,
            grace: Duration::ZERO,
            force: true,
        };
        let running: Vec<Arc<ActiveExecution>> = self.active_map().values().cloned().collect();
        for execution in &running {
            execution.request_stop(stop);
        }
    }

    /// Resolves once no program of an active execution may be running.
    pub(crate) async fn programs_gone(&self) {
        loop {
            let changed = self.runners_changed.notified();
            if !self.any_program_live() {
                return;
            }
            changed.await;
        }
    }

    /// Whether the program of any active execution may be running.
    fn any_program_live(&self) -> bool {
        self.active_map()
            .values()
            .any(|execution| execution.program_live())
    }
}
