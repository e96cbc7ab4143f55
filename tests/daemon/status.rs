//! GetStatus and the gRPC health service.

use std::path::Path;

use tonic_health::pb::{health_check_response::ServingStatus, HealthCheckRequest};

use crate::helper::*;

#[tokio::test]
async fn status_reports_pool_counts_and_directories() {
    let test_start = now_nanos() - 1_000_000_000;
    let missing = std::env::temp_dir().join(format!("workflowd-missing-{}", uuid::Uuid::new_v4()));
    let daemon = Daemon::builder()
        .max_jobs(3)
        .max_queue(7)
        .workflow_dir(&missing)
        .start()
        .await;

    let status = daemon.status().await;
    assert!(!status.version.is_empty());
    let started = nanos(status.start_time.as_ref().expect("start_time"));
    assert!(
        started >= test_start && started <= now_nanos(),
        "start_time is the daemon's start"
    );
    assert!(status.uptime_seconds < 60);
    assert_eq!(status.history_retention, None, "kept forever by default");
    assert_eq!((status.max_workers, status.max_queue), (3, 7));
    assert_eq!((status.running, status.queued), (0, 0));
    assert_eq!(
        (
            status.succeeded_today,
            status.failed_today,
            status.total_executions
        ),
        (0, 0, 0)
    );
    assert_eq!(
        (status.workflows_discovered, status.discovery_errors),
        (5, 0)
    );
    if history_in_postgres() {
        // The URL it was given, which has no password to hide here.
        assert!(
            status
                .database_path
                .starts_with("postgres://postgres@127.0.0.1:"),
            "{}",
            status.database_path
        );
    } else {
        assert_eq!(
            Path::new(&status.database_path)
                .canonicalize()
                .expect("the database file exists"),
            daemon
                .data_dir()
                .join("history.sqlite3")
                .canonicalize()
                .unwrap()
        );
    }

    let dirs = &status.workflow_directories;
    assert_eq!(dirs.len(), 3, "{dirs:?}");
    let find = |wanted: &Path| {
        dirs.iter()
            .find(|d| {
                Path::new(&d.path) == wanted
                    || Path::new(&d.path).canonicalize().ok().as_deref() == Some(wanted)
            })
            .unwrap_or_else(|| panic!("{} in {dirs:?}", wanted.display()))
    };
    let examples = find(&examples_dir().canonicalize().unwrap());
    assert_eq!(
        (
            examples.workflows,
            examples.discovery_errors,
            examples.exists
        ),
        (5, 0, true)
    );
    let fixtures = find(&daemon.workflows_dir().canonicalize().unwrap());
    assert_eq!(
        (
            fixtures.workflows,
            fixtures.discovery_errors,
            fixtures.exists
        ),
        (0, 0, true)
    );
    let absent = find(&missing);
    assert_eq!(
        (absent.workflows, absent.discovery_errors, absent.exists),
        (0, 0, false)
    );

    // One success, one failure.
    let ok = daemon.execute("hello", &[]).await;
    daemon.wait_state(&ok.id, ExecutionState::Succeeded).await;
    let bad = daemon
        .execute("sleeper", &[("seconds", num(0.0)), ("exit_code", num(1.0))])
        .await;
    daemon.wait_state(&bad.id, ExecutionState::Failed).await;
    let status = daemon.status().await;
    assert_eq!(
        (
            status.succeeded_today,
            status.failed_today,
            status.total_executions
        ),
        (1, 1, 2)
    );
    let mut totals: Vec<(String, u64)> = status
        .totals_by_state
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    totals.sort();
    assert_eq!(
        totals,
        [("FAILED".to_string(), 1), ("SUCCEEDED".to_string(), 1)]
    );
    assert_eq!((status.running, status.queued), (0, 0));
}

#[tokio::test]
async fn health_reports_serving() {
    let daemon = Daemon::start().await;
    for service in ["", "workflow.v1.WorkflowService"] {
        let resp = daemon
            .health()
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|s| panic!("health check {service:?}: {s:?}"))
            .into_inner();
        assert_eq!(resp.status(), ServingStatus::Serving, "service {service:?}");
    }
}
