//! Standard Webhooks signing (https://www.standardwebhooks.com): the
//! secret `whsec_<base64 key>`, and the `webhook-signature` header
//! `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of a secret.
const PREFIX: &str = "whsec_";

/// A secret's key length limits, in bytes (the spec's 24 to 64).
const KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// A new secret: 32 bytes from the OS's random source.
pub(crate) fn new_secret() -> String {
    format!(
        "{PREFIX}{}",
        STANDARD.encode(crate::random::random_bytes::<32>())
    )
}

/// The key of `secret`, or what is wrong with it.
pub(crate) fn key(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret
        .strip_prefix(PREFIX)
        .ok_or_else(|| format!("must start with {PREFIX:?}"))?;
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| format!("must be {PREFIX} followed by base64"))?;
    if !KEY_BYTES.contains(&key.len()) {
        return Err(format!(
            "must encode {} to {} bytes, not {}",
            KEY_BYTES.start(),
            KEY_BYTES.end(),
            key.len()
        ));
    }
    Ok(key)
}

/// The `webhook-signature` header of a message.
pub(crate) fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_signs_as_the_spec_says() {
        // The example of the Standard Webhooks specification.
        let key = key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn new_secrets_are_valid_and_differ() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(key(&a).unwrap().len(), 32);
        assert!(key("nope").is_err());
        assert!(key("whsec_c2hvcnQ=").unwrap_err().contains("24 to 64"));
    }
}
