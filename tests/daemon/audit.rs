//! The audit log (docs/security.md) on a real daemon with API tokens on:
//! calls that change something and refused calls are recorded with who,
//! what, which object, from where and the outcome; reads that pass are
//! not; ListAuditEvents pages and needs admin; the JSON-lines file gets
//! the same events; wfctl audit prints them.

use std::time::Duration;

use tonic::metadata::MetadataValue;

use crate::helper::*;

async fn events(daemon: &Daemon, admin: &str, want: usize) -> Vec<pb::AuditEvent> {
    let value: MetadataValue<_> = format!("Bearer {admin}").parse().unwrap();
    // Events are written off the calls' path: wait for them to land.
    eventually("the audit events", Duration::from_secs(10), || {
        let value = value.clone();
        let channel = daemon.channel();
        async move {
            let mut request = tonic::Request::new(pb::ListAuditEventsRequest {
                page_size: 1000,
                ..Default::default()
            });
            request.metadata_mut().insert("authorization", value);
            let listed = pb::workflow_service_client::WorkflowServiceClient::new(channel)
                .list_audit_events(request)
                .await
                .expect("ListAuditEvents as admin")
                .into_inner()
                .events;
            (listed.len() >= want).then_some(listed)
        }
    })
    .await
}

#[tokio::test]
async fn changes_and_refusals_are_recorded_with_who_what_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.jsonl");
    let daemon = Daemon::builder()
        .flag("--auth", "tokens")
        .flag("--audit-log-file", file.display())
        .start()
        .await;
    let admin = daemon.admin_token();
    let mut client = daemon.client();
    // An admin makes a viewer's token (recorded: CreateToken, OK).
    let viewer = client
        .create_token(with_bearer(
            pb::CreateTokenRequest {
                name: "reader".into(),
                role: pb::Role::Viewer as i32,
                expires_in: None,
                namespaces: Vec::new(),
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    let viewer_id = viewer.token.unwrap().id;
    // A read that passes is not recorded; one refused is.
    client
        .get_status(with_bearer(pb::GetStatusRequest::default(), &viewer.secret))
        .await
        .unwrap();
    client
        .get_status(pb::GetStatusRequest::default())
        .await
        .unwrap_err();
    // A run the viewer may not start, and one the admin starts.
    let denied = client
        .execute(with_bearer(
            pb::ExecuteRequest {
                workflow_id: "hello".into(),
                ..Default::default()
            },
            &viewer.secret,
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    client
        .execute(with_bearer(
            pb::ExecuteRequest {
                workflow_id: "hello".into(),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .unwrap();

    let listed = events(&daemon, &admin, 4).await;
    assert_eq!(listed.len(), 4, "{listed:#?}");
    // Newest first.
    let methods: Vec<(&str, &str)> = listed
        .iter()
        .map(|e| (e.method.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(
        methods,
        [
            ("Execute", "OK"),
            ("Execute", "PERMISSION_DENIED"),
            ("GetStatus", "UNAUTHENTICATED"),
            ("CreateToken", "OK"),
        ]
    );
    assert!(listed.windows(2).all(|w| w[0].sequence > w[1].sequence));
    let run = &listed[0];
    assert!(
        run.principal.starts_with("token ") && run.role == pb::Role::Admin as i32,
        "{run:?}"
    );
    assert_eq!(run.object, "hello");
    assert!(run.peer.starts_with("127.0.0.1:"), "{run:?}");
    let refused = &listed[1];
    assert!(refused.principal.contains(&viewer_id), "{refused:?}");
    assert!(
        refused.message.contains("Execute needs the operator role"),
        "{refused:?}"
    );
    assert_eq!(listed[2].principal, "unauthenticated");
    assert_eq!(listed[2].role, pb::Role::Unspecified as i32);
    assert!(listed[2].message.contains("no API token"));

    // Pages, newest first, and only for admins.
    let mut first = tonic::Request::new(pb::ListAuditEventsRequest {
        page_size: 3,
        ..Default::default()
    });
    first
        .metadata_mut()
        .insert("authorization", format!("Bearer {admin}").parse().unwrap());
    let page = client.list_audit_events(first).await.unwrap().into_inner();
    assert_eq!(page.events.len(), 3);
    assert!(!page.next_page_token.is_empty());
    let rest = client
        .list_audit_events(with_bearer(
            pb::ListAuditEventsRequest {
                page_size: 3,
                page_token: page.next_page_token,
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    // The first page's ListAuditEvents itself is a read: not recorded.
    assert_eq!(rest.events.len(), 1);
    assert_eq!(rest.events[0].method, "CreateToken");
    let as_viewer = client
        .list_audit_events(with_bearer(
            pb::ListAuditEventsRequest::default(),
            &viewer.secret,
        ))
        .await
        .unwrap_err();
    assert_eq!(as_viewer.code(), tonic::Code::PermissionDenied);

    // The JSON-lines file has the same events (and the refusal just made).
    let lines = eventually("the audit file", Duration::from_secs(10), || {
        let file = file.clone();
        async move {
            let text = std::fs::read_to_string(&file).ok()?;
            let lines: Vec<serde_json::Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).expect("a JSON line"))
                .collect();
            (lines.len() >= 5).then_some(lines)
        }
    })
    .await;
    assert_eq!(lines[0]["method"], "CreateToken");
    assert_eq!(lines[3]["object"], "hello");
    assert_eq!(lines[4]["method"], "ListAuditEvents");
    assert_eq!(lines[4]["code"], "PERMISSION_DENIED");

    // wfctl audit prints the table.
    let printed = wfctl(&daemon.addr, &["--token", &admin, "audit", "--limit", "2"]).await;
    assert_eq!(printed.code, 0, "{printed:?}");
    assert!(printed.stdout.starts_with("TIME"), "{printed:?}");
    assert!(printed.stdout.contains("PERMISSION_DENIED"), "{printed:?}");
    assert_eq!(printed.stdout.lines().count(), 3, "{printed:?}");
}

/// An audited call whose request is past gRPC's 4 MiB for one message is
/// refused as tonic refuses one (OUT_OF_RANGE, saying so), not passed on
/// empty, and the refusal is in the audit log.
#[tokio::test]
async fn an_audited_request_past_the_message_limit_is_refused_saying_so() {
    let daemon = Daemon::builder().flag("--auth", "tokens").start().await;
    let admin = daemon.admin_token();
    let refused = daemon
        .client()
        .submit_manifest(with_bearer(
            pb::SubmitManifestRequest {
                content: vec![b' '; 5 * 1024 * 1024],
                file_name: "huge.json".into(),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::OutOfRange, "{refused:?}");
    assert!(
        refused
            .message()
            .contains("SubmitManifest: the request is larger than 4194304 bytes"),
        "{}",
        refused.message()
    );
    let recorded = events(&daemon, &admin, 1).await;
    assert_eq!(recorded[0].method, "SubmitManifest");
    assert_eq!(recorded[0].code, "OUT_OF_RANGE");
}
