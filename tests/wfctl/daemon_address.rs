//! Reaching the daemon: the address from WORKFLOWD_ADDR (WFCTL_ADDR with
//! a warning) or a Unix socket, and one line with exit 3 when the daemon
//! is down, lost mid-follow or shutting down.

use std::net::TcpListener;

use workflow_manager::pb::ExecutionState;

use crate::helper::*;

#[tokio::test]
async fn a_daemon_that_is_down_gives_one_line_and_exit_3() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        listener.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let run = wfctl(&addr, &["status"]).await.expect(3);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{run:?}");
    assert!(
        lines[0].starts_with(&format!(
            "wfctl: cannot reach the workflow daemon at {addr}: "
        )),
        "{run:?}"
    );
    // --addr wins over WFCTL_ADDR; hyperctl forms fail the same way.
    wfctl("127.0.0.1:1", &["--addr", &addr, "workflow", "-op", "list"])
        .await
        .expect(3)
        .stderr_has(&addr);
}

#[tokio::test]
async fn a_daemon_lost_mid_follow_exits_3_and_one_shutting_down_says_so() {
    let mut daemon = Daemon::start().await;
    let addr = daemon.addr.clone();
    let follow = tokio::spawn(async move {
        wfctl(
            &addr,
            &["run", "sleeper", "--input", "seconds=30", "--follow"],
        )
        .await
    });
    let running = eventually("the followed sleeper to start", POLL_DEADLINE, || async {
        daemon
            .list_executions(Default::default())
            .await
            .executions
            .into_iter()
            .next()
    })
    .await;
    daemon.wait_output(&running.id, "sleeping 30 s").await;
    daemon.kill9().await;
    let run = follow.await.expect("wfctl task").expect(3);
    assert!(
        run.stderr.contains(&format!(
            "wfctl: cannot reach the workflow daemon at {}: ",
            daemon.addr
        )),
        "{run:?}"
    );

    // The restart reaps the orphaned sleeper. A daemon that answers
    // UNAVAILABLE itself is not "unreachable": it says why. A program that
    // ignores SIGTERM keeps it shutting down for the grace period.
    daemon.restart().await;
    let stubborn = daemon.execute("ignore_sigterm", &[]).await;
    daemon
        .wait_for_event(&stubborn.id, "phase_started", |e| {
            matches!(e.payload, Some(Payload::PhaseStarted(_)))
        })
        .await;
    daemon.send_sigterm();
    let refused = eventually("the daemon to refuse new work", POLL_DEADLINE, || async {
        let run = wfctl(&daemon.addr, &["run", "hello"]).await;
        run.stderr.contains("shutting down").then_some(run)
    })
    .await
    .expect(3);
    assert!(
        refused.stderr.contains(&format!(
            "the workflow daemon at {} cannot take this now: the daemon is shutting down",
            daemon.addr
        )),
        "{refused:?}"
    );
}

#[tokio::test]
async fn the_address_comes_from_workflowd_addr_and_wfctl_addr_still_works_with_a_warning() {
    let daemon = Daemon::start().await;
    let down = closed_port_addr();
    let status = ["status"];

    // WORKFLOWD_ADDR alone: no warning.
    let run = wfctl_env(&[("WORKFLOWD_ADDR", &daemon.addr)], &status, None, "")
        .await
        .expect(0);
    assert!(!run.stderr.contains("deprecated"), "{run:?}");
    // The old variable alone still works, and says it is deprecated.
    let run = wfctl_env(&[("WFCTL_ADDR", &daemon.addr)], &status, None, "")
        .await
        .expect(0);
    assert!(
        run.stderr.contains(
            "wfctl: warning: WFCTL_ADDR is deprecated and will be ignored in the next release; \
             set WORKFLOWD_ADDR instead"
        ),
        "{run:?}"
    );
    // The new one wins over the old one, and --addr over both.
    let both = [
        ("WORKFLOWD_ADDR", daemon.addr.as_str()),
        ("WFCTL_ADDR", &down),
    ];
    let run = wfctl_env(&both, &status, None, "").await.expect(0);
    assert!(!run.stderr.contains("deprecated"), "{run:?}");
    let flag = ["--addr", down.as_str(), "status"];
    wfctl_env(&both, &flag, None, "").await.expect(3);
    // A malformed address is a usage error naming it.
    let run = wfctl(&daemon.addr, &["--addr", "unix:relative.sock", "status"])
        .await
        .expect(2);
    assert!(
        run.stderr
            .contains("invalid daemon address \"unix:relative.sock\""),
        "{run:?}"
    );
}

/// `host:port` of a loopback port nothing listens on.
fn closed_port_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

#[tokio::test]
async fn a_unix_socket_address_reaches_the_daemon() {
    let socket_dir = tempfile::tempdir().unwrap();
    let socket = socket_dir.path().join("workflowd.sock");
    let daemon = Daemon::builder()
        .flag("--unix-socket", socket.display())
        .start()
        .await;
    for addr in [
        format!("unix:{}", socket.display()),
        format!("unix://{}", socket.display()),
    ] {
        let run = wfctl(
            &addr,
            &["run", "hello", "-i", "name=socket", "--wait", "-o", "json"],
        )
        .await
        .expect(0);
        let id = run.json()["id"].as_str().expect("id").to_string();
        assert_eq!(daemon.get(&id).await.state(), ExecutionState::Succeeded);
    }
}
