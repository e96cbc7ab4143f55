//! Namespaces at the edge (src/namespaces.rs): the namespaces a call's
//! caller sees, the namespace a start goes into, and NOT_FOUND for an
//! execution of a namespace the caller does not see (the same answer as
//! for an id nobody made, so existence does not leak).

use std::collections::BTreeSet;

use tonic::{Request, Status};

use super::WorkflowApi;
use crate::auth::{Caller, Principal, Role};
use crate::engine::EngineError;
use crate::namespaces::{Visibility, DEFAULT};
use crate::store::ExecutionRecord;

/// The namespaces the caller of `request` sees. A request without a
/// caller did not come through the port (the daemon's own in-process
/// calls, unit tests): it sees every namespace. One that came through it
/// without a principal passed the role check only because its RPC needs
/// no role; it sees none.
pub(super) fn seen<T>(request: &Request<T>) -> Visibility {
    match request.extensions().get::<Caller>() {
        None => Visibility::All,
        Some(caller) => match &caller.principal {
            Ok(principal) => principal.namespaces.clone(),
            Err(_) => Visibility::Only(BTreeSet::new()),
        },
    }
}

/// The namespaces a list is filtered by for a caller seeing `seen` who
/// asks for `requested` (empty: every one it sees); None: no filter. A
/// namespace the caller does not see lists nothing, as one that does not
/// exist.
pub(super) fn list_filter(seen: &Visibility, requested: &str) -> Option<Vec<String>> {
    narrowed(seen, requested).listed()
}

/// The namespaces a call that asks for `requested` (empty: every one the
/// caller sees) is answered for, for a caller seeing `seen`: `requested`
/// alone when seen, else none, so a namespace the caller does not see
/// answers as one that does not exist: with nothing in it. Every
/// `namespace` filter of a list or a count (ListExecutions, ListWorkflows,
/// GetStatus) goes through here.
pub(super) fn narrowed(seen: &Visibility, requested: &str) -> Visibility {
    if requested.is_empty() {
        return seen.clone();
    }
    Visibility::Only(if seen.sees(requested) {
        BTreeSet::from([requested.to_string()])
    } else {
        BTreeSet::new()
    })
}

/// The caller of `request` as a principal: its own, or (a request that
/// did not come through the port) one that sees everything.
pub(super) fn principal<T>(request: &Request<T>) -> Principal {
    match request.extensions().get::<Caller>() {
        Some(Caller {
            principal: Ok(principal),
            ..
        }) => principal.clone(),
        _ => Principal {
            name: "the daemon itself".into(),
            role: Role::Viewer,
            namespaces: seen(request),
        },
    }
}

/// Who the caller of `request` is, for messages.
fn who<T>(request: &Request<T>) -> String {
    match request.extensions().get::<Caller>() {
        Some(Caller {
            principal: Ok(principal),
            ..
        }) => principal.name.clone(),
        _ => "this caller".to_string(),
    }
}

impl WorkflowApi {
    /// The namespace a start asked for `requested` goes into: the one
    /// named, else the caller's only namespace, else `default`. Refused
    /// when it is not configured (INVALID_ARGUMENT) or not the caller's
    /// (PERMISSION_DENIED: the caller named it, so nothing leaks). Its
    /// rate is not spent here: [`WorkflowApi::spend_start`] does, once
    /// the start is known to be valid.
    pub(super) fn start_namespace<T>(
        &self,
        request: &Request<T>,
        requested: &str,
    ) -> Result<String, Status> {
        let seen = seen(request);
        let namespace = match (requested, &seen) {
            ("", Visibility::Only(names)) if names.len() == 1 => {
                names.iter().next().cloned().unwrap_or_default()
            }
            ("", Visibility::Only(names)) if !names.contains(DEFAULT) => {
                let choices = seen.names().join(", ");
                return Err(super::invalid_argument(
                    format!(
                        "namespace: {} sees several namespaces, not default: name one of {choices}",
                        who(request)
                    ),
                    &[("namespace", &format!("required: one of {choices}"))],
                ));
            }
            ("", _) => DEFAULT.to_string(),
            (named, _) => named.to_string(),
        };
        if self.engine.namespaces().get(&namespace).is_none() {
            return Err(EngineError::UnknownNamespace(namespace).into());
        }
        if !seen.sees(&namespace) {
            return Err(Status::permission_denied(format!(
                "{} may not start work in namespace {namespace}; it sees {}",
                who(request),
                seen.names().join(", ")
            )));
        }
        Ok(namespace)
    }

    /// Spends one of `namespace`'s starts (a valid start, about to be
    /// stored), or RESOURCE_EXHAUSTED with a RetryInfo when it is over its
    /// rate. Called after validation, so bad input never drains a team's
    /// rate.
    pub(super) fn spend_start(&self, namespace: &str) -> Result<(), Status> {
        match self.namespace_rates.refusal(namespace) {
            Some(refusal) => Err(refusal),
            None => Ok(()),
        }
    }

    /// `record` (read for the id `id`) when `seen` sees its namespace,
    /// else NOT_FOUND as for an execution that does not exist.
    pub(super) fn visible(
        seen: &Visibility,
        id: &str,
        record: ExecutionRecord,
    ) -> Result<ExecutionRecord, Status> {
        if seen.sees(&record.namespace) {
            Ok(record)
        } else {
            Err(EngineError::ExecutionNotFound(id.to_string()).into())
        }
    }

    /// Whether `seen` sees the batch `batch_id` (a batch is in one
    /// namespace); a batch the history cannot place is not shown to a
    /// caller restricted to some namespaces.
    pub(super) async fn sees_batch(&self, seen: &Visibility, batch_id: &str) -> bool {
        if *seen == Visibility::All {
            return true;
        }
        match self.engine.batch_namespace(batch_id).await {
            Ok(Some(namespace)) => seen.sees(&namespace),
            _ => false,
        }
    }

    /// The namespaces of the workflow at `program_path` that `seen` sees
    /// (a workflow in many namespaces does not tell a caller the others).
    pub(super) fn namespaces_shown(
        &self,
        seen: &Visibility,
        program_path: &std::path::Path,
    ) -> Vec<String> {
        let mut namespaces = self.engine.namespaces_of(program_path);
        namespaces.retain(|n| seen.sees(n));
        namespaces
    }

    /// Whether `seen` sees the workflow (or discovery failure) at
    /// `program_path`.
    pub(super) fn sees_program(&self, seen: &Visibility, program_path: &std::path::Path) -> bool {
        let namespaces = self.engine.namespaces_of(program_path);
        seen.sees_any(namespaces.iter().map(String::as_str))
    }

    /// Checks that the execution `id` exists for a caller seeing `seen`,
    /// before a call that acts on it (Wait, StreamLogs, Cancel). A caller
    /// seeing everything skips the read.
    pub(super) async fn check_visible(&self, seen: &Visibility, id: &str) -> Result<(), Status> {
        if *seen == Visibility::All {
            return Ok(());
        }
        let record = self.engine.execution(id).await?;
        Self::visible(seen, id, record).map(|_| ())
    }
}
