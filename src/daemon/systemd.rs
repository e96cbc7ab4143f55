//! The daemon as a systemd service (contrib/systemd, docs/operations.md):
//! `Type=notify` readiness once it serves, the watchdog's keep-alive while
//! its runtime runs, the stopping notice, and SIGHUP (`systemctl reload`).
//! Outside systemd (`NOTIFY_SOCKET` unset) the notices do nothing.

use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;

/// On each SIGHUP, rescans the workflow directories at once, for changes
/// the watcher cannot see (a network filesystem). Tokens need no reload:
/// this daemon alone changes them, in memory first.
pub(super) fn rescan_on_hangup(
    catalog: Arc<crate::discovery::Catalog>,
) -> Result<(), super::DaemonError> {
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|source| super::DaemonError::Prepare {
            path: "SIGHUP".into(),
            source,
        })?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            tracing::info!("SIGHUP: rescanning the workflow directories");
            catalog.rescan().await;
        }
    });
    Ok(())
}

/// Tells systemd the daemon serves (after its listeners are bound, so a
/// unit ordered after this one finds the port open).
pub(super) fn ready(serving_on: &str) {
    let status = format!("serving on {serving_on}");
    notify(&[NotifyState::Ready, NotifyState::Status(&status)]);
}

/// Tells systemd a standby is up, waiting to take the history over (so
/// `Type=notify`'s start timeout does not kill it), and feeds the
/// watchdog meanwhile.
pub(super) fn standing_by(history: &str) {
    let status = format!("standing by: another workflowd is using the history at {history}");
    notify(&[NotifyState::Ready, NotifyState::Status(&status)]);
    keep_watchdog_fed();
}

/// Tells systemd the daemon is stopping (running programs get their grace
/// period; systemd waits up to TimeoutStopSec).
pub(super) fn stopping() {
    notify(&[
        NotifyState::Stopping,
        NotifyState::Status("stopping: ending running executions"),
    ]);
}

/// With `WatchdogSec=` set, pings the watchdog at half its period from
/// the async runtime: a runtime that stops scheduling tasks stops pinging,
/// and systemd restarts the daemon.
pub(super) fn keep_watchdog_fed() {
    // Once: a standby starts feeding it before it serves.
    static FED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let Some(period) = watchdog_period() else {
        return;
    };
    if FED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            notify(&[NotifyState::Watchdog]);
        }
    });
}

/// Half the watchdog's period, when systemd set one for this process:
/// `WATCHDOG_USEC`, and `WATCHDOG_PID` naming this process when it is set
/// (as sd_watchdog_enabled(3) reads them; the crate's own reader wants
/// the pid always).
fn watchdog_period() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.trim().parse::<u32>().ok()? != std::process::id() {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

fn notify(state: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, state) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}
