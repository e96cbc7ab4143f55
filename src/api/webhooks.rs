//! The webhook RPCs (CreateWebhook ... TestWebhook): request in, a call on
//! the daemon's [`Webhooks`], response out, with the conversions.

use std::sync::Arc;

use tonic::{Response, Status};

use super::paging::{self, page_size};
use super::wire_time::timestamp;
use super::WorkflowApi;
use crate::pb;
use crate::store::{DeliveryRecord, DeliveryState, WebhookRecord, HANDED_OVER_MS};
use crate::webhooks::{NewWebhook, WebhookError, Webhooks};

/// ListWebhookDeliveries' page sizes.
const DEFAULT_DELIVERIES_PAGE: usize = 50;
const MAX_DELIVERIES_PAGE: usize = 1000;

/// Each event as the proto names it and as payloads and the history do.
const EVENTS: &[(pb::WebhookEvent, &str)] = &[
    (pb::WebhookEvent::ExecutionSucceeded, "execution.succeeded"),
    (pb::WebhookEvent::ExecutionFailed, "execution.failed"),
    (pb::WebhookEvent::ExecutionCancelled, "execution.cancelled"),
    (pb::WebhookEvent::ExecutionTimedOut, "execution.timed_out"),
    (
        pb::WebhookEvent::ExecutionInterrupted,
        "execution.interrupted",
    ),
    (pb::WebhookEvent::BatchFinished, "batch.finished"),
    (pb::WebhookEvent::ScheduleMissed, "schedule.missed"),
    (pb::WebhookEvent::ScheduleFailed, "schedule.failed"),
    (pb::WebhookEvent::DropFileFailed, "drop_file.failed"),
];

impl WorkflowApi {
    fn webhooks(&self) -> Result<&Arc<Webhooks>, Status> {
        self.webhooks
            .as_ref()
            .ok_or_else(|| Status::unimplemented("this server does not send webhooks"))
    }

    pub(super) async fn create_webhook_call(
        &self,
        request: pb::CreateWebhookRequest,
    ) -> Result<Response<pb::CreateWebhookResponse>, Status> {
        let webhook = request.webhook.unwrap_or_default();
        let mut events = Vec::new();
        for (i, value) in webhook.events.iter().enumerate() {
            let name = EVENTS
                .iter()
                .find(|(e, _)| *e as i32 == *value)
                .map(|(_, name)| name.to_string());
            match name {
                Some(name) => events.push(name),
                None => {
                    return Err(WebhookError::Invalid(vec![(
                        format!("webhook.events[{i}]"),
                        format!("{value} is not a WebhookEvent other than UNSPECIFIED"),
                    )])
                    .into())
                }
            }
        }
        // A filter naming no workflow would never match: most likely a
        // typo, refused like a schedule's unknown workflow.
        let catalog = self.engine.catalog();
        for (i, id) in webhook.workflow_ids.iter().enumerate() {
            if catalog.wait_for(id).await.is_none() {
                return Err(WebhookError::Invalid(vec![(
                    format!("webhook.workflow_ids[{i}]"),
                    format!("no workflow {id:?} is discovered"),
                )])
                .into());
            }
        }
        let (record, secret) = self
            .webhooks()?
            .create(NewWebhook {
                url: webhook.url,
                secret: Some(webhook.secret).filter(|s| !s.is_empty()),
                events,
                workflow_ids: webhook.workflow_ids,
                description: webhook.description,
            })
            .await?;
        Ok(Response::new(pb::CreateWebhookResponse {
            webhook: Some(pb_webhook(&record)),
            secret,
        }))
    }

    pub(super) fn list_webhooks_call(&self) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        let webhooks = self.webhooks()?.list();
        Ok(Response::new(pb::ListWebhooksResponse {
            webhooks: webhooks.iter().map(pb_webhook).collect(),
        }))
    }

    pub(super) async fn delete_webhook_call(
        &self,
        request: pb::DeleteWebhookRequest,
    ) -> Result<Response<pb::DeleteWebhookResponse>, Status> {
        self.webhooks()?.delete(&request.webhook_id).await?;
        Ok(Response::new(pb::DeleteWebhookResponse {}))
    }

    pub(super) async fn list_webhook_deliveries_call(
        &self,
        request: pb::ListWebhookDeliveriesRequest,
    ) -> Result<Response<pb::ListWebhookDeliveriesResponse>, Status> {
        let size = page_size(
            request.page_size,
            DEFAULT_DELIVERIES_PAGE,
            MAX_DELIVERIES_PAGE,
        )?;
        let filters = paging::fingerprint(&request.webhook_id);
        let after = paging::decode::<(i64, String)>(&request.page_token, filters)?;
        let mut deliveries = self
            .webhooks()?
            .deliveries(&request.webhook_id, after, size + 1)
            .await?;
        let next_page_token = if deliveries.len() > size {
            deliveries.truncate(size);
            let last = &deliveries[size - 1];
            paging::encode((last.create_ms, &last.id), filters)
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListWebhookDeliveriesResponse {
            deliveries: deliveries.iter().map(pb_delivery).collect(),
            next_page_token,
        }))
    }

    pub(super) async fn test_webhook_call(
        &self,
        request: pb::TestWebhookRequest,
    ) -> Result<Response<pb::TestWebhookResponse>, Status> {
        let delivery = self.webhooks()?.test(&request.webhook_id).await?;
        Ok(Response::new(pb::TestWebhookResponse {
            delivery: Some(pb_delivery(&delivery)),
        }))
    }
}

fn pb_webhook(w: &WebhookRecord) -> pb::Webhook {
    pb::Webhook {
        id: w.id.clone(),
        url: w.url.clone(),
        // Never shown again after creation.
        secret: String::new(),
        events: w
            .events
            .iter()
            .filter_map(|name| EVENTS.iter().find(|(_, n)| n == name))
            .map(|(e, _)| *e as i32)
            .collect(),
        workflow_ids: w.workflow_ids.clone(),
        description: w.description.clone(),
        create_time: Some(timestamp(w.create_ms)),
        problem: w.problem.clone().unwrap_or_default(),
    }
}

fn pb_delivery(d: &DeliveryRecord) -> pb::WebhookDelivery {
    pb::WebhookDelivery {
        id: d.id.clone(),
        r#type: d.kind.clone(),
        subject: d.subject.clone(),
        state: match d.state {
            DeliveryState::Pending => pb::WebhookDeliveryState::Pending,
            DeliveryState::Delivered => pb::WebhookDeliveryState::Delivered,
            DeliveryState::Failed => pb::WebhookDeliveryState::Failed,
        } as i32,
        attempts: d.attempts as i32,
        last_status_code: d.last_status.map_or(0, i32::from),
        last_error: d.last_error.clone(),
        create_time: Some(timestamp(d.create_ms)),
        last_attempt_time: d.last_ms.map(timestamp),
        // Handed to its sender in memory: due now, about to be sent.
        next_attempt_time: (d.state == DeliveryState::Pending).then(|| {
            timestamp(if d.next_ms == HANDED_OVER_MS {
                d.create_ms
            } else {
                d.next_ms
            })
        }),
        payload: d.payload.clone(),
    }
}
