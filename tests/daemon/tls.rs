//! TLS and mutual TLS (docs/security.md) on a real daemon, with
//! certificates made here (rcgen): a CA, a server certificate for
//! 127.0.0.1 and localhost, client certificates with a mapped and an
//! unmapped common name, and one from another CA. wfctl over https://,
//! gRPC and the HTTP/1.1 JSON routes over TLS, plain text refused, roles
//! from certificate names, and TLS files that stop the start.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::Code;

use crate::helper::*;

/// A certificate authority made for one test.
struct TestCa {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

impl TestCa {
    fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::default();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa { params, key, pem }
    }

    /// A certificate and its key (both PEM) for `names` (subject
    /// alternative names) with the subject CN `common_name`.
    fn issue(&self, common_name: &str, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Pem {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        Pem {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    /// A client certificate with the subject CN `common_name`.
    fn client(&self, common_name: &str) -> Pem {
        self.issue(common_name, &[], ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// A certificate and its private key, PEM.
struct Pem {
    cert: String,
    key: String,
}

impl Pem {
    fn identity(&self) -> Identity {
        Identity::from_pem(&self.cert, &self.key)
    }

    /// Writes both into `dir` as `<name>.crt` and `<name>.key`.
    fn write(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, &self.cert).unwrap();
        std::fs::write(&key, &self.key).unwrap();
        (cert, key)
    }
}

/// The certificates of a test, written into a temp dir.
struct Pki {
    dir: tempfile::TempDir,
    ca: TestCa,
    ca_file: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("workflowd test CA");
        let ca_file = dir.path().join("ca.crt");
        std::fs::write(&ca_file, &ca.pem).unwrap();
        let server = ca.issue(
            "workflowd",
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (server_cert, server_key) = server.write(dir.path(), "server");
        Pki {
            dir,
            ca,
            ca_file,
            server_cert,
            server_key,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// tonic's TLS settings trusting the test CA, with `client` when given.
    fn client_tls(&self, client: Option<&Pem>) -> ClientTlsConfig {
        let config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&self.ca.pem));
        match client {
            Some(client) => config.identity(client.identity()),
            None => config,
        }
    }

    /// A daemon serving TLS with the server certificate.
    fn daemon(&self) -> DaemonBuilder {
        Daemon::builder()
            .flag("--tls-cert", self.server_cert.display())
            .flag("--tls-key", self.server_key.display())
    }
}

/// A channel to `addr` over TLS with `tls`; the connection is made on the
/// first call, so a refused handshake shows there.
fn tls_channel(addr: &str, tls: ClientTlsConfig) -> Channel {
    Endpoint::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect_lazy()
}

async fn get_status(channel: Channel) -> Result<pb::GetStatusResponse, tonic::Status> {
    pb::workflow_service_client::WorkflowServiceClient::new(channel)
        .get_status(pb::GetStatusRequest::default())
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn clients_reach_a_tls_daemon_over_grpc_wfctl_and_http1() {
    let pki = Pki::new();
    let daemon = pki.daemon().client_tls(pki.client_tls(None)).start().await;
    // The harness's own channel is TLS: a run goes through.
    let run = daemon.execute("hello", &[("name", text("tls"))]).await;
    assert_eq!(
        daemon.wait_end(&run.id).await.state(),
        ExecutionState::Succeeded
    );
    let ca = pki.ca_file.display().to_string();
    let https = format!("https://{}", daemon.addr);
    wfctl(&https, &["--tls-ca", &ca, "status"]).await.expect(0);
    // host:port with a CA is https://; the variable works as the flag does.
    let env = [
        ("WORKFLOWD_ADDR", daemon.addr.as_str()),
        ("WORKFLOW_TLS_CA", ca.as_str()),
    ];
    wfctl_env(&env, &["run", "hello", "--wait"], None, "")
        .await
        .expect(0);
    // The platform's roots do not know the test CA.
    let untrusted = wfctl(&https, &["status"]).await;
    assert_eq!(untrusted.code, 3, "{untrusted:?}");
    // Plain text to the TLS port gets no answer. (Not through wfctl: the
    // daemon closes the connection while wfctl writes, and wfctl keeps
    // SIGPIPE's default action for `wfctl ... | head`, so it dies of it.)
    let plain = Endpoint::from_shared(format!("http://{}", daemon.addr))
        .unwrap()
        .connect_lazy();
    let refused = get_status(plain).await.unwrap_err();
    assert!(
        matches!(
            refused.code(),
            Code::Unavailable | Code::Unknown | Code::Internal
        ),
        "{refused:?}"
    );
    // The JSON routes over HTTP/1.1: ALPN offers http/1.1 beside h2.
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca.pem.as_bytes()).unwrap())
        .http1_only()
        .build()
        .unwrap();
    let answer = http
        .get(format!("https://localhost:{}/v1/status", port_of(&daemon)))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.version(), reqwest::Version::HTTP_11);
    assert_eq!(answer.status(), 200);
    let status: serde_json::Value = answer.json().await.unwrap();
    assert!(status["version"].is_string(), "{status}");
}

fn port_of(daemon: &Daemon) -> &str {
    daemon.addr.rsplit(':').next().unwrap()
}

#[tokio::test]
async fn client_certificates_are_required_and_their_names_give_roles() {
    let pki = Pki::new();
    let runner = pki.ca.client("ci-runner");
    let watcher = pki.ca.client("dashboard");
    let stranger = pki.ca.client("stranger");
    let forged = TestCa::new("another CA").client("ci-runner");
    let config = "auth = \"tokens\"\n\
                  [namespaces.team-x]\n\
                  [tls_clients.\"ci-runner\"]\nrole = \"operator\"\n\
                  [tls_clients.dashboard]\nrole = \"viewer\"\nnamespaces = [\"team-x\"]\n";
    let daemon = pki
        .daemon()
        .flag("--tls-client-ca", pki.ca_file.display())
        .config_file("tls.toml", config)
        .client_tls(pki.client_tls(Some(&runner)))
        .start()
        .await;
    // A mapped certificate needs no token, and its role decides.
    let run = daemon.execute("hello", &[("name", text("mtls"))]).await;
    daemon.wait_end(&run.id).await;
    let as_viewer = tls_channel(&daemon.addr, pki.client_tls(Some(&watcher)));
    get_status(as_viewer.clone()).await.expect("a viewer reads");
    // The certificate's namespaces decide what it sees: the run above is
    // in `default`, which the dashboard's certificate does not see.
    let seen = pb::workflow_service_client::WorkflowServiceClient::new(as_viewer.clone())
        .list_executions(pb::ListExecutionsRequest::default())
        .await
        .expect("a viewer lists")
        .into_inner()
        .executions;
    assert!(seen.is_empty(), "{seen:?}");
    assert_eq!(
        daemon
            .list_executions(Default::default())
            .await
            .executions
            .len(),
        1
    );
    let denied = pb::workflow_service_client::WorkflowServiceClient::new(as_viewer)
        .execute(request("hello", &[]))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(
        denied.message().contains(
            "Execute needs the operator role; client certificate CN=dashboard has viewer"
        ),
        "{denied:?}"
    );
    // A certificate of the CA whose name is not in tls_clients: no caller,
    // unless it sends a token.
    let unmapped = get_status(tls_channel(&daemon.addr, pki.client_tls(Some(&stranger))))
        .await
        .unwrap_err();
    assert_eq!(unmapped.code(), Code::Unauthenticated, "{unmapped:?}");
    assert!(
        unmapped.message().contains("CN=stranger") && unmapped.message().contains("tls_clients"),
        "{unmapped:?}"
    );
    let admin = std::fs::read_to_string(daemon.data_dir().join("admin.token")).unwrap();
    let ca = pki.ca_file.display().to_string();
    let (stranger_cert, stranger_key) = stranger.write(pki.dir.path(), "stranger");
    let (cert, key) = (stranger_cert.display(), stranger_key.display());
    let https = format!("https://{}", daemon.addr);
    let (cert, key) = (cert.to_string(), key.to_string());
    let with_token = wfctl(
        &https,
        &[
            "--tls-ca",
            &ca,
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--token",
            admin.trim(),
            "token",
            "list",
        ],
    )
    .await;
    assert_eq!(with_token.code, 0, "{with_token:?}");
    // wfctl with a mapped certificate, from the variables.
    let (runner_cert, runner_key) = runner.write(pki.dir.path(), "runner");
    let (runner_cert, runner_key) = (
        runner_cert.display().to_string(),
        runner_key.display().to_string(),
    );
    let env = [
        ("WORKFLOWD_ADDR", https.as_str()),
        ("WORKFLOW_TLS_CA", ca.as_str()),
        ("WORKFLOW_TLS_CERT", runner_cert.as_str()),
        ("WORKFLOW_TLS_KEY", runner_key.as_str()),
    ];
    wfctl_env(&env, &["status"], None, "").await.expect(0);
    // No certificate, or one another CA signed: refused in the handshake.
    for (who, tls) in [
        ("no certificate", pki.client_tls(None)),
        ("another CA's", pki.client_tls(Some(&forged))),
    ] {
        let refused = get_status(tls_channel(&daemon.addr, tls))
            .await
            .unwrap_err();
        assert!(
            !matches!(refused.code(), Code::Ok | Code::Unauthenticated),
            "{who}: {refused:?}"
        );
    }
    // The daemon logs the refusal once its side of the handshake ends,
    // which may be after the client has seen the alert.
    eventually(
        "the daemon to log both refused handshakes",
        POLL_DEADLINE,
        || {
            let log = daemon.log();
            async move { (log.matches("TLS handshake failed").count() >= 2).then_some(()) }
        },
    )
    .await;
}

#[tokio::test]
async fn client_certificates_count_as_authentication_beyond_loopback() {
    let pki = Pki::new();
    let runner = pki.ca.client("ci-runner");
    let daemon = pki
        .daemon()
        .listen("0.0.0.0:0")
        .flag("--tls-client-ca", pki.ca_file.display())
        .config_file(
            "tls.toml",
            "[tls_clients.\"ci-runner\"]\nrole = \"admin\"\n",
        )
        .client_tls(pki.client_tls(Some(&runner)))
        .start()
        .await;
    assert_eq!(daemon.status().await.version, env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn tls_files_that_cannot_be_used_stop_the_start_naming_the_setting() {
    let pki = Pki::new();
    let other = pki
        .ca
        .issue("other", &["localhost"], ExtendedKeyUsagePurpose::ServerAuth);
    let (_, other_key) = other.write(pki.dir.path(), "other");
    std::fs::write(pki.path("garbage.pem"), "not a certificate\n").unwrap();
    let missing = pki.path("missing.pem");
    let cert = pki.server_cert.display().to_string();
    let key = pki.server_key.display().to_string();
    // The flags, and what the refusal must say.
    type Case<'a> = (Vec<(&'a str, String)>, &'a [&'a str]);
    let cases: Vec<Case<'_>> = vec![
        (
            vec![
                ("--tls-cert", missing.display().to_string()),
                ("--tls-key", key.clone()),
            ],
            &["setting tls_cert", "missing.pem"],
        ),
        (
            vec![
                ("--tls-cert", cert.clone()),
                ("--tls-key", pki.path("garbage.pem").display().to_string()),
            ],
            &["setting tls_key", "garbage.pem", "private key"],
        ),
        (
            vec![
                ("--tls-cert", pki.path("garbage.pem").display().to_string()),
                ("--tls-key", key.clone()),
            ],
            &["setting tls_cert", "garbage.pem", "certificate"],
        ),
        (
            vec![
                ("--tls-cert", cert.clone()),
                ("--tls-key", other_key.display().to_string()),
            ],
            &["tls_cert and tls_key", "other.key", "server.crt"],
        ),
        (
            vec![("--tls-cert", cert.clone())],
            &["setting tls_cert", "tls_key"],
        ),
        (
            vec![
                ("--tls-cert", cert.clone()),
                ("--tls-key", key.clone()),
                (
                    "--tls-client-ca",
                    pki.path("garbage.pem").display().to_string(),
                ),
            ],
            &["setting tls_client_ca", "garbage.pem"],
        ),
    ];
    for (flags, says) in cases {
        let mut builder = Daemon::builder();
        for (flag, value) in &flags {
            builder = builder.flag(flag, value);
        }
        let (status, stderr) = builder.start_expecting_failure().await;
        assert!(!status.success(), "{flags:?}");
        for text in says {
            assert!(stderr.contains(text), "{flags:?}: {text:?} not in {stderr}");
        }
    }
    // An unknown role in tls_clients names the entry.
    let (_, stderr) = pki
        .daemon()
        .flag("--tls-client-ca", pki.ca_file.display())
        .config_file("tls.toml", "[tls_clients.ci]\nrole = \"root\"\n")
        .start_expecting_failure()
        .await;
    assert!(
        stderr.contains("setting tls_clients") && stderr.contains("\"root\""),
        "{stderr}"
    );
    // So does a namespace no [namespaces.NAME] configures.
    let (_, stderr) = pki
        .daemon()
        .flag("--tls-client-ca", pki.ca_file.display())
        .config_file(
            "tls.toml",
            "[tls_clients.ci]\nrole = \"viewer\"\nnamespaces = [\"nope\"]\n",
        )
        .start_expecting_failure()
        .await;
    assert!(
        stderr.contains("tls_clients.\"ci\".namespaces: \"nope\" is not a configured namespace"),
        "{stderr}"
    );
}
