//! `--namespace` (`-namespace` in the hyperctl forms) on every wfctl
//! command that starts work: each start lands in the namespace named, and
//! one the daemon does not have exits 5 naming `namespace`.

use workflow_manager::pb;

use crate::daemon::namespaces::teams_daemon;
use crate::helper::*;

/// The namespace of execution `id`, read as `token`.
async fn namespace_of(daemon: &Daemon, token: &str, id: &str) -> String {
    daemon
        .client()
        .get_execution(with_bearer(
            pb::GetExecutionRequest {
                execution_id: id.into(),
            },
            token,
        ))
        .await
        .expect("GetExecution")
        .into_inner()
        .execution
        .unwrap()
        .namespace
}

/// The namespace of schedule `id`, read as `token`.
async fn schedule_namespace(daemon: &Daemon, token: &str, id: &str) -> String {
    daemon
        .client()
        .get_schedule(with_bearer(
            pb::GetScheduleRequest {
                schedule_id: id.into(),
                ..Default::default()
            },
            token,
        ))
        .await
        .expect("GetSchedule")
        .into_inner()
        .schedule
        .unwrap()
        .namespace
}

#[tokio::test]
async fn every_command_that_starts_work_takes_a_namespace() {
    let dirs = tempfile::tempdir().unwrap();
    // team-a has the manifests' pipeline; no other namespace does.
    let team_a = dirs.path().join("team-a");
    std::fs::create_dir_all(&team_a).unwrap();
    write_program(&team_a, "vm-pipeline.sh", &fixture_pipeline());
    let (daemon, admin) = teams_daemon(dirs.path()).await;
    // The admin token sees every namespace: without a flag, `default`.
    let at = |args: &[&str]| {
        let mut all = vec!["--token", admin.as_str()];
        all.extend_from_slice(args);
        let addr = daemon.addr.clone();
        let cwd = daemon.staging_dir();
        let all: Vec<String> = all.iter().map(|a| a.to_string()).collect();
        async move {
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            wfctl_in(&addr, &all, Some(&cwd), "").await
        }
    };

    // workflow -op submit: alpha is team-a's only.
    let job = daemon.file("job.yaml");
    std::fs::write(&job, "workflow: alpha\n").unwrap();
    let job = job.to_str().unwrap();
    at(&["workflow", "-op", "submit", "-file", job])
        .await
        .expect(4);
    let submitted = at(&[
        "workflow",
        "-op",
        "submit",
        "-file",
        job,
        "-namespace",
        "team-a",
    ])
    .await
    .expect(0);
    let id = submitted.stdout.trim();
    assert_eq!(namespace_of(&daemon, &admin, id).await, "team-a");

    // manifest submit, and manifest generate -submit.
    let disk = make_disk(&daemon.staging_dir(), "web.raw", "raw");
    let manifest = daemon.staging_dir().join("web.json");
    std::fs::write(
        &manifest,
        serde_json::json!({"version": "1.0", "pipeline": {
            "load": {"source_type": "raw", "source_path": disk},
            "convert": {"output_format": "qcow2"}}})
        .to_string(),
    )
    .unwrap();
    let manifest = manifest.to_str().unwrap();
    at(&[
        "manifest",
        "submit",
        "-file",
        manifest,
        "-namespace",
        "nope",
    ])
    .await
    .expect(5)
    .stderr_has("namespace");
    let submitted = at(&[
        "manifest",
        "submit",
        "-file",
        manifest,
        "-namespace",
        "team-a",
    ])
    .await
    .expect(0);
    let id = submitted.stdout.split_whitespace().next().expect("an id");
    assert_eq!(namespace_of(&daemon, &admin, id).await, "team-a");
    let out_dir = daemon.staging_dir().join("generated");
    let generated = at(&[
        "manifest",
        "generate",
        disk.to_str().unwrap(),
        out_dir.to_str().unwrap(),
        "-submit",
        "-namespace",
        "team-a",
    ])
    .await
    .expect(0);
    let id = generated.stdout.split_whitespace().next().expect("an id");
    assert_eq!(namespace_of(&daemon, &admin, id).await, "team-a");

    // schedule create (native and hyperctl's form): its runs' namespace.
    at(&[
        "schedule",
        "create",
        "nightly-a",
        "--cron",
        "0 2 * * *",
        "--workflow",
        "alpha",
        "--namespace",
        "team-a",
        "--paused",
    ])
    .await
    .expect(0);
    assert_eq!(
        schedule_namespace(&daemon, &admin, "nightly-a").await,
        "team-a"
    );
    // Updated without --namespace, it stays in its namespace.
    at(&[
        "schedule",
        "update",
        "nightly-a",
        "--cron",
        "0 3 * * *",
        "--workflow",
        "alpha",
    ])
    .await
    .expect(0);
    assert_eq!(
        schedule_namespace(&daemon, &admin, "nightly-a").await,
        "team-a"
    );
    at(&[
        "schedules",
        "create",
        "hourly-b",
        "0 * * * *",
        "-workflow",
        "beta",
        "-namespace",
        "team-b",
    ])
    .await
    .expect(0);
    assert_eq!(
        schedule_namespace(&daemon, &admin, "hourly-b").await,
        "team-b"
    );

    // workflow -op list takes it as a filter.
    let in_b = at(&["run", "beta", "--namespace", "team-b"])
        .await
        .expect(0);
    let in_b = in_b
        .stdout
        .split_whitespace()
        .next()
        .expect("an id")
        .to_string();
    let listed = |namespace: &'static str| {
        let at = &at;
        async move {
            at(&["workflow", "-op", "list", "-namespace", namespace])
                .await
                .expect(0)
                .stdout
        }
    };
    let team_b_list = listed("team-b").await;
    assert!(team_b_list.contains(&in_b), "{team_b_list}");
    assert!(!team_b_list.contains(id), "team-a's in {team_b_list}");
    let team_a_list = listed("team-a").await;
    assert!(team_a_list.contains(id), "{team_a_list}");
    assert!(!team_a_list.contains(&in_b), "team-b's in {team_a_list}");
}

/// `status --namespace`, `workflow -op status -namespace` and `workflows
/// list --namespace`: one namespace's counts and workflows.
#[tokio::test]
async fn status_and_the_workflow_list_take_a_namespace() {
    let dirs = tempfile::tempdir().unwrap();
    let (daemon, admin) = teams_daemon(dirs.path()).await;
    let at = |args: &[&str]| {
        let mut all = vec!["--token", admin.as_str()];
        all.extend_from_slice(args);
        let addr = daemon.addr.clone();
        let all: Vec<String> = all.iter().map(|a| a.to_string()).collect();
        async move {
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            wfctl(&addr, &all).await
        }
    };
    for (workflow, namespace) in [("alpha", "team-a"), ("beta", "team-b"), ("beta", "team-b")] {
        at(&["run", workflow, "--namespace", namespace, "--wait"])
            .await
            .expect(0);
    }
    let total = |json: &str| -> String {
        let status: serde_json::Value = serde_json::from_str(json).expect("JSON");
        status["totalExecutions"]
            .as_str()
            .unwrap_or("0")
            .to_string()
    };
    let all = at(&["-o", "json", "status"]).await.expect(0);
    assert_eq!(total(&all.stdout), "3");
    let team_a = at(&["-o", "json", "status", "--namespace", "team-a"])
        .await
        .expect(0);
    assert_eq!(total(&team_a.stdout), "1");
    let team_b = at(&["workflow", "-op", "status", "-namespace", "team-b", "-json"])
        .await
        .expect(0);
    assert_eq!(total(&team_b.stdout), "2");
    assert!(!team_b.stderr.contains("ignored"), "{}", team_b.stderr);
    let nope = at(&["-o", "json", "status", "--namespace", "nope"])
        .await
        .expect(0);
    assert_eq!(total(&nope.stdout), "0");

    let listed = at(&["workflows", "list", "--namespace", "team-b"])
        .await
        .expect(0)
        .stdout;
    assert!(listed.contains("beta"), "{listed}");
    assert!(
        !listed.contains("alpha") && !listed.contains("hello"),
        "{listed}"
    );
}
