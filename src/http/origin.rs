//! What a web page may not do. CORS keeps other origins from reading
//! answers, but a browser sends some requests without asking first (a
//! form-encoded or text POST), and a page whose domain is made to resolve
//! to 127.0.0.1 (DNS rebinding) counts as same-origin to the browser. So,
//! for browser-reachable requests (the HTTP routes and gRPC-web; native
//! gRPC cannot come from a browser):
//! - an `Origin` other than the daemon's own or a `--http-cors-origin` is
//!   refused before anything runs (no cross-site request forgery);
//! - on a loopback connection, a `Host` that is not an IP address,
//!   `localhost` or this machine's name is refused (no DNS rebinding).
//!
//! curl and scripts send no `Origin` and use such a host, so they are not
//! affected.

use std::net::IpAddr;

use http::{header, HeaderMap, HeaderValue};
use tonic::transport::server::TcpConnectInfo;

/// Why a browser-reachable request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OriginRefusal {
    /// A page of another origin sent it.
    #[error(
        "a request from origin {origin} is refused: start the daemon with \
         --http-cors-origin {origin} to let its pages call it"
    )]
    CrossOrigin { origin: String },
    /// It came to the loopback address under a name that is not this
    /// machine's.
    #[error(
        "host {host} does not name this daemon (it listens on loopback): use \
         127.0.0.1, localhost or this machine's name"
    )]
    ForeignHost { host: String },
}

/// The origins allowed besides the daemon's own, and this machine's name.
#[derive(Debug, Clone)]
pub(crate) struct OriginGuard {
    allowed: Vec<String>,
    machine_name: String,
}

impl OriginGuard {
    /// A guard allowing `cors_origins` (already validated as origins).
    pub(crate) fn new(cors_origins: &[HeaderValue]) -> Self {
        Self {
            allowed: cors_origins
                .iter()
                .filter_map(|origin| origin.to_str().ok())
                .map(str::to_ascii_lowercase)
                .collect(),
            machine_name: rustix::system::uname()
                .nodename()
                .to_string_lossy()
                .to_ascii_lowercase(),
        }
    }

    /// Why a request with `headers` and `authority` (HTTP/2's, which has
    /// no Host header) that came over `connection` (None: the Unix socket)
    /// must be refused, if it must.
    pub(crate) fn check(
        &self,
        headers: &HeaderMap,
        authority: Option<&str>,
        connection: Option<&TcpConnectInfo>,
    ) -> Result<(), OriginRefusal> {
        let host = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .or(authority)
            .unwrap_or_default()
            .to_ascii_lowercase();
        // A dual-stack listener sees 127.0.0.1 as ::ffff:127.0.0.1.
        let on_loopback = connection
            .and_then(TcpConnectInfo::local_addr)
            .is_some_and(|local| local.ip().to_canonical().is_loopback());
        if on_loopback && !host.is_empty() && !self.names_this_machine(&host) {
            return Err(OriginRefusal::ForeignHost { host });
        }
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let origin = origin.to_str().unwrap_or("null").to_ascii_lowercase();
        let own = !host.is_empty()
            && (origin == format!("http://{host}") || origin == format!("https://{host}"));
        if own || self.allowed.contains(&origin) {
            Ok(())
        } else {
            Err(OriginRefusal::CrossOrigin { origin })
        }
    }

    /// Whether `host` (`name[:port]`) is an IP address, localhost, this
    /// machine's name or the host of a configured origin (a proxy in front
    /// of the daemon under its own name).
    fn names_this_machine(&self, host: &str) -> bool {
        let name = name_of(host);
        name.parse::<IpAddr>().is_ok()
            || name == "localhost"
            || name.ends_with(".localhost")
            || name == self.machine_name
            || self.allowed.iter().any(|origin| {
                let origin_host = origin.split_once("://").map_or("", |(_, host)| host);
                name_of(origin_host) == name
            })
    }
}

/// The name of a `name[:port]` or `[v6]:port` host, without a final dot.
fn name_of(host: &str) -> &str {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.strip_suffix('.').unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn loopback() -> TcpConnectInfo {
        TcpConnectInfo {
            local_addr: Some(SocketAddr::from(([127, 0, 0, 1], 50051))),
            remote_addr: Some(SocketAddr::from(([127, 0, 0, 1], 40000))),
        }
    }

    fn headers(host: &str, origin: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        headers
    }

    #[test]
    fn scripts_and_the_daemon_s_own_pages_pass() {
        let guard = OriginGuard::new(&[]);
        let on = Some(&loopback());
        assert_eq!(
            guard.check(&headers("127.0.0.1:50051", None), None, on),
            Ok(())
        );
        assert_eq!(
            guard.check(&headers("localhost:50051", None), None, on),
            Ok(())
        );
        assert_eq!(guard.check(&headers("[::1]:50051", None), None, on), Ok(()));
        let own = headers("127.0.0.1:50051", Some("http://127.0.0.1:50051"));
        assert_eq!(guard.check(&own, None, on), Ok(()));
    }

    #[test]
    fn other_origins_are_refused_unless_configured() {
        let evil = headers("127.0.0.1:50051", Some("https://evil.example"));
        let refused = OriginGuard::new(&[]).check(&evil, None, Some(&loopback()));
        assert!(matches!(refused, Err(OriginRefusal::CrossOrigin { .. })));
        let opened = OriginGuard::new(&[HeaderValue::from_static("https://Evil.example")]);
        assert_eq!(opened.check(&evil, None, Some(&loopback())), Ok(()));
        let null = headers("127.0.0.1:50051", Some("null"));
        assert!(OriginGuard::new(&[]).check(&null, None, None).is_err());
    }

    #[test]
    fn loopback_is_seen_on_a_dual_stack_listener_and_over_http2() {
        let guard = OriginGuard::new(&[]);
        let mapped = TcpConnectInfo {
            local_addr: Some("[::ffff:127.0.0.1]:50051".parse().unwrap()),
            remote_addr: None,
        };
        let rebound = headers("attacker.example:50051", None);
        assert!(guard.check(&rebound, None, Some(&mapped)).is_err());
        // HTTP/2: no Host header, the authority of the URI.
        let mut h2 = HeaderMap::new();
        h2.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:50051"),
        );
        assert_eq!(
            guard.check(&h2, Some("127.0.0.1:50051"), Some(&loopback())),
            Ok(())
        );
        assert!(guard
            .check(
                &HeaderMap::new(),
                Some("attacker.example:1"),
                Some(&loopback())
            )
            .is_err());
        // A trailing dot, and the host of a configured origin (a proxy).
        assert_eq!(
            guard.check(&headers("localhost.:1", None), None, Some(&loopback())),
            Ok(())
        );
        let proxied = OriginGuard::new(&[HeaderValue::from_static("https://flows.example")]);
        let behind = headers("flows.example", Some("https://flows.example"));
        assert_eq!(proxied.check(&behind, None, Some(&loopback())), Ok(()));
    }

    #[test]
    fn a_rebound_name_on_loopback_is_refused() {
        let guard = OriginGuard::new(&[]);
        let rebound = headers("attacker.example:50051", None);
        assert!(matches!(
            guard.check(&rebound, None, Some(&loopback())),
            Err(OriginRefusal::ForeignHost { .. })
        ));
        // On another address, or the Unix socket, names are the operator's.
        let lan = TcpConnectInfo {
            local_addr: Some(SocketAddr::from(([10, 0, 0, 5], 50051))),
            remote_addr: None,
        };
        assert_eq!(guard.check(&rebound, None, Some(&lan)), Ok(()));
        assert_eq!(guard.check(&rebound, None, None), Ok(()));
    }
}
