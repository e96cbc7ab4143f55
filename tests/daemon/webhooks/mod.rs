//! Webhooks through the API against real HTTP receivers on loopback: the
//! Standard Webhooks signature, event and workflow filters, an endpoint
//! that answers 500 then 200, one that hangs (and slows nothing else), the
//! outbox across kill -9 while the endpoint is down, a delivery in flight
//! at kill -9 sent again after the restart, and the events of a
//! failed drop-folder file and of a schedule run that could not start;
//! stored webhooks that cannot send (an unreadable secret or filters) are
//! listed broken and can be deleted. `destinations.rs`: the destination
//! policy.

mod destinations;

use tonic::Code;

use crate::helper::*;

fn failing_program() -> String {
    workflow_script(
        r#"{"id":"failing","name":"Failing","description":"Exits 3.","fields":[]}"#,
        "echo failing; exit 3",
    )
}

impl Daemon {
    /// CreateWebhook; returns its id and secret.
    async fn create_webhook(&self, webhook: pb::Webhook) -> (String, String) {
        let created = self
            .client()
            .create_webhook(pb::CreateWebhookRequest {
                webhook: Some(webhook),
            })
            .await
            .unwrap_or_else(|s| panic!("CreateWebhook: {s:?}"))
            .into_inner();
        (created.webhook.unwrap().id, created.secret)
    }

    async fn webhooks(&self) -> Vec<pb::Webhook> {
        self.client()
            .list_webhooks(pb::ListWebhooksRequest {})
            .await
            .unwrap_or_else(|s| panic!("ListWebhooks: {s:?}"))
            .into_inner()
            .webhooks
    }

    async fn deliveries(&self, webhook_id: &str) -> Vec<pb::WebhookDelivery> {
        self.client()
            .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
                webhook_id: webhook_id.to_string(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|s| panic!("ListWebhookDeliveries: {s:?}"))
            .into_inner()
            .deliveries
    }
}

fn webhook(url: &str, events: &[pb::WebhookEvent]) -> pb::Webhook {
    pb::Webhook {
        url: url.to_string(),
        events: events.iter().map(|e| *e as i32).collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn signed_events_reach_the_receiver_as_filtered() {
    let daemon = Daemon::builder()
        .program("failing", failing_program())
        .start()
        .await;
    let receiver = Receiver::start(&[], Answer::Status(204)).await;
    let mut wanted = webhook(
        &receiver.url(),
        &[
            pb::WebhookEvent::ExecutionFailed,
            pb::WebhookEvent::ExecutionSucceeded,
        ],
    );
    wanted.workflow_ids = vec!["failing".into(), "hello".into()];
    let (id, secret) = daemon.create_webhook(wanted).await;
    assert!(secret.starts_with("whsec_"), "a secret is made: {secret}");

    let failed = daemon.execute("failing", &[]).await;
    daemon.wait_end(&failed.id).await;
    // Not a wanted workflow.
    let other = daemon.execute("sleeper", &[("seconds", num(0.0))]).await;
    daemon.wait_end(&other.id).await;
    let hello = daemon.execute("hello", &[("name", text("hook"))]).await;
    daemon.wait_end(&hello.id).await;

    let received = receiver.wait_for(2).await;
    let mut seen: Vec<(String, String)> = received
        .iter()
        .map(|r| {
            assert!(r.signed_with(&secret), "signed: {r:?}");
            assert!(r.id.starts_with("msg_"));
            let now = chrono::Utc::now().timestamp();
            let sent: i64 = r.timestamp.parse().unwrap();
            assert!((now - 60..=now).contains(&sent), "{sent} vs {now}");
            (
                r.body["type"].as_str().unwrap().to_string(),
                r.body["data"]["execution_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    let mut expected = vec![
        ("execution.failed".to_string(), failed.id.clone()),
        ("execution.succeeded".to_string(), hello.id.clone()),
    ];
    expected.sort();
    assert_eq!(seen, expected);
    let body = &received
        .iter()
        .find(|r| r.body["type"] == "execution.failed")
        .unwrap()
        .body;
    assert_eq!(body["data"]["exit_code"], 3);
    assert_eq!(body["data"]["workflow_id"], "failing");
    // The payload is built from the end the engine committed, or read back
    // from the history: either way it is the execution the history keeps.
    let kept = daemon.get(&failed.id).await;
    let rfc3339 = |t: Option<prost_types::Timestamp>| {
        let t = t.expect("a time");
        chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    assert_eq!(body["data"]["state"], "FAILED");
    assert_eq!(body["data"]["workflow_name"], kept.workflow_name.as_str());
    assert_eq!(body["data"]["create_time"], rfc3339(kept.create_time));
    assert_eq!(body["data"]["start_time"], rfc3339(kept.start_time));
    assert_eq!(body["data"]["end_time"], rfc3339(kept.end_time));
    assert!(!received[0].signed_with(&format!("whsec_{}", "A".repeat(32))));

    let deliveries = eventually("both recorded delivered", DEADLINE, || async {
        let d = daemon.deliveries(&id).await;
        (d.len() == 2
            && d.iter()
                .all(|d| d.state() == pb::WebhookDeliveryState::Delivered))
        .then_some(d)
    })
    .await;
    assert!(deliveries
        .iter()
        .all(|d| d.last_status_code == 204 && d.attempts == 1));

    // The test event, sent at once.
    let test = daemon
        .client()
        .test_webhook(pb::TestWebhookRequest {
            webhook_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .delivery
        .unwrap();
    assert_eq!(test.state(), pb::WebhookDeliveryState::Delivered);
    assert_eq!(test.r#type, "webhook.test");
    assert_eq!(
        receiver.received().last().unwrap().body["type"],
        "webhook.test"
    );

    // Deleted: nothing more is sent.
    daemon
        .client()
        .delete_webhook(pb::DeleteWebhookRequest { webhook_id: id })
        .await
        .unwrap();
    let more = daemon.execute("failing", &[]).await;
    daemon.wait_end(&more.id).await;
    let listed = daemon
        .client()
        .list_webhooks(pb::ListWebhooksRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(listed.webhooks.is_empty());
    assert_eq!(receiver.received().len(), 3);
}

#[tokio::test]
async fn a_500_is_tried_again_under_the_same_id_and_a_hung_endpoint_slows_nothing_else() {
    let daemon = Daemon::start().await;
    let flaky = Receiver::start(&[Answer::Status(500)], Answer::Status(200)).await;
    let hung = Receiver::start(&[], Answer::Hang).await;
    let events = [pb::WebhookEvent::ExecutionSucceeded];
    let (flaky_id, secret) = daemon.create_webhook(webhook(&flaky.url(), &events)).await;
    let (hung_id, _) = daemon.create_webhook(webhook(&hung.url(), &events)).await;

    for i in 0..3 {
        let e = daemon
            .execute("hello", &[("name", text(&format!("n{i}")))])
            .await;
        daemon.wait_end(&e.id).await;
    }
    // 3 events, the first answered 500 once: 4 requests, all signed.
    let received = flaky.wait_for(4).await;
    assert!(received.iter().all(|r| r.signed_with(&secret)));
    let first = &received[0];
    let again: Vec<_> = received.iter().filter(|r| r.id == first.id).collect();
    assert_eq!(again.len(), 2, "the same message id on each attempt");
    let deliveries = eventually("all delivered", DEADLINE, || async {
        let d = daemon.deliveries(&flaky_id).await;
        (d.len() == 3
            && d.iter()
                .all(|d| d.state() == pb::WebhookDeliveryState::Delivered))
        .then_some(d)
    })
    .await;
    let retried = deliveries.iter().find(|d| d.id == first.id).unwrap();
    assert_eq!(retried.attempts, 2);

    // The hung endpoint got its requests and holds them; its deliveries
    // are still pending, and nothing above waited for it.
    hung.wait_for(1).await;
    let pending = daemon.deliveries(&hung_id).await;
    assert_eq!(pending.len(), 3);
    assert!(pending
        .iter()
        .all(|d| d.state() == pb::WebhookDeliveryState::Pending));
}

#[tokio::test]
async fn the_outbox_survives_kill9_while_the_endpoint_is_down() {
    let mut daemon = Daemon::start().await;
    // A port nothing listens on (yet).
    let address = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let (id, secret) = daemon
        .create_webhook(webhook(
            &format!("http://{address}/hook"),
            &[pb::WebhookEvent::ExecutionSucceeded],
        ))
        .await;
    let e = daemon.execute("hello", &[("name", text("down"))]).await;
    daemon.wait_end(&e.id).await;
    let failed_once = eventually("a refused attempt", DEADLINE, || async {
        let d = daemon.deliveries(&id).await;
        d.into_iter().find(|d| d.attempts >= 1)
    })
    .await;
    assert_eq!(failed_once.state(), pb::WebhookDeliveryState::Pending);
    assert!(
        failed_once.last_error.contains("connect"),
        "{failed_once:?}"
    );
    assert!(failed_once.next_attempt_time.is_some());

    daemon.kill9().await;
    let receiver = Receiver::start_on(address, &[], Answer::Status(200)).await;
    daemon.restart().await;
    let received = receiver.wait_for(1).await;
    assert_eq!(received[0].id, failed_once.id);
    assert_eq!(received[0].body["data"]["execution_id"], e.id);
    assert!(received[0].signed_with(&secret));
}

#[tokio::test]
async fn a_delivery_in_flight_at_kill9_goes_out_after_the_restart() {
    let mut daemon = Daemon::start().await;
    // The first request hangs: its delivery is in the sender's hands when
    // the daemon is killed, never recorded as attempted.
    let receiver = Receiver::start(&[Answer::Hang], Answer::Status(200)).await;
    let (id, secret) = daemon
        .create_webhook(webhook(
            &receiver.url(),
            &[pb::WebhookEvent::ExecutionSucceeded],
        ))
        .await;
    let e = daemon.execute("hello", &[("name", text("held"))]).await;
    daemon.wait_end(&e.id).await;
    let first = receiver.wait_for(1).await;
    let listed = daemon.deliveries(&id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state(), pb::WebhookDeliveryState::Pending);
    assert!(listed[0].next_attempt_time.is_some(), "{listed:?}");
    daemon.kill9().await;
    daemon.restart().await;
    let again = receiver.wait_for(2).await;
    assert_eq!(again[1].id, first[0].id, "the same delivery, sent again");
    assert!(again[1].signed_with(&secret));
    eventually("recorded delivered", DEADLINE, || async {
        let d = daemon.deliveries(&id).await;
        (d.len() == 1 && d[0].state() == pb::WebhookDeliveryState::Delivered).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_failed_dropped_file_and_a_schedule_run_that_cannot_start_are_told() {
    let daemon = Daemon::builder()
        .program("gate", gate_program("gate"))
        .program("vm-pipeline.sh", fixture_pipeline())
        .flag("--manifest-dir", "drop")
        .start()
        .await;
    let receiver = Receiver::start(&[], Answer::Status(200)).await;
    let (_, secret) = daemon
        .create_webhook(webhook(
            &receiver.url(),
            &[
                pb::WebhookEvent::DropFileFailed,
                pb::WebhookEvent::ScheduleFailed,
            ],
        ))
        .await;
    let inbox = daemon.file("drop").join("to_be_processed");
    let hidden = inbox.join(".bad.json.part");
    std::fs::write(&hidden, b"{\"version\": \"1.0\"").unwrap();
    std::fs::rename(&hidden, inbox.join("bad.json")).unwrap();
    let received = receiver.wait_for(1).await;
    assert_eq!(received[0].body["type"], "drop_file.failed");
    assert_eq!(received[0].body["data"]["file_name"], "bad.json");
    assert!(received[0].signed_with(&secret));

    // A schedule whose workflow needs an input its action no longer
    // satisfies: the gate program replaced by one with another field.
    let gate = daemon.file("gate");
    std::fs::write(&gate, "").unwrap();
    let created = daemon
        .client()
        .create_schedule(pb::CreateScheduleRequest {
            schedule: Some(pb::Schedule {
                id: "hourly".into(),
                paused: true,
                overlap_policy: pb::ScheduleOverlapPolicy::AllowAll as i32,
                spec: Some(pb::ScheduleSpec {
                    cron: vec!["0 * * * *".into()],
                    ..Default::default()
                }),
                action: Some(pb::ScheduleAction {
                    action: Some(pb::schedule_action::Action::Execute(pb::ScheduleExecute {
                        workflow_id: "gate".into(),
                        inputs: input_map(&[("gate", text(gate.to_str().unwrap()))]),
                        ..Default::default()
                    })),
                }),
                ..Default::default()
            }),
        })
        .await;
    assert!(created.is_ok(), "{created:?}");
    std::fs::remove_file(daemon.workflows_dir().join("gate")).unwrap();
    let run = eventually("the workflow gone", DEADLINE, || async {
        let run = daemon
            .client()
            .trigger_schedule(pb::TriggerScheduleRequest {
                schedule_id: "hourly".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .run
            .unwrap();
        (run.outcome() == pb::ScheduleRunOutcome::Failed).then_some(run)
    })
    .await;
    assert!(run.error.contains("gate"), "{run:?}");
    let received = receiver.wait_for(2).await;
    let told = &received[1].body;
    assert_eq!(told["type"], "schedule.failed");
    assert_eq!(told["data"]["schedule_id"], "hourly");
    assert_eq!(told["data"]["error"], run.error.as_str());
}

#[tokio::test]
async fn bad_webhooks_are_named_and_not_stored() {
    let daemon = Daemon::start().await;
    let status = daemon
        .client()
        .create_webhook(pb::CreateWebhookRequest {
            webhook: Some(pb::Webhook {
                url: "ftp://example.com/x".into(),
                secret: "whsec_short".into(),
                events: vec![99],
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&status)
            .into_iter()
            .map(|(f, _)| f)
            .collect::<Vec<_>>(),
        ["webhook.events[0]"]
    );
    let status = daemon
        .client()
        .create_webhook(pb::CreateWebhookRequest {
            webhook: Some(pb::Webhook {
                url: "ftp://example.com/x".into(),
                secret: "whsec_short".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(
        violations(&status)
            .into_iter()
            .map(|(f, _)| f)
            .collect::<Vec<_>>(),
        ["webhook.url", "webhook.secret"]
    );
    // A workflow filter naming no discovered workflow (a typo) would never
    // match: refused, naming the entry.
    let status = daemon
        .client()
        .create_webhook(pb::CreateWebhookRequest {
            webhook: Some(pb::Webhook {
                url: "http://127.0.0.1:9/hook".into(),
                workflow_ids: vec!["hello".into(), "helo".into()],
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let named = violations(&status);
    assert_eq!(named.len(), 1);
    assert_eq!(named[0].0, "webhook.workflow_ids[1]");
    assert!(named[0].1.contains("\"helo\""), "{named:?}");
    let listed = daemon
        .client()
        .list_webhooks(pb::ListWebhooksRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(listed.webhooks.is_empty());
    let status = daemon
        .client()
        .test_webhook(pb::TestWebhookRequest {
            webhook_id: "wh_none".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn webhooks_whose_secret_or_filters_cannot_be_read_are_listed_broken_and_deletable() {
    let mut daemon = Daemon::start().await;
    let receiver = Receiver::start(&[], Answer::Status(204)).await;
    let events = [pb::WebhookEvent::ExecutionSucceeded];
    let (no_secret, _) = daemon
        .create_webhook(webhook(&receiver.url(), &events))
        .await;
    let (no_filters, _) = daemon
        .create_webhook(webhook(&receiver.url(), &events))
        .await;
    let (sound, secret) = daemon
        .create_webhook(webhook(&receiver.url(), &events))
        .await;
    daemon.terminate().await;
    // The history damaged while the daemon is down.
    for (sql, id) in [
        (
            "UPDATE webhooks SET secret = 'whsec_not base64!' WHERE id = ?1",
            &no_secret,
        ),
        (
            "UPDATE webhooks SET events = '[\"exec' WHERE id = ?1",
            &no_filters,
        ),
    ] {
        assert_eq!(daemon.history_execute(sql, &[id.into()]), 1);
    }
    daemon.restart().await;

    let listed = daemon.webhooks().await;
    let ids: Vec<&str> = listed.iter().map(|w| w.id.as_str()).collect();
    assert_eq!(ids, [&no_secret, &no_filters, &sound], "all listed");
    assert!(
        listed[0].problem.contains("secret cannot be read") && listed[0].problem.contains("base64"),
        "{listed:?}"
    );
    assert!(
        listed[1].problem.contains("events or workflow ids"),
        "{listed:?}"
    );
    assert_eq!(listed[2].problem, "", "{listed:?}");

    // An event: the sound one delivers it, the broken ones record it as
    // failed with their reason and send nothing.
    let e = daemon.execute("hello", &[("name", text("x"))]).await;
    daemon.wait_end(&e.id).await;
    let received = receiver.wait_for(1).await;
    assert!(received[0].signed_with(&secret));
    for (id, reason) in [(&no_secret, "secret"), (&no_filters, "events")] {
        let failed = eventually("the broken webhook's delivery failed", DEADLINE, || async {
            let d = daemon.deliveries(id).await;
            d.into_iter()
                .find(|d| d.state() == pb::WebhookDeliveryState::Failed)
        })
        .await;
        assert_eq!(failed.attempts, 0, "not sent: {failed:?}");
        assert!(
            failed.last_error.contains("not sent") && failed.last_error.contains(reason),
            "{failed:?}"
        );
    }
    assert_eq!(receiver.received().len(), 1, "only the sound one sent");

    for id in [&no_secret, &no_filters] {
        daemon
            .client()
            .delete_webhook(pb::DeleteWebhookRequest {
                webhook_id: id.clone(),
            })
            .await
            .unwrap_or_else(|s| panic!("DeleteWebhook {id}: {s:?}"));
    }
    let left = |listed: Vec<pb::Webhook>| listed.into_iter().map(|w| w.id).collect::<Vec<_>>();
    assert_eq!(left(daemon.webhooks().await), std::slice::from_ref(&sound));
    daemon.terminate().await;
    daemon.restart().await;
    assert_eq!(
        left(daemon.webhooks().await),
        [sound],
        "gone from the history"
    );
}
