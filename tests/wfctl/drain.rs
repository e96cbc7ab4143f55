//! `wfctl status` lists the daemons on the history; `wfctl drain` drains
//! one, by default the one answering, which then stops with status 0.

use crate::helper::*;

#[tokio::test]
async fn status_lists_the_daemon_and_drain_stops_it() {
    let mut daemon = Daemon::builder().start().await;
    let pid = daemon.pid();
    let status = wfctl(&daemon.addr, &["status"]).await.expect(0).stdout;
    let line = status
        .lines()
        .find(|l| l.starts_with("Daemon"))
        .unwrap_or_else(|| panic!("a Daemon line in {status}"));
    assert!(
        line.contains(" writer on ") && line.contains(&format!("(pid {pid}): 0 running of ")),
        "{line}"
    );
    assert!(
        !line.contains("NOT HEARD FROM") && !line.contains("draining"),
        "{line}"
    );

    let unknown = wfctl(&daemon.addr, &["drain", "no-such-daemon"]).await;
    assert_ne!(unknown.code, 0, "{unknown:?}");
    assert!(unknown.stderr.contains("no-such-daemon"), "{unknown:?}");

    let drained = wfctl(&daemon.addr, &["drain"]).await.expect(0).stdout;
    assert!(
        drained.starts_with("draining ") && drained.contains(&format!("(pid {pid})")),
        "{drained}"
    );
    assert_eq!(daemon.wait_exit().await.code(), Some(0), "{}", daemon.log());
}
