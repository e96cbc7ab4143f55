//! The webhook verbs, one file each: `wfctl webhook add`, `list`,
//! `remove`, `deliveries` and `test`. Their flags are in
//! [`super::args`] (`args/webhook.rs`), the printing in
//! [`super::render::webhook`]. See docs/webhooks.md.

pub(crate) mod add;
pub(crate) mod deliveries;
pub(crate) mod list;
pub(crate) mod remove;
pub(crate) mod test;

use super::{
    args::{GlobalArgs, WebhookCommand},
    context::Ctx,
    error::CliError,
};

/// Runs a `webhook` verb. The event names of `add` are checked by clap
/// before this, so a usage error is reported as one even when the daemon
/// is down; everything else (the URL, the secret) is the daemon's to judge.
pub(crate) async fn run(globals: &GlobalArgs, command: WebhookCommand) -> Result<(), CliError> {
    let ctx = &Ctx::connect(globals).await?;
    match command {
        WebhookCommand::Add(args) => add::add(ctx, args).await,
        WebhookCommand::List => list::list(ctx).await,
        WebhookCommand::Remove(args) => remove::remove(ctx, &args.webhook_id).await,
        WebhookCommand::Deliveries(args) => {
            deliveries::deliveries(ctx, &args.webhook_id, args.limit).await
        }
        WebhookCommand::Test(args) => test::test(ctx, &args.webhook_id).await,
    }
}
