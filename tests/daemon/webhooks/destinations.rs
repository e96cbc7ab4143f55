//! The webhook destination policy (docs/webhooks.md, "Where a webhook may
//! point").
//! Addresses never reached are refused at creation; a host name that
//! resolves outside `webhook_allowed_networks` is refused at delivery (the
//! receiver gets nothing) while an allowed one delivers; a redirect is not
//! followed.

use tonic::Code;

use super::webhook;
use crate::helper::*;

const SUCCEEDED: [pb::WebhookEvent; 1] = [pb::WebhookEvent::ExecutionSucceeded];

/// CreateWebhook to `url`, refused: the violation's description, which
/// must name `webhook.url` alone.
async fn refused_url(daemon: &Daemon, url: &str) -> String {
    let status = daemon
        .client()
        .create_webhook(pb::CreateWebhookRequest {
            webhook: Some(webhook(url, &SUCCEEDED)),
        })
        .await
        .expect_err(url);
    assert_eq!(status.code(), Code::InvalidArgument, "{url}: {status:?}");
    let mut named = violations(&status);
    assert_eq!(named.len(), 1, "{url}: {named:?}");
    let (field, description) = named.remove(0);
    assert_eq!(field, "webhook.url", "{url}");
    description
}

#[tokio::test]
async fn addresses_never_reached_are_refused_at_creation() {
    let daemon = Daemon::start().await;
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/computeMetadata/v1/",
        "http://[fe80::1]:8080/hook",
        "http://0.0.0.0:9/hook",
        "http://224.0.0.1/hook",
        "https://[fd00:ec2::254]/latest/meta-data/",
    ] {
        let why = refused_url(&daemon, url).await;
        assert!(
            why.contains("where webhooks are never sent"),
            "{url}: {why}"
        );
    }
    assert!(daemon.webhooks().await.is_empty(), "nothing stored");
}

#[tokio::test]
async fn a_name_resolving_outside_the_allowed_networks_gets_nothing_an_allowed_one_delivers() {
    let daemon = Daemon::builder()
        .config_file(
            "workflowd.toml",
            "webhook_allowed_networks = [\"127.0.0.2/32\", \"10.0.0.0/8\"]\n",
        )
        .start()
        .await;
    // localhost is 127.0.0.1 here, outside the networks.
    let outside = Receiver::start(&[], Answer::Status(204)).await;
    let by_name = format!("http://localhost:{}/hook", outside.addr.port());
    let (refused_id, _) = daemon.create_webhook(webhook(&by_name, &SUCCEEDED)).await;
    let why = refused_url(&daemon, &outside.url()).await;
    assert_eq!(
        why,
        "127.0.0.1 is outside webhook_allowed_networks (127.0.0.2/32, 10.0.0.0/8)"
    );
    let inside = Receiver::start_on("127.0.0.2:0".parse().unwrap(), &[], Answer::Status(204)).await;
    let (_, secret) = daemon
        .create_webhook(webhook(&inside.url(), &SUCCEEDED))
        .await;

    let e = daemon.execute("hello", &[("name", text("x"))]).await;
    daemon.wait_end(&e.id).await;
    let received = inside.wait_for(1).await;
    assert!(received[0].signed_with(&secret));
    assert_eq!(received[0].body["data"]["execution_id"], e.id);
    let failed = eventually("the refused delivery recorded", DEADLINE, || async {
        let d = daemon.deliveries(&refused_id).await;
        d.into_iter()
            .find(|d| d.state() != pb::WebhookDeliveryState::Pending)
    })
    .await;
    assert_eq!(
        failed.state(),
        pb::WebhookDeliveryState::Failed,
        "{failed:?}"
    );
    assert_eq!(failed.attempts, 1, "not tried again: {failed:?}");
    assert!(
        failed
            .last_error
            .contains("refused by the destination policy")
            && failed
                .last_error
                .contains("localhost resolves to no address webhooks may be sent to")
            && failed
                .last_error
                .contains("outside webhook_allowed_networks"),
        "{failed:?}"
    );
    assert!(
        outside.received().is_empty(),
        "the refused receiver got nothing"
    );
}

#[tokio::test]
async fn a_redirect_is_an_answer_and_is_not_followed() {
    let daemon = Daemon::start().await;
    let elsewhere = Receiver::start(&[], Answer::Status(204)).await;
    let mover = Receiver::start(&[], Answer::Redirect(elsewhere.url())).await;
    let (id, _) = daemon
        .create_webhook(webhook(&mover.url(), &SUCCEEDED))
        .await;
    let e = daemon.execute("hello", &[("name", text("x"))]).await;
    daemon.wait_end(&e.id).await;
    mover.wait_for(1).await;
    let answered = eventually("the 307 recorded", DEADLINE, || async {
        let d = daemon.deliveries(&id).await;
        d.into_iter().find(|d| d.attempts >= 1)
    })
    .await;
    assert_eq!(answered.last_status_code, 307, "{answered:?}");
    assert_eq!(answered.state(), pb::WebhookDeliveryState::Pending);
    assert!(elsewhere.received().is_empty(), "not followed");
}

#[tokio::test]
async fn a_bad_allowed_network_stops_the_start_and_names_the_setting() {
    for (written, expected) in [
        ("[\"10.0.0.0/33\"]", "[0] \"10.0.0.0/33\" is not a network"),
        (
            "[\"169.254.0.0/16\"]",
            "[0] 169.254.0.0/16 is inside 169.254.0.0/16",
        ),
        ("[]", "is empty"),
    ] {
        let (status, stderr) = Daemon::builder()
            .config_file(
                "workflowd.toml",
                &format!("webhook_allowed_networks = {written}\n"),
            )
            .start_expecting_failure()
            .await;
        assert!(!status.success(), "{stderr}");
        let named = format!("setting webhook_allowed_networks: {expected}");
        assert!(stderr.contains(&named), "{named:?} in {stderr}");
    }
}
