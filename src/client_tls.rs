//! TLS as every client in this crate (`wfctl`, `workflow-mcp`) does it:
//! the CA to trust (`--tls-ca`, else `WORKFLOW_TLS_CA`, else the
//! platform's roots) and the client certificate for a daemon that requires
//! one (`--tls-cert` and `--tls-key`, else `WORKFLOW_TLS_CERT` and
//! `WORKFLOW_TLS_KEY`), read into tonic's [`ClientTlsConfig`]; and the
//! endpoint for an address with them, so a form that works in one client
//! works in all.

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use crate::client_addr::{self, ClientAddrError};

/// The variable naming the CA certificate(s) to trust (PEM).
pub(crate) const TLS_CA_ENV: &str = "WORKFLOW_TLS_CA";
/// The variable naming the client certificate (PEM).
pub(crate) const TLS_CERT_ENV: &str = "WORKFLOW_TLS_CERT";
/// The variable naming the client certificate's private key (PEM).
pub(crate) const TLS_KEY_ENV: &str = "WORKFLOW_TLS_KEY";

/// A TLS file of a client, by where it was named: `--tls-ca
/// (WORKFLOW_TLS_CA)`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TlsFile {
    /// The flag or variable that named it.
    from: &'static str,
    path: PathBuf,
}

/// The TLS files a client was given; all unset means the platform's roots
/// for an `https://` address and plain text otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ClientTls {
    ca: Option<TlsFile>,
    cert: Option<TlsFile>,
    key: Option<TlsFile>,
}

/// TLS settings of a client that cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientTlsError {
    /// A file could not be read.
    #[error("{from}: cannot read {path}: {source}")]
    Read {
        /// The flag or variable that named it.
        from: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A certificate without its key, or the other way round.
    #[error("{given} is set but {missing} is not: a client certificate needs both")]
    Incomplete {
        /// The one given.
        given: &'static str,
        /// The one missing.
        missing: &'static str,
    },
    /// TLS files with an address that cannot use them.
    #[error("{from} is set but the daemon address {addr:?} is not https://host:port")]
    NotHttps {
        /// The flag or variable.
        from: &'static str,
        /// The address.
        addr: String,
    },
    /// The address itself is wrong.
    #[error(transparent)]
    Addr(#[from] ClientAddrError),
    /// tonic refused the TLS configuration.
    #[error("TLS for {addr:?}: {reason}")]
    Config {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
}

impl ClientTls {
    /// The files of the flags, else of the variables; empty values count
    /// as unset.
    pub(crate) fn resolve(ca: Option<&Path>, cert: Option<&Path>, key: Option<&Path>) -> Self {
        Self::resolve_from(ca, cert, key, |name| std::env::var_os(name))
    }

    /// [`ClientTls::resolve`] with the environment read through `env`.
    fn resolve_from(
        ca: Option<&Path>,
        cert: Option<&Path>,
        key: Option<&Path>,
        env: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Self {
        let pick = |flag: Option<&Path>, flag_name: &'static str, var: &'static str| match flag
            .filter(|p| !p.as_os_str().is_empty())
        {
            Some(path) => Some(TlsFile {
                from: flag_name,
                path: path.to_path_buf(),
            }),
            None => env(var).filter(|v| !v.is_empty()).map(|v| TlsFile {
                from: var,
                path: PathBuf::from(v),
            }),
        };
        ClientTls {
            ca: pick(ca, "--tls-ca", TLS_CA_ENV),
            cert: pick(cert, "--tls-cert", TLS_CERT_ENV),
            key: pick(key, "--tls-key", TLS_KEY_ENV),
        }
    }

    /// The first file given, if any.
    fn any(&self) -> Option<&TlsFile> {
        self.ca
            .as_ref()
            .or(self.cert.as_ref())
            .or(self.key.as_ref())
    }

    /// tonic's TLS configuration for these files: the CA alone when one is
    /// named, else the platform's roots; the client certificate when given.
    fn config(&self) -> Result<ClientTlsConfig, ClientTlsError> {
        let read = |file: &TlsFile| {
            std::fs::read(&file.path).map_err(|source| ClientTlsError::Read {
                from: file.from,
                path: file.path.clone(),
                source,
            })
        };
        let mut config = ClientTlsConfig::new();
        config = match &self.ca {
            Some(ca) => config.ca_certificate(Certificate::from_pem(read(ca)?)),
            None => config.with_native_roots(),
        };
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                config = config.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            (None, None) => {}
            (Some(cert), None) => {
                return Err(ClientTlsError::Incomplete {
                    given: cert.from,
                    missing: "--tls-key (WORKFLOW_TLS_KEY)",
                })
            }
            (None, Some(key)) => {
                return Err(ClientTlsError::Incomplete {
                    given: key.from,
                    missing: "--tls-cert (WORKFLOW_TLS_CERT)",
                })
            }
        }
        Ok(config)
    }

    /// The URI for `addr` ([`client_addr::endpoint_uri`]) with these
    /// files: TLS files make `host:port` an `https://` address, and are
    /// refused with an `http://` or `unix:` one rather than ignored.
    pub(crate) fn uri(&self, addr: &str) -> Result<String, ClientTlsError> {
        let uri = client_addr::endpoint_uri(addr)?;
        let Some(given) = self.any() else {
            return Ok(uri);
        };
        let addr = addr.trim();
        if uri.starts_with("https://") {
            Ok(uri)
        } else if addr.starts_with("http://") || addr.starts_with("unix:") {
            Err(ClientTlsError::NotHttps {
                from: given.from,
                addr: addr.to_string(),
            })
        } else {
            Ok(format!("https://{addr}"))
        }
    }

    /// The endpoint of [`ClientTls::uri`], with TLS from these files for
    /// an `https://` one (tonic does no TLS unless told). Files are read
    /// now, so a wrong path is told before any connection.
    pub(crate) fn endpoint(&self, addr: &str) -> Result<Endpoint, ClientTlsError> {
        let uri = self.uri(addr)?;
        let endpoint = client_addr::endpoint(&uri)?;
        if !uri.starts_with("https://") {
            return Ok(endpoint);
        }
        endpoint
            .tls_config(self.config()?)
            .map_err(|e| ClientTlsError::Config {
                addr: addr.trim().to_string(),
                reason: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&'static str, &'static str)]) -> impl Fn(&str) -> Option<std::ffi::OsString> {
        let vars = vars.to_vec();
        move |name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.into())
    }

    #[test]
    fn flags_win_over_the_variables_and_empty_counts_as_unset() {
        let tls = ClientTls::resolve_from(
            Some(Path::new("/f/ca.pem")),
            None,
            Some(Path::new("")),
            env(&[
                (TLS_CA_ENV, "/e/ca.pem"),
                (TLS_CERT_ENV, "/e/c.pem"),
                (TLS_KEY_ENV, "/e/k.pem"),
            ]),
        );
        assert_eq!(tls.ca.as_ref().unwrap().from, "--tls-ca");
        assert_eq!(tls.cert.as_ref().unwrap().path, Path::new("/e/c.pem"));
        assert_eq!(tls.key.as_ref().unwrap().from, TLS_KEY_ENV);
        assert_eq!(
            ClientTls::resolve_from(None, None, None, env(&[(TLS_CA_ENV, "")])),
            ClientTls::default()
        );
    }

    #[test]
    fn tls_files_need_an_address_that_can_use_them() {
        let tls = ClientTls::resolve_from(None, None, None, env(&[(TLS_CA_ENV, "/nowhere/ca")]));
        for addr in ["http://h:1", "unix:/tmp/s"] {
            let message = tls.endpoint(addr).unwrap_err().to_string();
            assert!(
                message.contains("WORKFLOW_TLS_CA") && message.contains("https://"),
                "{addr}: {message}"
            );
        }
        // host:port becomes https://, and then the file is read.
        let message = tls.endpoint("h:1").unwrap_err().to_string();
        assert!(
            message.starts_with("WORKFLOW_TLS_CA: cannot read /nowhere/ca"),
            "{message}"
        );
        let half = ClientTls::resolve_from(None, Some(Path::new("/c")), None, env(&[]));
        let message = half.endpoint("https://h:1").unwrap_err().to_string();
        assert!(
            message.contains("--tls-cert") && message.contains("--tls-key"),
            "{message}"
        );
        // Without files: as before, and https:// uses the platform's roots.
        assert!(ClientTls::default().endpoint("h:1").is_ok());
        assert!(ClientTls::default().endpoint("https://h:1").is_ok());
    }
}
