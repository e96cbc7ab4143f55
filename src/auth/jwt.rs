//! OIDC bearer tokens: a JWT signed by an identity provider whose keys
//! are in a JWKS (a file, or fetched from a URL), issued by the
//! configured issuer for the configured audience, its role and namespaces
//! read from two claims (config `[oidc]`, docs/security.md).
//!
//! Only asymmetric signatures are accepted (RSA, RSA-PSS, ECDSA, EdDSA),
//! each with the algorithm its key is for, so a token cannot pick an
//! algorithm its key was not meant for ("alg confusion"). The key set is
//! read at start and read again, at most every [`REFRESH_AT_MOST_EVERY`],
//! when a token names a key it lacks (the provider rotated its keys), and
//! every [`REFRESH_EVERY`] from a URL.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use parking_lot::{Mutex, RwLock};
use serde_json::Value;

use super::{AuthError, Principal, Role};
use crate::namespaces::{Visibility, DEFAULT};

/// The soonest the key set is read again for a token naming an unknown key.
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(30);
/// How often a key set from a URL is read again anyway.
const REFRESH_EVERY: Duration = Duration::from_secs(600);
/// Clock skew allowed between the provider and this host.
const LEEWAY_SECS: u64 = 30;
/// The largest key set read (a JWKS is a few kilobytes).
const MAX_JWKS_BYTES: usize = 1 << 20;

/// Where the key set comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// A JWKS document on disk (`jwks_file`).
    File(PathBuf),
    /// A JWKS document over HTTPS (`jwks_url`; plain HTTP only to
    /// loopback).
    Url(String),
}

/// The `[oidc]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// The `iss` every token must carry.
    pub issuer: String,
    /// An `aud` every token must carry.
    pub audience: String,
    /// The provider's keys.
    pub jwks: JwksSource,
    /// The claim holding the role (a string, or an array: the highest).
    pub role_claim: String,
    /// The claim holding the namespaces (an array, or a string separated
    /// by spaces or commas); absent: `default`.
    pub namespaces_claim: String,
}

/// Why the key set could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The file could not be read.
    #[error("cannot read jwks_file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The URL could not be fetched.
    #[error("cannot fetch jwks_url {url}: {message}")]
    Fetch {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// The document is not a JWKS.
    #[error("{source_name} is not a JWKS document (`{{\"keys\": [...]}}`): {message}")]
    Parse {
        /// The file or URL.
        source_name: String,
        /// The parser's message.
        message: String,
    },
}

/// Verifies JWTs against the provider's current keys.
pub(crate) struct JwtVerifier {
    settings: OidcSettings,
    keys: RwLock<JwkSet>,
    /// When the key set was last read (or tried).
    read_at: Mutex<Instant>,
    http: reqwest::Client,
}

impl JwtVerifier {
    /// Reads the key set. A file that cannot be read or parsed is an
    /// error; a URL that cannot be fetched now is logged, and tried again
    /// as tokens arrive.
    pub(crate) async fn start(settings: OidcSettings) -> Result<Arc<Self>, JwksError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| JwksError::Fetch {
                url: match &settings.jwks {
                    JwksSource::Url(url) => url.clone(),
                    JwksSource::File(path) => path.display().to_string(),
                },
                message: format!("no HTTP client: {e}"),
            })?;
        let verifier = Arc::new(Self {
            settings,
            keys: RwLock::new(JwkSet { keys: Vec::new() }),
            // The first token naming an unknown key may read the set again
            // at once: keys rotated just after the start are found.
            read_at: Mutex::new(
                Instant::now()
                    .checked_sub(REFRESH_AT_MOST_EVERY)
                    .unwrap_or_else(Instant::now),
            ),
            http,
        });
        match (verifier.read_keys().await, &verifier.settings.jwks) {
            (Ok(keys), _) => *verifier.keys.write() = keys,
            (Err(e), JwksSource::Url(_)) => {
                tracing::error!(error = %e, "no OIDC keys yet: JWTs are refused until jwks_url answers")
            }
            (Err(e), JwksSource::File(_)) => return Err(e),
        }
        if matches!(verifier.settings.jwks, JwksSource::Url(_)) {
            let weak = Arc::downgrade(&verifier);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(REFRESH_EVERY).await;
                    let Some(verifier) = weak.upgrade() else {
                        return;
                    };
                    verifier.refresh().await;
                }
            });
        }
        Ok(verifier)
    }

    /// Whether `token` looks like a JWT (three base64url parts), rather
    /// than an API token.
    pub(crate) fn looks_like_jwt(token: &str) -> bool {
        token.split('.').count() == 3 && !token.starts_with("wft_")
    }

    /// The principal `token` names, or why it is refused.
    pub(crate) fn verify(self: &Arc<Self>, token: &str) -> Result<Principal, AuthError> {
        let header = decode_header(token)
            .map_err(|e| AuthError::Jwt(format!("malformed JWT header: {e}")))?;
        let found = {
            let keys = self.keys.read();
            // Keys published for encryption sign nothing.
            let signing: Vec<&Jwk> = keys
                .keys
                .iter()
                .filter(|k| k.common.public_key_use != Some(PublicKeyUse::Encryption))
                .collect();
            match &header.kid {
                Some(kid) => signing
                    .iter()
                    .find(|k| k.common.key_id.as_deref() == Some(kid.as_str()))
                    .map(|k| (*k).clone()),
                None if signing.len() == 1 => Some(signing[0].clone()),
                None => None,
            }
        };
        let Some(jwk) = found else {
            self.refresh_soon();
            return Err(AuthError::Jwt(match &header.kid {
                Some(kid) => format!(
                    "JWT signed with key id {kid:?}, which is not in the provider's key set \
                     (it is being read again; retry in a moment if the key is new)"
                ),
                None => "JWT names no key id (kid) and the key set has several keys".into(),
            }));
        };
        let algorithm = algorithm_for(&jwk, header.alg)?;
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|e| AuthError::Jwt(format!("the provider's key cannot be used: {e}")))?;
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = LEEWAY_SECS;
        // Off by default in jsonwebtoken: a token not valid yet is refused.
        validation.validate_nbf = true;
        let claims = decode::<Value>(token, &key, &validation)
            .map_err(|e| AuthError::Jwt(refusal(&e, &self.settings)))?
            .claims;
        self.principal(&claims)
    }

    /// The principal of verified `claims`.
    fn principal(&self, claims: &Value) -> Result<Principal, AuthError> {
        let role_claim = &self.settings.role_claim;
        let roles = strings(claims.get(role_claim));
        let role =
            roles
                .iter()
                .filter_map(|r| Role::parse(r))
                .max()
                .ok_or_else(|| {
                    AuthError::Jwt(format!(
                    "JWT has no role: its claim {role_claim:?} must be viewer, operator or admin \
                     (or an array holding one), not {}",
                    claims.get(role_claim).map_or("absent".into(), Value::to_string)
                ))
                })?;
        let namespaces_claim = &self.settings.namespaces_claim;
        let mut names: Vec<String> = strings(claims.get(namespaces_claim));
        if names.is_empty() {
            names.push(DEFAULT.to_string());
        }
        let namespaces = Visibility::from_names(&names)
            .map_err(|why| AuthError::Jwt(format!("JWT claim {namespaces_claim:?}: {why}")))?;
        let subject = claims.get("sub").and_then(Value::as_str).unwrap_or("?");
        Ok(Principal {
            name: format!("JWT sub={subject}"),
            role,
            namespaces,
        })
    }

    /// Reads the key set again in the background, unless it was read in
    /// the last [`REFRESH_AT_MOST_EVERY`].
    fn refresh_soon(self: &Arc<Self>) {
        {
            let mut read_at = self.read_at.lock();
            if read_at.elapsed() < REFRESH_AT_MOST_EVERY {
                return;
            }
            *read_at = Instant::now();
        }
        let verifier = self.clone();
        tokio::spawn(async move { verifier.refresh().await });
    }

    /// Reads the key set again; keeps the old one if that fails.
    async fn refresh(&self) {
        *self.read_at.lock() = Instant::now();
        match self.read_keys().await {
            Ok(keys) => *self.keys.write() = keys,
            Err(e) => {
                tracing::warn!(error = %e, "OIDC keys not read again; the previous ones stay")
            }
        }
    }

    async fn read_keys(&self) -> Result<JwkSet, JwksError> {
        let (name, bytes) = match &self.settings.jwks {
            JwksSource::File(path) => {
                let path = path.clone();
                let bytes = tokio::task::spawn_blocking(move || {
                    std::fs::read(&path).map_err(|source| JwksError::Read { path, source })
                })
                .await
                .map_err(|e| JwksError::Parse {
                    source_name: "jwks_file".into(),
                    message: e.to_string(),
                })??;
                (self.source_name(), bytes)
            }
            JwksSource::Url(url) => {
                let fetch_error = |message: String| JwksError::Fetch {
                    url: url.clone(),
                    message,
                };
                let response = self
                    .http
                    .get(url)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(|e| fetch_error(e.to_string()))?;
                let bytes = response
                    .bytes()
                    .await
                    .map_err(|e| fetch_error(e.to_string()))?;
                (self.source_name(), bytes.to_vec())
            }
        };
        if bytes.len() > MAX_JWKS_BYTES {
            return Err(JwksError::Parse {
                source_name: name,
                message: format!("larger than {MAX_JWKS_BYTES} bytes"),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| JwksError::Parse {
            source_name: name,
            message: e.to_string(),
        })
    }

    fn source_name(&self) -> String {
        match &self.settings.jwks {
            JwksSource::File(path) => format!("jwks_file {}", path.display()),
            JwksSource::Url(url) => format!("jwks_url {url}"),
        }
    }
}

/// The algorithm a token signed with `jwk` must use: the key's own
/// (`alg`), else the one its type and curve mean; the token's header must
/// name the same. Symmetric keys (`oct`) are refused: a shared secret is
/// not an identity provider's key.
fn algorithm_for(jwk: &Jwk, header: Algorithm) -> Result<Algorithm, AuthError> {
    let allowed: &[Algorithm] = match (&jwk.common.key_algorithm, &jwk.algorithm) {
        (_, AlgorithmParameters::OctetKey(_)) => &[],
        (Some(KeyAlgorithm::RS256), _) => &[Algorithm::RS256],
        (Some(KeyAlgorithm::RS384), _) => &[Algorithm::RS384],
        (Some(KeyAlgorithm::RS512), _) => &[Algorithm::RS512],
        (Some(KeyAlgorithm::PS256), _) => &[Algorithm::PS256],
        (Some(KeyAlgorithm::PS384), _) => &[Algorithm::PS384],
        (Some(KeyAlgorithm::PS512), _) => &[Algorithm::PS512],
        (Some(KeyAlgorithm::ES256), _) => &[Algorithm::ES256],
        (Some(KeyAlgorithm::ES384), _) => &[Algorithm::ES384],
        (Some(KeyAlgorithm::EdDSA), _) => &[Algorithm::EdDSA],
        (Some(_), _) => &[],
        (None, AlgorithmParameters::RSA(_)) => &[
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        (None, AlgorithmParameters::EllipticCurve(ec)) => match ec.curve {
            EllipticCurve::P256 => &[Algorithm::ES256],
            EllipticCurve::P384 => &[Algorithm::ES384],
            _ => &[],
        },
        (None, AlgorithmParameters::OctetKeyPair(_)) => &[Algorithm::EdDSA],
    };
    if allowed.contains(&header) {
        Ok(header)
    } else {
        Err(AuthError::Jwt(format!(
            "JWT signed with {header:?}, which its key ({}) is not for",
            jwk.common.key_id.as_deref().unwrap_or("without an id")
        )))
    }
}

/// A claim as strings: a string (split at spaces and commas, as OAuth
/// scopes are) or an array of strings.
fn strings(claim: Option<&Value>) -> Vec<String> {
    let mut out = BTreeSet::new();
    match claim {
        Some(Value::String(text)) => out.extend(
            text.split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        ),
        Some(Value::Array(items)) => {
            out.extend(items.iter().filter_map(Value::as_str).map(str::to_string))
        }
        _ => {}
    }
    out.into_iter().collect()
}

/// Why a signed token was refused, in words naming the claim.
fn refusal(error: &jsonwebtoken::errors::Error, settings: &OidcSettings) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::ExpiredSignature => "JWT expired (its exp is past)".into(),
        ErrorKind::ImmatureSignature => "JWT not valid yet (its nbf is ahead)".into(),
        ErrorKind::InvalidIssuer => {
            format!("JWT issuer (iss) is not {:?}", settings.issuer)
        }
        ErrorKind::InvalidAudience => {
            format!(
                "JWT audience (aud) does not include {:?}",
                settings.audience
            )
        }
        ErrorKind::InvalidSignature => {
            "JWT signature does not verify with the provider's key".into()
        }
        ErrorKind::MissingRequiredClaim(claim) => format!("JWT has no {claim} claim"),
        _ => format!("malformed JWT: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_read_as_strings_or_arrays() {
        let claims = serde_json::json!({"a": "x y,z", "b": ["p", "q", 3], "c": 4});
        assert_eq!(strings(claims.get("a")), ["x", "y", "z"]);
        assert_eq!(strings(claims.get("b")), ["p", "q"]);
        assert!(strings(claims.get("c")).is_empty());
        assert!(strings(claims.get("missing")).is_empty());
    }

    #[test]
    fn a_key_allows_only_its_own_algorithm_and_symmetric_keys_none() {
        let ec: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": "k",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
        }))
        .unwrap();
        assert_eq!(
            algorithm_for(&ec, Algorithm::ES256).unwrap(),
            Algorithm::ES256
        );
        assert!(algorithm_for(&ec, Algorithm::RS256).is_err());
        assert!(algorithm_for(&ec, Algorithm::HS256).is_err());
        let oct: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "oct", "kid": "s", "alg": "HS256", "k": "c2VjcmV0"
        }))
        .unwrap();
        assert!(algorithm_for(&oct, Algorithm::HS256).is_err());
    }
}
