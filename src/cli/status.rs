//! `wfctl status`: the daemon's version, workers, queue and history
//! counts, and the daemons on its history; `wfctl drain`.

use super::{
    context::Ctx,
    error::CliError,
    render::status::{print_drained, print_status},
};
use crate::pb;

/// `wfctl status [--namespace N]`: the counts of `namespace`'s executions,
/// or (empty) of every namespace the token sees.
pub(crate) async fn run(ctx: &Ctx, namespace: &str) -> Result<(), CliError> {
    let status = ctx.get_status(namespace).await?;
    print_status(ctx.output, &status);
    Ok(())
}

/// `wfctl drain [ID]`: drains the daemon `daemon_id` (empty: the one
/// answering, which GetStatus lists first).
pub(crate) async fn drain(ctx: &Ctx, daemon_id: &str) -> Result<(), CliError> {
    let daemon_id = match daemon_id {
        "" => ctx
            .get_status("")
            .await?
            .daemons
            .first()
            .map(|me| me.id.clone())
            .unwrap_or_default(),
        id => id.to_string(),
    };
    let request = pb::DrainDaemonRequest { daemon_id };
    let drained = ctx.message(ctx.client.clone().drain_daemon(request).await)?;
    print_drained(ctx.output, &drained);
    Ok(())
}
