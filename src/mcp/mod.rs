//! `workflow-mcp`: a Model Context Protocol server over stdio whose only
//! back end is the gRPC API of `workflowd` (`workflow.v1.WorkflowService`).
//!
//! It speaks both protocol eras through rmcp: the 2025-11-25 `initialize`
//! handshake and the 2026-07-28 stateless lifecycle (`server/discover`,
//! per-request `_meta`, `subscriptions/listen`). Tools:
//!
//! - fixed ones (`tools.rs`): list_workflows, execute_workflow (with an
//!   optional bounded wait that sends progress notifications),
//!   get_workflow_status, get_workflow_logs, cancel_workflow,
//!   list_executions, validate_manifest, submit_manifest;
//! - the schedule tools (`schedule_tools.rs`): create_schedule,
//!   list_schedules, get_schedule, pause_schedule, trigger_schedule,
//!   delete_schedule;
//! - one `run_<workflow_id>` tool per discovered workflow (`run_tools.rs`),
//!   whose input schema is the workflow's, kept current by polling the
//!   daemon and announced with `notifications/tools/list_changed`.
//!
//! Failures a model can act on (unknown workflow, invalid input, daemon
//! unreachable) are tool results with `isError: true` (`error.rs`). The
//! daemon connection is lazy, so the server starts while the daemon is
//! down. Logs go to stderr; stdout carries only the protocol. See
//! docs/mcp.md.

mod daemon;
mod error;
mod handler;
mod log_page;
mod model;
mod params;
mod provenance;
mod run_tools;
mod schedule_tools;
mod server;
mod start;
mod tools;
mod wait;

use std::time::Duration;

use rmcp::ServiceExt;

pub use error::McpError;
use server::WorkflowMcp;

/// Command-line settings of `workflow-mcp`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "workflow-mcp",
    version,
    about = "MCP server (stdio) for the workflow daemon workflowd"
)]
pub struct McpArgs {
    /// gRPC address of workflowd: host:port, http://host:port,
    /// https://host:port or unix:/path [default: $WORKFLOWD_ADDR, else
    /// http://127.0.0.1:50051].
    #[arg(long)]
    pub addr: Option<String>,
    /// API token for a daemon with tokens on [default: $WORKFLOW_TOKEN].
    #[arg(long)]
    pub token: Option<String>,
    /// CA certificate(s) (PEM) to trust for an https:// daemon instead of
    /// the platform's roots [default: $WORKFLOW_TLS_CA].
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<std::path::PathBuf>,
    /// Client certificate (PEM) for a daemon that requires one; needs
    /// --tls-key [default: $WORKFLOW_TLS_CERT].
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// Private key (PEM) of --tls-cert [default: $WORKFLOW_TLS_KEY].
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Seconds between checks for added, changed or removed workflows.
    #[arg(
        long,
        env = "WORKFLOW_MCP_POLL_SECONDS",
        default_value_t = 3,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub poll_seconds: u64,
}

/// Serves MCP on stdin/stdout until the client closes the connection.
pub async fn serve_stdio(args: McpArgs) -> Result<(), McpError> {
    let addr = crate::client_addr::resolve(args.addr.as_deref(), |warning| {
        tracing::warn!("{warning}");
    });
    let token = crate::client_token::BearerToken::resolve(args.token.as_deref())
        .map_err(|message| McpError::InvalidToken { message })?;
    let tls = crate::client_tls::ClientTls::resolve(
        args.tls_ca.as_deref(),
        args.tls_cert.as_deref(),
        args.tls_key.as_deref(),
    );
    let server = WorkflowMcp::new(&addr, token, &tls)?;
    tracing::info!(addr = %server.daemon_addr(), "workflow-mcp serving MCP on stdio");
    // Load the workflow tools before the session starts, so that the first
    // load is not announced to the client as a change of the tool list.
    let _ = tokio::time::timeout(Duration::from_secs(2), server.refresh_workflows()).await;
    let poller = tokio::spawn(
        server
            .clone()
            .poll_workflows(Duration::from_secs(args.poll_seconds)),
    );
    let running = server
        .clone()
        .serve(rmcp::transport::stdio_pipes())
        .await
        .map_err(|e| McpError::Session(e.to_string()));
    let running = match running {
        Ok(running) => running,
        Err(e) => {
            poller.abort();
            return Err(e);
        }
    };
    let forwarder = tokio::spawn(server.forward_list_changes(running.peer().clone()));
    let quit = running.waiting().await;
    poller.abort();
    forwarder.abort();
    match quit {
        Ok(reason) => {
            tracing::info!(?reason, "MCP session ended");
            Ok(())
        }
        Err(e) => Err(McpError::Session(e.to_string())),
    }
}
