//! The daemons on the history, as GetStatus lists them, and DrainDaemon
//! (src/registry.rs keeps this daemon's entry and reads the others').

use std::sync::Arc;

use tonic::{Response, Status};

use super::{convert, WorkflowApi};
use crate::pb;
use crate::registry::{DrainOutcome, Registry, ALIVE_WITHIN_MS, STANDBY};
use crate::store::daemon_registry::DaemonRow;

impl WorkflowApi {
    /// Every daemon on the history, this one first.
    pub(super) async fn daemons_shown(&self) -> Vec<pb::DaemonStatus> {
        self.registry.daemons().iter().map(daemon_status).collect()
    }

    /// DrainDaemon: drains the daemon `daemon_id`.
    pub(super) async fn drain_daemon_call(
        &self,
        daemon_id: String,
    ) -> Result<Response<pb::DrainDaemonResponse>, Status> {
        if daemon_id.is_empty() {
            return Err(super::status::invalid_argument(
                "daemon_id is required: GetStatus lists the daemons, this one first".into(),
                &[("daemon_id", "must be the id of a daemon GetStatus lists")],
            ));
        }
        let registry: Arc<Registry> = self.registry.clone();
        let asked = daemon_id.clone();
        let drained = tokio::task::spawn_blocking(move || registry.drain_daemon(&asked))
            .await
            .map_err(|e| Status::internal(format!("the drain failed: {e}")))?
            .map_err(crate::engine::EngineError::from)?;
        match drained {
            DrainOutcome::Drained(row) => Ok(Response::new(pb::DrainDaemonResponse {
                daemon: Some(daemon_status(&row)),
            })),
            DrainOutcome::Unknown => Err(Status::not_found(format!(
                "no daemon {daemon_id:?} on this history (GetStatus lists them in `daemons`)"
            ))),
            DrainOutcome::Silent(row) => Err(Status::failed_precondition(format!(
                "daemon {daemon_id} on {} (pid {}) has not reported for {} s: it is not \
                 running, so there is nothing to drain",
                row.host,
                row.pid,
                row.silent_ms / 1_000
            ))),
        }
    }
}

fn daemon_status(row: &DaemonRow) -> pb::DaemonStatus {
    pb::DaemonStatus {
        id: row.id.clone(),
        host: row.host.clone(),
        pid: row.pid,
        role: if row.role == STANDBY {
            pb::DaemonRole::Standby
        } else {
            pb::DaemonRole::Writer
        } as i32,
        slots: row.slots,
        running: row.running,
        start_time: Some(convert::timestamp(row.started_ms)),
        last_heartbeat: Some(convert::timestamp(row.heartbeat_ms)),
        alive: row.silent_ms <= ALIVE_WITHIN_MS,
        draining: row.draining,
    }
}
