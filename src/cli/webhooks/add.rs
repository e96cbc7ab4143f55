//! `wfctl webhook add`: subscribe a URL to events and print the webhook's
//! id and its signing secret, which the daemon shows only this once.

use crate::cli::{
    args::WebhookAddArgs,
    context::Ctx,
    error::CliError,
    render::{
        print_note,
        webhook::{event_named, print_added},
    },
};
use crate::pb;

/// Creates the webhook the flags describe (CreateWebhook).
pub(crate) async fn add(ctx: &Ctx, args: WebhookAddArgs) -> Result<(), CliError> {
    let events = args
        .events
        .iter()
        .map(|name| {
            // clap let only the event names through.
            event_named(name)
                .map(|event| event as i32)
                .ok_or_else(|| CliError::Usage(format!("unknown --event {name:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let secret = match (&args.secret, &args.secret_file) {
        (_, Some(file)) => std::fs::read_to_string(file)
            .map_err(|e| CliError::Usage(format!("--secret-file {}: {e}", file.display())))?
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
        (secret, None) => secret.clone().unwrap_or_default(),
    };
    let request = pb::CreateWebhookRequest {
        webhook: Some(pb::Webhook {
            url: args.url.clone(),
            secret,
            events,
            workflow_ids: args.workflows,
            description: args.description.unwrap_or_default(),
            ..Default::default()
        }),
    };
    let added = ctx.message(ctx.client.clone().create_webhook(request).await)?;
    let id = added.webhook.as_ref().map_or("", |w| w.id.as_str());
    print_note(&format!(
        "wfctl: added webhook {id} for {}; its secret is not shown again, keep it now",
        args.url
    ));
    print_added(ctx.output, &added);
    Ok(())
}
