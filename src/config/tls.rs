//! The TLS settings of the TCP port: `tls_cert` and `tls_key` (flags,
//! `WORKFLOWD_TLS_*` and the file), `tls_client_ca`, and the file's
//! `tls_clients` table that gives client certificates their roles. Only
//! their shape is checked here; the files are read when the daemon starts
//! (src/daemon/tls.rs), so an error names the setting and the file either
//! way.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::{ConfigError, DaemonArgs};
use crate::auth::Role;
use crate::namespaces::{Namespaces, Visibility, DEFAULT};

/// TLS on the TCP port, as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsSettings {
    /// The server's certificate chain (PEM), leaf first.
    pub cert: PathBuf,
    /// The server's private key (PEM).
    pub key: PathBuf,
    /// CA certificates (PEM bundle) that sign client certificates; when
    /// set, every TLS client must present a certificate one of them signed.
    pub client_ca: Option<PathBuf>,
    /// The role and namespaces of each client certificate, by its
    /// subject's common name.
    pub(crate) clients: BTreeMap<String, (Role, Visibility)>,
}

impl TlsSettings {
    /// A namespace some client certificate names that `known` does not
    /// have, as the error naming it.
    pub(super) fn check_namespaces(&self, known: &Namespaces) -> Result<(), ConfigError> {
        for (name, (_, seen)) in &self.clients {
            if let Visibility::Only(names) = seen {
                if let Some(unknown) = names.iter().find(|n| known.get(n).is_none()) {
                    return Err(ConfigError::Invalid {
                        setting: "tls_clients",
                        message: format!(
                            "tls_clients.{name:?}.namespaces: {unknown:?} is not a configured namespace"
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Whether clients must present a certificate the client CA signed.
    pub fn requires_client_certificates(&self) -> bool {
        self.client_ca.is_some()
    }
}

/// One entry of the file's `tls_clients` table, keyed by the certificate
/// subject's common name: `[tls_clients."ci-runner"] role = "operator"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TlsClientSetting {
    role: String,
    /// The namespaces it sees (`*`: all); unset: `default`.
    #[serde(default)]
    namespaces: Vec<String>,
}

/// The TLS keys of the config file.
#[derive(Debug, Default)]
pub(super) struct FileTls {
    pub(super) cert: Option<PathBuf>,
    pub(super) key: Option<PathBuf>,
    pub(super) client_ca: Option<PathBuf>,
    pub(super) clients: Option<BTreeMap<String, TlsClientSetting>>,
}

/// The TLS settings from the flags (and their variables) over the file;
/// None when neither certificate nor key is set.
pub(super) fn tls_settings(
    args: &DaemonArgs,
    file: FileTls,
    has_tcp_port: bool,
    absolute: &dyn Fn(PathBuf) -> PathBuf,
) -> Result<Option<TlsSettings>, ConfigError> {
    let cert = args.tls_cert.clone().or(file.cert);
    let key = args.tls_key.clone().or(file.key);
    let client_ca = args.tls_client_ca.clone().or(file.client_ca).map(absolute);
    let clients = file.clients.unwrap_or_default();
    let (cert, key) = match (cert, key) {
        (Some(cert), Some(key)) => (absolute(cert), absolute(key)),
        (None, None) => {
            let stray = if client_ca.is_some() {
                Some("tls_client_ca")
            } else if !clients.is_empty() {
                Some("tls_clients")
            } else {
                None
            };
            return match stray {
                None => Ok(None),
                Some(setting) => Err(ConfigError::Invalid {
                    setting,
                    message: "needs TLS on the port: set tls_cert and tls_key (--tls-cert, \
                              --tls-key) too"
                        .into(),
                }),
            };
        }
        (cert, _) => {
            let (given, missing) = if cert.is_some() {
                ("tls_cert", "tls_key")
            } else {
                ("tls_key", "tls_cert")
            };
            return Err(ConfigError::Invalid {
                setting: given,
                message: format!(
                    "is set but {missing} is not: TLS needs both tls_cert and tls_key \
                     (--tls-cert, --tls-key), the certificate and its private key"
                ),
            });
        }
    };
    if !has_tcp_port {
        return Err(ConfigError::Invalid {
            setting: "tls_cert",
            message: "is set but listen is \"none\": TLS is served on the TCP port only (the \
                      Unix socket stays plain)"
                .into(),
        });
    }
    if client_ca.is_none() && !clients.is_empty() {
        return Err(ConfigError::Invalid {
            setting: "tls_clients",
            message: "names client certificates but tls_client_ca (--tls-client-ca) is not \
                      set: without it no client certificate is asked for"
                .into(),
        });
    }
    let clients = clients
        .into_iter()
        .map(|(name, setting)| {
            if name.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    setting: "tls_clients",
                    message: "a client's name (its certificate's subject CN) is empty".into(),
                });
            }
            let names: Vec<&str> = if setting.namespaces.is_empty() {
                vec![DEFAULT]
            } else {
                setting.namespaces.iter().map(|n| n.trim()).collect()
            };
            let seen = Visibility::from_names(&names).map_err(|why| ConfigError::Invalid {
                setting: "tls_clients",
                message: format!("tls_clients.{name:?}.namespaces: {why}"),
            })?;
            match Role::parse(setting.role.trim()) {
                Some(role) => Ok((name, (role, seen))),
                None => Err(ConfigError::Invalid {
                    setting: "tls_clients",
                    message: format!(
                        "tls_clients.{name:?}.role: {:?} is not viewer, operator or admin",
                        setting.role
                    ),
                }),
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(Some(TlsSettings {
        cert,
        key,
        client_ca,
        clients,
    }))
}
