//! The flags of the `token` verbs (docs/security.md).

/// The `token` verbs: API tokens for a daemon with `auth = "tokens"`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum TokenCommand {
    /// Make an API token; prints it once (the daemon keeps only a hash).
    Create(TokenCreateArgs),
    /// List the tokens: id, name, role, created, expires, revoked.
    List,
    /// Revoke a token: calls with it are refused from now on.
    Revoke {
        /// The token's id (the 16 hex digits after `wft_`).
        token_id: String,
    },
}

/// The roles, as `--role` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum RoleArg {
    /// Read: workflows, executions, logs, schedules, status.
    Viewer,
    /// Read and run: run, cancel, submit manifests, trigger schedules.
    Operator,
    /// Everything: tokens, schedules, webhooks.
    Admin,
}

/// Flags of `wfctl token create`.
#[derive(Debug, clap::Args)]
pub(crate) struct TokenCreateArgs {
    /// What its holder may do.
    #[arg(long, value_enum)]
    pub(crate) role: RoleArg,
    /// Who or what holds it, for people.
    #[arg(long, default_value = "")]
    pub(crate) name: String,
    /// How long it is valid (e.g. 720h, 90m) [default: until revoked].
    #[arg(long, value_name = "DURATION")]
    pub(crate) expires: Option<String>,
    /// A namespace its holder sees (repeatable; `*` for every one)
    /// [default: `default`].
    #[arg(long = "namespace", value_name = "NAMESPACE")]
    pub(crate) namespaces: Vec<String>,
}
