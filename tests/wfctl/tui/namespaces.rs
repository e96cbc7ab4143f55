//! `wfctl tui --namespace N`: the dashboard's status counts and active
//! jobs, the job monitor's tabs and the workflow list show only namespace
//! N's executions and workflows.

use super::{row, short};
use crate::daemon::namespaces::team_dirs;
use crate::helper::*;

#[tokio::test]
async fn the_counts_and_lists_show_only_the_namespace_of_the_command_line() {
    let dirs = tempfile::tempdir().unwrap();
    let daemon = Daemon::builder()
        .max_jobs(2)
        .config_file("namespaces.toml", &team_dirs(dirs.path(), ""))
        .start()
        .await;
    let in_ns = |namespace: &str, request: pb::ExecuteRequest| pb::ExecuteRequest {
        namespace: namespace.into(),
        ..request
    };
    let gate = |n: usize| {
        let gate = daemon.file(&format!("gate-{n}"));
        in_ns(
            "team-a",
            request("gate", &[("gate", text(gate.to_str().unwrap()))]),
        )
    };
    // The examples' sleeper, in `default`.
    let sleeper = || request("sleeper", &[("seconds", num(60.0))]);
    // Other namespaces' first in each list, so a list that shows team-a's
    // shows them too unless it is filtered. Completed: one of team-a's,
    // one of team-b's.
    let beta = daemon
        .execute_request(in_ns("team-b", request("beta", &[])))
        .await;
    daemon.wait_end(&beta.id).await;
    let alpha = daemon
        .execute_request(in_ns("team-a", request("alpha", &[])))
        .await;
    daemon.wait_end(&alpha.id).await;
    // Running: one of team-a's, one of default's; the two workers busy.
    let other_running = daemon.execute_request(sleeper()).await;
    daemon.wait_started(&other_running.id).await;
    let a_running = daemon.execute_request(gate(0)).await;
    daemon.wait_started(&a_running.id).await;
    // Queued: likewise.
    let other_queued = daemon.execute_request(sleeper()).await;
    let a_queued = daemon.execute_request(gate(1)).await;
    assert_eq!(a_queued.state, pb::ExecutionState::Queued as i32);

    let tui = Tui::start_with(
        &daemon.addr,
        TuiOptions {
            args: vec!["--namespace".into(), "team-a".into()],
            ..TuiOptions::default()
        },
    )
    .await;
    // The dashboard's active jobs.
    let screen = tui
        .wait_for(&format!("[{}] gate", short(&a_running.id)))
        .await;
    assert!(screen.contains("Active jobs (1)"), "{screen}");
    assert!(row(&screen, &other_running.id).is_none(), "{screen}");
    // Its status panel: team-a's one running, one queued, one succeeded
    // today, three in all (the daemon's: 2, 2, 2 and 6); the worker pool
    // and the queue limit stay the daemon's.
    let status = daemon.status().await;
    assert_eq!(
        (status.running, status.queued, status.succeeded_today),
        (2, 2, 2)
    );
    let panel = [
        format!("Workers: 1/{}", status.max_workers),
        format!("Queue Size: 1/{}", status.max_queue),
        "Processed today: 1 ".to_string(),
        "Failed today: 0 ".to_string(),
        "(3 executions, version".to_string(),
    ];
    for shown in &panel {
        assert!(screen.contains(shown.as_str()), "{shown}: {screen}");
    }

    // The job monitor's tabs: Active, Pending, Completed.
    tui.send_keys(&["j"]).await;
    let screen = tui.wait_for("Active jobs ─").await;
    assert!(row(&screen, &a_running.id).is_some(), "{screen}");
    assert!(row(&screen, &other_running.id).is_none(), "{screen}");
    let tabs = [
        ("Pending jobs ─", &a_queued, &other_queued),
        ("Completed jobs ─", &alpha, &beta),
    ];
    for (title, shown, hidden) in tabs {
        tui.send_keys(&["Tab"]).await;
        let screen = tui.wait_for(&format!("[{}] ", short(&shown.id))).await;
        assert!(screen.contains(title), "{title}: {screen}");
        assert!(row(&screen, &hidden.id).is_none(), "{title}: {screen}");
    }

    // The workflow list: team-a's workflows (its directory's and the
    // bundled ones), not team-b's nor default's.
    let team_a = daemon
        .client()
        .list_workflows(pb::ListWorkflowsRequest {
            namespace: "team-a".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let title = format!(" Workflows ({})  Enter: run form ", team_a.workflows.len());
    tui.send_keys(&["l"]).await;
    let screen = tui.wait_for(&title).await;
    for shown in [" alpha ", " gate "] {
        assert!(screen.contains(shown), "{shown}: {screen}");
    }
    for hidden in [" beta ", " hello ", " sleeper "] {
        assert!(!screen.contains(hidden), "{hidden}: {screen}");
    }

    // Nothing left queued: one could start while the daemon is being
    // killed, and outlive it.
    for queued in [&other_queued, &a_queued] {
        daemon.cancel(&queued.id, None, false).await;
    }
}
