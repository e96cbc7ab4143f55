//! The daemon as a systemd service (contrib/systemd, docs/operations.md):
//! the shipped units pass `systemd-analyze verify` with no warning; the
//! daemon tells a notify socket READY=1 once it serves, pings the watchdog
//! and says STOPPING=1 on SIGTERM; SIGHUP rescans the workflow
//! directories; `--log-format json` writes one JSON object a line.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Duration;

use rustix::process::Signal;

use crate::helper::*;

/// Verifies `unit` (with ExecStart pointing at this build's binary, which
/// systemd-analyze requires to exist) under the name `name`.
fn verify(unit: &Path, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(unit).unwrap();
    assert!(
        text.contains("ExecStart=/usr/local/bin/workflowd "),
        "{text}"
    );
    let text = text.replace("/usr/local/bin/workflowd", env!("CARGO_BIN_EXE_workflowd"));
    let copy = dir.path().join(name);
    std::fs::write(&copy, text).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("systemd-analyze (Debian's systemd; scripts/test-all.sh installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name}: {stderr}");
    // Unknown keys and bad values are only warnings to systemd: none.
    assert!(stderr.trim().is_empty(), "{name}: {stderr}");
}

#[test]
fn the_shipped_units_verify_without_a_warning() {
    let units = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/systemd");
    verify(&units.join("workflowd.service"), "workflowd.service");
    verify(&units.join("workflowd@.service"), "workflowd@ci.service");
}

#[tokio::test]
async fn a_notify_socket_hears_ready_the_watchdog_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut daemon = Daemon::builder()
        .env("NOTIFY_SOCKET", path.display())
        .env("WATCHDOG_USEC", 200_000)
        .start()
        .await;
    let mut heard = Vec::new();
    let mut buffer = [0u8; 4096];
    let mut receive = || {
        let n = socket.recv(&mut buffer).expect("a notice from the daemon");
        String::from_utf8_lossy(&buffer[..n]).into_owned()
    };
    // Ready (with where it serves), then the watchdog's pings.
    while heard
        .iter()
        .filter(|m: &&String| m.contains("WATCHDOG=1"))
        .count()
        < 2
    {
        heard.push(receive());
    }
    assert!(heard[0].contains("READY=1"), "{heard:?}");
    assert!(
        heard[0].contains(&format!("STATUS=serving on {}", daemon.addr)),
        "{heard:?}"
    );
    daemon.send_signal(Signal::TERM);
    let stopping = loop {
        let message = receive();
        if !message.contains("WATCHDOG=1") {
            break message;
        }
    };
    assert!(stopping.contains("STOPPING=1"), "{stopping}");
    assert!(daemon.wait_exit().await.success());
}

#[tokio::test]
async fn sighup_rescans_and_json_logs_are_one_object_a_line() {
    let daemon = Daemon::builder().flag("--log-format", "json").start().await;
    daemon.send_signal(Signal::HUP);
    eventually("the rescan", Duration::from_secs(10), || async {
        daemon
            .log()
            .contains("SIGHUP: rescanning the workflow directories")
            .then_some(())
    })
    .await;
    // Still serving.
    daemon.status().await;
    let log = daemon.log();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() >= 2, "{log}");
    assert!(lines
        .iter()
        .all(|l| l["level"].is_string() && l["fields"].is_object()));

    let (status, stderr) = Daemon::builder()
        .flag("--log-format", "xml")
        .start_expecting_failure()
        .await;
    assert!(!status.success());
    assert!(stderr.contains("setting log_format"), "{stderr}");
}
