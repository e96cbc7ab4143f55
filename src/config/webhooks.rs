//! `webhook_allowed_networks`: the networks webhooks may be sent to, as
//! the config file writes them (docs/webhooks.md, "Where a webhook may
//! point").

use ipnet::IpNet;

use super::ConfigError;
use crate::webhooks::DestinationPolicy;

const SETTING: &str = "webhook_allowed_networks";

/// The networks, each a CIDR (`10.0.0.0/8`, `fd00::/8`) or one address;
/// None: any address but those never reached. An empty list, a network
/// that is not one, or one inside a range webhooks never reach is refused.
pub(super) fn allowed_networks(written: Option<Vec<String>>) -> Result<Vec<IpNet>, ConfigError> {
    let Some(written) = written else {
        return Ok(Vec::new());
    };
    let invalid = |message: String| ConfigError::Invalid {
        setting: SETTING,
        message,
    };
    if written.is_empty() {
        return Err(invalid(
            "is empty, which would refuse every webhook; leave it out to allow any address \
             but those never reached"
                .into(),
        ));
    }
    written
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let network = text
                .parse::<IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    invalid(format!(
                        "[{i}] {text:?} is not a network (10.0.0.0/8, fd00::/8) or an address"
                    ))
                })?
                .trunc();
            match DestinationPolicy::allowed_network_problem(&network) {
                Some(problem) => Err(invalid(format!("[{i}] {problem}"))),
                None => Ok(network),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(written: &[&str]) -> String {
        let written = written.iter().map(|s| s.to_string()).collect();
        allowed_networks(Some(written)).unwrap_err().to_string()
    }

    #[test]
    fn networks_and_addresses_are_read_and_mistakes_named() {
        let read = allowed_networks(Some(vec!["10.1.2.3/8".into(), "::1".into()])).unwrap();
        assert_eq!(
            read,
            [
                "10.0.0.0/8".parse::<IpNet>().unwrap(),
                "::1/128".parse().unwrap()
            ]
        );
        assert_eq!(allowed_networks(None).unwrap(), []);
        assert!(message(&[]).contains("webhook_allowed_networks: is empty"));
        let bad = message(&["10.0.0.0/8", "10.0.0.0/33"]);
        assert!(
            bad.contains("webhook_allowed_networks: [1] \"10.0.0.0/33\""),
            "{bad}"
        );
        let never = message(&["169.254.169.254"]);
        assert!(
            never.contains("[0] 169.254.169.254/32 is inside 169.254.0.0/16"),
            "{never}"
        );
    }
}
