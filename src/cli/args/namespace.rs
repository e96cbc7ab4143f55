//! `--namespace`, on the commands that start or list work.

/// The namespace a command works in (docs/security.md, "Namespaces").
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct NamespaceArg {
    /// The namespace to start in or list [default: the token's only
    /// namespace, else `default`; a list shows every namespace the token
    /// sees].
    #[arg(long, value_name = "NAMESPACE")]
    pub(crate) namespace: Option<String>,
}

impl NamespaceArg {
    /// As a request field: empty when unset.
    pub(crate) fn field(&self) -> String {
        self.namespace.clone().unwrap_or_default()
    }
}
