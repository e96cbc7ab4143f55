//! The config file's `[oidc]` table: OIDC bearer tokens (src/auth/jwt.rs)
//! from one identity provider, its key set in a file or at a URL.

use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;
use crate::auth::{AuthMode, JwksSource, OidcSettings};

/// The claim naming the role when the file does not say.
const DEFAULT_ROLE_CLAIM: &str = "workflowd_role";
/// The claim naming the namespaces when the file does not say.
const DEFAULT_NAMESPACES_CLAIM: &str = "workflowd_namespaces";

/// `[oidc]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OidcSetting {
    issuer: Option<String>,
    audience: Option<String>,
    jwks_file: Option<PathBuf>,
    jwks_url: Option<String>,
    role_claim: Option<String>,
    namespaces_claim: Option<String>,
}

/// `[oidc]`, checked: an issuer, an audience, one key set (a URL over
/// HTTPS, or plain HTTP to this host only: the keys decide who may do
/// everything), and tokens on.
pub(super) fn oidc_settings(
    setting: OidcSetting,
    auth: AuthMode,
    absolute: &dyn Fn(PathBuf) -> PathBuf,
) -> Result<OidcSettings, ConfigError> {
    if auth != AuthMode::Tokens {
        return Err(invalid(
            "oidc: needs auth = \"tokens\" (bearer credentials are only asked for then)".into(),
        ));
    }
    let required = |key: &str, value: Option<String>| {
        value
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| invalid(format!("oidc.{key}: is required")))
    };
    let issuer = required("issuer", setting.issuer)?;
    let audience = required("audience", setting.audience)?;
    let jwks = match (setting.jwks_file, setting.jwks_url) {
        (Some(file), None) => JwksSource::File(absolute(file)),
        (None, Some(url)) => JwksSource::Url(checked_url(&url)?),
        _ => {
            return Err(invalid(
                "oidc: set exactly one of jwks_file and jwks_url (the provider's keys)".into(),
            ))
        }
    };
    let claim = |key: &str, value: Option<String>, default: &str| match value {
        Some(v) if v.trim().is_empty() => Err(invalid(format!("oidc.{key}: must not be empty"))),
        Some(v) => Ok(v.trim().to_string()),
        None => Ok(default.to_string()),
    };
    Ok(OidcSettings {
        issuer,
        audience,
        jwks,
        role_claim: claim("role_claim", setting.role_claim, DEFAULT_ROLE_CLAIM)?,
        namespaces_claim: claim(
            "namespaces_claim",
            setting.namespaces_claim,
            DEFAULT_NAMESPACES_CLAIM,
        )?,
    })
}

/// `url` if it is HTTPS, or HTTP to a loopback address.
fn checked_url(url: &str) -> Result<String, ConfigError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| invalid(format!("oidc.jwks_url: {url:?} is not a URL: {e}")))?;
    let loopback = match parsed.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(url.to_string()),
        "http" if loopback => Ok(url.to_string()),
        _ => Err(invalid(format!(
            "oidc.jwks_url: {url:?} must be https (plain http only to this host): \
             whoever can change the keys can sign any token"
        ))),
    }
}

fn invalid(message: String) -> ConfigError {
    ConfigError::Invalid {
        setting: "oidc",
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, auth: AuthMode) -> Result<OidcSettings, String> {
        let setting: OidcSetting = toml::from_str(text).unwrap();
        oidc_settings(setting, auth, &|p| std::path::Path::new("/etc").join(p))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_provider_needs_an_issuer_an_audience_one_key_set_and_tokens_on() {
        let good = "issuer = 'https://idp'\naudience = 'wf'\njwks_file = 'keys.json'\n";
        let settings = parse(good, AuthMode::Tokens).unwrap();
        assert_eq!(settings.jwks, JwksSource::File("/etc/keys.json".into()));
        assert_eq!(settings.role_claim, "workflowd_role");
        assert!(parse(good, AuthMode::None)
            .unwrap_err()
            .contains("needs auth = \"tokens\""));
        assert!(
            parse("audience = 'wf'\njwks_file = 'k'\n", AuthMode::Tokens)
                .unwrap_err()
                .contains("oidc.issuer: is required")
        );
        assert!(parse(
            "issuer = 'i'\naudience = 'wf'\njwks_file = 'k'\njwks_url = 'https://x'\n",
            AuthMode::Tokens
        )
        .unwrap_err()
        .contains("exactly one of jwks_file and jwks_url"));
    }

    #[test]
    fn keys_come_over_https_or_from_this_host_only() {
        let with = |url: &str| {
            parse(
                &format!("issuer = 'i'\naudience = 'a'\njwks_url = '{url}'\n"),
                AuthMode::Tokens,
            )
        };
        assert!(with("https://idp.example/keys").is_ok());
        assert!(with("http://127.0.0.1:8080/keys").is_ok());
        assert!(with("http://localhost/keys").is_ok());
        assert!(with("http://idp.example/keys")
            .unwrap_err()
            .contains("must be https"));
        assert!(with("not a url").unwrap_err().contains("is not a URL"));
    }
}
