//! The daemon address as every client in this crate (`wfctl`,
//! `workflow-mcp`) takes it: from the `--addr` flag, else `WORKFLOWD_ADDR`,
//! else the deprecated `WFCTL_ADDR`, else the default; and one parser for
//! its forms (`host:port`, `http://host:port`, `https://host:port`,
//! `unix:/path/to/socket`), so a form that works in one client works in
//! all. The Go and Python clients read the same variable.

use tonic::transport::Endpoint;

/// The environment variable every client reads the daemon address from.
pub(crate) const ADDR_ENV: &str = "WORKFLOWD_ADDR";

/// `wfctl`'s old variable, still read (with a warning) for one release when
/// [`ADDR_ENV`] is not set.
pub(crate) const DEPRECATED_ADDR_ENV: &str = "WFCTL_ADDR";

/// Where clients look for the daemon when nothing says otherwise.
pub(crate) const DEFAULT_ADDR: &str = "http://127.0.0.1:50051";

/// A daemon address that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid daemon address {addr:?}: {reason}")]
pub(crate) struct ClientAddrError {
    /// The address as it was given.
    pub addr: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The address to use: `flag` when given, else [`ADDR_ENV`], else
/// [`DEPRECATED_ADDR_ENV`] (calling `warn` with a deprecation notice), else
/// [`DEFAULT_ADDR`]. Empty values count as unset.
pub(crate) fn resolve(flag: Option<&str>, warn: impl FnOnce(&str)) -> String {
    resolve_from(flag, |name| std::env::var(name).ok(), warn)
}

/// [`resolve`] with the environment read through `env`.
fn resolve_from(
    flag: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    warn: impl FnOnce(&str),
) -> String {
    let set = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    if let Some(flag) = flag.filter(|f| !f.trim().is_empty()) {
        return flag.to_string();
    }
    if let Some(addr) = set(env(ADDR_ENV)) {
        return addr;
    }
    if let Some(addr) = set(env(DEPRECATED_ADDR_ENV)) {
        warn(&format!(
            "{DEPRECATED_ADDR_ENV} is deprecated and will be ignored in the next release; \
             set {ADDR_ENV} instead"
        ));
        return addr;
    }
    DEFAULT_ADDR.to_string()
}

/// The URI tonic connects to for `addr`: `host:port` gets `http://`;
/// `http://`, `https://` and `unix:` (`unix:/path` or `unix:///path`)
/// addresses are kept. Anything else is refused with the reason.
pub(crate) fn endpoint_uri(addr: &str) -> Result<String, ClientAddrError> {
    let addr = addr.trim();
    let error = |reason: &str| ClientAddrError {
        addr: addr.to_string(),
        reason: reason.to_string(),
    };
    if addr.is_empty() {
        return Err(error("it is empty"));
    }
    if let Some(path) = addr.strip_prefix("unix:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        return if path.starts_with('/') {
            Ok(addr.to_string())
        } else {
            Err(error(
                "a Unix socket address needs an absolute path: unix:/path/to/socket",
            ))
        };
    }
    if let Some((scheme, _)) = addr.split_once("://") {
        return if scheme == "http" || scheme == "https" {
            Ok(addr.to_string())
        } else {
            Err(error(
                "the scheme must be http://, https:// or unix: (or give host:port)",
            ))
        };
    }
    Ok(format!("http://{addr}"))
}

/// A tonic endpoint for `addr` ([`endpoint_uri`]); connecting is up to the
/// caller.
pub(crate) fn endpoint(addr: &str) -> Result<Endpoint, ClientAddrError> {
    let uri = endpoint_uri(addr)?;
    Endpoint::from_shared(uri).map_err(|e| ClientAddrError {
        addr: addr.trim().to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_maps_to_one_uri() {
        assert_eq!(endpoint_uri("127.0.0.1:1").unwrap(), "http://127.0.0.1:1");
        assert_eq!(endpoint_uri(" localhost:1 ").unwrap(), "http://localhost:1");
        assert_eq!(endpoint_uri("https://h:1").unwrap(), "https://h:1");
        assert_eq!(endpoint_uri("unix:/tmp/s").unwrap(), "unix:/tmp/s");
        assert_eq!(endpoint_uri("unix:///tmp/s").unwrap(), "unix:///tmp/s");
        for bad in ["", "unix:relative.sock", "ftp://h:1"] {
            assert!(endpoint_uri(bad).is_err(), "{bad:?}");
        }
        assert!(endpoint("unix:/tmp/s").is_ok());
        assert!(endpoint("127.0.0.1:1").is_ok());
    }

    #[test]
    fn the_flag_wins_then_the_new_variable_then_the_old_one_with_a_warning() {
        let env = |new: Option<&str>, old: Option<&str>| {
            let (new, old) = (new.map(str::to_string), old.map(str::to_string));
            move |name: &str| match name {
                ADDR_ENV => new.clone(),
                DEPRECATED_ADDR_ENV => old.clone(),
                _ => None,
            }
        };
        let no_warning = |w: &str| panic!("unexpected warning {w}");
        assert_eq!(
            resolve_from(Some("f:1"), env(Some("n:1"), Some("o:1")), no_warning),
            "f:1"
        );
        assert_eq!(
            resolve_from(None, env(Some("n:1"), Some("o:1")), no_warning),
            "n:1"
        );
        let mut warned = String::new();
        assert_eq!(
            resolve_from(None, env(None, Some("o:1")), |w| warned = w.to_string()),
            "o:1"
        );
        assert!(warned.contains("WFCTL_ADDR is deprecated") && warned.contains("WORKFLOWD_ADDR"));
        assert_eq!(
            resolve_from(None, env(Some(""), None), no_warning),
            DEFAULT_ADDR
        );
    }
}
