//! Authentication and roles (docs/security.md) on a real daemon with API
//! tokens on: every RPC of the proto and every HTTP route of the OpenAPI
//! document called without a token, with a malformed one and with each
//! role's token; revocation at once, expiry, tokens across a restart; the
//! Unix socket; wfctl with WORKFLOW_TOKEN; and the refusal to listen
//! beyond loopback without authentication.

use std::time::Duration;

use prost_reflect::DescriptorPool;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::Code;
use tonic_prost::ProstCodec;

use crate::helper::*;

/// The role each RPC needs, written out here (not read from the daemon)
/// so a change of src/auth/roles.rs that was not meant fails this test.
const EXPECTED_ROLES: &[(&str, &str)] = &[
    ("ListWorkflows", "viewer"),
    ("GetWorkflow", "viewer"),
    ("ValidateInputs", "viewer"),
    ("Execute", "operator"),
    ("GetExecution", "viewer"),
    ("WaitExecution", "viewer"),
    ("ListExecutions", "viewer"),
    ("StreamLogs", "viewer"),
    ("CreateStreamToken", "viewer"),
    ("Cancel", "operator"),
    ("GetStatus", "viewer"),
    ("ValidateManifest", "operator"),
    ("SubmitManifest", "operator"),
    ("CreateSchedule", "admin"),
    ("GetSchedule", "viewer"),
    ("ListSchedules", "viewer"),
    ("UpdateSchedule", "admin"),
    ("DeleteSchedule", "admin"),
    ("PauseSchedule", "admin"),
    ("TriggerSchedule", "operator"),
    ("CreateWebhook", "admin"),
    ("ListWebhooks", "admin"),
    ("DeleteWebhook", "admin"),
    ("ListWebhookDeliveries", "admin"),
    ("TestWebhook", "admin"),
    ("CreateToken", "admin"),
    ("ListTokens", "admin"),
    ("RevokeToken", "admin"),
    ("ListAuditEvents", "admin"),
    ("DrainDaemon", "admin"),
];

const ROLES: [&str; 3] = ["viewer", "operator", "admin"];

fn rank(role: &str) -> usize {
    ROLES.iter().position(|r| *r == role).expect("a role")
}

fn expected_role(method: &str) -> &'static str {
    EXPECTED_ROLES
        .iter()
        .find(|(m, _)| *m == method)
        .map(|(_, role)| *role)
        .unwrap_or_else(|| panic!("{method} is not in EXPECTED_ROLES: add it with its role"))
}

/// A daemon with API tokens on, and its first admin token.
async fn daemon_with_tokens() -> (Daemon, String) {
    let daemon = Daemon::builder().flag("--auth", "tokens").start().await;
    let path = daemon.data_dir().join("admin.token");
    let admin = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the first admin token in {}: {e}", path.display()))
        .trim()
        .to_string();
    assert!(admin.starts_with("wft_"), "{admin}");
    (daemon, admin)
}

/// Calls `path` with an empty request message (valid for every request
/// type) and `authorization`, and returns the status it ended with (OK
/// when a stream started).
async fn raw_call(
    channel: &Channel,
    path: &str,
    server_streaming: bool,
    authorization: Option<&str>,
) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.expect("the connection is ready");
    let mut request = tonic::Request::new(());
    if let Some(value) = authorization {
        request
            .metadata_mut()
            .insert("authorization", MetadataValue::try_from(value).unwrap());
    }
    let path = http::uri::PathAndQuery::try_from(path.to_string()).unwrap();
    // `()` is google.protobuf.Empty: no fields, and any answer decodes.
    let codec = ProstCodec::<(), ()>::default();
    let result = if server_streaming {
        grpc.server_streaming(request, path, codec)
            .await
            .map(|_| ())
    } else {
        grpc.unary(request, path, codec).await.map(|_| ())
    };
    match result {
        Ok(()) => tonic::Status::ok(""),
        Err(status) => status,
    }
}

/// A client that sends `token`.
fn client_with(
    daemon: &Daemon,
    token: &str,
) -> pb::workflow_service_client::WorkflowServiceClient<
    tonic::service::interceptor::InterceptedService<
        Channel,
        impl tonic::service::Interceptor + Clone,
    >,
> {
    let value: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    pb::workflow_service_client::WorkflowServiceClient::with_interceptor(
        daemon.channel(),
        move |mut request: tonic::Request<()>| {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
            Ok(request)
        },
    )
}

async fn create_token(
    daemon: &Daemon,
    admin: &str,
    role: pb::Role,
    expires_in: Option<Duration>,
) -> String {
    client_with(daemon, admin)
        .create_token(pb::CreateTokenRequest {
            name: format!("{role:?} for the test"),
            role: role as i32,
            expires_in: expires_in.map(|d| prost_types::Duration::try_from(d).unwrap()),
            namespaces: Vec::new(),
        })
        .await
        .unwrap_or_else(|s| panic!("CreateToken: {s:?}"))
        .into_inner()
        .secret
}

#[tokio::test]
async fn every_rpc_answers_each_role_as_its_table_says() {
    let (daemon, admin) = daemon_with_tokens().await;
    let viewer = create_token(&daemon, &admin, pb::Role::Viewer, None).await;
    let operator = create_token(&daemon, &admin, pb::Role::Operator, None).await;
    let tokens = [("viewer", viewer), ("operator", operator), ("admin", admin)];
    let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
    let service = pool
        .get_service_by_name("workflow.v1.WorkflowService")
        .unwrap();
    let channel = daemon.channel();
    let mut calls = 0;
    for method in service.methods() {
        let name = method.name();
        let needed = expected_role(name);
        let path = format!("/workflow.v1.WorkflowService/{name}");
        let streaming = method.is_server_streaming();
        // Without a token, and with tokens that are not ours.
        for (authorization, says) in [
            (None, "no API token"),
            (Some("Bearer nonsense"), "malformed API token"),
            (
                Some("Bearer wft_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                "unknown API token 0123456789abcdef",
            ),
        ] {
            let status = raw_call(&channel, &path, streaming, authorization).await;
            assert_eq!(status.code(), Code::Unauthenticated, "{name}: {status:?}");
            assert!(status.message().contains(says), "{name}: {status:?}");
            calls += 1;
        }
        for (role, token) in &tokens {
            let status =
                raw_call(&channel, &path, streaming, Some(&format!("Bearer {token}"))).await;
            if rank(role) >= rank(needed) {
                assert!(
                    !matches!(
                        status.code(),
                        Code::Unauthenticated | Code::PermissionDenied
                    ),
                    "{name} as {role} was refused: {status:?}"
                );
            } else {
                assert_eq!(
                    status.code(),
                    Code::PermissionDenied,
                    "{name} as {role}: {status:?}"
                );
                assert!(
                    status
                        .message()
                        .contains(&format!("{name} needs the {needed} role"))
                        && status.message().contains(&format!("has {role}")),
                    "{status:?}"
                );
            }
            calls += 1;
        }
    }
    assert_eq!(calls, service.methods().len() * 6);
    // Health stays open, for load balancers and probes.
    let health = daemon
        .health()
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("Health/Check needs no token");
    assert_eq!(health.into_inner().status, 1);
}

#[tokio::test]
async fn every_http_route_answers_each_role_as_its_rpc_does() {
    let (daemon, admin) = daemon_with_tokens().await;
    let viewer = create_token(&daemon, &admin, pb::Role::Viewer, None).await;
    let (status, document) = daemon.http_get("/openapi.json").await;
    assert_eq!(status, 200, "the OpenAPI document is open");
    let http = http_client();
    let mut routes = 0;
    for (template, operations) in document["paths"].as_object().unwrap() {
        // Every `{field}` of the template gets a value that names nothing.
        let mut path = String::new();
        let mut rest = template.as_str();
        while let Some(open) = rest.find('{') {
            path.push_str(&rest[..open]);
            let close = rest[open..].find('}').unwrap() + open;
            path.push('x');
            rest = &rest[close + 1..];
        }
        path.push_str(rest);
        for (verb, operation) in operations.as_object().unwrap() {
            let operation_id = operation["operationId"].as_str().unwrap();
            let method = reqwest::Method::from_bytes(verb.to_uppercase().as_bytes()).unwrap();
            let send = |token: Option<&str>| {
                let mut request = http.request(method.clone(), daemon.url(&path));
                if method != reqwest::Method::GET && method != reqwest::Method::DELETE {
                    request = request.json(&serde_json::json!({}));
                }
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                request.send()
            };
            let open = operation_id == "GetOpenApiDocument";
            let anonymous = send(None).await.unwrap().status();
            if open {
                assert_eq!(anonymous, 200, "{verb} {template} is open");
                continue;
            }
            assert_eq!(anonymous, 401, "{verb} {template} without a token");
            // /metrics is not an RPC: any role may read it.
            let needed = match operation_id {
                "GetMetrics" => "viewer",
                rpc => expected_role(rpc),
            };
            let as_viewer = send(Some(&viewer)).await.unwrap().status();
            if needed == "viewer" {
                assert!(
                    ![401, 403].contains(&as_viewer.as_u16()),
                    "{verb} {template}: {as_viewer}"
                );
            } else {
                assert_eq!(as_viewer, 403, "{verb} {template} as viewer");
            }
            let as_admin = send(Some(&admin)).await.unwrap().status();
            assert!(
                ![401, 403].contains(&as_admin.as_u16()),
                "{verb} {template}: {as_admin}"
            );
            routes += 1;
        }
    }
    assert!(
        routes >= EXPECTED_ROLES.len(),
        "only {routes} routes were called"
    );
    // The dashboard's files are open (the page then asks for a token).
    let page = http.get(daemon.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    // A 401 names the scheme it wants (RFC 9110).
    let refused = http.get(daemon.url("/v1/status")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["www-authenticate"],
        "Bearer realm=\"workflowd\""
    );
    // --open-metrics serves /metrics to anyone, the rest still needs a token.
    let open = Daemon::builder()
        .flag("--auth", "tokens")
        .switch("--open-metrics")
        .start()
        .await;
    let metrics = http.get(open.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let status = http.get(open.url("/v1/status")).send().await.unwrap();
    assert_eq!(status.status(), 401);
}

#[tokio::test]
async fn a_revoked_token_is_refused_at_once_and_after_a_restart() {
    let (mut daemon, admin) = daemon_with_tokens().await;
    let operator = create_token(&daemon, &admin, pb::Role::Operator, None).await;
    let id = operator.split('_').nth(1).unwrap().to_string();
    let mut client = client_with(&daemon, &operator);
    client
        .get_status(pb::GetStatusRequest::default())
        .await
        .expect("the new token works");
    let revoked = client_with(&daemon, &admin)
        .revoke_token(pb::RevokeTokenRequest {
            token_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .token
        .unwrap();
    assert!(revoked.revoke_time.is_some());
    // The very next call, on the same connection.
    let refused = client
        .get_status(pb::GetStatusRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(
        refused
            .message()
            .contains(&format!("API token {id} was revoked at")),
        "{refused:?}"
    );
    assert!(
        !refused.message().contains(&operator[21..]),
        "the secret is never echoed"
    );
    // Tokens, and their revocation, survive kill -9.
    daemon.kill9().await;
    daemon.restart().await;
    let refused = client_with(&daemon, &operator)
        .get_status(pb::GetStatusRequest::default())
        .await
        .unwrap_err();
    assert!(refused.message().contains("was revoked"), "{refused:?}");
    let listed = client_with(&daemon, &admin)
        .list_tokens(pb::ListTokensRequest {})
        .await
        .expect("the admin token still works after the restart")
        .into_inner()
        .tokens;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(
        listed[0].role,
        pb::Role::Admin as i32,
        "the first token: {listed:?}"
    );
    // Unknown ids and bad roles name what is wrong.
    let missing = client_with(&daemon, &admin)
        .revoke_token(pb::RevokeTokenRequest {
            token_id: "ffffffffffffffff".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    let invalid = client_with(&daemon, &admin)
        .create_token(pb::CreateTokenRequest::default())
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert!(
        violations(&invalid)
            .iter()
            .any(|(field, _)| field == "role"),
        "{invalid:?}"
    );
}

#[tokio::test]
async fn an_expired_token_is_refused_saying_when_it_expired() {
    let (daemon, admin) = daemon_with_tokens().await;
    let short = create_token(
        &daemon,
        &admin,
        pb::Role::Viewer,
        Some(Duration::from_secs(2)),
    )
    .await;
    let mut client = client_with(&daemon, &short);
    client
        .get_status(pb::GetStatusRequest::default())
        .await
        .expect("the token works until it expires");
    // Expiry is the clock's to signal: poll until it has passed.
    let refused = eventually("the token to expire", Duration::from_secs(10), || {
        let mut client = client.clone();
        async move {
            client
                .get_status(pb::GetStatusRequest::default())
                .await
                .err()
        }
    })
    .await;
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(refused.message().contains("expired at"), "{refused:?}");
    // Shorter than a second is refused, naming the field.
    let invalid = client_with(&daemon, &admin)
        .create_token(pb::CreateTokenRequest {
            role: pb::Role::Viewer as i32,
            expires_in: Some(prost_types::Duration {
                seconds: 0,
                nanos: 1_000,
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        violations(&invalid)
            .iter()
            .any(|(field, _)| field == "expires_in"),
        "{invalid:?}"
    );
}

#[tokio::test]
async fn the_unix_socket_needs_no_token_and_wfctl_sends_workflow_token() {
    let daemon = Daemon::builder()
        .flag("--auth", "tokens")
        .unix_socket_only()
        .start()
        .await;
    let socket = format!("unix:{}", daemon.unix_socket().display());
    // On the socket (mode 0660: the daemon's user and group): an administrator.
    let made = wfctl(
        &socket,
        &["token", "create", "--role", "operator", "--name", "ci"],
    )
    .await;
    assert_eq!(made.code, 0, "{made:?}");
    let token = made.stdout.trim().to_string();
    assert!(token.starts_with("wft_"), "{made:?}");
    let listed = wfctl(&socket, &["token", "list"]).await;
    assert!(
        listed.stdout.contains("operator") && listed.stdout.contains("ci"),
        "{listed:?}"
    );
    assert!(
        !listed.stdout.contains(&token[21..]),
        "a list never shows a secret"
    );
    let id = token.split('_').nth(1).unwrap();
    let revoked = wfctl(&socket, &["token", "revoke", id]).await;
    assert_eq!(revoked.code, 0, "{revoked:?}");
    assert!(
        revoked.stderr.contains(&format!("revoked token {id}")),
        "{revoked:?}"
    );
}

#[tokio::test]
async fn wfctl_over_tcp_needs_a_token_and_says_which_is_wrong() {
    let (daemon, admin) = daemon_with_tokens().await;
    let viewer = create_token(&daemon, &admin, pb::Role::Viewer, None).await;
    let none = wfctl(&daemon.addr, &["status"]).await;
    assert_ne!(none.code, 0);
    assert!(none.stderr.contains("no API token"), "{none:?}");
    let env = [
        ("WORKFLOWD_ADDR", daemon.addr.as_str()),
        ("WORKFLOW_TOKEN", viewer.as_str()),
    ];
    let status = wfctl_env(&env, &["status"], None, "").await;
    assert_eq!(status.code, 0, "{status:?}");
    let denied = wfctl_env(&env, &["token", "list"], None, "").await;
    assert_ne!(denied.code, 0);
    assert!(
        denied.stderr.contains("ListTokens needs the admin role"),
        "{denied:?}"
    );
    let flag = wfctl(&daemon.addr, &["--token", &admin, "token", "list"]).await;
    assert_eq!(flag.code, 0, "{flag:?}");
}

#[tokio::test]
async fn listening_beyond_loopback_needs_authentication_or_insecure_listen() {
    let (status, stderr) = Daemon::builder()
        .listen("0.0.0.0:0")
        .start_expecting_failure()
        .await;
    assert!(!status.success());
    assert!(
        stderr.contains("setting listen")
            && stderr.contains("--insecure-listen")
            && stderr.contains("auth"),
        "{stderr}"
    );
    // With tokens, or the risk accepted, it starts.
    let with_tokens = Daemon::builder()
        .listen("0.0.0.0:0")
        .flag("--auth", "tokens")
        .start()
        .await;
    assert!(with_tokens.log().contains("admin token was written"));
    let (status, stderr) = Daemon::builder()
        .flag("--auth", "passwords")
        .start_expecting_failure()
        .await;
    assert!(!status.success());
    assert!(stderr.contains("setting auth"), "{stderr}");
}
