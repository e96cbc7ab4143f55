//! Fencing: a writing daemon cut off from its PostgreSQL history while a
//! standby waits stops its programs and itself before the standby can
//! take over, so no program runs on both sides (docs/postgres.md).
//!
//! Why the numbers hold: a standby takes over once the server has ended
//! the writer's session. The server's keepalives (`db/postgres.rs`: 30 s
//! idle, then 3 probes 10 s apart) end it no sooner than about 30 s after
//! the cut (the last probe answered before it was at most 30 s earlier,
//! and 30 s of probes follow). The writer reports every 2 s on a
//! connection of its own (`registry.rs`) and fences once none has gone
//! through for [`FENCE_AFTER`]: at most 2 + 20 + 1 s after the cut.

use std::sync::Arc;
use std::time::Duration;

use crate::engine::Engine;

/// How long without a report reaching the history before a writer with a
/// standby waiting fences itself.
pub(crate) const FENCE_AFTER: Duration = Duration::from_secs(20);

/// How often the silence is looked at.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// How long the programs get to be gone (their groups are SIGKILLed)
/// before the daemon exits anyway.
const KILL_WAIT: Duration = Duration::from_secs(2);

/// Watches this writing daemon's reports until the process ends:
/// `silent_with_standby` says how long since one last reached the history,
/// when that one found a standby alive (`Registry::silent_with_standby`).
pub(crate) fn watch(
    silent_with_standby: impl Fn() -> Option<Duration> + Send + 'static,
    engine: Arc<Engine>,
) {
    tokio::spawn(async move {
        let mut look = tokio::time::interval(LOOK_EVERY);
        loop {
            look.tick().await;
            if let Some(silent) = silent_with_standby() {
                if silent >= FENCE_AFTER {
                    fence(&engine, silent).await;
                }
            }
        }
    });
}

/// Kills the programs and exits (status 1), as a daemon that learns a
/// standby took over does (`store/writer.rs`); the guardian, when on, would
/// kill them too.
async fn fence(engine: &Engine, silent: Duration) -> ! {
    tracing::error!(
        silent_secs = silent.as_secs(),
        "fencing: no report has reached the history while a standby waits, which may take \
         over; killing this daemon's programs and stopping"
    );
    engine.kill_programs_now();
    if tokio::time::timeout(KILL_WAIT, engine.programs_gone())
        .await
        .is_err()
    {
        tracing::error!("programs still live after their groups were killed; stopping anyway");
    }
    eprintln!(
        "workflowd: cut off from the history for {} s while a standby waits; stopping",
        silent.as_secs()
    );
    std::process::exit(1)
}
