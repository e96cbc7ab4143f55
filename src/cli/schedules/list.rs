//! `wfctl schedule list`: every schedule (all pages) with its next fire
//! time.

use crate::cli::{context::Ctx, error::CliError, render::schedule::print_schedules};
use crate::pb;

/// Lists the schedules (ListSchedules), every page.
pub(crate) async fn list(ctx: &Ctx) -> Result<(), CliError> {
    let mut all = pb::ListSchedulesResponse::default();
    let mut page_token = String::new();
    loop {
        let request = pb::ListSchedulesRequest {
            page_size: 1000,
            page_token,
        };
        let page = ctx.message(ctx.client.clone().list_schedules(request).await)?;
        all.schedules.extend(page.schedules);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    print_schedules(ctx.output, &all);
    Ok(())
}
