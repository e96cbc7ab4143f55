//! A standby on a shared PostgreSQL history (docs/postgres.md): a daemon
//! started with --standby waits while another writes the history, and
//! takes its work over when it stops; a daemon whose session was ended
//! while a standby took over stops at once at its next write; a daemon
//! cut off from the database while a standby waits kills its programs and
//! stops before the standby can take over.
//! Each test makes its own database, so they run once, in the SQLite run.

use rustix::process::Signal;

use crate::helper::*;

/// Runs `sql` on the database at `url` (its owner, the superuser) and
/// returns the first column of its one row as a count, if it has one.
async fn admin_sql(url: &str, sql: &'static str, params: Vec<i64>) -> Option<i64> {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
            params.iter().map(|p| p as _).collect();
        let rows = client.query(sql, &params).expect(sql);
        rows.first().map(|row| row.get::<_, i64>(0))
    })
    .await
    .unwrap()
}

/// The standby's start, once it says it is standing by.
pub(super) async fn standby_on(url: &str) -> tokio::task::JoinHandle<Daemon> {
    standby_from(Daemon::builder().flag("--database", url)).await
}

/// `daemon` started as a standby, once it says it is standing by; the
/// handle resolves when it has taken over.
pub(super) async fn standby_from(daemon: DaemonBuilder) -> tokio::task::JoinHandle<Daemon> {
    let (log, start) = daemon.switch("--standby").start_in_background();
    eventually("the standby standing by", DEADLINE, || async {
        std::fs::read_to_string(&log)
            .is_ok_and(|l| l.contains("standing by"))
            .then_some(())
    })
    .await;
    start
}

#[tokio::test]
async fn a_standby_takes_over_the_work_of_a_daemon_killed_with_9() {
    if skip_on_postgres("a standby on a database of its own (run once)") {
        return;
    }
    let url = fresh_postgres_database();
    let mut first = Daemon::builder()
        .flag("--database", &url)
        .max_jobs(1)
        .start()
        .await;
    let running = first.execute("sleeper", &[("seconds", num(300.0))]).await;
    first.wait_state(&running.id, ExecutionState::Running).await;
    let queued = first.execute("hello", &[("name", text("standby"))]).await;
    assert_eq!(queued.state(), ExecutionState::Queued);

    let standby = standby_on(&url).await;
    assert!(
        !standby.is_finished(),
        "it waits while the first one writes"
    );
    first.kill9().await;
    let standby = standby.await.expect("the standby starts");

    let interrupted = standby.wait_end(&running.id).await;
    assert_eq!(interrupted.state(), ExecutionState::Interrupted);
    assert!(
        interrupted
            .error
            .contains("the daemon stopped while the execution was running"),
        "{:?}",
        interrupted.error
    );
    let ran = standby.wait_end(&queued.id).await;
    assert_eq!(ran.state(), ExecutionState::Succeeded, "{:?}", ran.error);
    assert!(standby.log().contains("taking over the history"));
}

#[tokio::test]
async fn a_daemon_whose_history_was_taken_over_stops_at_once() {
    if skip_on_postgres("a standby on a database of its own (run once)") {
        return;
    }
    let url = fresh_postgres_database();
    let mut first = Daemon::builder().flag("--database", &url).start().await;
    let standby = standby_on(&url).await;

    // The first daemon loses its session while it cannot reconnect (it is
    // stopped), as behind a network cut: the standby takes over.
    first.send_signal(Signal::STOP);
    let ended = admin_sql(
        &url,
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_locks \
         WHERE locktype = 'advisory' AND granted AND objid::BIGINT = $1 \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) ended",
        vec![0x776f_726b_666c_6f78_i64 & 0xffff_ffff],
    )
    .await;
    assert_eq!(ended, Some(1), "the first daemon's writer held the claim");
    let mut standby = standby.await.expect("the standby starts");
    let hello = standby.execute("hello", &[("name", text("taken"))]).await;
    standby.wait_end(&hello.id).await;
    // The standby lets go again: the lock is free, its claim is recorded.
    standby.terminate().await;

    // Woken, the first one finds at its next write that another daemon
    // claimed the history since its own claim, though nobody holds it now.
    first.send_signal(Signal::CONT);
    let mut client = first.client();
    tokio::spawn(async move {
        let _ = client
            .execute(pb::ExecuteRequest {
                workflow_id: "hello".into(),
                ..Default::default()
            })
            .await;
    });
    let status = first.wait_exit().await;
    assert_eq!(status.code(), Some(1), "{}", first.log());
    assert!(
        first.log().contains("took over the history"),
        "{}",
        first.log()
    );
}

#[tokio::test]
async fn standby_needs_a_postgresql_history() {
    if skip_on_postgres("a daemon on SQLite") {
        return;
    }
    let (status, stderr) = Daemon::builder()
        .switch("--standby")
        .start_expecting_failure()
        .await;
    assert!(!status.success());
    assert!(stderr.contains("standby"), "{stderr}");
    assert!(stderr.contains("PostgreSQL"), "{stderr}");
}

/// What a daemon on another host left running is marked INTERRUPTED by
/// the daemon that claims the history next, and nothing of it is
/// signalled: its pids name this host's processes, not the other's.
#[tokio::test]
async fn work_left_by_another_hosts_daemon_is_interrupted_without_signals() {
    if skip_on_postgres("a database of its own (run once)") {
        return;
    }
    let url = fresh_postgres_database();
    // Without the guardian, so the program outlives its daemon.
    let mut daemon = Daemon::builder()
        .flag("--database", &url)
        .program("stubborn.sh", stubborn_program())
        .config_file("no-guardian.toml", "kill_programs_with_daemon = false\n")
        .start()
        .await;
    let (running, started, grandchild) = daemon.start_with_grandchild("stubborn").await;
    daemon.kill9().await;
    // As if that daemon had run on another host.
    admin_sql(
        &url,
        "UPDATE writer_claims SET host = 'other-host', boot_id = 'another-boot'",
        Vec::new(),
    )
    .await;
    daemon.restart().await;

    let ended = daemon.wait_end(&running.id).await;
    assert_eq!(ended.state(), ExecutionState::Interrupted);
    assert!(
        ended.error.contains("the daemon on other-host stopped"),
        "{:?}",
        ended.error
    );
    let alive = !process_gone(started.pid) && !process_gone(grandchild);
    let group = rustix::process::Pid::from_raw(started.pid).expect("a pid");
    let _ = rustix::process::kill_process_group(group, Signal::KILL);
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_raw(grandchild).expect("a pid"),
        Signal::KILL,
    );
    assert!(alive, "nothing was signalled");
}

#[tokio::test]
async fn a_writer_cut_off_while_a_standby_waits_stops_its_programs_before_the_takeover() {
    if skip_on_postgres("a standby on a database of its own (run once)") {
        return;
    }
    let url = fresh_postgres_database();
    // postgres://USER@HOST:PORT/DATABASE: the writer goes through a proxy
    // that can cut it off, the standby straight to the server.
    let (head, rest) = url.split_once('@').unwrap();
    let (server, database) = rest.split_once('/').unwrap();
    let proxy = TcpProxy::to(server.parse().unwrap()).await;
    let mut writer = Daemon::builder()
        .flag("--database", format!("{head}@{}/{database}", proxy.addr))
        .start()
        .await;
    let running = writer.execute("sleeper", &[("seconds", num(300.0))]).await;
    let pid = writer.wait_started(&running.id).await.pid;
    let standby = standby_on(&url).await;
    eventually("the standby in the writer's list", DEADLINE, || async {
        let daemons = writer.status().await.daemons;
        daemons
            .iter()
            .any(|d| d.role() == pb::DaemonRole::Standby && d.alive)
            .then_some(())
    })
    .await;

    // Partitioned: the writer hears nothing from the server, and the
    // server keeps its session (and so its claim) until it is cut.
    proxy.freeze();
    let frozen = std::time::Instant::now();
    let status = writer.wait_exit().await;
    assert_eq!(status.code(), Some(1), "{}", writer.log());
    // Before the server could end the session by its keepalives (no
    // sooner than about 30 s after the cut) and let the standby in.
    let fenced_after = frozen.elapsed();
    assert!(
        fenced_after < std::time::Duration::from_secs(30),
        "fenced {fenced_after:?} after the cut"
    );
    assert!(writer.log().contains("fencing"), "{}", writer.log());
    wait_process_gone(pid, "the fenced writer's program").await;
    assert!(
        !standby.is_finished(),
        "the standby waited for the session to end"
    );

    proxy.cut();
    let standby = standby.await.expect("the standby takes over");
    let interrupted = standby.wait_end(&running.id).await;
    assert_eq!(interrupted.state(), ExecutionState::Interrupted);
}
