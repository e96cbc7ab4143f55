//! Rate limits on starting work (docs/security.md, "Quotas and rate
//! limits"): a caller past its burst is RESOURCE_EXHAUSTED with a RetryInfo
//! and a message naming the setting, the refusal is audited, reads are not
//! counted, and each token has a bucket of its own.

use std::time::Duration;

use tonic::Code;
use workflow_manager::pb;

use crate::helper::*;

const ONE_A_SECOND_BURST_2: &str = "start_rate_per_second = 1\nstart_rate_burst = 2\n";

/// Asserts `status` is the rate limit's refusal, with a wait under 1 s.
fn assert_rate_limited(status: &tonic::Status) {
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("start_rate_per_second"),
        "names the setting: {}",
        status.message()
    );
    let wait = retry_delay(status);
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(1),
        "{wait:?}"
    );
}

#[tokio::test]
async fn a_caller_past_its_burst_is_told_when_to_retry() {
    let daemon = Daemon::builder()
        .config_file("rate.toml", ONE_A_SECOND_BURST_2)
        .start()
        .await;
    let first = daemon.execute("hello", &[]).await;
    daemon.execute("hello", &[]).await;
    let refused = daemon
        .client()
        .execute(request("hello", &[]))
        .await
        .unwrap_err();
    assert_rate_limited(&refused);
    // Reads are not counted.
    daemon.get(&first.id).await;
    // Nothing was started by the refused call.
    let listed = daemon
        .client()
        .list_executions(pb::ListExecutionsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.executions.len(), 2);
}

/// The caller's own bucket is the daemon's guard against a flood: it
/// counts every start call, bad input too (a namespace's bucket, shared by
/// a team, counts only valid starts: namespace_quotas.rs).
#[tokio::test]
async fn a_callers_bad_starts_count_against_its_own_rate() {
    let daemon = Daemon::builder()
        .config_file("rate.toml", ONE_A_SECOND_BURST_2)
        .start()
        .await;
    for _ in 0..2 {
        let bad = daemon.client().execute(request("", &[])).await.unwrap_err();
        assert_eq!(bad.code(), Code::InvalidArgument, "{bad:?}");
    }
    let refused = daemon
        .client()
        .execute(request("hello", &[]))
        .await
        .unwrap_err();
    assert_rate_limited(&refused);
}

#[tokio::test]
async fn each_token_has_a_bucket_of_its_own_and_refusals_are_audited() {
    let daemon = Daemon::builder()
        .flag("--auth", "tokens")
        .config_file("rate.toml", ONE_A_SECOND_BURST_2)
        .start()
        .await;
    let admin = daemon.admin_token();
    let mut tokens = Vec::new();
    for name in ["busy", "quiet"] {
        let created = daemon
            .client()
            .create_token(with_bearer(
                pb::CreateTokenRequest {
                    name: name.into(),
                    role: pb::Role::Operator as i32,
                    expires_in: None,
                    namespaces: Vec::new(),
                },
                &admin,
            ))
            .await
            .expect("CreateToken")
            .into_inner();
        tokens.push(created.secret);
    }
    let execute = |token: &str| {
        let mut client = daemon.client();
        let request = with_bearer(request("hello", &[]), token);
        async move { client.execute(request).await }
    };
    execute(&tokens[0]).await.expect("the first start");
    execute(&tokens[0])
        .await
        .expect("the second start, in the burst");
    let refused = execute(&tokens[0]).await.unwrap_err();
    assert_rate_limited(&refused);
    assert!(
        refused.message().contains("(busy)"),
        "{}",
        refused.message()
    );
    // The other token's bucket is full.
    execute(&tokens[1]).await.expect("another token starts");

    // The refusal is in the audit log, with its code.
    let events = eventually(
        "the refusal in the audit log",
        Duration::from_secs(10),
        || {
            let mut client = daemon.client();
            let request = with_bearer(
                pb::ListAuditEventsRequest {
                    page_size: 100,
                    ..Default::default()
                },
                &admin,
            );
            async move {
                let events = client
                    .list_audit_events(request)
                    .await
                    .ok()?
                    .into_inner()
                    .events;
                events
                    .iter()
                    .any(|e| e.code == "RESOURCE_EXHAUSTED")
                    .then_some(events)
            }
        },
    )
    .await;
    let refusal = events
        .iter()
        .find(|e| e.code == "RESOURCE_EXHAUSTED")
        .unwrap();
    assert_eq!(refusal.method, "Execute");
    assert!(refusal.message.contains("rate limit"), "{refusal:?}");
}

#[tokio::test]
async fn a_burst_without_a_rate_refuses_to_start() {
    let (status, stderr) = Daemon::builder()
        .config_file("rate.toml", "start_rate_burst = 3\n")
        .start_expecting_failure()
        .await;
    assert!(!status.success());
    assert!(stderr.contains("start_rate_burst"), "{stderr}");
}
