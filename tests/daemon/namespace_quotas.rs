//! A namespace's quotas against what spends them (docs/security.md,
//! "Namespaces", Quotas): its rate of starting work is spent only by a
//! valid new start, over Execute and SubmitManifest, so a caller sending
//! bad input does not drain its team's rate.

use std::time::Duration;

use serde_json::json;
use tonic::Code;
use workflow_manager::pb;

use super::namespaces::team_dirs;
use crate::helper::*;

/// One start per 100 s, so the test never sees the bucket refill.
const ONE_START: &str = "start_rate_per_second = 0.01\nstart_rate_burst = 1\n";

/// Asserts `status` is `namespace`'s rate refusing a start, with a
/// RetryInfo.
fn assert_namespace_rate(status: &tonic::Status, namespace: &str) {
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status
            .message()
            .contains(&format!("namespaces.{namespace}.start_rate_per_second")),
        "{}",
        status.message()
    );
    let wait = retry_delay(status);
    assert!(wait > Duration::ZERO, "{wait:?}");
}

/// A run of `gate` in team-a that waits for the file `gate-N`.
fn team_a_gate(daemon: &Daemon, n: usize) -> pb::ExecuteRequest {
    let gate = daemon.file(&format!("gate-{n}"));
    pb::ExecuteRequest {
        namespace: "team-a".into(),
        ..request("gate", &[("gate", text(gate.to_str().unwrap()))])
    }
}

/// Asserts `status` is INVALID_ARGUMENT with a violation of `field`.
fn assert_bad_field(status: &tonic::Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let fields: Vec<String> = violations(status).into_iter().map(|(f, _)| f).collect();
    assert!(fields.iter().any(|f| f == field), "{field} in {fields:?}");
}

#[tokio::test]
async fn bad_input_to_execute_is_refused_without_spending_the_namespaces_rate() {
    let dirs = tempfile::tempdir().unwrap();
    let daemon = Daemon::builder()
        .config_file("namespaces.toml", &team_dirs(dirs.path(), ONE_START))
        .start()
        .await;
    let in_a = |request: pb::ExecuteRequest| pb::ExecuteRequest {
        namespace: "team-a".into(),
        ..request
    };
    let mut client = daemon.client();

    // Bad input of each kind the handler and the engine check, more
    // calls than the bucket holds: each refused naming its field.
    let missing_input = in_a(request("gate", &[]));
    let bad_timeout = in_a(pb::ExecuteRequest {
        timeout: Some(prost_types::Duration {
            seconds: -1,
            nanos: 0,
        }),
        ..request("alpha", &[])
    });
    let bad_limit = in_a(pb::ExecuteRequest {
        limits: Some(pb::ResourceLimits {
            max_processes: Some(0),
            ..Default::default()
        }),
        ..request("alpha", &[])
    });
    for (bad, field) in [
        (missing_input, "inputs.gate"),
        (bad_timeout, "timeout"),
        (bad_limit, "limits.max_processes"),
        (in_a(request("", &[])), "workflow_id"),
    ] {
        let refused = client.execute(bad).await.unwrap_err();
        assert_bad_field(&refused, field);
    }
    // A workflow the namespace does not have is not a start either.
    let elsewhere = client
        .execute(in_a(request("beta", &[])))
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), Code::NotFound, "{elsewhere:?}");

    // The one token is still there: a valid start takes it.
    let with_id = || {
        in_a(pb::ExecuteRequest {
            request_id: "once".into(),
            ..request("alpha", &[])
        })
    };
    let first = client
        .execute(with_id())
        .await
        .expect("the first valid start");
    let first = first.into_inner();
    assert!(first.started);
    // Its repeat starts nothing, so it spends nothing and is answered.
    let again = client
        .execute(with_id())
        .await
        .expect("a repeat of the request id")
        .into_inner();
    assert!(!again.started);
    assert_eq!(again.execution.unwrap().id, first.execution.unwrap().id);
    // The next new start is over the rate; team-b's bucket is its own.
    let limited = client
        .execute(in_a(request("alpha", &[])))
        .await
        .unwrap_err();
    assert_namespace_rate(&limited, "team-a");
    daemon
        .execute_request(pb::ExecuteRequest {
            namespace: "team-b".into(),
            ..request("beta", &[])
        })
        .await;
}

#[tokio::test]
async fn a_bad_manifest_is_refused_without_spending_the_namespaces_rate() {
    let daemon = Daemon::builder()
        .program("vm-pipeline.sh", fixture_pipeline())
        .config_file(
            "namespaces.toml",
            &format!("[namespaces.default]\n{ONE_START}"),
        )
        .start()
        .await;
    let disk = make_disk(&daemon.staging_dir(), "web.raw", "raw");
    let submit = |content: String, request_id: &str| pb::SubmitManifestRequest {
        content: content.into_bytes(),
        format: pb::ManifestFormat::Detect as i32,
        file_name: "web.json".into(),
        request_id: request_id.into(),
        ..Default::default()
    };
    let mut client = daemon.client();
    for _ in 0..3 {
        let refused = client
            .submit_manifest(submit(r#"{"pipeline": {"load": {}}}"#.into(), ""))
            .await
            .unwrap_err();
        assert_bad_field(&refused, "version");
    }
    let valid = json!({"version": "1.0", "pipeline": {
        "load": {"source_type": "raw", "source_path": disk},
        "convert": {"output_format": "qcow2"}}})
    .to_string();
    let first = client
        .submit_manifest(submit(valid.clone(), "web-1"))
        .await
        .expect("the first valid manifest")
        .into_inner();
    assert!(first.started);
    let again = client
        .submit_manifest(submit(valid.clone(), "web-1"))
        .await
        .expect("a repeat of the request id")
        .into_inner();
    assert!(!again.started);
    let limited = client
        .submit_manifest(submit(valid, "web-2"))
        .await
        .unwrap_err();
    assert_namespace_rate(&limited, "default");
}

/// A namespace held at its `max_running` with no `max_queued` of its own
/// waits within its share of the daemon's queue (`max_queue` / the
/// namespaces), so the others keep room in it.
#[tokio::test]
async fn a_namespace_at_max_running_without_max_queued_leaves_the_queue_to_others() {
    let dirs = tempfile::tempdir().unwrap();
    // team-a, team-b and default share a queue of 6: 2 each.
    let daemon = Daemon::builder()
        .max_jobs(4)
        .flag("--max-queue", 6)
        .config_file(
            "namespaces.toml",
            &team_dirs(dirs.path(), "max_running = 1\n"),
        )
        .start()
        .await;
    let gate = |n: usize| team_a_gate(&daemon, n);
    let running = daemon.execute_request(gate(0)).await;
    daemon.wait_started(&running.id).await;
    for n in 1..=2 {
        let waiting = daemon.execute_request(gate(n)).await;
        assert_eq!(waiting.state, pb::ExecutionState::Queued as i32);
    }
    let full = daemon.client().execute(gate(3)).await.unwrap_err();
    assert_eq!(full.code(), Code::ResourceExhausted, "{full:?}");
    for said in [
        "namespace team-a has 2 executions waiting",
        "the default for a namespace with max_running and no max_queued",
        "6 / 3 namespaces",
        "set config namespaces.team-a.max_queued",
    ] {
        assert!(full.message().contains(said), "{said}: {}", full.message());
    }
    assert!(retry_delay(&full) > Duration::ZERO);

    // Other namespaces still start, and wait, in the daemon's queue.
    let hello = daemon.execute("hello", &[]).await;
    assert_eq!(
        daemon.wait_end(&hello.id).await.state,
        pb::ExecutionState::Succeeded as i32
    );
    daemon
        .execute_request(pb::ExecuteRequest {
            namespace: "team-b".into(),
            ..request("beta", &[])
        })
        .await;
    // One of team-a's own ends: one more of its own may wait.
    std::fs::write(daemon.file("gate-0"), "").unwrap();
    daemon.wait_end(&running.id).await;
    eventually("a place for team-a", DEADLINE, || {
        let mut client = daemon.client();
        let request = gate(4);
        async move { client.execute(request).await.ok() }
    })
    .await;
}

/// A valid start refused because the namespace's queue is full spends
/// none of its rate: retrying while the queue drains does not leave the
/// team without starts once a place frees.
#[tokio::test]
async fn a_start_refused_for_a_full_queue_spends_none_of_the_rate() {
    let dirs = tempfile::tempdir().unwrap();
    let quotas = "max_running = 1\nmax_queued = 1\n\
                  start_rate_per_second = 0.01\nstart_rate_burst = 3\n";
    let daemon = Daemon::builder()
        .max_jobs(4)
        .config_file("namespaces.toml", &team_dirs(dirs.path(), quotas))
        .start()
        .await;
    let gate = |n: usize| team_a_gate(&daemon, n);
    // Two of the three starts: one runs, one waits.
    let running = daemon.execute_request(gate(0)).await;
    daemon.wait_started(&running.id).await;
    let waiting = daemon.execute_request(gate(1)).await;
    // More refusals for the full queue than starts are left.
    for n in 2..=4 {
        let full = daemon.client().execute(gate(n)).await.unwrap_err();
        assert_eq!(full.code(), Code::ResourceExhausted, "{full:?}");
        assert!(
            full.message().contains("namespaces.team-a.max_queued"),
            "refused for the queue, not the rate: {}",
            full.message()
        );
    }
    // Once the waiting one runs, the third start is still there.
    std::fs::write(daemon.file("gate-0"), "").unwrap();
    daemon.wait_started(&waiting.id).await;
    let third = daemon
        .client()
        .execute(gate(5))
        .await
        .expect("the third start");
    assert!(third.into_inner().started);
    // And it was the last.
    std::fs::write(daemon.file("gate-1"), "").unwrap();
    daemon.wait_end(&waiting.id).await;
    let limited = daemon.client().execute(gate(6)).await.unwrap_err();
    assert_namespace_rate(&limited, "team-a");
}

/// A valid manifest refused because its namespace's queue cannot hold its
/// VMs spends none of the rate and leaves nothing behind: a submission
/// takes a place for every VM before its start is spent, and starts whole
/// or not at all.
#[tokio::test]
async fn a_manifest_refused_for_a_full_queue_spends_none_of_the_rate() {
    let quotas = "[namespaces.default]\nmax_running = 1\nmax_queued = 1\n\
                  start_rate_per_second = 0.01\nstart_rate_burst = 3\n";
    let daemon = Daemon::builder()
        .max_jobs(4)
        .program("vm-pipeline.sh", fixture_pipeline())
        .program("gate.sh", gate_program("gate"))
        .config_file("namespaces.toml", quotas)
        .start()
        .await;
    let disk = make_disk(&daemon.staging_dir(), "web.raw", "raw");
    let single = |name: &str| {
        json!({"version": "1.0", "name": name, "pipeline": {
            "load": {"source_type": "raw", "source_path": disk},
            "convert": {"output_format": "qcow2"}}})
    };
    let batch = |names: &[&str]| {
        let vms: Vec<_> = names
            .iter()
            .map(|name| json!({"name": name, "pipeline": {"load": {"source_path": disk}}}))
            .collect();
        json!({"version": "1.0", "vms": vms})
    };
    let submit = |manifest: serde_json::Value| pb::SubmitManifestRequest {
        content: manifest.to_string().into_bytes(),
        format: pb::ManifestFormat::Detect as i32,
        file_name: "vms.json".into(),
        ..Default::default()
    };
    let gate = |n: usize| {
        let gate = daemon.file(&format!("gate-{n}"));
        request("gate", &[("gate", text(gate.to_str().unwrap()))])
    };
    let pipeline_runs = || async {
        let filter = pb::ListExecutionsRequest {
            workflow_id: "vm_pipeline".into(),
            ..Default::default()
        };
        daemon.list_executions(filter).await.executions
    };
    let documents = || match std::fs::read_dir(daemon.data_dir().join("manifests")) {
        Ok(entries) => entries.count(),
        Err(_) => 0,
    };
    let mut client = daemon.client();

    // Two of the three starts: one runs, one waits; the queue is full.
    let running = daemon.execute_request(gate(0)).await;
    daemon.wait_started(&running.id).await;
    let waiting = daemon.execute_request(gate(1)).await;
    // More refusals for the full queue than starts are left: single VMs
    // and a batch that would fit an empty queue.
    let full_queue = [
        single("web-1"),
        single("web-2"),
        batch(&["a", "b"]),
        single("web-3"),
    ];
    for manifest in full_queue {
        let full = client.submit_manifest(submit(manifest)).await.unwrap_err();
        assert_eq!(full.code(), Code::ResourceExhausted, "{full:?}");
        assert!(
            full.message().contains("namespaces.default.max_queued"),
            "refused for the queue, not the rate: {}",
            full.message()
        );
    }
    // A batch that could never fit says so, and costs nothing either.
    let never = client
        .submit_manifest(submit(batch(&["a", "b", "c"])))
        .await
        .unwrap_err();
    assert_eq!(never.code(), Code::FailedPrecondition, "{never:?}");
    for said in [
        "3 executions started together can never all have a place at once",
        "namespace default holds at most 2",
        "config namespaces.default.max_queued 1 waiting",
        "config namespaces.default.max_running 1 running",
    ] {
        assert!(
            never.message().contains(said),
            "{said}: {}",
            never.message()
        );
    }

    // The waiting one runs: one place is free, not the two a batch needs.
    std::fs::write(daemon.file("gate-0"), "").unwrap();
    daemon.wait_started(&waiting.id).await;
    let short = client
        .submit_manifest(submit(batch(&["a", "b"])))
        .await
        .unwrap_err();
    assert_eq!(short.code(), Code::ResourceExhausted, "{short:?}");
    assert!(
        pipeline_runs().await.is_empty(),
        "no VM of a refused batch started"
    );
    assert_eq!(documents(), 0, "no document of a refused manifest is left");

    // The third start is still there for a manifest that fits.
    let accepted = client
        .submit_manifest(submit(single("web-4")))
        .await
        .expect("the third start")
        .into_inner();
    assert!(accepted.started);
    let vm = accepted.vms[0].execution.clone().unwrap();
    assert_eq!(vm.state, pb::ExecutionState::Queued as i32);
    assert_eq!(pipeline_runs().await.len(), 1);

    // And it was the last: with the queue empty again, the rate refuses.
    std::fs::write(daemon.file("gate-1"), "").unwrap();
    daemon.wait_end(&waiting.id).await;
    daemon.wait_end(&vm.id).await;
    let limited = client
        .submit_manifest(submit(single("web-5")))
        .await
        .unwrap_err();
    assert_namespace_rate(&limited, "default");
}
