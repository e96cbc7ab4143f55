//! `wfctl webhook remove`: the webhook and its deliveries' records go;
//! nothing more is sent to it.

use crate::cli::{context::Ctx, error::CliError, render::print_note};
use crate::pb;

/// Deletes a webhook (DeleteWebhook); says so on stderr.
pub(crate) async fn remove(ctx: &Ctx, webhook_id: &str) -> Result<(), CliError> {
    let request = pb::DeleteWebhookRequest {
        webhook_id: webhook_id.to_string(),
    };
    ctx.message(ctx.client.clone().delete_webhook(request).await)?;
    print_note(&format!("wfctl: removed webhook {webhook_id}"));
    Ok(())
}
