//! The hyperctl-style forms of the verbs, the help text with its exit
//! codes, and usage errors.

use workflow_manager::pb::ExecutionState;

use crate::helper::*;

#[tokio::test]
async fn hyperctl_forms() {
    let daemon = Daemon::start().await;
    let status = wfctl(&daemon.addr, &["workflow", "-op", "status", "-json"])
        .await
        .expect(0)
        .json();
    assert!(status["maxWorkers"].as_u64().unwrap() > 0, "{status}");
    assert_eq!(status["workflowsDiscovered"], 5);

    let job = daemon.file("job.yaml");
    std::fs::write(&job, "workflow: hello\ninputs:\n  name: hyperctl\n").unwrap();
    let submit = wfctl(
        &daemon.addr,
        &["workflow", "-op", "submit", "-file", job.to_str().unwrap()],
    )
    .await
    .expect(0);
    let id = submit.stdout.trim().to_string();
    daemon.wait_state(&id, ExecutionState::Succeeded).await;

    let list = wfctl(&daemon.addr, &["workflow", "-op", "list"])
        .await
        .expect(0);
    assert!(
        list.stdout
            .lines()
            .any(|l| l.starts_with(&id) && l.contains("SUCCEEDED")),
        "{list:?}"
    );
    let queue = wfctl(&daemon.addr, &["workflow", "-op", "queue", "-json"])
        .await
        .expect(0)
        .json();
    assert_eq!(queue, serde_json::json!({}));

    let manifest = wfctl(&daemon.addr, &["manifest", "status", "-id", &id])
        .await
        .expect(0)
        .stdout_has(&id);
    assert!(manifest.stdout.contains("name=hyperctl"), "{manifest:?}");
    let json = wfctl(&daemon.addr, &["manifest", "status", "-id", &id, "-json"])
        .await
        .expect(0)
        .json();
    assert_eq!(json["state"], "EXECUTION_STATE_SUCCEEDED");

    wfctl(&daemon.addr, &["manifest", "validate", "-file", "m.json"])
        .await
        .expect(2)
        .stderr_has("cannot read m.json");
    let bad_flag = wfctl(&daemon.addr, &["workflow", "-op", "list", "-nope"])
        .await
        .expect(2);
    assert!(
        bad_flag
            .stderr
            .contains("flag provided but not defined: -nope"),
        "{bad_flag:?}"
    );
}

#[tokio::test]
async fn help_documents_exit_codes_and_usage_errors_exit_2() {
    let help = wfctl("127.0.0.1:1", &["--help"]).await.expect(0);
    assert!(help.stdout.contains("Exit codes:"), "{help:?}");
    assert!(help.stdout.contains("workflow -op"), "{help:?}");
    wfctl("127.0.0.1:1", &["run"]).await.expect(2);
    wfctl("127.0.0.1:1", &["list", "--state", "sleepy"])
        .await
        .expect(2);
    let completions = wfctl("127.0.0.1:1", &["completions", "bash"])
        .await
        .expect(0);
    assert!(completions.stdout.contains("wfctl"));
}
