//! The bridge's only back end: a lazily connected gRPC client of
//! `workflowd`. Lazy so the MCP server starts (and answers `tools/list`)
//! while the daemon is down; every call then reports the address it tried.

use std::sync::Arc;
use std::time::Duration;

use tonic::Status;

use super::error::McpError;
use crate::client_tls::{ClientTls, ClientTlsError};
use crate::client_token::{daemon_client, BearerToken, DaemonClient};
use crate::pb;

/// How long to wait for a TCP connection to the daemon.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Page size used to read every workflow.
const WORKFLOW_PAGE_SIZE: i32 = 1000;

/// A cheap-to-clone handle on the daemon.
#[derive(Debug, Clone)]
pub(crate) struct Daemon {
    addr: Arc<str>,
    client: DaemonClient,
}

impl Daemon {
    /// A client for `addr` that connects on first use. Every form of
    /// [`ClientTls::uri`] works: `host:port` (which gets `http://`, or
    /// `https://` with TLS files), `http(s)://host:port`, `unix:/path`.
    pub(crate) fn connect_lazy(
        addr: &str,
        token: BearerToken,
        tls: &ClientTls,
    ) -> Result<Daemon, McpError> {
        let refused = |e: ClientTlsError| match e {
            ClientTlsError::Addr(e) => McpError::InvalidAddress {
                addr: e.addr,
                message: e.reason,
            },
            other => McpError::InvalidTls {
                message: other.to_string(),
            },
        };
        let uri = tls.uri(addr).map_err(refused)?;
        let endpoint = tls.endpoint(&uri).map_err(refused)?;
        let addr = uri;
        let channel = endpoint
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .connect_lazy();
        Ok(Daemon {
            addr: addr.into(),
            client: daemon_client(channel, token),
        })
    }

    /// The address calls go to.
    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// A client for one call (clones share the connection).
    pub(crate) fn client(&self) -> DaemonClient {
        self.client.clone()
    }

    /// Every discovered workflow (all pages) and the discovery errors.
    pub(crate) async fn all_workflows(
        &self,
    ) -> Result<(Vec<pb::Workflow>, Vec<pb::DiscoveryError>), Status> {
        let mut client = self.client();
        let mut workflows = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = client
                .list_workflows(pb::ListWorkflowsRequest {
                    page_size: WORKFLOW_PAGE_SIZE,
                    page_token: page_token.clone(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            workflows.extend(page.workflows);
            if page.next_page_token.is_empty() || page.next_page_token == page_token {
                return Ok((workflows, page.discovery_errors));
            }
            page_token = page.next_page_token;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_address_form_of_the_clients_is_taken() {
        for (given, used) in [
            ("127.0.0.1:50051", "http://127.0.0.1:50051"),
            ("http://h:1", "http://h:1"),
            ("unix:/run/workflowd.sock", "unix:/run/workflowd.sock"),
        ] {
            assert_eq!(
                Daemon::connect_lazy(given, BearerToken::default(), &ClientTls::default())
                    .unwrap()
                    .addr(),
                used
            );
        }
        assert!(Daemon::connect_lazy(
            "unix:relative",
            BearerToken::default(),
            &ClientTls::default()
        )
        .is_err());
    }

    #[tokio::test]
    async fn a_closed_port_reports_the_address() {
        use super::super::error::{FieldStyle, Subject, ToolError};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let daemon = Daemon::connect_lazy(
            &format!("127.0.0.1:{port}"),
            BearerToken::default(),
            &ClientTls::default(),
        )
        .unwrap();
        let status = daemon.all_workflows().await.unwrap_err();
        let error = ToolError::from_status(
            &status,
            daemon.addr(),
            Subject::Workflow("x"),
            FieldStyle::AsRequested,
        );
        let text = error.to_string();
        assert!(
            text.contains(&format!("unreachable at http://127.0.0.1:{port}")),
            "{text}"
        );
    }
}
