//! The access verbs: `wfctl token create`, `list` and `revoke`, and
//! `wfctl audit`. Their flags are in [`super::args`] (`args/token.rs`),
//! the printing in [`super::render::token`]. See docs/security.md.

use super::{
    args::{GlobalArgs, RoleArg, TokenCommand, TokenCreateArgs},
    context::Ctx,
    error::CliError,
    input::parse_duration,
    render::{
        print_note,
        token::{print_audit, print_tokens},
    },
};
use crate::pb;

/// Runs a `token` verb; a bad `--expires` is a usage error even when the
/// daemon is down.
pub(crate) async fn run(globals: &GlobalArgs, command: TokenCommand) -> Result<(), CliError> {
    match command {
        TokenCommand::Create(args) => create(globals, args).await,
        TokenCommand::List => {
            let ctx = Ctx::connect(globals).await?;
            let all = ctx.message(
                ctx.client
                    .clone()
                    .list_tokens(pb::ListTokensRequest {})
                    .await,
            )?;
            print_tokens(ctx.output, &all.tokens);
            Ok(())
        }
        TokenCommand::Revoke { token_id } => {
            let ctx = Ctx::connect(globals).await?;
            let request = pb::RevokeTokenRequest { token_id };
            let revoked = ctx.message(ctx.client.clone().revoke_token(request).await)?;
            let token = revoked.token.unwrap_or_default();
            print_note(&format!("wfctl: revoked token {}", token.id));
            print_tokens(ctx.output, &[token]);
            Ok(())
        }
    }
}

/// Makes a token (CreateToken) and prints it: the only time it is shown.
async fn create(globals: &GlobalArgs, args: TokenCreateArgs) -> Result<(), CliError> {
    let expires_in = match &args.expires {
        Some(text) => Some(parse_duration(text, "--expires")?),
        None => None,
    };
    let role = match args.role {
        RoleArg::Viewer => pb::Role::Viewer,
        RoleArg::Operator => pb::Role::Operator,
        RoleArg::Admin => pb::Role::Admin,
    };
    let ctx = Ctx::connect(globals).await?;
    let request = pb::CreateTokenRequest {
        name: args.name,
        role: role as i32,
        expires_in,
        namespaces: args.namespaces,
    };
    let made = ctx.message(ctx.client.clone().create_token(request).await)?;
    let id = made.token.as_ref().map_or("", |t| t.id.as_str());
    print_note(&format!(
        "wfctl: made token {id}; it is not shown again: keep it now (send it as WORKFLOW_TOKEN)"
    ));
    match ctx.output {
        super::render::PrintFormat::Table => super::render::print_line(&made.secret),
        format => super::render::print_message(format, &made),
    }
    Ok(())
}

/// Prints up to `limit` audit events (0: all), newest first, a page at a
/// time (ListAuditEvents).
pub(crate) async fn audit(ctx: &Ctx, limit: usize) -> Result<(), CliError> {
    let mut events = Vec::new();
    let mut page_token = String::new();
    loop {
        let want = if limit == 0 {
            1000
        } else {
            (limit - events.len()).min(1000)
        };
        let request = pb::ListAuditEventsRequest {
            page_size: want as i32,
            page_token,
        };
        let page = ctx.message(ctx.client.clone().list_audit_events(request).await)?;
        events.extend(page.events);
        if page.next_page_token.is_empty() || (limit != 0 && events.len() >= limit) {
            break;
        }
        page_token = page.next_page_token;
    }
    print_audit(ctx.output, events);
    Ok(())
}
