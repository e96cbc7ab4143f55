//! TLS on the TCP port (`tls_cert`, `tls_key`, `tls_client_ca`; see
//! docs/security.md): the rustls configuration read from the PEM files,
//! the stream of handshaken connections the server takes instead of plain
//! TCP, and the warning when the port is open to other hosts unprotected.
//!
//! Why tokio-rustls rather than tonic's `ServerTlsConfig`: tonic's
//! acceptor offers only `h2` in ALPN, whatever `accept_http1` says, and a
//! client that offers only `http/1.1` (curl --http1.1, many HTTP
//! libraries, the JSON routes' callers) is then refused in the handshake.
//! This acceptor offers both; the server tells the two apart by the
//! connection's first bytes, as on plain TCP. Each connection still
//! reaches the services with tonic's `TlsConnectInfo` (the peer address
//! and its certificates), since tonic implements `Connected` for
//! tokio-rustls streams.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;

use crate::auth::AuthMode;
use crate::config::{Config, TlsSettings};

/// How long a client gets to complete the handshake; one that stalls
/// holds nothing but its own task meanwhile.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshaken connections waiting for the server to take them.
const ACCEPTED_BACKLOG: usize = 64;

/// Why TLS could not be set up; each names the setting and its file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("setting {setting}: cannot read {path}: {source}")]
    Read {
        /// `tls_cert`, `tls_key` or `tls_client_ca`.
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file holds no usable PEM item of the kind needed.
    #[error("setting {setting}: {path} holds no {what}: {reason}")]
    Pem {
        /// The setting.
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// What was looked for, e.g. `PEM certificate`.
        what: &'static str,
        /// What the PEM reader said.
        reason: String,
    },
    /// rustls refused what was read.
    #[error("setting {setting}: {path}: {reason}")]
    Refused {
        /// The setting.
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// rustls's reason.
        reason: String,
    },
    /// The key is not the certificate's.
    #[error(
        "settings tls_cert and tls_key: the private key in {key} does not belong to the \
         certificate in {cert}"
    )]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
}

/// The acceptor for `settings`, its files read and checked now, so a bad
/// one stops the start.
pub(super) fn acceptor(settings: &TlsSettings) -> Result<TlsAcceptor, TlsError> {
    let chain = certificates("tls_cert", &settings.cert)?;
    let key_text = read("tls_key", &settings.key)?;
    let key = PrivateKeyDer::from_pem_slice(&key_text).map_err(|e| TlsError::Pem {
        setting: "tls_key",
        path: settings.key.clone(),
        what: "PEM private key (PKCS#8, PKCS#1 or SEC1)",
        reason: e.to_string(),
    })?;
    let refused = |setting: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |e: rustls::Error| TlsError::Refused {
            setting,
            path,
            reason: e.to_string(),
        }
    };
    // rustls's process-wide provider: ring, the only one built in (tonic's
    // tls-ring, reqwest's rustls), so rustls picks it without being told.
    let builder = ServerConfig::builder();
    let builder = match &settings.client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for certificate in certificates("tls_client_ca", path)? {
                roots
                    .add(certificate)
                    .map_err(refused("tls_client_ca", path))?;
            }
            // Required, not optional: with a client CA every TCP caller
            // is known by its certificate (docs/security.md).
            let verifier = WebPkiClientVerifier::builder(roots.into())
                .build()
                .map_err(|e| TlsError::Refused {
                    setting: "tls_client_ca",
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch {
            cert: settings.cert.clone(),
            key: settings.key.clone(),
        },
        other => refused("tls_key", &settings.key)(other),
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The bytes of the file of `setting`.
fn read(setting: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        setting,
        path: path.to_path_buf(),
        source,
    })
}

/// Every certificate of the PEM file of `setting`; at least one.
fn certificates(
    setting: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let text = read(setting, path)?;
    let pem_error = |reason: String| TlsError::Pem {
        setting,
        path: path.to_path_buf(),
        what: "PEM certificate",
        reason,
    };
    let certificates = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(e.to_string()))?;
    if certificates.is_empty() {
        return Err(pem_error("no BEGIN CERTIFICATE section found".into()));
    }
    Ok(certificates)
}

/// The connections of `listener` once their TLS handshake is done. Each
/// handshake runs in its own task, so a slow or silent client delays no
/// other; failed ones are logged and dropped. Ends when the server stops
/// taking connections (the stream is dropped).
pub(super) fn incoming(
    listener: TcpListener,
    acceptor: TlsAcceptor,
) -> ReceiverStream<std::io::Result<TlsStream<TcpStream>>> {
    let (accepted, stream) = tokio::sync::mpsc::channel(ACCEPTED_BACKLOG);
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = tokio::select! {
                () = accepted.closed() => return,
                next = listener.accept() => match next {
                    Ok(connection) => connection,
                    // As TcpIncoming does: the server logs it and goes on.
                    Err(e) => {
                        if accepted.send(Err(e)).await.is_err() {
                            return;
                        }
                        continue;
                    }
                },
            };
            // Without TCP_NODELAY small stream messages wait for delayed ACKs (40 ms).
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let accepted = accepted.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        let _ = accepted.send(Ok(tls)).await;
                    }
                    Ok(Err(e)) => tracing::info!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::info!(
                        %peer,
                        "TLS handshake not done within {HANDSHAKE_TIMEOUT:?}; connection closed"
                    ),
                }
            });
        }
    });
    ReceiverStream::new(stream)
}

/// With authentication off, anyone who reaches the TCP port can run every
/// workflow. The configuration refuses a non-loopback address in that case
/// unless the operator said `insecure_listen`; then it is served (a trusted
/// network, a firewall) but never quietly. Without TLS, what crosses the
/// network (tokens among it) can be read on the way: said too.
pub(super) fn warn_if_reachable_from_other_hosts(config: &Config) {
    let Some(listen) = config.listen.filter(|_| config.listens_beyond_loopback()) else {
        return;
    };
    if config.tls.is_none() {
        tracing::warn!(
            address = %listen,
            "serving beyond loopback without TLS: requests, API tokens and logs cross the \
             network in clear text; set tls_cert and tls_key (docs/security.md)"
        );
    }
    let client_certificates = config
        .tls
        .as_ref()
        .is_some_and(TlsSettings::requires_client_certificates);
    if config.auth == AuthMode::None && !client_certificates {
        tracing::warn!(
            address = %listen,
            "SERVING ON A NON-LOOPBACK ADDRESS WITHOUT AUTHENTICATION: anyone who can reach \
             {listen} can run every workflow as this daemon's user; prefer --listen none with \
             --unix-socket, or a loopback address"
        );
    }
}
