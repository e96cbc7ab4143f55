//! Client certificates as credentials (mutual TLS): the TLS handshake has
//! already checked that the client CA (`tls_client_ca`) signed the
//! certificate; here its subject's common name is looked up in the
//! `tls_clients` table for the role it gets.

use std::collections::BTreeMap;

use tokio_rustls::rustls::pki_types::CertificateDer;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{AuthError, Principal, Role};
use crate::namespaces::Visibility;

/// The roles and namespaces of client certificates by subject CN
/// (`tls_clients`).
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientCertificates {
    roles: BTreeMap<String, (Role, Visibility)>,
}

impl ClientCertificates {
    /// Certificates whose subject CN is a key of `roles` get its role and
    /// namespaces.
    pub(crate) fn new(roles: BTreeMap<String, (Role, Visibility)>) -> Self {
        Self { roles }
    }

    /// The principal of the client whose verified certificate chain (leaf
    /// first) is `chain`, or why there is none.
    pub(crate) fn principal(
        &self,
        chain: Option<&[CertificateDer<'_>]>,
    ) -> Result<Principal, AuthError> {
        let leaf = chain
            .and_then(|chain| chain.first())
            .ok_or(AuthError::NoClientCertificate)?;
        let name = common_name(leaf).map_err(AuthError::UnnamedCertificate)?;
        match self.roles.get(&name) {
            Some((role, namespaces)) => Ok(Principal {
                name: format!("client certificate CN={}", shown(&name)),
                role: *role,
                namespaces: namespaces.clone(),
            }),
            None => Err(AuthError::UnmappedCertificate(shown(&name))),
        }
    }
}

/// The subject's one common name of the DER certificate `der`; a
/// certificate with none, or with several (which would make the mapping
/// ambiguous), is refused with the reason.
fn common_name(der: &CertificateDer<'_>) -> Result<String, String> {
    let (_, certificate) =
        X509Certificate::from_der(der.as_ref()).map_err(|e| format!("it cannot be parsed: {e}"))?;
    let mut names = certificate.subject().iter_common_name();
    let first = names
        .next()
        .ok_or_else(|| "its subject has no common name (CN)".to_string())?;
    if names.next().is_some() {
        return Err("its subject has more than one common name (CN)".into());
    }
    first
        .as_str()
        .map(str::to_string)
        .map_err(|e| format!("its common name is not text: {e}"))
}

/// A name as logs and messages show it: control characters escaped.
fn shown(name: &str) -> String {
    name.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}
