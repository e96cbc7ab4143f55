//! OIDC bearer tokens (docs/security.md, "OIDC"): a JWT from the
//! configured provider is a caller with the role and namespaces its claims
//! give; an expired one, one for another audience or issuer, one signed by
//! another key or with another algorithm, one naming an unknown key or
//! carrying no role are UNAUTHENTICATED saying which; rotated keys at a
//! JWKS URL are read again. Keys are made in the test (ECDSA P-256) and
//! the key set is served by a real HTTP server on loopback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tonic::Code;
use workflow_manager::pb;

use crate::helper::*;

const ISSUER: &str = "https://idp.test";
const AUDIENCE: &str = "workflowd";

/// An identity provider's signing key and its JWK.
struct ProviderKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

impl ProviderKey {
    fn new(kid: &str) -> Self {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        // Uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = pair.public_key_raw();
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        ProviderKey {
            kid: kid.to_string(),
            encoding: EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap(),
            jwk,
        }
    }

    /// A JWT of `claims` signed with this key, named `kid`.
    fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let header = Header {
            kid: Some(kid.to_string()),
            ..Header::new(Algorithm::ES256)
        };
        encode(&header, claims, &self.encoding).unwrap()
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }
}

fn jwks(keys: &[&ProviderKey]) -> String {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() }).to_string()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Claims of a token valid for ten minutes, with `extra` on top.
fn claims(extra: Value) -> Value {
    let mut claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "alice",
        "iat": now(), "exp": now() + 600,
        "workflowd_role": "operator",
    });
    for (key, value) in extra.as_object().unwrap() {
        claims[key] = value.clone();
    }
    claims
}

fn oidc_config(jwks_key: &str) -> String {
    format!(
        "auth = \"tokens\"\n[namespaces.team-a]\n[oidc]\nissuer = \"{ISSUER}\"\n\
         audience = \"{AUDIENCE}\"\n{jwks_key}\n"
    )
}

#[tokio::test]
async fn a_jwt_is_a_caller_with_its_claims_role_and_namespaces_and_bad_ones_say_why() {
    let key = ProviderKey::new("k1");
    let other = ProviderKey::new("k1");
    let dir = tempfile::tempdir().unwrap();
    let jwks_file = dir.path().join("jwks.json");
    std::fs::write(&jwks_file, jwks(&[&key])).unwrap();
    let daemon = Daemon::builder()
        .config_file(
            "oidc.toml",
            &oidc_config(&format!(
                "jwks_file = {:?}",
                jwks_file.display().to_string()
            )),
        )
        .start()
        .await;

    // An operator seeing default and team-a (a string claim, as scopes are).
    let operator = key.sign(&claims(json!({"workflowd_namespaces": "default team-a"})));
    let started = daemon
        .client()
        .execute(with_bearer(request("hello", &[]), &operator))
        .await
        .expect("an operator JWT runs hello")
        .into_inner()
        .execution
        .unwrap();
    assert_eq!(started.namespace, "default");
    // The same through the HTTP routes.
    let (status, listed) = json_answer(
        http_client()
            .get(daemon.url("/v1/executions"))
            .bearer_auth(&operator)
            .send()
            .await,
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{listed}");
    assert_eq!(listed["executions"].as_array().map(Vec::len), Some(1));

    // A viewer (the highest of an array) may read, not run; a token
    // seeing only team-a does not see the run in default.
    let viewer = key.sign(&claims(json!({
        "workflowd_role": ["viewer", "nobody"],
        "workflowd_namespaces": ["team-a"],
    })));
    let denied = daemon
        .client()
        .execute(with_bearer(request("hello", &[]), &viewer))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(
        denied.message().contains("JWT sub=alice has viewer"),
        "{}",
        denied.message()
    );
    let seen = daemon
        .client()
        .list_executions(with_bearer(pb::ListExecutionsRequest::default(), &viewer))
        .await
        .expect("a viewer lists")
        .into_inner()
        .executions;
    assert!(seen.is_empty(), "{seen:?}");

    // Each refusal says which check failed.
    let hs256 = encode(
        &Header {
            kid: Some("k1".into()),
            ..Header::new(Algorithm::HS256)
        },
        &claims(json!({})),
        &EncodingKey::from_secret(b"a shared secret"),
    )
    .unwrap();
    let refused = [
        (key.sign(&claims(json!({"exp": now() - 120}))), "expired"),
        (
            key.sign(&claims(json!({"nbf": now() + 600}))),
            "not valid yet",
        ),
        (
            key.sign(&claims(json!({"aud": "someone-else"}))),
            "audience",
        ),
        (
            key.sign(&claims(json!({"iss": "https://evil.test"}))),
            "issuer",
        ),
        (other.sign(&claims(json!({}))), "signature does not verify"),
        (key.sign_as("k9", &claims(json!({}))), "key id \"k9\""),
        (
            key.sign(&claims(json!({"workflowd_role": "root"}))),
            "has no role",
        ),
        (hs256, "HS256, which its key (k1) is not for"),
        ("a.b.c".to_string(), "malformed JWT"),
    ];
    for (token, says) in refused {
        let status = daemon
            .client()
            .get_status(with_bearer(pb::GetStatusRequest::default(), &token))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{says}: {status:?}");
        assert!(
            status.message().contains(says),
            "{says}: {}",
            status.message()
        );
    }

    // API tokens still work beside JWTs.
    let admin = daemon.admin_token();
    daemon
        .client()
        .get_status(with_bearer(pb::GetStatusRequest::default(), &admin))
        .await
        .expect("the first admin token");
}

/// Serves `body` (changeable) at `/jwks` on loopback; returns its URL.
async fn serve_jwks(body: Arc<Mutex<String>>) -> String {
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let body = body.lock().unwrap().clone();
            async move { body }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn rotated_keys_at_the_jwks_url_are_read_again() {
    let old = ProviderKey::new("old");
    let new = ProviderKey::new("new");
    let body = Arc::new(Mutex::new(jwks(&[&old])));
    let url = serve_jwks(body.clone()).await;
    let daemon = Daemon::builder()
        .config_file("oidc.toml", &oidc_config(&format!("jwks_url = {url:?}")))
        .start()
        .await;
    let status = |token: String| {
        let mut client = daemon.client();
        async move {
            client
                .get_status(with_bearer(pb::GetStatusRequest::default(), &token))
                .await
        }
    };
    status(old.sign(&claims(json!({}))))
        .await
        .expect("the key read at start");

    // The provider rotates: the new key is found once the set is read
    // again, which the first token naming it sets off.
    *body.lock().unwrap() = jwks(&[&new]);
    let first = status(new.sign(&claims(json!({})))).await.unwrap_err();
    assert!(
        first.message().contains("being read again"),
        "{}",
        first.message()
    );
    eventually("the rotated key", Duration::from_secs(10), || {
        let token = new.sign(&claims(json!({})));
        let call = status(token);
        async move { call.await.ok() }
    })
    .await;
}

#[tokio::test]
async fn a_bad_key_set_or_oidc_setting_refuses_to_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("jwks.json");
    std::fs::write(&garbage, "not json").unwrap();
    for (config, says) in [
        (
            oidc_config(&format!("jwks_file = {:?}", garbage.display().to_string())),
            "is not a JWKS document",
        ),
        (
            oidc_config("jwks_file = \"/nonexistent/jwks.json\""),
            "cannot read jwks_file /nonexistent/jwks.json",
        ),
        (
            oidc_config("jwks_url = \"http://idp.example/keys\""),
            "oidc.jwks_url: \"http://idp.example/keys\" must be https",
        ),
        (
            oidc_config("jwks_file = \"k\"").replace("auth = \"tokens\"\n", ""),
            "needs auth = \"tokens\"",
        ),
    ] {
        let (status, log) = Daemon::builder()
            .config_file("oidc.toml", &config)
            .start_expecting_failure()
            .await;
        assert!(!status.success(), "{config}");
        assert!(log.contains(says), "{says:?} not in {log}");
    }
}
