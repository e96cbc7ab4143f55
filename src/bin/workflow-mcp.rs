//! `workflow-mcp`: an MCP server on stdio for the workflow daemon. All
//! behaviour lives in `workflow_manager::mcp`; this binary parses flags,
//! sends logs to stderr (stdout carries the protocol) and serves until the
//! client hangs up.

use clap::Parser;
use workflow_manager::mcp::{serve_stdio, McpArgs};

fn main() {
    let args = McpArgs::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WORKFLOW_MCP_LOG")
                .unwrap_or_else(|_| "info,rmcp=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("workflow-mcp: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(serve_stdio(args));
    // A blocking stdin read may still be parked on a runtime thread; do not
    // wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    if let Err(e) = result {
        eprintln!("workflow-mcp: {e}");
        std::process::exit(1);
    }
}
