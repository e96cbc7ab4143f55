//! `wfctl webhook deliveries`: a webhook's deliveries, newest first, page
//! after page up to `--limit`.

use crate::cli::{context::Ctx, error::CliError, render::webhook::print_deliveries};
use crate::pb;

/// The daemon's largest page of deliveries.
const MAX_PAGE: usize = 1000;

/// Lists up to `limit` (0: all) of a webhook's deliveries
/// (ListWebhookDeliveries), following `next_page_token`.
pub(crate) async fn deliveries(ctx: &Ctx, webhook_id: &str, limit: usize) -> Result<(), CliError> {
    let mut all = pb::ListWebhookDeliveriesResponse::default();
    let mut page_token = String::new();
    loop {
        let want = if limit == 0 {
            MAX_PAGE
        } else {
            (limit - all.deliveries.len()).min(MAX_PAGE)
        };
        let request = pb::ListWebhookDeliveriesRequest {
            webhook_id: webhook_id.to_string(),
            page_size: want as i32,
            page_token,
        };
        let page = ctx.message(ctx.client.clone().list_webhook_deliveries(request).await)?;
        all.deliveries.extend(page.deliveries);
        if page.next_page_token.is_empty() || (limit != 0 && all.deliveries.len() >= limit) {
            break;
        }
        page_token = page.next_page_token;
    }
    print_deliveries(ctx.output, &all);
    Ok(())
}
