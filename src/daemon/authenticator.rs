//! Who the port lets in (src/auth): API tokens, and, when configured,
//! client certificates (`tls_client_ca`, `tls_clients`) and OIDC bearer
//! tokens (`[oidc]`, whose key set is read here, before the port opens).

use std::sync::Arc;

use super::DaemonError;
use crate::auth::{Authenticator, ClientCertificates, JwtVerifier, Tokens};
use crate::config::Config;

/// The authenticator of `config`'s port, checking API tokens in `tokens`.
pub(super) async fn authenticator(
    config: &Config,
    tokens: Arc<Tokens>,
) -> Result<Authenticator, DaemonError> {
    let mut authenticator = Authenticator::new(config.auth, tokens)
        .with_namespaces(config.namespaces.names().map(str::to_string).collect());
    if let Some(tls) = config
        .tls
        .as_ref()
        .filter(|t| t.requires_client_certificates())
    {
        authenticator =
            authenticator.with_client_certificates(ClientCertificates::new(tls.clients.clone()));
    }
    if let Some(oidc) = &config.oidc {
        let verifier = JwtVerifier::start(oidc.clone())
            .await
            .map_err(DaemonError::Oidc)?;
        authenticator = authenticator.with_jwt(verifier);
    }
    Ok(authenticator)
}
