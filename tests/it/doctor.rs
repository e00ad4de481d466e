//! `irsa::doctor` on real servers, breaking one thing at a time: a local HTTPS issuer (rustls,
//! a test CA generated here, reached by name through a fixed resolution), moto's IAM, and the
//! local STS for `--call-sts`. Each case asserts the first failed check and what it says. The
//! same TLS set-up serves the local STS itself over HTTPS (`Sts::serve_tls`).

use crate::helpers::moto;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use irsa::doctor::{Answer, Doctor, ExamineOptions, InPod, Report, Verdict};
use irsa::http::{RunningServer, StaticSite};
use irsa::oidc::{JwkSet, OpenIdConfiguration};
use irsa::sts::{Discovery, OidcProvider, Registry, Role, Sts};
use irsa::token::{BoundToken, SigningKey, Subject, WebIdentityToken};

const HOST: &str = "oidc.test";
const ISSUER: &str = "https://oidc.test/cluster";
const ACCOUNT: &str = "123456789012";
const ROLE: &str = "arn:aws:iam::123456789012:role/read-s3";
const PROVIDER: &str = "arn:aws:iam::123456789012:oidc-provider/oidc.test/cluster";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn policy(namespace: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{PROVIDER}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"oidc.test/cluster:sub":"system:serviceaccount:{namespace}:app","oidc.test/cluster:aud":"sts.amazonaws.com"}}}}}}]}}"#
    )
}

/// One thing to break.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Break {
    Nothing,
    TrailingSlash,
    MissingJwks,
    PrivateDiscovery,
    ContentType,
    ExpiredCertificate,
    WrongHostCertificate,
    RotatedKey,
    NoProvider,
    NoClientId,
    OtherNamespace,
    ExpiredToken,
    NoRole,
    NotAJwt,
}

struct World {
    _moto: moto::Moto,
    _site: RunningServer,
    sts: RunningServer,
    doctor: Doctor,
    inputs: ExamineOptions,
}

async fn world(broken: Break) -> World {
    let moto = moto::moto();
    let now = now();
    let (key, _) = SigningKey::generate_es256().unwrap();
    let (published, _) = SigningKey::generate_es256().unwrap();
    let signer = if broken == Break::RotatedKey {
        &key
    } else {
        &published
    };
    let keys = JwkSet::from_public_keys([published.public_key()]).unwrap();

    // The issuer's two documents, as irsa publishes them, served over TLS.
    let issuer = if broken == Break::TrailingSlash {
        format!("{ISSUER}/")
    } else {
        ISSUER.to_owned()
    };
    let discovery = OpenIdConfiguration::new(&issuer.parse().unwrap(), &keys)
        .unwrap()
        .to_json();
    let discovery_type = if broken == Break::ContentType {
        "binary/octet-stream"
    } else {
        "application/json"
    };
    let mut site = StaticSite::new().document(
        "/cluster/.well-known/openid-configuration",
        discovery_type,
        discovery.into_bytes(),
    );
    if broken == Break::PrivateDiscovery {
        site = site.denied("/cluster/.well-known/openid-configuration");
    }
    if broken != Break::MissingJwks {
        site = site.document(
            "/cluster/openid/v1/jwks",
            "application/jwk-set+json",
            keys.to_json().into_bytes(),
        );
    }
    let host = if broken == Break::WrongHostCertificate {
        "other.test"
    } else {
        HOST
    };
    let (ca, config) = crate::helpers::test_tls(host, broken == Break::ExpiredCertificate);
    let site = site
        .serve_tls("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let resolve: Vec<(String, SocketAddr)> = vec![(HOST.to_owned(), site.local_addr())];

    // IAM (moto): the provider and the role, as the case wants them.
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .region(aws_types::region::Region::new("us-east-1"))
        .endpoint_url(&moto.url)
        .load()
        .await;
    let iam = aws_sdk_iam::Client::new(&config);
    let client_id = if broken == Break::NoClientId {
        "other"
    } else {
        "sts.amazonaws.com"
    };
    if broken != Break::NoProvider {
        iam.create_open_id_connect_provider()
            .url(ISSUER)
            .client_id_list(client_id)
            .send()
            .await
            .unwrap();
    }
    let namespace = if broken == Break::OtherNamespace {
        "payments"
    } else {
        "default"
    };
    if broken != Break::NoRole {
        iam.create_role()
            .role_name("read-s3")
            .assume_role_policy_document(policy(namespace))
            .send()
            .await
            .unwrap();
    }

    // The local STS, registered as IAM is, fetching the keys as STS does (the same CA, the
    // same resolution of the issuer's host).
    let mut registry = Registry::new(ACCOUNT.parse().unwrap());
    if broken != Break::NoRole {
        registry = registry.role(Role::new("read-s3", policy(namespace).parse().unwrap()).unwrap());
    }
    if broken != Break::NoProvider {
        let discovery = Discovery::new()
            .ca_pem(ca.clone())
            .resolve(HOST, site.local_addr());
        registry = registry.provider(
            OidcProvider::with_discovery(ISSUER.parse().unwrap(), discovery)
                .unwrap()
                .client_ids([client_id])
                .unwrap(),
        );
    }
    let sts = Sts::builder(registry)
        .build()
        .unwrap()
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let sts_config = aws_sdk_sts::config::Builder::from(&config)
        .endpoint_url(sts.endpoint_url())
        .build();

    let issued_at = if broken == Break::ExpiredToken {
        now - 7200
    } else {
        now
    };
    let request = BoundToken::new(
        ISSUER.parse().unwrap(),
        Subject::new("default", "app").unwrap(),
        "jti",
    )
    .audience("sts.amazonaws.com")
    .expiration_seconds(3600);
    let token = signer
        .sign(&request, crate::helpers::at(issued_at))
        .unwrap()
        .expose_secret()
        .to_owned();

    let doctor = Doctor::new(&[ca], &resolve)
        .unwrap()
        .iam(iam)
        .sts(aws_sdk_sts::Client::from_conf(sts_config));
    let mut inputs = ExamineOptions::at(crate::helpers::at(now));
    let token = if broken == Break::NotAJwt {
        "not-a-token".to_owned()
    } else {
        token
    };
    inputs.token = Some(WebIdentityToken::new(token));
    inputs.role_arn = Some(ROLE.parse().unwrap());
    inputs.call_sts = true;
    World {
        _moto: moto,
        _site: site,
        sts,
        doctor,
        inputs,
    }
}

/// The first failure's name and summary, and the STS check's verdict.
async fn predict(broken: Break) -> (Report, Option<(&'static str, String)>) {
    let world = world(broken).await;
    let report = world.doctor.examine(&world.inputs).await;
    world.sts.shutdown().await;
    let first = report.first_failure().map(|c| (c.name, c.summary.clone()));
    (report, first)
}

fn sts_check(report: &Report) -> &irsa::doctor::Check {
    report.checks.iter().find(|c| c.name == "sts").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_working_setup_passes_every_check_and_sts_agrees() {
    let (report, first) = predict(Break::Nothing).await;
    assert_eq!(first, None, "{report:#?}");
    assert_eq!(report.prediction, Some(Answer::Credentials));
    let names: Vec<(&str, Verdict)> = report.checks.iter().map(|c| (c.name, c.verdict)).collect();
    assert_eq!(
        names,
        [
            ("token", Verdict::Pass),
            ("discovery", Verdict::Pass),
            ("jwks", Verdict::Pass),
            ("provider", Verdict::Pass),
            ("client-id", Verdict::Pass),
            ("role", Verdict::Pass),
            ("trust-policy", Verdict::Pass),
            ("sts", Verdict::Pass),
        ]
    );
    assert_eq!(
        sts_check(&report).summary,
        "STS answered with credentials, as predicted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_thing_is_named_first() {
    let cases: [(Break, &str, &str); 13] = [
        (Break::NotAJwt, "token", "the token is not a JWT"),
        (
            Break::NoRole,
            "role",
            "no role read-s3 in account 123456789012",
        ),
        (
            Break::TrailingSlash,
            "discovery",
            "the discovery document's issuer \"https://oidc.test/cluster/\" differs from the token's iss \"https://oidc.test/cluster\"",
        ),
        (
            Break::MissingJwks,
            "jwks",
            "https://oidc.test/cluster/openid/v1/jwks is missing (HTTP 404)",
        ),
        (
            Break::PrivateDiscovery,
            "discovery",
            "https://oidc.test/cluster/.well-known/openid-configuration is private (HTTP 403)",
        ),
        (
            Break::ContentType,
            "discovery",
            "is served as binary/octet-stream, not application/json",
        ),
        (
            Break::ExpiredCertificate,
            "discovery",
            "https://oidc.test/cluster/.well-known/openid-configuration cannot be fetched: its TLS certificate is not accepted",
        ),
        (
            Break::WrongHostCertificate,
            "discovery",
            "https://oidc.test/cluster/.well-known/openid-configuration cannot be fetched: its TLS certificate is not accepted",
        ),
        (
            Break::RotatedKey,
            "jwks",
            "which the key set does not publish",
        ),
        (
            Break::NoProvider,
            "provider",
            "no OIDC provider arn:aws:iam::123456789012:oidc-provider/oidc.test/cluster in account 123456789012",
        ),
        (
            Break::NoClientId,
            "client-id",
            "the provider's client IDs [\"other\"] include none of the token's audiences [\"sts.amazonaws.com\"]",
        ),
        (
            Break::OtherNamespace,
            "trust-policy",
            "STS would answer AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity",
        ),
        (Break::ExpiredToken, "token", "the token expired 3600 s ago"),
    ];
    for (broken, name, fragment) in cases {
        let (report, first) = predict(broken).await;
        let (first_name, summary) = first.unwrap_or_else(|| panic!("{broken:?}: nothing failed"));
        assert_eq!(first_name, name, "{broken:?}: {summary}");
        assert!(summary.contains(fragment), "{broken:?}: {summary}");
        let failure = report.first_failure().unwrap();
        assert!(failure.fix.is_some(), "{broken:?} has a fix");
        for check in &report.checks {
            let mut lines = check.evidence.clone();
            lines.sort();
            lines.dedup();
            assert_eq!(
                lines.len(),
                check.evidence.len(),
                "{broken:?}: {} repeats its evidence: {:?}",
                check.name,
                check.evidence
            );
        }
        if matches!(
            broken,
            Break::ExpiredCertificate | Break::WrongHostCertificate
        ) {
            let evidence = failure.evidence.join(" ");
            let expected = if broken == Break::ExpiredCertificate {
                "certificate expired"
            } else {
                "not valid for name"
            };
            assert!(evidence.contains(expected), "{broken:?}: {evidence}");
        }
        // The local STS, registered as IAM is, answers as the doctor predicted.
        let sts = sts_check(&report);
        assert_eq!(
            sts.verdict,
            Verdict::Pass,
            "{broken:?}: {} (predicted {:?})",
            sts.summary,
            report.prediction
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_the_webhook_never_mutated_is_named_first() {
    let world = world(Break::Nothing).await;
    let mut inputs = world.inputs.clone();
    inputs.pod = Some(serde_json::json!({
        "metadata": {"name": "app", "namespace": "default"},
        "spec": {"serviceAccountName": "app", "containers": [{"name": "app", "image": "busybox"}]},
    }));
    let report = world.doctor.examine(&inputs).await;
    let failure = report.first_failure().unwrap();
    assert_eq!(failure.name, "pod");
    assert!(
        failure
            .summary
            .contains("was not mutated by the pod identity webhook")
    );
    assert_eq!(
        failure.evidence,
        [
            "missing: add /spec/volumes",
            "missing: add /spec/containers/0/env",
            "missing: add /spec/containers/0/volumeMounts",
        ]
    );

    // From inside a pod without the variables.
    let mut inputs = world.inputs.clone();
    inputs.token = None;
    inputs.in_pod = Some(InPod::default());
    let report = world.doctor.examine(&inputs).await;
    let failure = report.first_failure().unwrap();
    assert_eq!(
        (failure.name, failure.summary.as_str()),
        (
            "token-file",
            "the pod's environment lacks AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE"
        )
    );
}

#[test]
fn the_report_never_holds_the_token() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let world = world(Break::OtherNamespace).await;
        let token = world
            .inputs
            .token
            .as_ref()
            .unwrap()
            .expose_secret()
            .to_owned();
        let report = world.doctor.examine(&world.inputs).await;
        let json = serde_json::to_string(&report).unwrap();
        // The same token read from a pod's token file, as `irsa doctor --in-pod` reads it.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, format!("{token}\n")).unwrap();
        let env = std::collections::HashMap::from([(
            "AWS_WEB_IDENTITY_TOKEN_FILE".to_owned(),
            file.display().to_string(),
        )]);
        let in_pod = irsa::doctor::InPod::read(&env, &irsa::env::RealFs);
        assert!(matches!(in_pod.token_contents, Some(Ok(_))));
        let debug = format!("{report:?} {:?} {in_pod:?}", world.inputs);
        let signature = token.rsplit('.').next().unwrap();
        assert!(!json.contains(signature) && !debug.contains(signature));
        assert!(!json.contains(&token) && !debug.contains(&token));
    });
}

/// The local STS over TLS (`Sts::serve_tls`, a certificate of the test CA): a client trusting
/// that CA gets credentials, and the request context says `aws:SecureTransport` is true — a
/// trust policy requiring it allows over TLS and refuses over plain HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_sts_serves_over_tls_and_judges_secure_transport() {
    use http_body_util::{BodyExt, Full};
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let (signer, _) = SigningKey::generate_es256().unwrap();
    let keys = JwkSet::from_public_keys([signer.public_key()]).unwrap();
    let secure = policy("default").replace(
        r#""StringEquals""#,
        r#""Bool":{"aws:SecureTransport":"true"},"StringEquals""#,
    );
    let registry = Registry::new(ACCOUNT.parse().unwrap())
        .provider(OidcProvider::with_keys(ISSUER.parse().unwrap(), keys).unwrap())
        .role(Role::new("read-s3", secure.parse().unwrap()).unwrap());
    let sts = Sts::builder(registry).build().unwrap();
    let (ca, config) = crate::helpers::test_tls("localhost", false);
    let tls_server = sts
        .clone()
        .serve_tls("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let plain_server = sts.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&ca) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(client_config)
        .https_or_http()
        .enable_http1()
        .build();
    let client: hyper_util::client::legacy::Client<_, Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector);
    let request = BoundToken::new(
        ISSUER.parse().unwrap(),
        Subject::new("default", "app").unwrap(),
        "jti",
    )
    .audience("sts.amazonaws.com");
    let token = signer
        .sign(&request, crate::helpers::at(now()))
        .unwrap()
        .expose_secret()
        .to_owned();
    let form = format!(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={}&RoleSessionName=tls&WebIdentityToken={token}",
        ROLE.replace(':', "%3A").replace('/', "%2F")
    );
    let ask = |url: String| {
        let request = hyper::Request::post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(bytes::Bytes::from(form.clone())))
            .unwrap();
        let client = client.clone();
        async move {
            let response = client.request(request).await.unwrap();
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let port = tls_server.local_addr().port();
    let (status, body) = ask(format!("https://localhost:{port}/")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<AccessKeyId>ASIA"), "{body}");
    let (status, body) = ask(plain_server.endpoint_url()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    tls_server.shutdown().await;
    plain_server.shutdown().await;
}

/// With the cluster's issuer given, the doctor fetches from it alone: a token naming another
/// `iss` is reported, and its issuer (chosen by whoever wrote the token) is never fetched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_given_issuer_is_fetched() {
    let mut world = world(Break::Nothing).await;
    world.inputs.issuer = Some("https://oidc.test/elsewhere".parse().unwrap());
    world.inputs.call_sts = false;
    let report = world.doctor.examine(&world.inputs).await;
    world.sts.shutdown().await;
    let check = |name: &str| report.checks.iter().find(|c| c.name == name).unwrap();
    assert_eq!(check("token").verdict, Verdict::Fail);
    assert_eq!(
        check("token").summary,
        "the token's iss \"https://oidc.test/cluster\" is not the cluster's issuer \"https://oidc.test/elsewhere\""
    );
    let discovery = check("discovery");
    let said = format!("{} {:?}", discovery.summary, discovery.evidence);
    assert!(
        said.contains("https://oidc.test/elsewhere/.well-known/openid-configuration"),
        "{said}"
    );
    assert!(!said.contains("oidc.test/cluster/"), "{said}");
}

/// `irsa doctor` prints what the issuer serves (key IDs here) through the same cleaning as the
/// other commands: an escape sequence in a key set reaches the terminal as text.
#[cfg(feature = "cli")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_sequences_from_the_issuer_never_reach_the_terminal() {
    let (published, _) = SigningKey::generate_es256().unwrap();
    let keys = JwkSet::from_public_keys([published.public_key()]).unwrap();
    let discovery = OpenIdConfiguration::new(&ISSUER.parse().unwrap(), &keys)
        .unwrap()
        .to_json();
    let mut jwks: serde_json::Value = serde_json::from_str(&keys.to_json()).unwrap();
    jwks["keys"][0]["kid"] = serde_json::json!("\u{1b}[2J\u{1b}]0;owned\u{7}kid");
    let (ca, config) = crate::helpers::test_tls(HOST, false);
    let site = StaticSite::new()
        .document(
            "/cluster/.well-known/openid-configuration",
            "application/json",
            discovery.into_bytes(),
        )
        .document(
            "/cluster/openid/v1/jwks",
            "application/json",
            jwks.to_string().into_bytes(),
        )
        .serve_tls("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    // A token whose own kid carries an escape sequence, as anyone can write one.
    let token = crate::helpers::Signer::p256().sign(
        "{\"alg\":\"ES256\",\"kid\":\"\\u001b[5mtoken-kid\"}",
        &crate::helpers::claims(&[("iss", serde_json::json!(ISSUER))]),
    );
    let dir = tempfile::tempdir().unwrap();
    let (token_file, ca_file) = (dir.path().join("token"), dir.path().join("ca.pem"));
    std::fs::write(&token_file, &token).unwrap();
    std::fs::write(&ca_file, &ca).unwrap();
    let out = crate::helpers::cli::irsa(&[
        "doctor",
        "--issuer",
        ISSUER,
        "--token",
        &token_file.display().to_string(),
        "--ca-file",
        &ca_file.display().to_string(),
        "--resolve",
        &format!("{HOST}={}", site.local_addr()),
        "--now",
        "2018-01-01T00:01:00Z",
        "--color",
        "never",
    ]);
    site.shutdown().await;
    let human = String::from_utf8(out.stdout).unwrap();
    assert!(
        human.contains("✗ jwks         the token is signed by key \\u{1b}[5mtoken-kid, which the key set does not publish"),
        "{human}"
    );
    assert!(
        human.contains("published: \\u{1b}[2J\\u{1b}]0;owned\\u{7}kid"),
        "{human}"
    );
    assert!(
        !human.contains('\u{1b}') && !human.contains('\u{7}'),
        "{human:?}"
    );

    // A token whose iss carries one: reported in the token check, and not fetched.
    let token = crate::helpers::Signer::p256().sign(
        "{\"alg\":\"ES256\"}",
        &crate::helpers::claims(&[(
            "iss",
            serde_json::json!("https://oidc.test/\u{1b}[5mcluster"),
        )]),
    );
    std::fs::write(&token_file, &token).unwrap();
    let out = crate::helpers::cli::irsa(&[
        "doctor",
        "--issuer",
        ISSUER,
        "--token",
        &token_file.display().to_string(),
        "--resolve",
        &format!("{HOST}=127.0.0.1:9"),
        "--now",
        "2018-01-01T00:01:00Z",
        "--color",
        "never",
    ]);
    let human = String::from_utf8(out.stdout).unwrap();
    assert!(
        human.contains("✗ token        the token's iss \"https://oidc.test/\\u{1b}[5mcluster\" is not the cluster's issuer"),
        "{human}"
    );
    assert!(!human.contains('\u{1b}'), "{human:?}");
}
