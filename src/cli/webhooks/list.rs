//! `wfctl webhook list`: every webhook, oldest first, without its secret.

use crate::cli::{context::Ctx, error::CliError, render::webhook::print_webhooks};
use crate::pb;

/// Lists the webhooks (ListWebhooks).
pub(crate) async fn list(ctx: &Ctx) -> Result<(), CliError> {
    let request = pb::ListWebhooksRequest {};
    let all = ctx.message(ctx.client.clone().list_webhooks(request).await)?;
    print_webhooks(ctx.output, &all);
    Ok(())
}
