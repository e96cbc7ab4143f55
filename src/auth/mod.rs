//! Who is calling, and whether they may (docs/security.md).
//!
//! Authentication happens once per request, where the port takes it
//! (`http::OnePort`): the caller is worked out from the connection and the
//! `authorization: Bearer` header ([`Authenticator::caller`]) and put in
//! the request's extensions as a [`Caller`]. Authorization happens around
//! the WorkflowService ([`guard`]): each RPC needs a [`Role`]
//! ([`roles::needed`]). An HTTP route calls its RPC in-process with the
//! same [`Caller`], so the JSON routes and gRPC-web pass the same check.
//!
//! - `client_cert.rs` client certificates (mutual TLS) and their roles;
//! - `token.rs` the token format (`wft_<id>_<secret>`) and its hash;
//! - `registry.rs` the tokens: in memory for each call's check, in the
//!   history for restarts; revocation takes effect at once;
//! - `roles.rs` the role each RPC needs;
//! - `guard.rs` the tower layer that refuses a call, and hands calls that
//!   change something (and refused ones) to `audit.rs`, the audit log.

mod audit;
mod client_cert;
mod guard;
mod jwt;
mod rate;
mod registry;
mod roles;
mod stream_token;
mod token;

use std::fmt;

use crate::namespaces::Visibility;
use tokio_rustls::rustls::pki_types::CertificateDer;

pub(crate) use audit::Auditor;
pub(crate) use client_cert::ClientCertificates;
pub(crate) use guard::RoleGuardLayer;
pub(crate) use jwt::JwtVerifier;
pub use jwt::{JwksError, JwksSource, OidcSettings};
pub(crate) use rate::{NamespaceRates, StartRate};
pub use registry::TokenError;
pub(crate) use registry::{Bootstrap, Tokens};
pub(crate) use stream_token::{
    presented as presented_stream_token, PresentedStreamToken, StreamTokens,
};

/// How callers are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// No authentication: every caller may do everything. Only for a
    /// daemon reachable from this host alone (loopback, the Unix socket)
    /// unless `insecure_listen` says otherwise.
    #[default]
    None,
    /// TCP callers need an API token; the Unix socket's callers are
    /// administrators (its file mode and group are its access control).
    Tokens,
}

impl AuthMode {
    /// The setting's value for this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::Tokens => "tokens",
        }
    }

    /// The mode named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [AuthMode::None, AuthMode::Tokens]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// What a caller may do; each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Role {
    /// Read.
    Viewer,
    /// Read and run: Execute, Cancel, ValidateManifest, SubmitManifest,
    /// TriggerSchedule.
    Operator,
    /// Everything: tokens, schedules, webhooks.
    Admin,
}

impl Role {
    /// The name stored and shown.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// The role named `text`.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        [Role::Viewer, Role::Operator, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a call comes from, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principal {
    /// For people and logs: `token <id> (<name>)`, `the Unix socket`, ...
    pub(crate) name: String,
    /// What it may do.
    pub(crate) role: Role,
    /// The namespaces it sees (src/namespaces.rs).
    pub(crate) namespaces: Visibility,
}

/// A request's caller as the port worked it out: a principal, or why
/// there is none (calls that need no role, such as health, pass either
/// way), and where the request came from.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// Who, or why nobody.
    pub(crate) principal: Result<Principal, AuthError>,
    /// The client's address and port, or `unix socket`.
    pub(crate) peer: String,
}

/// Why a call is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AuthError {
    /// No credentials where they are needed.
    #[error(
        "no API token: send `authorization: Bearer <token>` (wfctl and workflow-mcp: --token \
         or WORKFLOW_TOKEN)"
    )]
    Missing,
    /// Not a token this daemon makes.
    #[error("malformed API token: {0}")]
    Malformed(String),
    /// Well formed, but no such token (or a wrong secret).
    #[error("unknown API token {0}: it was never created here, or its secret is wrong")]
    Unknown(String),
    /// Past its expiry.
    #[error("API token {id} expired at {at}")]
    Expired {
        /// The token id.
        id: String,
        /// When, RFC 3339.
        at: String,
    },
    /// Revoked.
    #[error("API token {id} was revoked at {at}")]
    Revoked {
        /// The token id.
        id: String,
        /// When, RFC 3339.
        at: String,
    },
    /// Client certificates are required and none came (a TLS layer that
    /// did not ask for one).
    #[error("no client certificate: this daemon requires one signed by its tls_client_ca")]
    NoClientCertificate,
    /// The client certificate names nobody.
    #[error("the client certificate cannot be mapped to a caller: {0}")]
    UnnamedCertificate(String),
    /// A valid client certificate whose subject CN is not in `tls_clients`.
    #[error(
        "client certificate CN={0} is not in tls_clients: add [tls_clients.\"{0}\"] with a \
         role to the config file (or send an API token, when auth = \"tokens\")"
    )]
    UnmappedCertificate(String),
    /// An OIDC bearer token was refused (the reason names the claim).
    #[error("{0}")]
    Jwt(String),
    /// A stream token (`access_token` of an SSE log URL) was refused.
    #[error("stream token refused: {0}")]
    StreamToken(String),
    /// The call is the daemon's, and the caller sees only some namespaces.
    #[error(
        "{method} is the daemon's, not a namespace's: it needs a token that sees every \
         namespace (`*`); {who} sees {sees}"
    )]
    DaemonWide {
        /// The RPC.
        method: String,
        /// The caller.
        who: String,
        /// The namespaces it sees.
        sees: String,
    },
    /// Authenticated, but the role is too low.
    #[error("{method} needs the {needed} role; {who} has {has}")]
    WrongRole {
        /// The RPC.
        method: String,
        /// The role it needs.
        needed: Role,
        /// The caller.
        who: String,
        /// The caller's role.
        has: Role,
    },
}

/// Refuses `caller` for `what`, which is the daemon's rather than a
/// namespace's, unless it is authenticated and sees every namespace.
pub(crate) fn daemon_wide(caller: &Caller, what: &str) -> Result<(), AuthError> {
    match &caller.principal {
        Err(refusal) => Err(refusal.clone()),
        Ok(principal) if principal.namespaces != Visibility::All => Err(AuthError::DaemonWide {
            method: what.to_string(),
            who: principal.name.clone(),
            sees: principal.namespaces.names().join(", "),
        }),
        Ok(_) => Ok(()),
    }
}

/// Works out each request's [`Caller`].
#[derive(Clone)]
pub(crate) struct Authenticator {
    mode: AuthMode,
    /// None only in tests of other parts, with authentication off.
    tokens: Option<std::sync::Arc<Tokens>>,
    /// Set when TCP callers present client certificates (`tls_client_ca`).
    client_certificates: Option<std::sync::Arc<ClientCertificates>>,
    /// Set when bearer tokens may also be OIDC JWTs (`[oidc]`).
    jwt: Option<std::sync::Arc<JwtVerifier>>,
    /// Checks the short-lived tokens of SSE log URLs.
    stream_tokens: Option<std::sync::Arc<StreamTokens>>,
    /// The configured namespaces: a caller seeing all of them sees all.
    namespaces: std::sync::Arc<std::collections::BTreeSet<String>>,
}

/// How a request reached the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport<'a> {
    /// The Unix socket: its file mode and group decide who connects.
    UnixSocket,
    /// TCP (loopback included: any local user can open it), plain or TLS,
    /// with the client's certificate chain (leaf first) when it sent one.
    Tcp {
        /// The chain the TLS handshake verified against the client CA.
        client_certificates: Option<&'a [CertificateDer<'static>]>,
    },
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Callers checked per `mode` against `tokens`.
    pub(crate) fn new(mode: AuthMode, tokens: std::sync::Arc<Tokens>) -> Self {
        Self {
            mode,
            tokens: Some(tokens),
            client_certificates: None,
            jwt: None,
            stream_tokens: None,
            namespaces: std::sync::Arc::new(
                [crate::namespaces::DEFAULT.to_string()]
                    .into_iter()
                    .collect(),
            ),
        }
    }

    /// Callers seeing every one of `names` (the configured namespaces)
    /// see every namespace.
    pub(crate) fn with_namespaces(mut self, names: std::collections::BTreeSet<String>) -> Self {
        self.namespaces = std::sync::Arc::new(names);
        self
    }

    /// A log stream's URL may carry a token `tokens` made (EventSource
    /// cannot send a header).
    pub(crate) fn with_stream_tokens(mut self, tokens: std::sync::Arc<StreamTokens>) -> Self {
        self.stream_tokens = Some(tokens);
        self
    }

    /// Bearer tokens that are JWTs are checked by `verifier`.
    pub(crate) fn with_jwt(mut self, verifier: std::sync::Arc<JwtVerifier>) -> Self {
        self.jwt = Some(verifier);
        self
    }

    /// TCP callers are (also) authenticated by their client certificates,
    /// which the TLS handshake requires: a certificate named in
    /// `certificates` needs no token.
    pub(crate) fn with_client_certificates(mut self, certificates: ClientCertificates) -> Self {
        self.client_certificates = Some(std::sync::Arc::new(certificates));
        self
    }

    /// Authentication off, with no tokens at all (tests of the port).
    #[cfg(test)]
    pub(crate) fn off() -> Self {
        Self {
            mode: AuthMode::None,
            tokens: None,
            client_certificates: None,
            jwt: None,
            stream_tokens: None,
            namespaces: Default::default(),
        }
    }

    /// The caller of a request that came over `transport` from `peer`
    /// with the `authorization` header `authorization`, or without one
    /// but with a stream token in its URL (`stream_token`).
    ///
    /// With client certificates required, a TCP caller whose certificate
    /// is in `tls_clients` is that client whatever else it sends; one
    /// whose certificate is not may still send an API token when tokens
    /// are on, and is refused naming its certificate otherwise.
    pub(crate) fn caller(
        &self,
        transport: Transport<'_>,
        peer: String,
        authorization: Option<&[u8]>,
        stream_token: Option<PresentedStreamToken>,
    ) -> Caller {
        let by_certificate = match (&self.client_certificates, transport) {
            (
                Some(known),
                Transport::Tcp {
                    client_certificates,
                },
            ) => Some(known.principal(client_certificates)),
            _ => None,
        };
        let principal = match (self.mode, transport, by_certificate) {
            (_, _, Some(Ok(principal))) => Ok(principal),
            (AuthMode::Tokens, _, Some(Err(refusal))) => {
                match (authorization, stream_token, &self.stream_tokens) {
                    (Some(header), _, _) => self.token(header),
                    // A browser whose certificate is not mapped follows a
                    // log with its stream token, like any other.
                    (None, Some(presented), Some(tokens)) => {
                        tokens.verify(&presented.token, &presented.execution)
                    }
                    (None, _, _) => Err(refusal),
                }
            }
            (AuthMode::None, _, Some(Err(refusal))) => Err(refusal),
            (AuthMode::None, _, None) => Ok(Principal {
                name: "a caller (authentication is off)".into(),
                role: Role::Admin,
                namespaces: Visibility::All,
            }),
            (AuthMode::Tokens, Transport::UnixSocket, None) => Ok(Principal {
                name: "a caller on the Unix socket".into(),
                role: Role::Admin,
                namespaces: Visibility::All,
            }),
            (AuthMode::Tokens, Transport::Tcp { .. }, None) => {
                match (authorization, stream_token, &self.stream_tokens) {
                    (Some(header), _, _) => self.token(header),
                    (None, Some(presented), Some(tokens)) => {
                        tokens.verify(&presented.token, &presented.execution)
                    }
                    (None, _, _) => Err(AuthError::Missing),
                }
            }
        };
        let principal = principal.map(|mut principal| {
            principal.namespaces = principal.namespaces.normalized(&self.namespaces);
            principal
        });
        Caller { principal, peer }
    }

    /// The principal of the bearer token in the `authorization` header:
    /// an OIDC JWT when the daemon takes them and it looks like one, else
    /// an API token.
    fn token(&self, header: &[u8]) -> Result<Principal, AuthError> {
        let text = token::bearer_text(header)?;
        if let Some(jwt) = &self.jwt {
            if JwtVerifier::looks_like_jwt(text) {
                return jwt.verify(text);
            }
        }
        token::parse(text).and_then(|t| match &self.tokens {
            Some(tokens) => tokens.verify(&t),
            None => Err(AuthError::Unknown(t.id)),
        })
    }
}
