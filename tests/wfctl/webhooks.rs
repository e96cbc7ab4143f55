//! `wfctl webhook ...` against a live daemon and real HTTP receivers on
//! loopback: a webhook added with two events and a workflow filter gets a
//! signed event (the secret `add` printed verifies it), is listed, its
//! deliveries show the retried attempt delivered with 200, `test` sends a
//! test event (and exits 6 when the endpoint refuses it), and `remove`
//! leaves the list empty; an unknown event name exits 2 listing the names,
//! and a URL the daemon refuses exits 5 naming `webhook.url`.

use crate::helper::*;

/// The value of a `Key:  value` line of wfctl's output.
fn field<'a>(run: &'a Run, key: &str) -> &'a str {
    run.field(key)
        .unwrap_or_else(|| panic!("no {key} line: {run:?}"))
}

/// The words of the row of a table that holds `cell`.
fn row<'a>(run: &'a Run, cell: &str) -> Vec<&'a str> {
    run.stdout
        .lines()
        .find(|line| line.split_whitespace().any(|word| word == cell))
        .unwrap_or_else(|| panic!("no row with {cell}: {run:?}"))
        .split_whitespace()
        .collect()
}

/// The first line of a table, split into words.
fn header(run: &Run) -> Vec<&str> {
    run.stdout
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect()
}

#[tokio::test]
async fn a_webhook_is_added_delivers_signed_events_is_tested_and_removed() {
    let daemon = Daemon::start().await;
    // The first request is answered 500: the event is delivered at the
    // second attempt.
    let receiver = Receiver::start(&[Answer::Status(500)], Answer::Status(200)).await;
    let added = wfctl(
        &daemon.addr,
        &[
            "webhook",
            "add",
            &receiver.url(),
            "--event",
            "execution.failed",
            "--event",
            "execution.succeeded",
            "--workflow",
            "hello",
            "--description",
            "alerts",
        ],
    )
    .await
    .expect(0)
    .stderr_has("its secret is not shown again");
    let id = field(&added, "Webhook").to_string();
    let secret = field(&added, "Secret").to_string();
    assert!(id.starts_with("wh_"), "{added:?}");
    assert!(secret.starts_with("whsec_"), "{added:?}");

    let list = wfctl(&daemon.addr, &["webhook", "list"]).await.expect(0);
    assert_eq!(
        header(&list),
        ["ID", "URL", "EVENTS", "WORKFLOWS", "CREATED", "PROBLEM"]
    );
    let listed = row(&list, &id);
    assert_eq!(
        listed[1..4],
        [
            receiver.url().as_str(),
            "execution.failed,execution.succeeded",
            "hello"
        ],
        "{list:?}"
    );
    assert_eq!(listed.last(), Some(&"-"), "it can send: {list:?}");
    assert!(!list.stdout.contains(&secret), "the secret is not listed");

    // sleeper is not a wanted workflow; hello is.
    let other = daemon.execute("sleeper", &[("seconds", num(0.0))]).await;
    daemon.wait_end(&other.id).await;
    let hello = daemon.execute("hello", &[("name", text("hook"))]).await;
    daemon.wait_end(&hello.id).await;
    let received = receiver.wait_for(2).await;
    assert_eq!(received[0].id, received[1].id, "one delivery, tried twice");
    for request in &received {
        assert!(request.signed_with(&secret), "{request:?}");
        assert_eq!(request.body["type"], "execution.succeeded");
        assert_eq!(request.body["data"]["execution_id"], hello.id.as_str());
    }

    let deliveries = eventually("the delivery recorded DELIVERED", DEADLINE, || async {
        let run = wfctl(&daemon.addr, &["webhook", "deliveries", &id]).await;
        run.stdout.contains("DELIVERED").then_some(run)
    })
    .await
    .expect(0);
    assert_eq!(
        header(&deliveries),
        [
            "ID", "TYPE", "SUBJECT", "STATE", "ATTEMPTS", "STATUS", "LAST", "ERROR", "NEXT",
            "ATTEMPT"
        ]
    );
    assert_eq!(deliveries.stdout.lines().count(), 2, "{deliveries:?}");
    let delivered = row(&deliveries, &received[0].id);
    assert_eq!(
        delivered[1..],
        [
            "execution.succeeded",
            hello.id.as_str(),
            "DELIVERED",
            "2",
            "200",
            "-",
            "-"
        ],
        "{deliveries:?}"
    );
    let json = wfctl(
        &daemon.addr,
        &["webhook", "deliveries", &id, "--limit", "1", "-o", "json"],
    )
    .await
    .expect(0)
    .json();
    assert_eq!(json["deliveries"].as_array().map(Vec::len), Some(1));
    assert_eq!(json["deliveries"][0]["lastStatusCode"], 200, "{json}");
    assert_eq!(
        json["deliveries"][0]["state"],
        "WEBHOOK_DELIVERY_STATE_DELIVERED"
    );

    let test = wfctl(&daemon.addr, &["webhook", "test", &id])
        .await
        .expect(0);
    assert_eq!(field(&test, "Type"), "webhook.test");
    assert_eq!(field(&test, "State"), "DELIVERED");
    assert_eq!(field(&test, "Status"), "200");
    assert_eq!(field(&test, "Error"), "-");
    let tested = receiver.wait_for(3).await.pop().unwrap();
    assert_eq!(tested.body["type"], "webhook.test");
    assert_eq!(tested.id, field(&test, "Delivery"));
    assert!(tested.signed_with(&secret));

    wfctl(&daemon.addr, &["webhook", "remove", &id])
        .await
        .expect(0)
        .stderr_has(&format!("removed webhook {id}"));
    let list = wfctl(&daemon.addr, &["webhook", "list"]).await.expect(0);
    assert_eq!(list.stdout.lines().count(), 1, "only the header: {list:?}");
    let json = wfctl(&daemon.addr, &["webhook", "list", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(json, serde_json::json!({}));
    for verb in ["remove", "deliveries", "test"] {
        wfctl(&daemon.addr, &["webhook", verb, &id]).await.expect(4);
    }
}

#[tokio::test]
async fn a_given_secret_and_a_refused_test_event() {
    let daemon = Daemon::start().await;
    let refusing = Receiver::start(&[], Answer::Status(500)).await;
    // The Standard Webhooks spec's example secret (24 bytes).
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let added = wfctl(
        &daemon.addr,
        &[
            "webhook",
            "add",
            &refusing.url(),
            "--secret",
            secret,
            "-o",
            "json",
        ],
    )
    .await
    .expect(0)
    .json();
    assert_eq!(added["secret"], secret, "{added}");
    let id = added["webhook"]["id"].as_str().expect("the id").to_string();
    // The same secret from a file, kept off the command line.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("secret");
    std::fs::write(&file, format!("{secret}\n")).expect("secret file");
    let file = file.to_str().expect("a UTF-8 path");
    let from_file = wfctl(
        &daemon.addr,
        &[
            "webhook",
            "add",
            &refusing.url(),
            "--secret-file",
            file,
            "-o",
            "json",
        ],
    )
    .await
    .expect(0)
    .json();
    assert_eq!(from_file["secret"], secret, "{from_file}");
    let missing = format!("{file}.missing");
    wfctl(
        &daemon.addr,
        &["webhook", "add", &refusing.url(), "--secret-file", &missing],
    )
    .await
    .expect(2)
    .stderr_has(&format!("--secret-file {missing}: "));
    assert!(
        added["webhook"].get("events").is_none(),
        "all events: {added}"
    );

    // Tried once, answered 500: printed, and exit 6.
    let test = wfctl(&daemon.addr, &["webhook", "test", &id])
        .await
        .expect(6)
        .stderr_has(&format!(
            "wfctl: the test event to webhook {id} was not delivered: "
        ));
    assert_eq!(field(&test, "State"), "FAILED");
    assert_eq!(field(&test, "Status"), "500");
    assert!(refusing.wait_for(1).await[0].signed_with(secret));
}

#[tokio::test]
async fn bad_webhooks_exit_2_or_5_naming_what_is_wrong() {
    let daemon = Daemon::start().await;
    let unknown = wfctl(
        &daemon.addr,
        &[
            "webhook",
            "add",
            "http://127.0.0.1:9/",
            "--event",
            "execution.exploded",
        ],
    )
    .await
    .expect(2);
    for name in ["execution.failed", "batch.finished", "drop_file.failed"] {
        assert!(unknown.stderr.contains(name), "{unknown:?}");
    }

    let ftp = wfctl(&daemon.addr, &["webhook", "add", "ftp://example.com/hook"])
        .await
        .expect(5)
        .stderr_has("wfctl: invalid argument (1 field violation):");
    assert!(
        ftp.stderr
            .lines()
            .any(|line| line.starts_with("webhook.url: ")),
        "{ftp:?}"
    );
    assert!(ftp.stdout.is_empty());
    let list = wfctl(&daemon.addr, &["webhook", "list"]).await.expect(0);
    assert_eq!(list.stdout.lines().count(), 1, "nothing added: {list:?}");
}
