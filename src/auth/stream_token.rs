//! Short-lived tokens for one execution's SSE log stream. A browser's
//! `EventSource` cannot send an `authorization` header, so a page asks
//! CreateStreamToken (with its own credentials) for a token and opens
//! `GET /v1/executions/{id}/logs?access_token=TOKEN`.
//!
//! A token is `wfs_<payload>.<mac>`: the execution, the expiry and the
//! maker's name and namespaces, signed with HMAC-SHA256 under a key made
//! at each start (so nothing is stored, and a restart ends them all). It
//! is good for that one log route only, as a viewer, until it expires: a
//! URL that leaks into a log or a browser's history gives away one
//! execution's log for a few minutes, not a credential.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{AuthError, Principal, Role};
use crate::clock::now_ms;
use crate::namespaces::Visibility;

const PREFIX: &str = "wfs_";
/// How long a token may be used to open the stream.
pub(crate) const STREAM_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// What a token carries.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The execution whose log it opens.
    execution: String,
    /// Expiry, ms since the epoch.
    expire_ms: i64,
    /// Its maker, for messages and the audit log.
    maker: String,
    /// The namespaces its maker saw (`*` or names joined by commas).
    namespaces: String,
}

/// Makes and checks stream tokens under this daemon's key.
pub(crate) struct StreamTokens {
    key: [u8; 32],
}

impl Default for StreamTokens {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamTokens {
    /// Tokens under a new random key.
    pub(crate) fn new() -> Self {
        Self {
            key: crate::random::random_bytes::<32>(),
        }
    }

    /// A token for `maker` to open the log of `execution`, and its expiry
    /// (ms since the epoch).
    pub(crate) fn issue(&self, maker: &Principal, execution: &str) -> (String, i64) {
        let expire_ms = now_ms() + STREAM_TOKEN_LIFETIME.as_millis() as i64;
        let claims = Claims {
            execution: execution.to_string(),
            expire_ms,
            maker: maker.name.clone(),
            namespaces: maker.namespaces.stored(),
        };
        let payload =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialize"));
        let mac = URL_SAFE_NO_PAD.encode(self.mac(payload.as_bytes()));
        (format!("{PREFIX}{payload}.{mac}"), expire_ms)
    }

    /// The principal of `token` presented to open the log of `execution`,
    /// or why it is refused.
    pub(crate) fn verify(&self, token: &str, execution: &str) -> Result<Principal, AuthError> {
        let refused = |why: &str| AuthError::StreamToken(why.to_string());
        let (payload, mac) = token
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once('.'))
            .ok_or_else(|| refused("malformed: not wfs_<payload>.<signature>"))?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| refused("malformed signature"))?;
        let mut check = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        check.update(payload.as_bytes());
        check
            .verify_slice(&mac)
            .map_err(|_| refused("not made by this daemon (or before its last start)"))?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| refused("malformed payload"))?;
        if claims.expire_ms <= now_ms() {
            return Err(refused("expired: ask CreateStreamToken for a new one"));
        }
        if claims.execution != execution {
            return Err(refused("made for another execution's log"));
        }
        let namespaces = Visibility::from_stored(&claims.namespaces)
            .map_err(|_| refused("malformed namespaces"))?;
        Ok(Principal {
            name: format!("a stream token of {}", claims.maker),
            role: Role::Viewer,
            namespaces,
        })
    }

    fn mac(&self, payload: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(payload);
        mac.finalize().into_bytes().to_vec()
    }
}

/// A stream token presented in a URL, and the execution whose log the
/// URL opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PresentedStreamToken {
    /// The execution id of the path.
    pub(crate) execution: String,
    /// The `access_token` query parameter.
    pub(crate) token: String,
}

/// The stream token of a request for `uri` (a GET without an
/// `authorization` header): only on a log route, only as `access_token`.
pub(crate) fn presented(uri: &http::Uri) -> Option<PresentedStreamToken> {
    let execution = log_stream_execution(uri.path())?;
    let token = access_token(uri.query()?)?;
    Some(PresentedStreamToken {
        execution: execution.to_string(),
        token,
    })
}

/// The execution id of a log stream's path, `/v1/executions/{id}/logs`.
fn log_stream_execution(path: &str) -> Option<&str> {
    path.strip_prefix("/v1/executions/")?
        .strip_suffix("/logs")
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

/// The `access_token` of a query string, if there is one.
fn access_token(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "access_token")
        .map(|(_, value)| value.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maker() -> Principal {
        Principal {
            name: "token 0a (ci)".into(),
            role: Role::Operator,
            namespaces: Visibility::from_names(&["team-a"]).unwrap(),
        }
    }

    #[test]
    fn a_token_opens_its_own_execution_log_as_a_viewer_of_its_makers_namespaces() {
        let tokens = StreamTokens::new();
        let (token, expire_ms) = tokens.issue(&maker(), "e1");
        assert!(expire_ms > now_ms());
        let principal = tokens.verify(&token, "e1").unwrap();
        assert_eq!(principal.role, Role::Viewer);
        assert!(principal.namespaces.sees("team-a") && !principal.namespaces.sees("b"));
        assert!(principal.name.contains("token 0a (ci)"));
        let other = tokens.verify(&token, "e2").unwrap_err().to_string();
        assert!(other.contains("another execution"), "{other}");
    }

    #[test]
    fn a_forged_or_foreign_token_is_refused() {
        let tokens = StreamTokens::new();
        let (token, _) = tokens.issue(&maker(), "e1");
        let foreign = StreamTokens::new().verify(&token, "e1").unwrap_err();
        assert!(foreign.to_string().contains("not made by this daemon"));
        let (payload, mac) = token.split_once('.').unwrap();
        let widened = URL_SAFE_NO_PAD.encode(
            String::from_utf8(URL_SAFE_NO_PAD.decode(&payload[4..]).unwrap())
                .unwrap()
                .replace("team-a", "*"),
        );
        let forged = format!("wfs_{widened}.{mac}");
        assert!(tokens.verify(&forged, "e1").is_err());
        assert!(tokens.verify("wft_abc", "e1").is_err());
    }

    #[test]
    fn the_log_route_and_its_token_are_found_in_the_url() {
        assert_eq!(log_stream_execution("/v1/executions/e1/logs"), Some("e1"));
        assert_eq!(log_stream_execution("/v1/executions/e1"), None);
        assert_eq!(log_stream_execution("/v1/executions//logs"), None);
        assert_eq!(log_stream_execution("/v1/executions/a/b/logs"), None);
        assert_eq!(
            access_token("follow=true&access_token=wfs_a%2Eb").as_deref(),
            Some("wfs_a.b")
        );
        assert_eq!(access_token("follow=true"), None);
    }
}
