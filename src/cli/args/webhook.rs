//! The flags of the `webhook` verbs (docs/webhooks.md), apart from
//! [`super`] because the command line would not fit one file.

use crate::webhooks::EVENT_TYPES;

/// The `webhook` verbs.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum WebhookCommand {
    /// Subscribe a URL to events; prints its id and its signing secret,
    /// which is not shown again.
    Add(WebhookAddArgs),
    /// List the webhooks: id, URL, events, workflows, created.
    List,
    /// Remove a webhook: nothing more is sent to it.
    Remove(WebhookIdArgs),
    /// Show a webhook's deliveries, newest first: state, attempts, last
    /// status code and error, next attempt.
    Deliveries(WebhookDeliveriesArgs),
    /// Send a `webhook.test` event now and print the delivery; exit 6
    /// unless it was delivered.
    Test(WebhookIdArgs),
}

/// Flags of `wfctl webhook add`.
#[derive(Debug, clap::Args)]
pub(crate) struct WebhookAddArgs {
    /// Where events are POSTed: an http:// or https:// URL.
    pub(crate) url: String,
    /// An event to send (repeatable) [default: all].
    #[arg(long = "event", value_name = "EVENT", value_parser = clap::builder::PossibleValuesParser::new(EVENT_TYPES))]
    pub(crate) events: Vec<String>,
    /// Only events of this workflow (repeatable) [default: all]; schedule
    /// and drop-folder events are not filtered by workflow.
    #[arg(long = "workflow", value_name = "WORKFLOW_ID")]
    pub(crate) workflows: Vec<String>,
    /// The signing secret, `whsec_` and base64 of 24 to 64 bytes
    /// [default: the daemon makes one]. Other users of this machine can
    /// read a command line: prefer --secret-file.
    #[arg(long, value_name = "SECRET", conflicts_with = "secret_file")]
    pub(crate) secret: Option<String>,
    /// Reads the signing secret from this file (its first line).
    #[arg(long, value_name = "FILE")]
    pub(crate) secret_file: Option<std::path::PathBuf>,
    /// Free text for people.
    #[arg(long, value_name = "TEXT")]
    pub(crate) description: Option<String>,
}

/// The one argument of `wfctl webhook remove` and `test`.
#[derive(Debug, clap::Args)]
pub(crate) struct WebhookIdArgs {
    /// The webhook's id (`wh_...`).
    pub(crate) webhook_id: String,
}

/// Flags of `wfctl webhook deliveries`.
#[derive(Debug, clap::Args)]
pub(crate) struct WebhookDeliveriesArgs {
    /// The webhook's id (`wh_...`).
    pub(crate) webhook_id: String,
    /// At most this many deliveries (0 = all).
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: usize,
}
