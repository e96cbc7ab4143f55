//! The API token every client in this crate (`wfctl`, `workflow-mcp`)
//! sends: from the `--token` flag, else `WORKFLOW_TOKEN`, else none (a
//! daemon with authentication off, or reached on its Unix socket, needs
//! none); and the one client type that carries it on every call.

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::Channel;

use crate::pb::workflow_service_client::WorkflowServiceClient;

/// The environment variable every client reads the token from (the Go,
/// Python and TypeScript clients too).
pub(crate) const TOKEN_ENV: &str = "WORKFLOW_TOKEN";

/// A WorkflowService client that sends the token, if there is one.
pub(crate) type DaemonClient = WorkflowServiceClient<InterceptedService<Channel, BearerToken>>;

/// Adds `authorization: Bearer <token>` to each call. Its Debug never
/// shows the token, and the header is marked sensitive (HTTP/2 does not
/// index it in its compression table).
#[derive(Clone, Default)]
pub(crate) struct BearerToken(Option<MetadataValue<Ascii>>);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "BearerToken(<redacted>)"
        } else {
            "BearerToken(none)"
        })
    }
}

impl BearerToken {
    /// The token of `flag`, else of [`TOKEN_ENV`]; empty values count as
    /// unset. Fails, naming where it came from, when it cannot be sent as
    /// a header.
    pub(crate) fn resolve(flag: Option<&str>) -> Result<BearerToken, String> {
        let (token, from) = match flag.map(str::trim).filter(|t| !t.is_empty()) {
            Some(token) => (Some(token.to_string()), "--token"),
            None => (
                std::env::var(TOKEN_ENV)
                    .ok()
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty()),
                TOKEN_ENV,
            ),
        };
        match token {
            None => Ok(BearerToken(None)),
            Some(token) => format!("Bearer {token}")
                .parse::<MetadataValue<Ascii>>()
                .map(|mut value| {
                    value.set_sensitive(true);
                    BearerToken(Some(value))
                })
                .map_err(|_| format!("{from}: a token is printable ASCII (wft_<id>_<secret>)")),
        }
    }
}

impl Interceptor for BearerToken {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A client over `channel` that sends `token`.
pub(crate) fn daemon_client(channel: Channel, token: BearerToken) -> DaemonClient {
    WorkflowServiceClient::with_interceptor(channel, token)
}
