//! WorkflowApi's constructor and the parts of the daemon it is given (the
//! manifest runner, drop folders, schedules, retries, webhooks, tokens and
//! the audit log), apart from the handlers in [`super`].

use std::sync::Arc;

use super::{DaemonInfo, WorkflowApi};
use crate::engine::Engine;
use crate::manifest::ManifestRunner;
use crate::watcher::DropFolders;

impl WorkflowApi {
    /// A service over an engine.
    pub(crate) fn new(
        engine: Arc<Engine>,
        info: DaemonInfo,
        registry: Arc<crate::registry::Registry>,
    ) -> Self {
        WorkflowApi {
            registry,
            namespace_rates: Arc::new(crate::auth::NamespaceRates::new(engine.namespaces())),
            stream_tokens: Arc::new(crate::auth::StreamTokens::new()),
            engine,
            info: Arc::new(info),
            manifests: None,
            drop_folders: None,
            schedules: None,
            retries: None,
            webhooks: None,
            tokens: None,
            audit_reader: None,
        }
    }

    /// Reports these drop folders in GetStatus.
    pub(crate) fn with_drop_folders(mut self, drop_folders: Arc<DropFolders>) -> Self {
        self.drop_folders = Some(drop_folders);
        self
    }

    /// Serves the schedule RPCs with these schedules.
    pub(crate) fn with_schedules(mut self, schedules: Arc<crate::schedules::Schedules>) -> Self {
        self.schedules = Some(schedules);
        self
    }

    /// Has Cancel call off the retries these retries keep waiting.
    pub(crate) fn with_retries(mut self, retries: Arc<crate::retries::Retries>) -> Self {
        self.retries = Some(retries);
        self
    }

    /// Serves the webhook RPCs with these webhooks.
    pub(crate) fn with_webhooks(mut self, webhooks: Arc<crate::webhooks::Webhooks>) -> Self {
        self.webhooks = Some(webhooks);
        self
    }

    /// Serves the token RPCs with these tokens.
    pub(crate) fn with_tokens(mut self, tokens: Arc<crate::auth::Tokens>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Makes SSE log tokens with `tokens` (the port's authenticator checks
    /// them with the same key).
    pub(crate) fn with_stream_tokens(mut self, tokens: Arc<crate::auth::StreamTokens>) -> Self {
        self.stream_tokens = tokens;
        self
    }

    /// Serves ListAuditEvents from this history.
    pub(crate) fn with_audit_log(mut self, reader: Arc<crate::store::StoreReader>) -> Self {
        self.audit_reader = Some(reader);
        self
    }

    /// Serves SubmitManifest with this runner.
    pub(crate) fn with_manifests(mut self, runner: Arc<ManifestRunner>) -> Self {
        self.manifests = Some(runner);
        self
    }
}
