//! The API token format, `wft_<id>_<secret>`: a prefix secret scanners
//! can match, an id to name (and revoke) a token found in a log without
//! its secret, and 32 random bytes. Only a SHA-256 of the secret is kept:
//! with 256 random bits there is nothing for a slow password hash to
//! protect, and a fast hash keeps each call's check cheap.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::AuthError;
use crate::random::random_bytes;

const PREFIX: &str = "wft_";
/// Hex digits of an id (8 random bytes).
const ID_LEN: usize = 16;
/// base64url characters of a 32-byte secret, unpadded.
const SECRET_LEN: usize = 43;

/// A token as presented: its id and its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Presented {
    pub(super) id: String,
    pub(super) secret: String,
}

/// A new token: its id, the whole token (shown once) and the hash kept.
pub(super) fn new_token() -> (String, String, Vec<u8>) {
    let id: String = random_bytes::<8>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let secret = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    let hash = hash(&secret);
    (id.clone(), format!("{PREFIX}{id}_{secret}"), hash)
}

/// SHA-256 of a secret.
pub(super) fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// The token in an `authorization` header's value (`Bearer <token>`), as
/// text: an API token or an OIDC JWT.
pub(super) fn bearer_text(header: &[u8]) -> Result<&str, AuthError> {
    let text = std::str::from_utf8(header)
        .map_err(|_| AuthError::Malformed("the authorization header is not text".into()))?;
    let (scheme, token) = text.trim().split_once(' ').ok_or_else(|| {
        AuthError::Malformed("the authorization header must be `Bearer <token>`".into())
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        // The scheme is not echoed: a header sent wrong may start with
        // the secret itself.
        return Err(AuthError::Malformed(
            "the authorization scheme must be Bearer".into(),
        ));
    }
    Ok(token.trim())
}

/// A token's id and secret, or what is wrong with it (never echoing the
/// secret).
pub(super) fn parse(token: &str) -> Result<Presented, AuthError> {
    let rest = token.strip_prefix(PREFIX).ok_or_else(|| {
        AuthError::Malformed(format!(
            "a token starts with {PREFIX:?} (wft_<id>_<secret>)"
        ))
    })?;
    let (id, secret) = rest
        .split_once('_')
        .ok_or_else(|| AuthError::Malformed("a token is wft_<id>_<secret>".into()))?;
    if id.len() != ID_LEN || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AuthError::Malformed(format!(
            "a token's id is {ID_LEN} hex digits"
        )));
    }
    if secret.len() != SECRET_LEN
        || !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(AuthError::Malformed(format!(
            "the secret of token {id} is not {SECRET_LEN} base64url characters"
        )));
    }
    Ok(Presented {
        id: id.to_ascii_lowercase(),
        secret: secret.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(header: &[u8]) -> Result<Presented, AuthError> {
        bearer_text(header).and_then(parse)
    }

    #[test]
    fn a_new_token_parses_back_to_its_id_and_hash() {
        let (id, token, hash) = new_token();
        let presented = bearer(format!("Bearer {token}").as_bytes()).unwrap();
        assert_eq!(presented.id, id);
        assert_eq!(super::hash(&presented.secret), hash);
        assert_ne!(new_token().1, token);
    }

    #[test]
    fn malformed_tokens_say_what_is_wrong_without_the_secret() {
        let (_, token, _) = new_token();
        for (header, says) in [
            ("Basic abc".to_string(), "scheme must be Bearer"),
            ("Bearer".to_string(), "must be `Bearer <token>`"),
            ("Bearer abc".to_string(), "starts with \"wft_\""),
            ("Bearer wft_abc".to_string(), "wft_<id>_<secret>"),
            ("Bearer wft_zz_x".to_string(), "16 hex digits"),
            (
                format!("Bearer {}", &token[..token.len() - 1]),
                "43 base64url",
            ),
        ] {
            let error = bearer(header.as_bytes()).unwrap_err().to_string();
            assert!(error.contains(says), "{header}: {error}");
            assert!(!error.contains(&token[21..]), "{error}");
        }
    }
}
