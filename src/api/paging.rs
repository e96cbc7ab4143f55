//! Opaque page tokens. A token encodes where the previous page ended and a
//! fingerprint of the filters, so a token reused with other filters is
//! rejected instead of silently skipping or repeating results.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tonic::Status;

use super::status::invalid_argument;

/// Default and largest page sizes.
pub(crate) fn page_size(requested: i32, default: usize, max: usize) -> Result<usize, Status> {
    count("page_size", requested, default, max)
}

/// A count a request asks for in `field`: 0 is `default`, more than `max`
/// is `max`, a negative one is INVALID_ARGUMENT naming the field.
pub(crate) fn count(
    field: &str,
    requested: i32,
    default: usize,
    max: usize,
) -> Result<usize, Status> {
    match requested {
        0 => Ok(default),
        n if n < 0 => Err(invalid_argument(
            format!("{field} must not be negative, got {n}"),
            &[(field, "must be >= 0")],
        )),
        n => Ok((n as usize).min(max)),
    }
}

#[derive(Serialize, Deserialize)]
struct Token<T> {
    after: T,
    filters: u64,
}

/// Encodes the position after the last item of a page.
pub(crate) fn encode<T: Serialize>(after: T, filters: u64) -> String {
    let json = serde_json::to_vec(&Token { after, filters }).expect("tokens serialize");
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a token made by [`encode`] for the same filters.
pub(crate) fn decode<T: for<'de> Deserialize<'de>>(
    token: &str,
    filters: u64,
) -> Result<Option<T>, Status> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = |why: &str| {
        invalid_argument(
            format!("page_token is {why}"),
            &[(
                "page_token",
                "use the next_page_token of a response to the same request",
            )],
        )
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad("not a valid token"))?;
    let token: Token<T> = serde_json::from_slice(&bytes).map_err(|_| bad("not a valid token"))?;
    if token.filters != filters {
        return Err(bad("from a request with different filters"));
    }
    Ok(Some(token.after))
}

/// A stable fingerprint of a request's filters (FNV-1a over their debug form).
pub(crate) fn fingerprint(filters: &impl std::fmt::Debug) -> u64 {
    crate::fnv::fnv1a(format!("{filters:?}").bytes())
}
