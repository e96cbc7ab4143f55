//! API tokens as a table: id, name, role, created, expires, revoked.

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
                pb::Role::try_from(t.role).map_or_else(
                    |_| t.role.to_string(),
                    |r| r.as_str_name().trim_start_matches("ROLE_").to_lowercase(),
                ),
                timestamp_text(t.create_time.as_ref()),
                or_never(t.expire_time.as_ref(), "never"),
                or_never(t.revoke_time.as_ref(), "-"),
            ]
        })
        .collect();
    print_table(
        &["ID", "NAME", "ROLE", "CREATED", "EXPIRES", "REVOKED"],
        &rows,
    );
}
