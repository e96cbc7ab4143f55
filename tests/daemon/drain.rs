//! The daemons on a history (GetStatus `daemons`) and DrainDaemon
//! (`wfctl drain`): a drained daemon starts nothing more, lets what runs
//! finish, stops with status 0, and leaves what is queued for the next
//! daemon; with PostgreSQL a standby is listed, takes the queue over at
//! once, and may itself be drained.

use tonic::Code;

use super::standby::standby_on;
use crate::helper::*;

/// DrainDaemon of `daemon_id`, asking `daemon`.
async fn drain_daemon(daemon: &Daemon, daemon_id: &str) -> Result<pb::DaemonStatus, tonic::Status> {
    daemon
        .client()
        .drain_daemon(pb::DrainDaemonRequest {
            daemon_id: daemon_id.into(),
        })
        .await
        .map(|answer| answer.into_inner().daemon.expect("the drained daemon"))
}

/// When the execution's program started (its `started` event), in ms.
async fn started_ms(daemon: &Daemon, id: &str) -> i64 {
    let events = daemon.logs(id, 0, false).await;
    let started: Vec<&LogEvent> = events
        .iter()
        .filter(|e| matches!(e.payload, Some(Payload::Started(_))))
        .collect();
    assert_eq!(started.len(), 1, "one start: {events:?}");
    started[0]
        .time
        .as_ref()
        .map_or(0, |t| t.seconds * 1_000 + i64::from(t.nanos) / 1_000_000)
}

#[tokio::test]
async fn a_drained_daemon_finishes_what_runs_and_stops_leaving_its_queue() {
    let mut daemon = Daemon::builder()
        .program("gate.sh", gate_program("gate"))
        .max_jobs(1)
        .start()
        .await;
    let listed = daemon.status().await.daemons;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let me = &listed[0];
    assert_eq!(me.role(), pb::DaemonRole::Writer);
    assert_eq!((me.pid, me.slots, me.running), (daemon.pid(), 1, 0));
    assert!(me.alive && !me.draining && !me.id.is_empty() && !me.host.is_empty());

    let (running, gate) = daemon.start_gate().await;
    let queued = daemon.execute("hello", &[("name", text("later"))]).await;
    assert_eq!(queued.state(), ExecutionState::Queued);
    let unknown = drain_daemon(&daemon, "no-such-daemon").await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert!(unknown.message().contains("no-such-daemon"), "{unknown:?}");

    let nameless = drain_daemon(&daemon, "").await.unwrap_err();
    assert_eq!(nameless.code(), Code::InvalidArgument);
    assert!(nameless.message().contains("daemon_id"), "{nameless:?}");
    let drained = drain_daemon(&daemon, &me.id).await.expect("DrainDaemon");
    assert_eq!(
        (drained.id.as_str(), drained.draining),
        (me.id.as_str(), true)
    );
    assert_eq!(drained.running, 1);
    let again = drain_daemon(&daemon, &me.id).await.expect("a second drain");
    assert!(again.draining);
    assert!(daemon.status().await.daemons[0].draining);
    // Still serving: new work is accepted, for the next daemon to run.
    let accepted = daemon.execute("hello", &[("name", text("after"))]).await;
    assert_eq!(accepted.state(), ExecutionState::Queued);

    std::fs::write(&gate, "").unwrap();
    let exit = daemon.wait_exit().await;
    assert_eq!(exit.code(), Some(0), "{}", daemon.log());
    let stopped_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(daemon.log().contains("drained"), "{}", daemon.log());

    // What ran finished; what was queued was left, and runs at the next
    // start, not before the drained daemon stopped.
    daemon.restart().await;
    assert_eq!(
        daemon.get(&running.id).await.state(),
        ExecutionState::Succeeded
    );
    for id in [&queued.id, &accepted.id] {
        let ran = daemon.wait_end(id).await;
        assert_eq!(ran.state(), ExecutionState::Succeeded, "{:?}", ran.error);
        assert!(started_ms(&daemon, id).await >= stopped_ms);
    }
}

#[tokio::test]
async fn a_standby_is_listed_and_takes_over_the_queue_of_a_drained_writer() {
    if skip_on_postgres("a standby on a database of its own (run once)") {
        return;
    }
    let url = fresh_postgres_database();
    let mut writer = Daemon::builder()
        .flag("--database", &url)
        .program("gate.sh", gate_program("gate"))
        .max_jobs(1)
        .start()
        .await;
    let (running, gate) = writer.start_gate().await;
    let queued = writer.execute("hello", &[("name", text("moved"))]).await;
    let standby = standby_on(&url).await;

    let listed = eventually("the standby in the writer's list", DEADLINE, || async {
        let daemons = writer.status().await.daemons;
        (daemons.len() == 2).then_some(daemons)
    })
    .await;
    assert_eq!(listed[0].role(), pb::DaemonRole::Writer);
    assert_eq!((listed[0].pid, listed[0].running), (writer.pid(), 1));
    assert_eq!(listed[1].role(), pb::DaemonRole::Standby);
    assert!(listed[1].alive && listed[1].pid != writer.pid());
    let writer_id = listed[0].id.clone();

    // Drained by id: it ends what runs and stops; the standby takes over
    // and runs the queue, nothing interrupted.
    drain_daemon(&writer, &writer_id)
        .await
        .expect("DrainDaemon");
    std::fs::write(&gate, "").unwrap();
    assert_eq!(writer.wait_exit().await.code(), Some(0), "{}", writer.log());
    let standby = standby.await.expect("the standby takes over");
    assert_eq!(
        standby.get(&running.id).await.state(),
        ExecutionState::Succeeded
    );
    let ran = standby.wait_end(&queued.id).await;
    assert_eq!(ran.state(), ExecutionState::Succeeded, "{:?}", ran.error);
    // The drained writer took itself off the list when it stopped.
    let now_listed = eventually(
        "the drained writer gone from the list",
        DEADLINE,
        || async {
            let daemons = standby.status().await.daemons;
            (daemons.len() == 1).then_some(daemons)
        },
    )
    .await;
    assert_eq!(now_listed[0].role(), pb::DaemonRole::Writer);
    assert_ne!(now_listed[0].id, writer_id);
}

#[tokio::test]
async fn a_drained_standby_stops_waiting() {
    if skip_on_postgres("a standby on a database of its own (run once)") {
        return;
    }
    let url = fresh_postgres_database();
    let writer = Daemon::builder().flag("--database", &url).start().await;
    let (_, standby) = Daemon::builder()
        .flag("--database", &url)
        .switch("--standby")
        .start_in_background();
    let standby_id = eventually("the standby in the writer's list", DEADLINE, || async {
        let daemons = writer.status().await.daemons;
        daemons
            .iter()
            .find(|d| d.role() == pb::DaemonRole::Standby)
            .map(|d| d.id.clone())
    })
    .await;
    let drained = drain_daemon(&writer, &standby_id)
        .await
        .expect("DrainDaemon");
    assert!(drained.draining && drained.role() == pb::DaemonRole::Standby);
    // It stops at its next report, without ever serving, and leaves the
    // list.
    eventually("the standby gone from the list", DEADLINE, || async {
        (writer.status().await.daemons.len() == 1).then_some(())
    })
    .await;
    // Its start never saw it serve: the harness gave up, showing its log.
    let Err(never_served) = standby.await else {
        panic!("a drained standby never serves");
    };
    let panic = never_served.into_panic();
    let said = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(said.contains("drained while standing by"), "{said}");
}
