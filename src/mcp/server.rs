//! The MCP server, [`WorkflowMcp`]: its daemon connection, its fixed tools'
//! router and its `run_<workflow_id>` tools, kept current by polling the
//! daemon. How it answers MCP requests is in `handler.rs`.

use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::tool::ToolRouter;
use rmcp::{Peer, RoleServer};

use super::daemon::Daemon;
use super::error::{FieldStyle, McpError, Subject, ToolError};
use super::run_tools::RunTools;
use crate::client_tls::ClientTls;
use crate::client_token::BearerToken;

/// The MCP server: a thin adapter over the gRPC API of `workflowd`.
///
/// Cloning is cheap; clones share the daemon connection and the `run_<id>`
/// workflow tools.
#[derive(Debug, Clone)]
pub(crate) struct WorkflowMcp {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    daemon: Daemon,
    run_tools: RunTools,
    router: ToolRouter<WorkflowMcp>,
}

impl WorkflowMcp {
    /// A server whose back end is the daemon at `addr` (`http://host:port`
    /// or `host:port`), called with `token`. Does not connect: the first
    /// call does.
    pub(crate) fn new(
        addr: &str,
        token: BearerToken,
        tls: &ClientTls,
    ) -> Result<WorkflowMcp, McpError> {
        Ok(WorkflowMcp {
            shared: Arc::new(Shared {
                daemon: Daemon::connect_lazy(addr, token, tls)?,
                run_tools: RunTools::default(),
                router: Self::tool_router() + Self::schedule_router(),
            }),
        })
    }

    /// The daemon address calls go to.
    pub(crate) fn daemon_addr(&self) -> &str {
        self.shared.daemon.addr()
    }

    pub(crate) fn daemon(&self) -> &Daemon {
        &self.shared.daemon
    }

    pub(crate) fn run_tools(&self) -> &RunTools {
        &self.shared.run_tools
    }

    /// The router of the fixed tools (those of `tools.rs` and
    /// `schedule_tools.rs`).
    pub(crate) fn router(&self) -> &ToolRouter<WorkflowMcp> {
        &self.shared.router
    }

    /// Re-reads the workflows from the daemon and updates the `run_<id>`
    /// tools; returns whether they changed. A daemon that cannot be reached
    /// leaves the last known tools in place.
    pub(crate) async fn refresh_workflows(&self) -> bool {
        match self.daemon().all_workflows().await {
            Ok((workflows, _)) => self.run_tools().update(&workflows),
            Err(status) => {
                tracing::debug!(addr = %self.daemon().addr(), %status, "cannot list workflows");
                false
            }
        }
    }

    /// Polls the daemon's workflows every `interval` for as long as the
    /// server lives, so tool list changes reach clients without a call.
    pub(crate) async fn poll_workflows(self, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if self.refresh_workflows().await {
                tracing::info!("workflow tools changed");
            }
        }
    }

    /// Sends `notifications/tools/list_changed` to an `initialize`-era
    /// client whenever the workflow tools change, until the session ends.
    /// (2026-07-28 clients get them through `subscriptions/listen`.)
    pub(crate) async fn forward_list_changes(self, peer: Peer<RoleServer>) {
        let mut changes = self.run_tools().subscribe();
        changes.borrow_and_update();
        while changes.changed().await.is_ok() {
            if peer.is_transport_closed() {
                return;
            }
            if peer.peer_info().is_none() {
                // No initialize handshake: a 2026-07-28 session, served by
                // `listen` instead.
                continue;
            }
            if let Err(error) = peer.notify_tool_list_changed().await {
                tracing::debug!(%error, "could not send tools/list_changed");
            }
        }
    }

    /// A daemon error as a tool error that names the address it tried.
    pub(crate) fn tool_error(
        &self,
        status: &tonic::Status,
        subject: Subject<'_>,
        style: FieldStyle,
    ) -> ToolError {
        ToolError::from_status(status, self.daemon().addr(), subject, style)
    }
}
