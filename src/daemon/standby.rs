//! Opening the history; with `standby`, while another daemon is using the
//! PostgreSQL history, waiting for it to stop, then taking its work over
//! (docs/postgres.md). The takeover is the start-up recovery any daemon
//! does: the executions the other was running are marked INTERRUPTED (and
//! retried as their policy says), those it had queued run here.

use std::future::Future;
use std::time::Duration;

use crate::config::Config;
use crate::store::{History, StoreError};

use super::DaemonError;

/// How often a standby tries to claim the history. PostgreSQL lets go of
/// a dead daemon's claim when its session ends: at once when the process
/// dies, within its keepalives (about a minute and a half) when its host
/// or the network does.
const STANDBY_RETRY: Duration = Duration::from_millis(500);

/// The history, once this daemon may write it; None when `shutdown`
/// resolved first (a standby told to stop).
pub(super) async fn open_history(
    config: &Config,
    shutdown: &mut (impl Future<Output = ()> + Unpin),
) -> Result<Option<History>, DaemonError> {
    let database = config.history_database();
    let mut said = false;
    let mut last_failure = None;
    loop {
        match History::open(&database) {
            Err(StoreError::InUseByAnotherDaemon(at)) if config.standby => {
                if !said {
                    tracing::info!(history = %at, "standing by: another workflowd is using the history; this one takes over when it stops");
                    super::systemd::standing_by(&at);
                    said = true;
                }
            }
            // The server restarting or out of reach is when the writing
            // daemon is likeliest to be lost: a standby waits it out.
            Err(e @ (StoreError::Connect { .. } | StoreError::Postgres(_))) if config.standby => {
                if !said {
                    super::systemd::standing_by(&database.describe());
                    said = true;
                }
                let failure = e.to_string();
                if last_failure.as_ref() != Some(&failure) {
                    tracing::warn!(error = %failure, "standing by: cannot reach the history; trying again");
                    last_failure = Some(failure);
                }
            }
            Ok(history) => {
                if said {
                    tracing::warn!("taking over the history");
                }
                return Ok(Some(history));
            }
            Err(e) => return Err(e.into()),
        }
        tokio::select! {
            _ = tokio::time::sleep(STANDBY_RETRY) => {}
            _ = &mut *shutdown => return Ok(None),
        }
    }
}
