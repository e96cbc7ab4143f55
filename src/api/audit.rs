//! ListAuditEvents: the audit log, newest first, a page at a time.

use std::sync::Arc;

use tonic::{Response, Status};

use super::wire_time::timestamp;
use super::WorkflowApi;
use crate::auth::Role;
use crate::pb;
use crate::store::{AuditRecord, StoreReader};

/// Page sizes.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

impl WorkflowApi {
    fn audit_reader(&self) -> Result<&Arc<StoreReader>, Status> {
        self.audit_reader
            .as_ref()
            .ok_or_else(|| Status::unimplemented("this server keeps no audit log"))
    }

    pub(super) async fn list_audit_events_call(
        &self,
        request: pb::ListAuditEventsRequest,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let size = match request.page_size {
            0 => DEFAULT_PAGE,
            n if n < 0 => {
                return Err(super::invalid_argument(
                    format!("page_size must not be negative, not {n}"),
                    &[("page_size", "must be 0 (the default) or more")],
                ))
            }
            n => (n as usize).min(MAX_PAGE),
        };
        // The token is the sequence the next page starts below.
        let before = match request.page_token.as_str() {
            "" => None,
            token => Some(token.parse::<i64>().map_err(|_| {
                super::invalid_argument(
                    "page_token is not one ListAuditEvents gave".into(),
                    &[("page_token", "must be a next_page_token of ListAuditEvents")],
                )
            })?),
        };
        let events = self
            .audit_reader()?
            .off_runtime(move |r| r.audit_events(before, size + 1))
            .await
            .map_err(|e| Status::internal(e.to_string()))?;
        let next_page_token = if events.len() > size {
            events[size - 1].seq.to_string()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListAuditEventsResponse {
            events: events.iter().take(size).map(event_to_proto).collect(),
            next_page_token,
        }))
    }
}

fn event_to_proto(e: &AuditRecord) -> pb::AuditEvent {
    let role = match e.role.as_deref().and_then(Role::parse) {
        Some(Role::Viewer) => pb::Role::Viewer,
        Some(Role::Operator) => pb::Role::Operator,
        Some(Role::Admin) => pb::Role::Admin,
        None => pb::Role::Unspecified,
    };
    pb::AuditEvent {
        sequence: e.seq,
        time: Some(timestamp(e.time_ms)),
        principal: e.principal.clone(),
        role: role as i32,
        method: e.method.clone(),
        object: e.object.clone(),
        peer: e.peer.clone(),
        code: e.code.clone(),
        message: e.message.clone(),
    }
}
