//! The TLS flags every verb takes (docs/security.md, "TLS and client
//! certificates"): the CA to trust and the client certificate, read by
//! [`ClientTls`] as workflow-mcp reads its own.

use std::path::PathBuf;

use tonic::transport::Endpoint;

use crate::cli::error::CliError;
use crate::client_tls::ClientTls;

/// `--tls-ca`, `--tls-cert` and `--tls-key`.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct TlsArgs {
    /// CA certificate(s) (PEM) to trust for an https:// daemon instead of
    /// the platform's roots; makes host:port an https:// address
    /// [default: $WORKFLOW_TLS_CA].
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for a daemon that requires one; needs
    /// --tls-key [default: $WORKFLOW_TLS_CERT].
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert [default: $WORKFLOW_TLS_KEY].
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) tls_key: Option<PathBuf>,
}

impl TlsArgs {
    /// The endpoint of `addr` with these files, else the variables';
    /// unusable ones are a usage error naming the flag or variable.
    pub(crate) fn endpoint(&self, addr: &str) -> Result<Endpoint, CliError> {
        ClientTls::resolve(
            self.tls_ca.as_deref(),
            self.tls_cert.as_deref(),
            self.tls_key.as_deref(),
        )
        .endpoint(addr)
        .map_err(|e| CliError::Usage(e.to_string()))
    }
}
