//! Every RPC and HTTP route that names an object, called with another
//! namespace's token (an admin of team-b, so the role never decides): a
//! team-a execution, workflow or schedule answers NOT_FOUND exactly as one
//! that does not exist; lists leave them out; starting work in team-a is
//! refused by name; what is the daemon's (webhooks, the audit log, the
//! token list) needs a token seeing every namespace.

use tonic::{Code, Status};
use workflow_manager::pb;

use super::namespaces::{team_dirs, teams_daemon, token};
use crate::helper::*;

/// A paused schedule of team-a running alpha (it never falls due here).
fn team_a_schedule(id: &str, namespace: &str) -> pb::Schedule {
    pb::Schedule {
        id: id.into(),
        namespace: namespace.into(),
        paused: true,
        spec: Some(pb::ScheduleSpec {
            cron: vec!["0 2 * * *".into()],
            ..Default::default()
        }),
        action: Some(pb::ScheduleAction {
            action: Some(pb::schedule_action::Action::Execute(pb::ScheduleExecute {
                workflow_id: "alpha".into(),
                ..Default::default()
            })),
        }),
        ..Default::default()
    }
}

/// Asserts `got` is NOT_FOUND with the message `unknown` (the answer for
/// an object that does not exist) got, `id` standing for `missing`.
fn assert_as_missing(what: &str, got: Status, unknown: &Status, id: &str, missing: &str) {
    assert_eq!(got.code(), Code::NotFound, "{what}: {got:?}");
    assert_eq!(
        unknown.code(),
        Code::NotFound,
        "{what} (unknown): {unknown:?}"
    );
    assert_eq!(
        got.message().replace(id, missing),
        unknown.message(),
        "{what}: the answers differ"
    );
}

#[tokio::test]
async fn another_namespaces_objects_answer_as_missing_on_every_rpc_and_route() {
    let dirs = tempfile::tempdir().unwrap();
    let (daemon, admin) = teams_daemon(dirs.path()).await;
    let mut client = daemon.client();
    let b = token(&daemon, &admin, pb::Role::Admin, &["team-b"])
        .await
        .expect("a team-b admin");
    let execution = client
        .execute(with_bearer(
            pb::ExecuteRequest {
                namespace: "team-a".into(),
                ..request("alpha", &[])
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .execution
        .unwrap();
    let id = execution.id.clone();
    client
        .wait_execution(with_bearer(
            pb::WaitExecutionRequest {
                execution_id: id.clone(),
            },
            &admin,
        ))
        .await
        .expect("alpha ends");
    client
        .create_schedule(with_bearer(
            pb::CreateScheduleRequest {
                schedule: Some(team_a_schedule("a-nightly", "team-a")),
            },
            &admin,
        ))
        .await
        .expect("the admin seeing all makes team-a's schedule");
    let missing_execution = uuid::Uuid::now_v7().to_string();

    // Executions: each RPC naming one, for team-a's and for none at all.
    macro_rules! both {
        ($what:expr, $call:expr) => {{
            let call = $call;
            let got = call(id.clone()).await.unwrap_err();
            let unknown = call(missing_execution.clone()).await.unwrap_err();
            assert_as_missing($what, got, &unknown, &id, &missing_execution);
        }};
    }
    both!("GetExecution", |execution_id| {
        let mut c = daemon.client();
        let r = with_bearer(pb::GetExecutionRequest { execution_id }, &b);
        async move { c.get_execution(r).await.map(|_| ()) }
    });
    both!("WaitExecution", |execution_id| {
        let mut c = daemon.client();
        let r = with_bearer(pb::WaitExecutionRequest { execution_id }, &b);
        async move { c.wait_execution(r).await.map(|_| ()) }
    });
    both!("StreamLogs", |execution_id| {
        let mut c = daemon.client();
        let r = with_bearer(
            pb::StreamLogsRequest {
                execution_id,
                ..Default::default()
            },
            &b,
        );
        async move { c.stream_logs(r).await.map(|_| ()) }
    });
    both!("Cancel", |execution_id: String| {
        let mut c = daemon.client();
        let r = with_bearer(cancel_request(&execution_id, None, false), &b);
        async move { c.cancel(r).await.map(|_| ()) }
    });
    both!("CreateStreamToken", |execution_id| {
        let mut c = daemon.client();
        let r = with_bearer(pb::CreateStreamTokenRequest { execution_id }, &b);
        async move { c.create_stream_token(r).await.map(|_| ()) }
    });

    // Workflows: alpha is team-a's.
    let workflow_calls = |workflow_id: &str| {
        let mut c = daemon.client();
        let (get, validate, execute) = (
            with_bearer(
                pb::GetWorkflowRequest {
                    workflow_id: workflow_id.into(),
                },
                &b,
            ),
            with_bearer(
                pb::ValidateInputsRequest {
                    workflow_id: workflow_id.into(),
                    ..Default::default()
                },
                &b,
            ),
            with_bearer(request(workflow_id, &[]), &b),
        );
        async move {
            [
                c.get_workflow(get).await.map(|_| ()).unwrap_err(),
                c.validate_inputs(validate).await.map(|_| ()).unwrap_err(),
                c.execute(execute).await.map(|_| ()).unwrap_err(),
            ]
        }
    };
    let got = workflow_calls("alpha").await;
    let unknown = workflow_calls("nothing").await;
    for ((what, got), unknown) in ["GetWorkflow", "ValidateInputs", "Execute"]
        .iter()
        .zip(got)
        .zip(unknown.iter())
    {
        assert_as_missing(what, got, unknown, "alpha", "nothing");
    }

    // Schedules: every RPC naming team-a's.
    let schedule_calls = |schedule_id: &str| {
        let mut c = daemon.client();
        let schedule_id = schedule_id.to_string();
        let b = b.clone();
        async move {
            let get = with_bearer(
                pb::GetScheduleRequest {
                    schedule_id: schedule_id.clone(),
                    ..Default::default()
                },
                &b,
            );
            let update = with_bearer(
                pb::UpdateScheduleRequest {
                    schedule_id: schedule_id.clone(),
                    schedule: Some(team_a_schedule("", "team-b")),
                },
                &b,
            );
            let pause = with_bearer(
                pb::PauseScheduleRequest {
                    schedule_id: schedule_id.clone(),
                    paused: false,
                    note: String::new(),
                },
                &b,
            );
            let trigger = with_bearer(
                pb::TriggerScheduleRequest {
                    schedule_id: schedule_id.clone(),
                    ..Default::default()
                },
                &b,
            );
            let delete = with_bearer(pb::DeleteScheduleRequest { schedule_id }, &b);
            [
                c.get_schedule(get).await.map(|_| ()).unwrap_err(),
                c.update_schedule(update).await.map(|_| ()).unwrap_err(),
                c.pause_schedule(pause).await.map(|_| ()).unwrap_err(),
                c.trigger_schedule(trigger).await.map(|_| ()).unwrap_err(),
                c.delete_schedule(delete).await.map(|_| ()).unwrap_err(),
            ]
        }
    };
    let got = schedule_calls("a-nightly").await;
    let unknown = schedule_calls("nothing").await;
    for ((what, got), unknown) in [
        "GetSchedule",
        "UpdateSchedule",
        "PauseSchedule",
        "TriggerSchedule",
        "DeleteSchedule",
    ]
    .iter()
    .zip(got)
    .zip(unknown.iter())
    {
        assert_as_missing(what, got, unknown, "a-nightly", "nothing");
    }
    // Still there, untouched, for the admin who sees team-a.
    let kept = client
        .get_schedule(with_bearer(
            pb::GetScheduleRequest {
                schedule_id: "a-nightly".into(),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("team-a's schedule is still there")
        .into_inner()
        .schedule
        .unwrap();
    assert!(kept.paused && kept.namespace == "team-a", "{kept:?}");

    // Making team-a's objects: refused by name; team-a's workflow in a
    // team-b schedule is not there.
    let denied = client
        .create_schedule(with_bearer(
            pb::CreateScheduleRequest {
                schedule: Some(team_a_schedule("b-sneaky", "team-a")),
            },
            &b,
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    let invalid = client
        .create_schedule(with_bearer(
            pb::CreateScheduleRequest {
                schedule: Some(team_a_schedule("b-alpha", "team-b")),
            },
            &b,
        ))
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument, "{invalid:?}");
    assert!(
        violations(&invalid)
            .iter()
            .any(|(f, d)| f == "schedule.action.execute.workflow_id" && d.contains("team-b")),
        "{invalid:?}"
    );

    // Lists leave team-a out.
    let workflows = client
        .list_workflows(with_bearer(pb::ListWorkflowsRequest::default(), &b))
        .await
        .unwrap()
        .into_inner()
        .workflows;
    assert!(workflows.iter().all(|w| w.id != "alpha"), "{workflows:?}");
    assert!(workflows.iter().any(|w| w.id == "beta"), "{workflows:?}");
    let executions = client
        .list_executions(with_bearer(pb::ListExecutionsRequest::default(), &b))
        .await
        .unwrap()
        .into_inner()
        .executions;
    assert!(executions.is_empty(), "{executions:?}");
    let schedules = client
        .list_schedules(with_bearer(pb::ListSchedulesRequest::default(), &b))
        .await
        .unwrap()
        .into_inner()
        .schedules;
    assert!(schedules.is_empty(), "{schedules:?}");

    // What is the daemon's, not a namespace's, needs a token seeing all.
    let daemon_wide = [
        client
            .list_webhooks(with_bearer(pb::ListWebhooksRequest::default(), &b))
            .await
            .map(|_| ())
            .unwrap_err(),
        client
            .list_audit_events(with_bearer(pb::ListAuditEventsRequest::default(), &b))
            .await
            .map(|_| ())
            .unwrap_err(),
        client
            .list_tokens(with_bearer(pb::ListTokensRequest {}, &b))
            .await
            .map(|_| ())
            .unwrap_err(),
        client
            .revoke_token(with_bearer(
                pb::RevokeTokenRequest {
                    token_id: "0123456789abcdef".into(),
                },
                &b,
            ))
            .await
            .map(|_| ())
            .unwrap_err(),
        client
            .drain_daemon(with_bearer(
                pb::DrainDaemonRequest {
                    daemon_id: "any".into(),
                },
                &b,
            ))
            .await
            .map(|_| ())
            .unwrap_err(),
    ];
    for refused in daemon_wide {
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        assert!(
            refused
                .message()
                .contains("needs a token that sees every namespace")
                && refused.message().contains("sees team-b"),
            "{}",
            refused.message()
        );
    }

    let (status, body) = json_answer(
        http_client()
            .get(daemon.url("/metrics"))
            .bearer_auth(&b)
            .send()
            .await,
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "{body}");

    // The HTTP routes answer as their RPCs do.
    for (method, path) in [
        ("GET", format!("/v1/executions/{id}")),
        ("GET", format!("/v1/executions/{id}:wait")),
        ("GET", format!("/v1/executions/{id}/logs")),
        ("POST", format!("/v1/executions/{id}:cancel")),
        ("POST", format!("/v1/executions/{id}/stream-token")),
        ("GET", "/v1/workflows/alpha".to_string()),
        ("POST", "/v1/workflows/alpha:validate".to_string()),
        ("GET", "/v1/schedules/a-nightly".to_string()),
        ("POST", "/v1/schedules/a-nightly:pause".to_string()),
        ("POST", "/v1/schedules/a-nightly:trigger".to_string()),
        ("DELETE", "/v1/schedules/a-nightly".to_string()),
    ] {
        let request = match method {
            "GET" => http_client().get(daemon.url(&path)),
            "DELETE" => http_client().delete(daemon.url(&path)),
            _ => http_client()
                .post(daemon.url(&path))
                .json(&serde_json::json!({})),
        };
        let (status, body) = json_answer(request.bearer_auth(&b).send().await).await;
        assert_eq!(
            status,
            reqwest::StatusCode::NOT_FOUND,
            "{method} {path}: {body}"
        );
    }
}

/// Waits for execution `id` to end, as `token`.
async fn wait_end_as(daemon: &Daemon, token: &str, id: &str) {
    daemon
        .client()
        .wait_execution(with_bearer(
            pb::WaitExecutionRequest {
                execution_id: id.into(),
            },
            token,
        ))
        .await
        .expect("WaitExecution");
}

/// GetStatus as `token`.
async fn status(daemon: &Daemon, token: &str) -> pb::GetStatusResponse {
    daemon
        .client()
        .get_status(with_bearer(pb::GetStatusRequest::default(), token))
        .await
        .expect("GetStatus")
        .into_inner()
}

/// GetStatus for a caller seeing only some namespaces counts only their
/// executions and lists only their workflow directories (and the bundled
/// one, every namespace's); a caller seeing every namespace gets the
/// daemon's.
#[tokio::test]
async fn get_status_counts_and_lists_only_the_callers_namespaces() {
    let dirs = tempfile::tempdir().unwrap();
    // The two teams, and a drop folder whose runs go into team-b, named
    // through a symbolic link: the daemon works in the folder it points
    // to, and GetStatus still shows it to team-b.
    let real_drop = dirs.path().join("real-drop");
    std::fs::create_dir(&real_drop).unwrap();
    let drop = dirs.path().join("drop");
    std::os::unix::fs::symlink(&real_drop, &drop).unwrap();
    let config = format!(
        "{}drop_folders = [{:?}]\n",
        team_dirs(dirs.path(), ""),
        drop.display().to_string()
    );
    let daemon = Daemon::builder()
        .flag("--auth", "tokens")
        .flag("--manifest-dir", drop.display())
        .config_file("namespaces.toml", &config)
        .start()
        .await;
    let admin = daemon.admin_token();
    let a = token(&daemon, &admin, pb::Role::Viewer, &["team-a"])
        .await
        .expect("a team-a token");
    let b = token(&daemon, &admin, pb::Role::Viewer, &["team-b"])
        .await
        .expect("a team-b token");
    // One ended execution in each of team-a, team-b and default, and one
    // running in team-a.
    for (namespace, workflow) in [("team-a", "alpha"), ("team-b", "beta"), ("", "hello")] {
        let started = daemon
            .client()
            .execute(with_bearer(
                pb::ExecuteRequest {
                    namespace: namespace.into(),
                    ..request(workflow, &[])
                },
                &admin,
            ))
            .await
            .expect("Execute")
            .into_inner()
            .execution
            .unwrap();
        wait_end_as(&daemon, &admin, &started.id).await;
    }
    let gate = daemon.file("gate");
    let running = daemon
        .client()
        .execute(with_bearer(
            pb::ExecuteRequest {
                namespace: "team-a".into(),
                ..request("gate", &[("gate", text(gate.to_str().unwrap()))])
            },
            &admin,
        ))
        .await
        .expect("Execute gate")
        .into_inner()
        .execution
        .unwrap();
    eventually("the gate running", DEADLINE, || {
        let mut client = daemon.client();
        let request = with_bearer(
            pb::GetExecutionRequest {
                execution_id: running.id.clone(),
            },
            &admin,
        );
        async move {
            let execution = client.get_execution(request).await.ok()?.into_inner();
            (execution.execution?.state == pb::ExecutionState::Running as i32).then_some(())
        }
    })
    .await;

    let paths = |s: &pb::GetStatusResponse| -> Vec<String> {
        s.workflow_directories
            .iter()
            .map(|d| d.path.clone())
            .collect()
    };
    let lists = |s: &pb::GetStatusResponse, dir: &str| paths(s).iter().any(|p| p.ends_with(dir));
    let examples = examples_dir().to_string_lossy().into_owned();

    let all = status(&daemon, &admin).await;
    assert_eq!(
        (all.total_executions, all.running, all.succeeded_today),
        (4, 1, 3),
        "{all:?}"
    );
    assert!(lists(&all, "/team-a") && lists(&all, "/team-b") && lists(&all, &examples));
    assert_eq!(all.drop_folders.len(), 1, "{all:?}");

    let team_a = status(&daemon, &a).await;
    assert_eq!(
        (
            team_a.total_executions,
            team_a.running,
            team_a.succeeded_today
        ),
        (2, 1, 1),
        "{team_a:?}"
    );
    assert_eq!(
        team_a.totals_by_state,
        [("RUNNING".to_string(), 1), ("SUCCEEDED".to_string(), 1)].into(),
    );
    assert!(lists(&team_a, "/team-a"), "{:?}", paths(&team_a));
    assert!(
        !lists(&team_a, "/team-b") && !lists(&team_a, &examples),
        "{:?}",
        paths(&team_a)
    );
    let shown: u32 = team_a
        .workflow_directories
        .iter()
        .map(|d| d.workflows)
        .sum();
    assert_eq!(team_a.workflows_discovered, shown);
    assert!(shown < all.workflows_discovered, "{shown} of {all:?}");

    let team_b = status(&daemon, &b).await;
    assert_eq!(
        (
            team_b.total_executions,
            team_b.running,
            team_b.succeeded_today
        ),
        (1, 0, 1),
        "{team_b:?}"
    );
    assert!(lists(&team_b, "/team-b") && !lists(&team_b, "/team-a"));
    // The drop folder is team-b's: team-a does not see it.
    assert_eq!(team_b.drop_folders.len(), 1, "{team_b:?}");
    assert!(team_a.drop_folders.is_empty(), "{team_a:?}");

    std::fs::write(&gate, "").unwrap();
    wait_end_as(&daemon, &admin, &running.id).await;
    // The counts follow the history: the gate's end is team-a's.
    let team_a = status(&daemon, &a).await;
    assert_eq!((team_a.total_executions, team_a.succeeded_today), (2, 2));
    assert_eq!(status(&daemon, &b).await.succeeded_today, 1);
}
