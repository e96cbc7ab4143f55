//! The audit log (docs/security.md): every call that changes something and
//! every refused call, with who, what, which object, when, from where and
//! the outcome. [`super::guard`] hands each such call here once it has its
//! answer; it is appended to the history (and, when configured, to a file
//! of JSON lines) off the call's path: the answer does not wait for the
//! audit's commit, which rides along with the history's next one (within
//! 50 ms, `store/writer/deferred.rs`), so a crash can lose the events of
//! that last moment.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use prost_reflect::{DynamicMessage, Value};

use super::{Caller, Role};
use crate::clock::now_ms;
use crate::store::{AuditRecord, StoreWriter};

/// The RPCs that change something: each call is recorded, whatever its
/// outcome. Reads are recorded only when refused.
pub(crate) const AUDITED: &[&str] = &[
    "Execute",
    "Cancel",
    "SubmitManifest",
    "CreateSchedule",
    "UpdateSchedule",
    "DeleteSchedule",
    "PauseSchedule",
    "TriggerSchedule",
    "CreateWebhook",
    "DeleteWebhook",
    "TestWebhook",
    "CreateToken",
    "RevokeToken",
    "CreateStreamToken",
    "DrainDaemon",
];

/// A request's fields that name its object, by preference.
const OBJECT_FIELDS: &[&str] = &[
    "execution_id",
    "workflow_id",
    "schedule_id",
    "webhook_id",
    "token_id",
    "file_name",
    "daemon_id",
];
/// Message fields whose own field names the object (a schedule or a
/// webhook being created).
const NESTED_OBJECT_FIELDS: &[(&str, &str)] = &[("schedule", "id"), ("webhook", "url")];

/// The most characters kept of an object and of a message: a caller
/// chooses both, and the log must not grow by what it sends.
const MAX_TEXT: usize = 500;

fn clipped(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// Where audit events go.
pub(crate) struct Auditor {
    writer: StoreWriter,
    /// The JSON-lines file, when configured (opened for appending).
    file: Option<(PathBuf, Mutex<std::fs::File>)>,
}

impl Auditor {
    /// Events go to the history through `writer`, and to `file` when given
    /// (created 0600 if missing, appended to).
    pub(crate) fn new(writer: StoreWriter, file: Option<&Path>) -> std::io::Result<Auditor> {
        let file = match file {
            Some(path) => {
                use std::os::unix::fs::OpenOptionsExt;
                let opened = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .open(path)?;
                Some((path.to_path_buf(), Mutex::new(opened)))
            }
            None => None,
        };
        Ok(Auditor { writer, file })
    }

    /// Records a call to `method` by `caller` that named `object` and
    /// ended with `code` (a gRPC code name) and `message`.
    pub(crate) fn record(
        self: &Arc<Self>,
        caller: Option<&Caller>,
        method: &str,
        object: String,
        code: &str,
        message: &str,
    ) {
        let (principal, role) = match caller.map(|c| &c.principal) {
            Some(Ok(p)) => (p.name.clone(), Some(p.role)),
            _ => ("unauthenticated".to_string(), None),
        };
        let event = AuditRecord {
            seq: 0,
            time_ms: now_ms(),
            principal,
            role: role.map(|r: Role| r.as_str().to_string()),
            method: method.to_string(),
            object: clipped(&object),
            peer: caller.map_or_else(|| "unknown".to_string(), |c| c.peer.clone()),
            code: code.to_string(),
            message: clipped(message),
        };
        if self.file.is_some() {
            let line = serde_json::to_string(&event).expect("an audit event serializes");
            let this = self.clone();
            tokio::task::spawn_blocking(move || {
                if let Some((path, file)) = &this.file {
                    if let Err(e) = writeln!(file.lock(), "{line}") {
                        tracing::error!(path = %path.display(), error = %e, "cannot append to the audit file");
                    }
                }
            });
        }
        self.writer.audit_later(event);
    }
}

/// What the request of `method`, a gRPC frame in `body`, names: the first
/// of [`OBJECT_FIELDS`] it sets, else a nested one; empty when none (or
/// when it cannot be read, e.g. compressed).
pub(crate) fn object_of(method: &str, body: &[u8]) -> String {
    let Some(service) = crate::proto_json::pool().get_service_by_name(super::roles::SERVICE) else {
        return String::new();
    };
    let Some(descriptor) = service.methods().find(|m| m.name() == method) else {
        return String::new();
    };
    // Uncompressed frames only: flag 0, then a 4-byte length.
    let message = match body {
        [0, _, _, _, _, rest @ ..] => DynamicMessage::decode(descriptor.input(), rest).ok(),
        _ => None,
    };
    let Some(message) = message else {
        return String::new();
    };
    let text = |message: &DynamicMessage, name: &str| -> Option<String> {
        match message.get_field_by_name(name)?.as_ref() {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    };
    OBJECT_FIELDS
        .iter()
        .find_map(|name| text(&message, name))
        .or_else(|| {
            NESTED_OBJECT_FIELDS.iter().find_map(|(outer, inner)| {
                match message.get_field_by_name(outer)?.as_ref() {
                    Value::Message(nested) => text(nested, inner),
                    _ => None,
                }
            })
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn framed(message: &impl Message) -> Vec<u8> {
        let bytes = message.encode_to_vec();
        let mut out = vec![0];
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&bytes);
        out
    }

    #[test]
    fn the_object_is_the_first_id_a_request_sets() {
        let execute = crate::pb::ExecuteRequest {
            workflow_id: "hello".into(),
            ..Default::default()
        };
        assert_eq!(object_of("Execute", &framed(&execute)), "hello");
        let schedule = crate::pb::CreateScheduleRequest {
            schedule: Some(crate::pb::Schedule {
                id: "nightly".into(),
                ..Default::default()
            }),
        };
        assert_eq!(object_of("CreateSchedule", &framed(&schedule)), "nightly");
        let revoke = crate::pb::RevokeTokenRequest {
            token_id: "0123456789abcdef".into(),
        };
        assert_eq!(
            object_of("RevokeToken", &framed(&revoke)),
            "0123456789abcdef"
        );
        assert_eq!(object_of("Execute", b"\x01\x00\x00\x00\x00"), "");
        assert_eq!(object_of("NoSuchMethod", &framed(&execute)), "");
    }
}
