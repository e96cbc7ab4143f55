//! Where a webhook may point (docs/webhooks.md, "Where a webhook may
//! point"): whoever can create a webhook makes the daemon POST to its URL
//! and reads the status codes back, so the addresses it may reach are the
//! operator's to choose.
//!
//! - Some ranges are never reached: link-local (which holds the clouds'
//!   metadata services at 169.254.169.254), the known metadata addresses
//!   outside it, and the unspecified, multicast, broadcast and reserved
//!   ranges, which no HTTP server answers on.
//! - `webhook_allowed_networks`, when set, narrows the rest: every address
//!   used must be inside one of them. It never widens the first list.
//! - A literal address is checked at CreateWebhook and again at each
//!   delivery; a host name at each delivery, by [`PolicyResolver`], which
//!   hands the HTTP client only the addresses it has checked, so the
//!   connection goes to exactly those (a second, rebound answer of the DNS
//!   is never asked for).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// Ranges no webhook is sent to, whatever the configuration says, each
/// with what it is.
const NEVER: &[(&str, &str)] = &[
    ("0.0.0.0/8", "the unspecified network"),
    (
        "169.254.0.0/16",
        "link-local, where cloud metadata services answer",
    ),
    ("100.100.100.200/32", "a cloud metadata service (Alibaba)"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved, or the broadcast address"),
    ("::/128", "the unspecified address"),
    ("fe80::/10", "link-local"),
    ("fd00:ec2::254/128", "a cloud metadata service (AWS, IPv6)"),
    ("ff00::/8", "multicast"),
];

/// NAT64's well-known prefix: an address in it reaches the IPv4 address in
/// its last 32 bits, which is checked as well.
const NAT64: Ipv6Addr = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0);

/// The addresses webhooks may be sent to.
#[derive(Debug, Clone, Default)]
pub(crate) struct DestinationPolicy {
    /// `webhook_allowed_networks`; empty: anything not in [`NEVER`].
    allowed: Vec<IpNet>,
}

impl DestinationPolicy {
    /// The policy with `allowed` networks (empty: any address not always
    /// refused).
    pub(crate) fn new(allowed: Vec<IpNet>) -> Self {
        DestinationPolicy { allowed }
    }

    /// Whether a webhook may be sent to `address`; why not, as a sentence
    /// naming the address.
    pub(crate) fn check(&self, address: IpAddr) -> Result<(), String> {
        let address = address.to_canonical();
        let mut checked = vec![address];
        if let IpAddr::V6(v6) = address {
            let o = v6.octets();
            if Ipv6Addr::from(u128::from(v6) & !0xffff_ffff) == NAT64 {
                checked.push(IpAddr::V4(Ipv4Addr::new(o[12], o[13], o[14], o[15])));
            }
        }
        for ip in &checked {
            if let Some((net, what)) = never(*ip) {
                return Err(format!(
                    "{address} is {what} ({net}), where webhooks are never sent"
                ));
            }
        }
        if !self.allowed.is_empty() && !self.allowed.iter().any(|n| n.contains(&address)) {
            return Err(format!(
                "{address} is outside webhook_allowed_networks ({})",
                self.allowed
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(())
    }

    /// What is wrong with `network` as an entry of
    /// `webhook_allowed_networks`: one inside a range never reached would
    /// allow nothing, which is most likely a mistake.
    pub(crate) fn allowed_network_problem(network: &IpNet) -> Option<String> {
        never_nets()
            .find(|(net, _)| net.contains(network))
            .map(|(net, what)| {
                format!("{network} is inside {net}, {what}, where webhooks are never sent")
            })
    }
}

fn never_nets() -> impl Iterator<Item = (IpNet, &'static str)> {
    NEVER
        .iter()
        .map(|(net, what)| (net.parse().expect("the ranges are valid"), *what))
}

fn never(address: IpAddr) -> Option<(IpNet, &'static str)> {
    never_nets().find(|(net, _)| net.contains(&address))
}

/// A delivery refused by the policy: its host resolved only to refused
/// addresses. Returned by [`PolicyResolver`] through the HTTP client, and
/// found again in the client's error by [`refusal`].
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to no address webhooks may be sent to: {reason}")]
pub(crate) struct Refused {
    host: String,
    reason: String,
}

/// The policy's refusal inside an error of the HTTP client, if that is
/// what it is.
pub(crate) fn refusal<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return Some(refused);
        }
        cause = e.source();
    }
    None
}

/// The HTTP client's resolver: the system's (getaddrinfo, as reqwest's
/// own), then only the addresses the policy allows. A host with some
/// allowed addresses is reached on those (`localhost` can be both ::1 and
/// 127.0.0.1); one with none is refused.
pub(crate) struct PolicyResolver {
    /// The policy.
    pub(crate) policy: Arc<DestinationPolicy>,
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let mut reason = None;
            let allowed: Vec<SocketAddr> = resolved
                .filter(|a| match policy.check(a.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        reason.get_or_insert(why);
                        false
                    }
                })
                .collect();
            match reason {
                Some(reason) if allowed.is_empty() => Err(Box::new(Refused { host, reason }) as _),
                _ => Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn by_default_metadata_and_non_unicast_are_refused_the_rest_allowed() {
        let policy = DestinationPolicy::default();
        for refused in [
            "169.254.169.254",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "fe80::1",
            "fd00:ec2::254",
            "100.100.100.200",
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "ff02::1",
            "255.255.255.255",
        ] {
            let why = policy.check(ip(refused)).unwrap_err();
            assert!(why.contains("never sent"), "{refused}: {why}");
        }
        for allowed in [
            "127.0.0.1",
            "::1",
            "10.1.2.3",
            "192.168.1.1",
            "8.8.8.8",
            "2001:db8::1",
        ] {
            assert_eq!(policy.check(ip(allowed)), Ok(()), "{allowed}");
        }
    }

    #[test]
    fn allowed_networks_narrow_and_never_widen() {
        let policy = DestinationPolicy::new(vec![
            "10.0.0.0/8".parse().unwrap(),
            "0.0.0.0/0".parse().unwrap(),
        ]);
        assert_eq!(policy.check(ip("10.9.8.7")), Ok(()));
        assert!(policy.check(ip("169.254.169.254")).is_err());
        let narrow = DestinationPolicy::new(vec!["10.0.0.0/8".parse().unwrap()]);
        let why = narrow.check(ip("::ffff:127.0.0.1")).unwrap_err();
        assert_eq!(
            why,
            "127.0.0.1 is outside webhook_allowed_networks (10.0.0.0/8)"
        );
        assert!(
            DestinationPolicy::allowed_network_problem(&"169.254.1.0/24".parse().unwrap())
                .unwrap()
                .contains("link-local")
        );
        assert_eq!(
            DestinationPolicy::allowed_network_problem(&"10.0.0.0/8".parse().unwrap()),
            None
        );
    }

    #[tokio::test]
    async fn the_resolver_hands_over_only_allowed_addresses() {
        use reqwest::dns::Resolve;
        let refusing = PolicyResolver {
            policy: Arc::new(DestinationPolicy::new(vec!["10.0.0.0/8".parse().unwrap()])),
        };
        let error = match refusing.resolve("localhost".parse().unwrap()).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e,
        };
        let refused = refusal(&*error).expect("a refusal");
        assert!(
            refused
                .to_string()
                .contains("localhost resolves to no address"),
            "{refused}"
        );
        let allowing = PolicyResolver {
            policy: Arc::new(DestinationPolicy::new(vec!["127.0.0.0/8".parse().unwrap()])),
        };
        let addrs: Vec<SocketAddr> = allowing
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(!addrs.is_empty());
        assert!(
            addrs.iter().all(|a| a.ip().is_loopback() && a.is_ipv4()),
            "{addrs:?}"
        );
    }
}
