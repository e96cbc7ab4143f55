//! A SQLite history brought into PostgreSQL with `workflowd --database
//! postgres://... --import-history FILE`: a daemon started on the
//! database then serves the executions, their trees, logs and artifacts
//! as the SQLite one did, and goes on from there.

use crate::helper::*;

#[tokio::test]
async fn an_imported_history_is_served_by_the_daemon_on_postgres() {
    if skip_on_postgres("importing a SQLite history") {
        return;
    }
    let mut daemon = Daemon::start().await;
    let exec = daemon
        .execute("research_pipeline", &[("topic", text("moving"))])
        .await;
    let events = daemon.run_to_end(&exec.id).await;
    let before = daemon.get(&exec.id).await;
    daemon.terminate().await;

    let url = fresh_postgres_database();
    let data_dir = daemon.data_dir();
    let file = data_dir.join("history.sqlite3");
    let import = |url: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_workflowd"))
            .args(["--data-dir"])
            .arg(&data_dir)
            .args(["--database", url, "--import-history"])
            .arg(&file)
            .env("NO_COLOR", "1")
            .output()
            .expect("run workflowd --import-history")
    };
    let imported = import(&url);
    let stdout = String::from_utf8_lossy(&imported.stdout);
    assert!(
        imported.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let executions = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("executions"));
    assert_eq!(
        executions.map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["executions", "1"]),
        "{stdout}"
    );

    daemon
        .restart_adding(&["--database".into(), url.clone()])
        .await;
    let after = daemon.get(&exec.id).await;
    assert_eq!(after, before, "the execution as it was");
    assert_eq!(
        daemon.logs(&exec.id, 0, false).await,
        events,
        "its whole log"
    );
    let next = daemon.execute("hello", &[("name", text("again"))]).await;
    daemon.wait_end(&next.id).await;
    assert_eq!(daemon.status().await.total_executions, 2);

    // A second import finds a history in the database and says so.
    daemon.terminate().await;
    let again = import(&url);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds a history"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}
