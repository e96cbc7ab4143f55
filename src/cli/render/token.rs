//! API tokens as a table (id, name, role, created, expires, revoked), and
//! the audit log as one (time, who, role, method, object, from, outcome).

use super::print::{print_message, print_table, timestamp_text, PrintFormat};
use crate::pb;

/// Prints tokens as a table, or as a ListTokensResponse.
pub(crate) fn print_tokens(format: PrintFormat, tokens: &[pb::ApiToken]) {
    if format != PrintFormat::Table {
        print_message(
            format,
            &pb::ListTokensResponse {
                tokens: tokens.to_vec(),
            },
        );
        return;
    }
    let or_never = |t: Option<&prost_types::Timestamp>, none: &str| {
        t.map_or_else(|| none.to_string(), |t| timestamp_text(Some(t)))
    };
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            vec![
                t.id.clone(),
                t.name.clone(),
                role_word(t.role),
                t.namespaces.join(","),
                timestamp_text(t.create_time.as_ref()),
                or_never(t.expire_time.as_ref(), "never"),
                or_never(t.revoke_time.as_ref(), "-"),
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "NAME",
            "ROLE",
            "NAMESPACES",
            "CREATED",
            "EXPIRES",
            "REVOKED",
        ],
        &rows,
    );
}

/// The role of a proto value as a word (`viewer`), `-` when unset.
fn role_word(value: i32) -> String {
    match pb::Role::try_from(value) {
        Ok(pb::Role::Unspecified) => "-".to_string(),
        Ok(role) => role
            .as_str_name()
            .trim_start_matches("ROLE_")
            .to_lowercase(),
        Err(_) => value.to_string(),
    }
}

/// Prints audit events as a table, or as a ListAuditEventsResponse.
pub(crate) fn print_audit(format: PrintFormat, events: Vec<pb::AuditEvent>) {
    if format != PrintFormat::Table {
        print_message(
            format,
            &pb::ListAuditEventsResponse {
                events,
                next_page_token: String::new(),
            },
        );
        return;
    }
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            let outcome = if e.message.is_empty() {
                e.code.clone()
            } else {
                format!("{}: {}", e.code, e.message)
            };
            vec![
                timestamp_text(e.time.as_ref()),
                e.principal.clone(),
                role_word(e.role),
                e.method.clone(),
                e.object.clone(),
                e.peer.clone(),
                outcome,
            ]
        })
        .collect();
    print_table(
        &["TIME", "WHO", "ROLE", "METHOD", "OBJECT", "FROM", "OUTCOME"],
        &rows,
    );
}
