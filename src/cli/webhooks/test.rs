//! `wfctl webhook test`: send a `webhook.test` event now, once, and print
//! the delivery; one the endpoint did not accept fails with exit code 6,
//! as an untaken schedule trigger does.

use crate::cli::{context::Ctx, error::CliError, render::webhook::print_delivery};
use crate::pb::{self, WebhookDeliveryState};

/// Tests a webhook (TestWebhook).
pub(crate) async fn test(ctx: &Ctx, webhook_id: &str) -> Result<(), CliError> {
    let request = pb::TestWebhookRequest {
        webhook_id: webhook_id.to_string(),
    };
    let delivery = ctx
        .message(ctx.client.clone().test_webhook(request).await)?
        .delivery
        .unwrap_or_default();
    print_delivery(ctx.output, &delivery);
    if delivery.state() == WebhookDeliveryState::Delivered {
        return Ok(());
    }
    Err(CliError::NotDelivered {
        webhook_id: webhook_id.to_string(),
        error: delivery.last_error,
    })
}
