//! Namespaces (docs/security.md, "Namespaces"): a token sees only its
//! namespaces' workflows and executions, and what it does not see is
//! NOT_FOUND exactly like what does not exist, over gRPC and HTTP; a token
//! hands out no more than its maker sees; each namespace runs and queues
//! within its quotas without holding up the others.

use std::path::Path;

use tonic::Code;
use workflow_manager::pb;

use crate::helper::*;

/// A workflow `id` that prints its id and succeeds.
fn echo_program(id: &str) -> String {
    workflow_script(
        &format!(r#"{{"id":"{id}","name":"{id}","description":"Echoes.","fields":[]}}"#),
        &format!("echo {id}"),
    )
}

/// A directory per team (`team-a` holds `alpha` and a gate, `team-b`
/// holds `beta`) and the config naming them, with `extra` appended.
pub(crate) fn team_dirs(root: &Path, extra: &str) -> String {
    let a = root.join("team-a");
    let b = root.join("team-b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    write_program(&a, "alpha", &echo_program("alpha"));
    write_program(&a, "gate", &gate_program("gate"));
    write_program(&b, "beta", &echo_program("beta"));
    format!(
        "[namespaces.team-a]\nworkflow_dirs = [{:?}]\n{extra}\n[namespaces.team-b]\nworkflow_dirs = [{:?}]\n",
        a.display().to_string(),
        b.display().to_string()
    )
}

/// A daemon with tokens on and the two teams' namespaces (see
/// [`team_dirs`], in `dirs`), and its first admin token.
pub(crate) async fn teams_daemon(dirs: &Path) -> (Daemon, String) {
    let daemon = Daemon::builder()
        .flag("--auth", "tokens")
        .config_file("namespaces.toml", &team_dirs(dirs, ""))
        .start()
        .await;
    let admin = daemon.admin_token();
    (daemon, admin)
}

/// Makes a token with `role` seeing `namespaces`, as `maker`.
pub(crate) async fn token(
    daemon: &Daemon,
    maker: &str,
    role: pb::Role,
    namespaces: &[&str],
) -> Result<String, tonic::Status> {
    daemon
        .client()
        .create_token(with_bearer(
            pb::CreateTokenRequest {
                name: format!("{role:?} of {namespaces:?}"),
                role: role as i32,
                expires_in: None,
                namespaces: namespaces.iter().map(|n| n.to_string()).collect(),
            },
            maker,
        ))
        .await
        .map(|r| r.into_inner().secret)
}

async fn list(daemon: &Daemon, token: &str, namespace: &str) -> Vec<pb::Execution> {
    daemon
        .client()
        .list_executions(with_bearer(
            pb::ListExecutionsRequest {
                namespace: namespace.into(),
                ..Default::default()
            },
            token,
        ))
        .await
        .expect("ListExecutions")
        .into_inner()
        .executions
}

#[tokio::test]
async fn a_token_sees_only_its_namespaces_and_the_rest_does_not_exist() {
    let dirs = tempfile::tempdir().unwrap();
    let (daemon, admin) = teams_daemon(dirs.path()).await;
    let a = token(&daemon, &admin, pb::Role::Operator, &["team-a"])
        .await
        .expect("a team-a token");
    let b = token(&daemon, &admin, pb::Role::Operator, &["team-b"])
        .await
        .expect("a team-b token");

    // Workflows: each team sees its own directory's.
    let workflows = daemon
        .client()
        .list_workflows(with_bearer(pb::ListWorkflowsRequest::default(), &a))
        .await
        .unwrap()
        .into_inner()
        .workflows;
    let ids: Vec<&str> = workflows.iter().map(|w| w.id.as_str()).collect();
    assert!(ids.contains(&"alpha") && ids.contains(&"gate"), "{ids:?}");
    assert!(!ids.contains(&"beta") && !ids.contains(&"hello"), "{ids:?}");
    let alpha = workflows.iter().find(|w| w.id == "alpha").unwrap();
    assert_eq!(alpha.namespaces, ["team-a"]);
    let hidden = daemon
        .client()
        .get_workflow(with_bearer(
            pb::GetWorkflowRequest {
                workflow_id: "beta".into(),
            },
            &a,
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound, "{hidden:?}");

    // A start goes into the token's only namespace.
    let started = daemon
        .client()
        .execute(with_bearer(request("alpha", &[]), &a))
        .await
        .expect("team-a runs alpha")
        .into_inner()
        .execution
        .unwrap();
    assert_eq!(started.namespace, "team-a");
    let id = started.id.clone();
    let ended = daemon
        .client()
        .wait_execution(with_bearer(
            pb::WaitExecutionRequest {
                execution_id: id.clone(),
            },
            &a,
        ))
        .await
        .expect("team-a waits for its own")
        .into_inner()
        .execution
        .unwrap();
    assert_eq!(ended.state, pb::ExecutionState::Succeeded as i32);

    // Request ids are kept per namespace: team b's deploy-1 is not team
    // a's, and an id the daemon makes itself cannot be claimed.
    let with_id = |token: &str, workflow: &str, request_id: &str| {
        let mut client = daemon.client();
        let request = with_bearer(
            pb::ExecuteRequest {
                request_id: request_id.into(),
                ..request(workflow, &[])
            },
            token,
        );
        async move { client.execute(request).await.unwrap().into_inner() }
    };
    let first = with_id(&a, "alpha", "deploy-1").await;
    let again = with_id(&a, "alpha", "deploy-1").await;
    let other = with_id(&b, "beta", "deploy-1").await;
    assert!(first.started && !again.started && other.started);
    let (first, again, other) = (
        first.execution.unwrap(),
        again.execution.unwrap(),
        other.execution.unwrap(),
    );
    assert_eq!(first.id, again.id);
    assert_ne!(first.id, other.id);
    assert_eq!(
        (first.request_id.as_str(), other.request_id.as_str()),
        ("deploy-1", "deploy-1")
    );
    let claimed = with_id(&a, "alpha", "schedule/nightly/1").await;
    assert!(claimed.started);
    assert_eq!(claimed.execution.unwrap().request_id, "schedule/nightly/1");

    // Another team's workflow is not there; another team's namespace is
    // refused by name; an unknown namespace is a bad argument.
    let beta = daemon
        .client()
        .execute(with_bearer(request("beta", &[]), &a))
        .await
        .unwrap_err();
    assert_eq!(beta.code(), Code::NotFound, "{beta:?}");
    assert!(beta.message().contains("\"beta\""), "{}", beta.message());
    let elsewhere = daemon
        .client()
        .execute(with_bearer(
            pb::ExecuteRequest {
                namespace: "team-b".into(),
                ..request("beta", &[])
            },
            &a,
        ))
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), Code::PermissionDenied, "{elsewhere:?}");
    assert!(elsewhere.message().contains("namespace team-b"));
    let unknown = daemon
        .client()
        .execute(with_bearer(
            pb::ExecuteRequest {
                namespace: "nope".into(),
                ..request("alpha", &[])
            },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument, "{unknown:?}");
    assert_eq!(violations(&unknown)[0].0, "namespace");

    // Team b: the execution answers exactly as one that never existed.
    let never = uuid::Uuid::now_v7().to_string();
    let mut client = daemon.client();
    for probe in [&id, &never] {
        let get = client
            .get_execution(with_bearer(
                pb::GetExecutionRequest {
                    execution_id: probe.clone(),
                },
                &b,
            ))
            .await
            .unwrap_err();
        assert_eq!(get.code(), Code::NotFound);
        assert_eq!(get.message(), format!("execution {probe:?} not found"));
        let wait = client
            .wait_execution(with_bearer(
                pb::WaitExecutionRequest {
                    execution_id: probe.clone(),
                },
                &b,
            ))
            .await
            .unwrap_err();
        assert_eq!(wait.code(), Code::NotFound);
        let logs = client
            .stream_logs(with_bearer(
                pb::StreamLogsRequest {
                    execution_id: probe.clone(),
                    ..Default::default()
                },
                &b,
            ))
            .await
            .unwrap_err();
        assert_eq!(logs.code(), Code::NotFound);
        let cancel = client
            .cancel(with_bearer(cancel_request(probe, None, false), &b))
            .await
            .unwrap_err();
        assert_eq!(cancel.code(), Code::NotFound);
    }
    let (status, _) = json_answer(
        http_client()
            .get(daemon.url(&format!("/v1/executions/{id}")))
            .bearer_auth(&b)
            .send()
            .await,
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);

    // Lists: filtered to what the caller sees; a namespace it does not
    // see lists nothing.
    let team_b = list(&daemon, &b, "").await;
    assert!(team_b.iter().all(|e| e.namespace == "team-b") && team_b.len() == 1);
    assert!(list(&daemon, &b, "team-a").await.is_empty());
    assert_eq!(list(&daemon, &a, "").await.len(), 3);
    assert_eq!(list(&daemon, &admin, "team-a").await.len(), 3);
    assert_eq!(list(&daemon, &admin, "team-b").await.len(), 1);

    // A token hands out no more than its maker sees, and only
    // configured namespaces.
    let team_admin = token(&daemon, &admin, pb::Role::Admin, &["team-a"])
        .await
        .expect("a team-a admin");
    for wider in [&["team-b"][..], &["*"], &["team-a", "team-b"]] {
        let refused = token(&daemon, &team_admin, pb::Role::Viewer, wider)
            .await
            .unwrap_err();
        assert_eq!(
            refused.code(),
            Code::PermissionDenied,
            "{wider:?}: {refused:?}"
        );
    }
    token(&daemon, &team_admin, pb::Role::Viewer, &["team-a"])
        .await
        .expect("a team-a admin makes team-a tokens");
    let unknown = token(&daemon, &admin, pb::Role::Viewer, &["nope"])
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument, "{unknown:?}");
    assert!(
        unknown.message().contains("\"nope\""),
        "{}",
        unknown.message()
    );
    let listed = daemon
        .client()
        .list_tokens(with_bearer(pb::ListTokensRequest {}, &admin))
        .await
        .unwrap()
        .into_inner()
        .tokens;
    assert!(listed.iter().any(|t| t.namespaces == ["team-a"]));
    assert!(
        listed.iter().any(|t| t.namespaces == ["*"]),
        "the first admin sees all"
    );
}

#[tokio::test]
async fn a_namespace_runs_and_queues_within_its_quotas_and_others_go_on() {
    let dirs = tempfile::tempdir().unwrap();
    let config = team_dirs(
        dirs.path(),
        "max_running = 1\nmax_queued = 1\n[namespaces.team-a.limits_maximum]\nmax_processes = 50\n",
    )
    .replace(
        "[namespaces.team-b]\n",
        "[namespaces.team-b]\nstart_rate_per_second = 0.01\nstart_rate_burst = 1\n",
    );
    let daemon = Daemon::builder()
        .max_jobs(4)
        .config_file("namespaces.toml", &config)
        .start()
        .await;
    let in_a = |inputs: &[(&str, prost_types::Value)]| pb::ExecuteRequest {
        namespace: "team-a".into(),
        ..request("gate", inputs)
    };
    let (gate_1, gate_2) = (daemon.file("gate-1"), daemon.file("gate-2"));
    let first = daemon
        .execute_request(in_a(&[("gate", text(gate_1.to_str().unwrap()))]))
        .await;
    daemon.wait_started(&first.id).await;
    // Workers are free, but team-a runs one at a time: the second waits.
    let second = daemon
        .execute_request(in_a(&[("gate", text(gate_2.to_str().unwrap()))]))
        .await;
    assert_eq!(second.state, pb::ExecutionState::Queued as i32);
    let full = daemon
        .client()
        .execute(in_a(&[("gate", text("/nowhere"))]))
        .await
        .unwrap_err();
    assert_eq!(full.code(), Code::ResourceExhausted, "{full:?}");
    assert!(
        full.message().contains("namespaces.team-a.max_queued"),
        "{}",
        full.message()
    );
    // A RetryInfo, as the rate's refusal has.
    assert!(retry_delay(&full) > std::time::Duration::ZERO);
    // The default namespace is not held up by team-a's quota.
    let hello = daemon.execute("hello", &[]).await;
    let hello = daemon.wait_end(&hello.id).await;
    assert_eq!(hello.state, pb::ExecutionState::Succeeded as i32);
    assert_eq!(hello.namespace, "default");
    assert_eq!(
        daemon.get(&second.id).await.state,
        pb::ExecutionState::Queued as i32,
        "still waiting for team-a's running one"
    );

    std::fs::write(&gate_1, "").unwrap();
    assert_eq!(
        daemon.wait_end(&first.id).await.state,
        pb::ExecutionState::Succeeded as i32
    );
    daemon.wait_started(&second.id).await;
    std::fs::write(&gate_2, "").unwrap();
    assert_eq!(
        daemon.wait_end(&second.id).await.state,
        pb::ExecutionState::Succeeded as i32
    );

    // The namespace's maximum bounds what a call may ask for.
    let over = daemon
        .client()
        .execute(pb::ExecuteRequest {
            limits: Some(pb::ResourceLimits {
                max_processes: Some(51),
                ..Default::default()
            }),
            ..in_a(&[("gate", text("/nowhere"))])
        })
        .await
        .unwrap_err();
    assert_eq!(over.code(), Code::InvalidArgument, "{over:?}");
    assert!(
        over.message().contains("namespaces.team-a.limits_maximum"),
        "{}",
        over.message()
    );

    // Team b's rate: one start, then told to wait, naming the setting.
    let in_b = || pb::ExecuteRequest {
        namespace: "team-b".into(),
        ..request("beta", &[])
    };
    daemon.execute_request(in_b()).await;
    let limited = daemon.client().execute(in_b()).await.unwrap_err();
    assert_eq!(limited.code(), Code::ResourceExhausted, "{limited:?}");
    assert!(
        limited
            .message()
            .contains("namespaces.team-b.start_rate_per_second"),
        "{}",
        limited.message()
    );
    // Nothing of team-a's leaked into team-b's bucket, or the reverse.
    daemon.execute("hello", &[]).await;
}

#[tokio::test]
async fn a_namespace_with_a_bad_setting_refuses_to_start_naming_it() {
    let (status, log) = Daemon::builder()
        .config_file("namespaces.toml", "[namespaces.team-a]\nmax_running = 0\n")
        .start_expecting_failure()
        .await;
    assert!(!status.success());
    assert!(
        log.contains("namespaces.team-a.max_running: must be at least 1"),
        "{log}"
    );
}

/// Executions keep their namespace across a restart.
#[tokio::test]
async fn the_namespace_of_an_execution_survives_a_restart() {
    let dirs = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::builder()
        .config_file("namespaces.toml", &team_dirs(dirs.path(), ""))
        .start()
        .await;
    let ran = daemon
        .execute_request(pb::ExecuteRequest {
            namespace: "team-a".into(),
            ..request("alpha", &[])
        })
        .await;
    daemon.wait_end(&ran.id).await;
    daemon.terminate().await;
    daemon.restart().await;
    assert_eq!(daemon.get(&ran.id).await.namespace, "team-a");
}
