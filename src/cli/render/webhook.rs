//! Webhooks as text: a webhook just added (with its secret, shown only
//! then), the list as a table, deliveries as a table, a test delivery, and
//! the event names (`execution.failed`) the command line takes and the
//! tables show for the WebhookEvent values.

use super::print::{print_fields, print_message, print_table, timestamp_text, PrintFormat};
use crate::pb;
use crate::webhooks::EVENT_TYPES;

/// The WebhookEvent a payload type name stands for: `execution.timed_out`
/// is `WEBHOOK_EVENT_EXECUTION_TIMED_OUT`. None for a name that is not an
/// event (`webhook.test` is sent, never subscribed to).
pub(crate) fn event_named(name: &str) -> Option<pb::WebhookEvent> {
    if !EVENT_TYPES.contains(&name) {
        return None;
    }
    let full = format!(
        "WEBHOOK_EVENT_{}",
        name.to_ascii_uppercase().replace('.', "_")
    );
    pb::WebhookEvent::from_str_name(&full)
}

/// The payload type name of a WebhookEvent value, or the number when this
/// wfctl does not know it.
pub(crate) fn event_name(value: i32) -> String {
    EVENT_TYPES
        .iter()
        .find(|name| event_named(name).is_some_and(|e| e as i32 == value))
        .map_or_else(|| value.to_string(), |name| name.to_string())
}

/// Prints a webhook just added: its id and its secret (the one time the
/// daemon shows it), or the CreateWebhookResponse.
pub(crate) fn print_added(format: PrintFormat, added: &pb::CreateWebhookResponse) {
    match format {
        PrintFormat::Table => {
            let id = added.webhook.as_ref().map(|w| w.id.clone());
            print_fields(&[
                ("Webhook", id.unwrap_or_default()),
                ("Secret", added.secret.clone()),
            ]);
        }
        format => print_message(format, added),
    }
}

/// Prints the webhooks as a table (id, URL, events, workflows, created,
/// and why one cannot send), or the ListWebhooksResponse.
pub(crate) fn print_webhooks(format: PrintFormat, all: &pb::ListWebhooksResponse) {
    if format != PrintFormat::Table {
        print_message(format, all);
        return;
    }
    let all_when_empty = |names: Vec<String>| {
        if names.is_empty() {
            "all".to_string()
        } else {
            names.join(",")
        }
    };
    let rows: Vec<Vec<String>> = all
        .webhooks
        .iter()
        .map(|w| {
            vec![
                w.id.clone(),
                w.url.clone(),
                all_when_empty(w.events.iter().map(|e| event_name(*e)).collect()),
                all_when_empty(w.workflow_ids.clone()),
                timestamp_text(w.create_time.as_ref()),
                dash_when_empty(&w.problem),
            ]
        })
        .collect();
    print_table(
        &["ID", "URL", "EVENTS", "WORKFLOWS", "CREATED", "PROBLEM"],
        &rows,
    );
}

/// Prints deliveries as a table (id, event type, subject, state, attempts,
/// last status code, last error, next attempt), or the
/// ListWebhookDeliveriesResponse.
pub(crate) fn print_deliveries(format: PrintFormat, page: &pb::ListWebhookDeliveriesResponse) {
    if format != PrintFormat::Table {
        print_message(format, page);
        return;
    }
    let rows: Vec<Vec<String>> = page
        .deliveries
        .iter()
        .map(|d| {
            vec![
                d.id.clone(),
                d.r#type.clone(),
                d.subject.clone(),
                state_text(d.state()).to_string(),
                d.attempts.to_string(),
                status_text(d.last_status_code),
                dash_when_empty(&d.last_error),
                timestamp_text(d.next_attempt_time.as_ref()),
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "TYPE",
            "SUBJECT",
            "STATE",
            "ATTEMPTS",
            "STATUS",
            "LAST ERROR",
            "NEXT ATTEMPT",
        ],
        &rows,
    );
}

/// Prints a test delivery: its id, type, state, the endpoint's status code
/// and error, or the WebhookDelivery.
pub(crate) fn print_delivery(format: PrintFormat, delivery: &pb::WebhookDelivery) {
    if format != PrintFormat::Table {
        print_message(format, delivery);
        return;
    }
    print_fields(&[
        ("Delivery", delivery.id.clone()),
        ("Type", delivery.r#type.clone()),
        ("State", state_text(delivery.state()).to_string()),
        ("Status", status_text(delivery.last_status_code)),
        ("Error", dash_when_empty(&delivery.last_error)),
        ("Sent", timestamp_text(delivery.last_attempt_time.as_ref())),
    ]);
}

/// `DELIVERED` for `WEBHOOK_DELIVERY_STATE_DELIVERED`.
pub(crate) fn state_text(state: pb::WebhookDeliveryState) -> &'static str {
    state
        .as_str_name()
        .strip_prefix("WEBHOOK_DELIVERY_STATE_")
        .unwrap_or("UNSPECIFIED")
}

/// The HTTP status code, `-` when the attempt got none.
fn status_text(code: i32) -> String {
    if code == 0 {
        "-".to_string()
    } else {
        code.to_string()
    }
}

fn dash_when_empty(text: &str) -> String {
    if text.is_empty() {
        "-".to_string()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_name_is_a_webhook_event_and_back() {
        for name in EVENT_TYPES {
            let event = event_named(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(event_name(event as i32), *name);
        }
        assert_eq!(
            event_named("drop_file.failed"),
            Some(pb::WebhookEvent::DropFileFailed)
        );
        // Every value but UNSPECIFIED has a name.
        let mut value = 1;
        while let Ok(event) = pb::WebhookEvent::try_from(value) {
            assert_ne!(event_name(event as i32), value.to_string(), "{event:?}");
            value += 1;
        }
        assert_eq!(value as usize, EVENT_TYPES.len() + 1);
        assert_eq!(event_named("webhook.test"), None);
        assert_eq!(event_named("unspecified"), None);
        assert_eq!(event_name(99), "99");
    }
}
