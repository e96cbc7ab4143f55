//! The `namespace` filter of GetStatus and ListWorkflows: the counts of
//! one namespace's executions and the workflows of one namespace, for a
//! caller that sees it; a namespace the caller does not see, or one that
//! does not exist, has nothing in it (as ListExecutions' filter has it).

use std::collections::HashMap;

use tonic::Code;
use workflow_manager::pb;

use super::namespaces::{team_dirs, token};
use crate::helper::*;

/// GetStatus as `token`, for `namespace`.
async fn status(daemon: &Daemon, token: &str, namespace: &str) -> pb::GetStatusResponse {
    let request = pb::GetStatusRequest {
        namespace: namespace.into(),
    };
    daemon
        .client()
        .get_status(with_bearer(request, token))
        .await
        .expect("GetStatus")
        .into_inner()
}

/// One page of ListWorkflows as `token`, for `namespace`.
async fn workflows(
    daemon: &Daemon,
    token: &str,
    namespace: &str,
    page_size: i32,
    page_token: &str,
) -> Result<pb::ListWorkflowsResponse, tonic::Status> {
    let request = pb::ListWorkflowsRequest {
        page_size,
        page_token: page_token.into(),
        namespace: namespace.into(),
    };
    daemon
        .client()
        .list_workflows(with_bearer(request, token))
        .await
        .map(tonic::Response::into_inner)
}

/// The ids of a page's workflows.
fn ids(list: &pb::ListWorkflowsResponse) -> Vec<&str> {
    list.workflows.iter().map(|w| w.id.as_str()).collect()
}

/// Starts `workflow` in `namespace` (empty: `default`) as `token`.
async fn start(
    daemon: &Daemon,
    token: &str,
    namespace: &str,
    request: pb::ExecuteRequest,
) -> String {
    let request = pb::ExecuteRequest {
        namespace: namespace.into(),
        ..request
    };
    daemon
        .client()
        .execute(with_bearer(request, token))
        .await
        .expect("Execute")
        .into_inner()
        .execution
        .expect("an execution")
        .id
}

/// Execution `id` as `token`.
async fn execution(daemon: &Daemon, token: &str, id: &str) -> pb::Execution {
    let request = pb::GetExecutionRequest {
        execution_id: id.into(),
    };
    daemon
        .client()
        .get_execution(with_bearer(request, token))
        .await
        .expect("GetExecution")
        .into_inner()
        .execution
        .expect("an execution")
}

/// Waits until execution `id` is `state`, as `token`.
async fn wait_state(daemon: &Daemon, token: &str, id: &str, state: pb::ExecutionState) {
    eventually(&format!("{id} {state:?}"), DEADLINE, || async move {
        (execution(daemon, token, id).await.state == state as i32).then_some(())
    })
    .await;
}

/// What GetStatus counts of the executions: total, running, queued,
/// succeeded today, failed today, and the totals by state.
fn counts(s: &pb::GetStatusResponse) -> (u64, u32, u32, u64, u64, HashMap<String, u64>) {
    (
        s.total_executions,
        s.running,
        s.queued,
        s.succeeded_today,
        s.failed_today,
        s.totals_by_state.clone(),
    )
}

fn by_state(pairs: &[(&str, u64)]) -> HashMap<String, u64> {
    pairs.iter().map(|(s, n)| (s.to_string(), *n)).collect()
}

#[tokio::test]
async fn get_status_counts_only_the_namespace_asked_for() {
    let dirs = tempfile::tempdir().unwrap();
    let daemon = Daemon::builder()
        .flag("--auth", "tokens")
        .max_jobs(1)
        .config_file("namespaces.toml", &team_dirs(dirs.path(), ""))
        .start()
        .await;
    let admin = daemon.admin_token();
    let a = token(&daemon, &admin, pb::Role::Viewer, &["team-a"])
        .await
        .expect("a team-a token");

    // One ended execution in each of team-a, team-b and default; then
    // team-a's gate holds the one worker, and one of team-b's and one of
    // default's wait behind it.
    for (namespace, workflow) in [("team-a", "alpha"), ("team-b", "beta"), ("", "hello")] {
        let id = start(&daemon, &admin, namespace, request(workflow, &[])).await;
        wait_state(&daemon, &admin, &id, pb::ExecutionState::Succeeded).await;
    }
    let gate = daemon.file("gate");
    let gate_request = request("gate", &[("gate", text(gate.to_str().unwrap()))]);
    let running = start(&daemon, &admin, "team-a", gate_request).await;
    wait_state(&daemon, &admin, &running, pb::ExecutionState::Running).await;
    let queued_b = start(&daemon, &admin, "team-b", request("beta", &[])).await;
    let queued_default = start(&daemon, &admin, "", request("hello", &[])).await;
    for id in [&queued_b, &queued_default] {
        assert_eq!(
            execution(&daemon, &admin, id).await.state,
            pb::ExecutionState::Queued as i32
        );
    }

    let all = status(&daemon, &admin, "").await;
    assert_eq!(
        counts(&all),
        (
            6,
            1,
            2,
            3,
            0,
            by_state(&[("SUCCEEDED", 3), ("RUNNING", 1), ("QUEUED", 2)])
        ),
        "{all:?}"
    );
    let team_a = status(&daemon, &admin, "team-a").await;
    assert_eq!(
        counts(&team_a),
        (2, 1, 0, 1, 0, by_state(&[("SUCCEEDED", 1), ("RUNNING", 1)])),
        "{team_a:?}"
    );
    let team_b = status(&daemon, &admin, "team-b").await;
    assert_eq!(
        counts(&team_b),
        (2, 0, 1, 1, 0, by_state(&[("SUCCEEDED", 1), ("QUEUED", 1)])),
        "{team_b:?}"
    );
    let default = status(&daemon, &admin, "default").await;
    assert_eq!(
        counts(&default),
        (2, 0, 1, 1, 0, by_state(&[("SUCCEEDED", 1), ("QUEUED", 1)])),
        "{default:?}"
    );
    // What is not about executions is the same whatever the namespace.
    for one in [&team_a, &team_b, &default] {
        assert_eq!(
            (
                one.max_workers,
                one.max_queue,
                &one.workflow_directories,
                one.workflows_discovered
            ),
            (
                all.max_workers,
                all.max_queue,
                &all.workflow_directories,
                all.workflows_discovered
            )
        );
    }

    // A namespace that does not exist counts nothing, as ListExecutions
    // lists nothing of it; the rest of the answer stays.
    let nope = status(&daemon, &admin, "nope").await;
    assert_eq!(counts(&nope), (0, 0, 0, 0, 0, HashMap::new()), "{nope:?}");
    assert_eq!(nope.workflow_directories, all.workflow_directories);
    let listed = daemon
        .client()
        .list_executions(with_bearer(
            pb::ListExecutionsRequest {
                namespace: "nope".into(),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("ListExecutions")
        .into_inner();
    assert!(listed.executions.is_empty());

    // A caller seeing only team-a: its own namespace as without the
    // filter; team-b, which exists but which it does not see, counts
    // nothing either (the same answer as for one that does not exist),
    // and its directories stay team-a's.
    let a_all = status(&daemon, &a, "").await;
    assert_eq!(counts(&status(&daemon, &a, "team-a").await), counts(&a_all));
    assert_eq!(counts(&a_all), counts(&team_a));
    let a_asks_b = status(&daemon, &a, "team-b").await;
    let a_asks_nope = status(&daemon, &a, "nope").await;
    assert_eq!(
        counts(&a_asks_b),
        (0, 0, 0, 0, 0, HashMap::new()),
        "{a_asks_b:?}"
    );
    assert_eq!(counts(&a_asks_b), counts(&a_asks_nope));
    assert_eq!(a_asks_b.workflow_directories, a_all.workflow_directories);
    assert!(a_asks_b.active_batches.is_empty());

    // Over HTTP, the filter is a query parameter.
    let (code, body) = json_answer(
        http_client()
            .get(daemon.url("/v1/status?namespace=team-b"))
            .bearer_auth(&admin)
            .send()
            .await,
    )
    .await;
    assert_eq!(code, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["totalExecutions"], "2", "{body}");
    assert_eq!(body["queued"], 1, "{body}");

    // The counts follow the history: the gate's end is team-a's alone.
    std::fs::write(&gate, "").unwrap();
    wait_state(&daemon, &admin, &running, pb::ExecutionState::Succeeded).await;
    eventually("team-b's queued one to run", DEADLINE, || async {
        let state = execution(&daemon, &admin, &queued_b).await.state;
        (state != pb::ExecutionState::Queued as i32).then_some(())
    })
    .await;
    let team_a = status(&daemon, &admin, "team-a").await;
    assert_eq!(
        (
            team_a.total_executions,
            team_a.running,
            team_a.succeeded_today
        ),
        (2, 0, 2),
        "{team_a:?}"
    );
    for id in [&queued_b, &queued_default] {
        wait_state(&daemon, &admin, id, pb::ExecutionState::Succeeded).await;
    }
}

#[tokio::test]
async fn list_workflows_lists_only_the_namespace_asked_for() {
    let dirs = tempfile::tempdir().unwrap();
    let config = team_dirs(dirs.path(), "");
    // A program that fails discovery, in team-b's directory.
    write_program(&dirs.path().join("team-b"), "broken", "#!/bin/sh\nexit 1\n");
    let daemon = Daemon::builder()
        .flag("--auth", "tokens")
        .config_file("namespaces.toml", &config)
        .start()
        .await;
    let admin = daemon.admin_token();
    let a = token(&daemon, &admin, pb::Role::Viewer, &["team-a"])
        .await
        .expect("a team-a token");
    let broken = |list: &pb::ListWorkflowsResponse| {
        list.discovery_errors
            .iter()
            .any(|e| e.program_path.ends_with("/team-b/broken"))
    };

    let all = workflows(&daemon, &admin, "", 0, "").await.unwrap();
    for id in ["alpha", "gate", "beta", "hello"] {
        assert!(ids(&all).contains(&id), "{id}: {:?}", ids(&all));
    }
    assert!(broken(&all), "{:?}", all.discovery_errors);

    // team-a: its directory's workflows, not team-b's nor default's; a
    // workflow's namespaces are still all those the caller sees.
    let team_a = workflows(&daemon, &admin, "team-a", 0, "").await.unwrap();
    let a_ids = ids(&team_a);
    assert!(
        a_ids.contains(&"alpha") && a_ids.contains(&"gate"),
        "{a_ids:?}"
    );
    assert!(
        !a_ids.contains(&"beta") && !a_ids.contains(&"hello"),
        "{a_ids:?}"
    );
    assert!(!broken(&team_a), "{:?}", team_a.discovery_errors);
    for workflow in &team_a.workflows {
        assert!(
            workflow.namespaces.iter().any(|n| n == "team-a"),
            "{workflow:?}"
        );
    }
    let team_b = workflows(&daemon, &admin, "team-b", 0, "").await.unwrap();
    let b_ids = ids(&team_b);
    assert!(
        b_ids.contains(&"beta") && !b_ids.contains(&"alpha"),
        "{b_ids:?}"
    );
    assert!(broken(&team_b), "{:?}", team_b.discovery_errors);
    // default: the directories no namespace lists (the examples').
    let default = workflows(&daemon, &admin, "default", 0, "").await.unwrap();
    let default_ids = ids(&default);
    assert!(default_ids.contains(&"hello"), "{default_ids:?}");
    assert!(
        !default_ids.contains(&"alpha") && !default_ids.contains(&"beta"),
        "{default_ids:?}"
    );

    // A namespace that does not exist lists nothing, and so does one the
    // caller does not see: team-a's token asking for team-b.
    let nope = workflows(&daemon, &admin, "nope", 0, "").await.unwrap();
    assert!(nope.workflows.is_empty(), "{:?}", ids(&nope));
    assert!(nope.discovery_errors.is_empty() && nope.programs_probing.is_empty());
    let a_asks_b = workflows(&daemon, &a, "team-b", 0, "").await.unwrap();
    assert_eq!(a_asks_b, nope);
    let a_all = workflows(&daemon, &a, "", 0, "").await.unwrap();
    assert_eq!(
        workflows(&daemon, &a, "team-a", 0, "").await.unwrap(),
        a_all
    );

    // Pages: a token goes on with the namespace it was made for, and is
    // refused with another, naming page_token.
    let mut paged = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = workflows(&daemon, &admin, "team-a", 1, &page_token)
            .await
            .unwrap();
        paged.extend(page.workflows.iter().map(|w| w.id.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
        let elsewhere = workflows(&daemon, &admin, "team-b", 1, &page_token)
            .await
            .unwrap_err();
        assert_eq!(elsewhere.code(), Code::InvalidArgument, "{elsewhere:?}");
        assert_eq!(violations(&elsewhere)[0].0, "page_token");
    }
    assert_eq!(paged, a_ids);

    // Over HTTP, the filter is a query parameter.
    let (code, body) = json_answer(
        http_client()
            .get(daemon.url("/v1/workflows?namespace=team-b"))
            .bearer_auth(&admin)
            .send()
            .await,
    )
    .await;
    assert_eq!(code, reqwest::StatusCode::OK, "{body}");
    let http_ids: Vec<&str> = body["workflows"]
        .as_array()
        .expect("workflows")
        .iter()
        .filter_map(|w| w["id"].as_str())
        .collect();
    assert_eq!(http_ids, b_ids, "{body}");
}
