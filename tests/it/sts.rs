//! The local STS against real clients: aws-sdk-sts and our provider in an aws-config chain get
//! credentials, call GetCallerIdentity with them, and hear AWS's code for every rule STS
//! applies. One rejecting case per rule, end to end over loopback.

use crate::helpers;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_smithy_async::test_util::ManualTimeSource;
use helpers::{Captured, data_path, text, venv_bin};
use irsa::http::{RunningServer, StaticSite};
use irsa::oidc::{JwkSet, OpenIdConfiguration};
use irsa::policy::{ClusterGrant, generate};
use irsa::sts::{Discovery, OidcProvider, Registry, Role, Sts};
use irsa::token::{BoundToken, SigningKey, Subject};

const ACCOUNT: &str = "111122223333";
const ISSUER: &str = "https://oidc.example.test/cluster-a";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn key() -> SigningKey {
    SigningKey::from_pem(&text("k8s-vectors/rsa-private.pem")).unwrap()
}

fn keys() -> JwkSet {
    JwkSet::from_public_keys([key().public_key()]).unwrap()
}

fn token_for(issuer: &str, namespace: &str, name: &str, audience: &str, iat: i64) -> String {
    let request = BoundToken::new(
        issuer.parse().unwrap(),
        Subject::new(namespace, name).unwrap(),
        "5d4fd8c2-0a3c-4c1f-9a43-6f1f8f4f3e11",
    )
    .audience(audience)
    .expiration_seconds(3600);
    key()
        .sign(&request, crate::helpers::at(iat))
        .unwrap()
        .expose_secret()
        .to_owned()
}

/// A token for `default:read-s3-hello` whose hour ended beyond STS's five minutes of skew.
fn expired_token() -> String {
    token_for(
        ISSUER,
        "default",
        "read-s3-hello",
        "sts.amazonaws.com",
        now() - 3600 - 301,
    )
}

fn token(name: &str) -> String {
    token_for(ISSUER, "default", name, "sts.amazonaws.com", now())
}

/// The least-privilege trust policy of our generator, for `default:read-s3-hello`.
fn generated_policy() -> irsa::policy::TrustPolicy {
    let arn = format!("arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.example.test/cluster-a");
    let grant = ClusterGrant::service_accounts(
        arn.parse().unwrap(),
        vec![Subject::new("default", "read-s3-hello").unwrap()],
    )
    .unwrap();
    generate(&[grant], 2048).unwrap().json().parse().unwrap()
}

fn policy_with(condition: &str) -> irsa::policy::TrustPolicy {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.example.test/cluster-a"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{condition}}}]}}"#
    )
    .parse()
    .unwrap()
}

fn registry(provider: OidcProvider) -> Registry {
    Registry::new(ACCOUNT.parse().unwrap())
        .provider(provider)
        .role(Role::new("read-s3", generated_policy()).unwrap())
        .role(
            Role::new(
                "office-hours",
                policy_with(r#"{"DateLessThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#),
            )
            .unwrap(),
        )
        .role(
            Role::new(
                "from-office",
                policy_with(r#"{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}"#),
            )
            .unwrap(),
        )
        .role(
            Role::new(
                "named-sessions",
                policy_with(r#"{"StringLike":{"sts:RoleSessionName":"ci-*"}}"#),
            )
            .unwrap(),
        )
}

async fn serve(sts: Sts) -> RunningServer {
    sts.serve("127.0.0.1:0".parse().unwrap()).await.unwrap()
}

async fn with_keys() -> RunningServer {
    let provider = OidcProvider::with_keys(ISSUER.parse().unwrap(), keys()).unwrap();
    serve(Sts::builder(registry(provider)).build().unwrap()).await
}

fn client(server: &RunningServer, credentials: Option<Credentials>) -> aws_sdk_sts::Client {
    let mut config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(server.endpoint_url());
    if let Some(credentials) = credentials {
        config = config.credentials_provider(credentials);
    }
    aws_sdk_sts::Client::from_conf(config.build())
}

async fn assume(
    server: &RunningServer,
    role: &str,
    session: &str,
    token: &str,
) -> Result<
    aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityOutput,
    (String, String),
> {
    client(server, None)
        .assume_role_with_web_identity()
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/{role}"))
        .role_session_name(session)
        .web_identity_token(token)
        .send()
        .await
        .map_err(|e| {
            let e = e.into_service_error();
            (
                e.code().unwrap_or("?").to_owned(),
                e.message().unwrap_or("").to_owned(),
            )
        })
}

fn session_credentials(
    out: &aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityOutput,
) -> Credentials {
    let c = out.credentials().unwrap();
    Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        None,
        "local-sts",
    )
}

#[tokio::test]
async fn the_sdk_gets_credentials_shaped_as_aws_and_calls_with_them() {
    let server = with_keys().await;
    let out = assume(&server, "read-s3", "hello", &token("read-s3-hello"))
        .await
        .unwrap();
    let creds = out.credentials().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA") && creds.access_key_id().len() == 20);
    assert_eq!(creds.secret_access_key().len(), 40);
    let expires = creds.expiration().secs();
    assert!((expires - now() - 3600).abs() <= 2, "expires {expires}");
    let user = out.assumed_role_user().unwrap();
    assert_eq!(
        user.arn(),
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/read-s3/hello")
    );
    assert!(user.assumed_role_id().starts_with("AROA"));
    assert!(user.assumed_role_id().ends_with(":hello"));
    assert_eq!(
        out.subject_from_web_identity_token(),
        Some("system:serviceaccount:default:read-s3-hello")
    );
    assert_eq!(out.audience(), Some("sts.amazonaws.com"));
    assert_eq!(
        out.provider(),
        Some(format!("arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.example.test/cluster-a").as_str())
    );

    let identity = client(&server, Some(session_credentials(&out)))
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(identity.arn(), Some(user.arn()));
    assert_eq!(identity.user_id(), Some(user.assumed_role_id()));
    assert_eq!(identity.account(), Some(ACCOUNT));
    server.shutdown().await;
}

/// Every rule of `AssumeRoleWithWebIdentity`, broken once, as the SDK reports it.
#[tokio::test]
async fn each_rule_refuses_with_aws_code_and_message() {
    let server = with_keys().await;
    let good = token("read-s3-hello");
    let other_key = {
        let pem = text("k8s-vectors/ecdsa-p256-private.pem");
        let request = BoundToken::new(
            ISSUER.parse().unwrap(),
            Subject::new("default", "read-s3-hello").unwrap(),
            "j",
        )
        .audience("sts.amazonaws.com");
        SigningKey::from_pem(&pem)
            .unwrap()
            .sign(&request, crate::helpers::at(now()))
            .unwrap()
            .expose_secret()
            .to_owned()
    };
    let cases: Vec<(&str, &str, String, &str, &str)> = vec![
        (
            "no provider for the issuer",
            "read-s3",
            token_for(
                "https://oidc.example.test/cluster-b",
                "default",
                "read-s3-hello",
                "sts.amazonaws.com",
                now(),
            ),
            "InvalidIdentityToken",
            "No OpenIDConnect provider found in your account for https://oidc.example.test/cluster-b",
        ),
        (
            "issuer with a trailing slash",
            "read-s3",
            token_for(
                "https://oidc.example.test/cluster-a/",
                "default",
                "read-s3-hello",
                "sts.amazonaws.com",
                now(),
            ),
            "InvalidIdentityToken",
            "No OpenIDConnect provider found in your account for https://oidc.example.test/cluster-a/",
        ),
        (
            "audience not a client ID",
            "read-s3",
            token_for(ISSUER, "default", "read-s3-hello", "vault", now()),
            "InvalidIdentityToken",
            "Incorrect token audience",
        ),
        (
            "expired",
            "read-s3",
            expired_token(),
            "ExpiredTokenException",
            "Token expired: current date/time",
        ),
        (
            "signed by a key not in the set",
            "read-s3",
            other_key,
            "InvalidIdentityToken",
            "",
        ),
        (
            "another service account",
            "read-s3",
            token("default"),
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        ),
        (
            "a role that does not exist",
            "no-such-role",
            good.clone(),
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        ),
        (
            "aws:CurrentTime past the policy's date",
            "office-hours",
            good.clone(),
            "AccessDenied",
            "Not authorized",
        ),
        (
            "aws:SourceIp outside the policy's block",
            "from-office",
            good.clone(),
            "AccessDenied",
            "Not authorized",
        ),
        (
            "sts:RoleSessionName outside the pattern",
            "named-sessions",
            good.clone(),
            "AccessDenied",
            "Not authorized",
        ),
        (
            "not a JWT",
            "read-s3",
            "not-a-jwt".to_owned(),
            "InvalidIdentityToken",
            "",
        ),
    ];
    for (name, role, token, code, message) in &cases {
        let (got_code, got_message) = assume(&server, role, "hello", token).await.unwrap_err();
        assert_eq!((&got_code.as_str(), name), (code, name), "{got_message}");
        assert!(got_message.starts_with(message), "{name}: {got_message}");
    }
    // The session name matching the pattern is allowed: the key is in the context.
    assume(&server, "named-sessions", "ci-42", &good)
        .await
        .unwrap();

    let validation: Vec<(&str, &str, String)> = vec![
        (
            "a:b",
            "1 validation error detected: Value 'a:b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
            good.clone(),
        ),
        (
            "x",
            "1 validation error detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2",
            good.clone(),
        ),
        (
            "a:",
            "2 validation errors detected: Value 'a:' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*; Value '*** Sensitive Data Redacted ***' at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4",
            "abc".to_owned(),
        ),
    ];
    for (session, message, token) in validation {
        let (code, got) = assume(&server, "read-s3", session, &token)
            .await
            .unwrap_err();
        assert_eq!((code.as_str(), got.as_str()), ("ValidationError", message));
    }
    let with_duration = |seconds: i32| {
        client(&server, None)
            .assume_role_with_web_identity()
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/read-s3"))
            .role_session_name("hello")
            .web_identity_token(&good)
            .duration_seconds(seconds)
            .send()
    };
    let over = with_duration(7200).await.unwrap_err().into_service_error();
    assert_eq!(over.code(), Some("ValidationError"));
    assert_eq!(
        over.message(),
        Some("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    );
    let short = with_duration(600).await.unwrap_err().into_service_error();
    assert_eq!(
        short.message(),
        Some(
            "1 validation error detected: Value '600' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        )
    );
    server.shutdown().await;
}

/// GetCallerIdentity is judged by SigV4: forged, unknown, expired and unsigned requests.
#[tokio::test]
async fn signatures_are_checked_as_sts_checks_them() {
    let clock = ManualTimeSource::new(SystemTime::now());
    let provider = OidcProvider::with_keys(ISSUER.parse().unwrap(), keys()).unwrap();
    let sts = Sts::builder(registry(provider))
        .time_source(clock.clone())
        .build()
        .unwrap();
    let server = serve(sts).await;
    let out = assume(&server, "read-s3", "hello", &token("read-s3-hello"))
        .await
        .unwrap();
    let good = session_credentials(&out);
    let call = |credentials: Credentials| {
        let client = client(&server, Some(credentials));
        async move {
            let e = client
                .get_caller_identity()
                .send()
                .await
                .unwrap_err()
                .into_service_error();
            (
                e.code().unwrap_or("?").to_owned(),
                e.message().unwrap_or("").to_owned(),
            )
        }
    };
    let forged = Credentials::new(
        good.access_key_id(),
        "x".repeat(40),
        good.session_token().map(str::to_owned),
        None,
        "t",
    );
    assert_eq!(call(forged).await.0, "SignatureDoesNotMatch");
    let unknown = Credentials::new(
        "ASIAAAAAAAAAAAAAAAAA",
        good.secret_access_key(),
        good.session_token().map(str::to_owned),
        None,
        "t",
    );
    assert_eq!(
        call(unknown).await,
        (
            "InvalidClientTokenId".to_owned(),
            "The security token included in the request is invalid.".to_owned()
        )
    );
    let wrong_token = Credentials::new(
        good.access_key_id(),
        good.secret_access_key(),
        Some("nope".to_owned()),
        None,
        "t",
    );
    assert_eq!(call(wrong_token).await.0, "InvalidClientTokenId");

    // The server's clock moves 20 minutes: the SDK's signature is now out of STS's window.
    clock.advance(Duration::from_secs(20 * 60));
    let (code, message) = call(good.clone()).await;
    assert_eq!(code, "SignatureDoesNotMatch");
    assert!(message.starts_with("Signature expired: "), "{message}");
    assert!(message.ends_with(" - 15 min.)"), "{message}");
    // An hour later the session has expired.
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        call(good).await,
        (
            "ExpiredToken".to_owned(),
            "The security token included in the request is expired".to_owned()
        )
    );
    server.shutdown().await;
}

#[tokio::test]
async fn unsigned_and_unknown_actions_get_aws_errors_and_headers() {
    let server = with_keys().await;
    let http = reqwest_like(&server, "Action=GetCallerIdentity&Version=2011-06-15").await;
    assert_eq!(http.0, 403);
    assert!(
        http.1.contains("<Code>MissingAuthenticationToken</Code>"),
        "{}",
        http.1
    );
    assert!(
        http.1
            .contains("<Message>Request is missing Authentication Token</Message>")
    );
    let http = reqwest_like(&server, "Action=AssumeRole&Version=2011-06-15").await;
    assert_eq!(http.0, 400);
    assert!(
        http.1.contains(
            "<Message>Could not find operation AssumeRole for version 2011-06-15</Message>"
        )
    );
    server.shutdown().await;
}

/// POSTs a form to the server over a plain TCP connection; (status, body).
async fn reqwest_like(server: &RunningServer, form: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    let request = format!(
        "POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{form}",
        form.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        head.to_ascii_lowercase().contains("content-type: text/xml"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase().contains("x-amzn-requestid: "),
        "{head}"
    );
    (status, body.to_owned())
}

/// The keys fetched as STS fetches them: discovery document, then its jwks_uri, from a local
/// endpoint standing in for the bucket; an unreachable endpoint is STS's transient error.
#[tokio::test]
async fn keys_are_fetched_from_the_issuer_and_a_dead_one_is_sts_transient_error() {
    let issuer = ISSUER.parse().unwrap();
    let discovery = OpenIdConfiguration::new(&issuer, &keys()).unwrap();
    let site = StaticSite::new()
        .document(
            "/cluster-a/.well-known/openid-configuration",
            "application/json",
            discovery.to_json().into_bytes(),
        )
        .document(
            "/cluster-a/openid/v1/jwks",
            "application/json",
            keys().to_json().into_bytes(),
        )
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let endpoint = format!("{}/cluster-a", site.endpoint_url())
        .parse()
        .unwrap();
    let provider =
        OidcProvider::with_discovery(issuer.clone(), Discovery::new().endpoint(endpoint)).unwrap();
    let server = serve(Sts::builder(registry(provider)).build().unwrap()).await;
    assume(&server, "read-s3", "hello", &token("read-s3-hello"))
        .await
        .unwrap();
    server.shutdown().await;

    let dead = format!("http://{}", site.local_addr()).parse().unwrap();
    site.shutdown().await;
    let provider = OidcProvider::with_discovery(issuer, Discovery::new().endpoint(dead)).unwrap();
    let server = serve(Sts::builder(registry(provider)).build().unwrap()).await;
    let (code, message) = assume(&server, "read-s3", "hello", &token("read-s3-hello"))
        .await
        .unwrap_err();
    assert_eq!(code, "InvalidIdentityToken");
    assert_eq!(
        message,
        "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"
    );
    server.shutdown().await;
    let _ = data_path;
}

/// The server logs every refusal with its reason, and never a token, a secret key or a
/// session token, at any level; its Debug output neither.
#[tokio::test]
async fn no_secret_reaches_the_servers_logs() {
    // Global: a thread-local default misses callsites other tests registered first. The other
    // tests' servers then log here too, which the leak check covers as well.
    let captured = Captured::global();
    let provider = OidcProvider::with_keys(ISSUER.parse().unwrap(), keys()).unwrap();
    let sts = Sts::builder(registry(provider)).build().unwrap();
    let debug_sts = format!("{sts:?}");
    let server = serve(sts).await;
    let good = token("read-s3-hello");
    let denied = token("default");
    let out = assume(&server, "read-s3", "hello", &good).await.unwrap();
    assume(&server, "read-s3", "hello", &denied)
        .await
        .unwrap_err();
    let credentials = session_credentials(&out);
    client(&server, Some(credentials.clone()))
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    let forged = Credentials::new(
        credentials.access_key_id(),
        "y".repeat(40),
        credentials.session_token().map(str::to_owned),
        None,
        "t",
    );
    client(&server, Some(forged))
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    server.shutdown().await;

    let logs = captured.text();
    let ours: String = logs
        .lines()
        .filter(|l| l.contains(" irsa::"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(ours.contains("trust policy refused"), "{ours}");
    assert!(
        logs.contains("system:serviceaccount:default:default"),
        "the reason names the subject: {logs}"
    );
    assert!(logs.contains("SignatureDoesNotMatch"), "{logs}");
    let c = out.credentials().unwrap();
    for (what, secret) in [
        ("token", good.as_str()),
        ("denied token", denied.as_str()),
        ("secret key", c.secret_access_key()),
        ("session token", c.session_token()),
    ] {
        // A signature segment is enough to replay nothing, but no part of a token is logged.
        let tail = &secret[secret.len() - 20..];
        assert!(
            !logs.contains(tail) && !debug_sts.contains(tail),
            "{what} leaked"
        );
    }
}

/// Runs `program args` with only the web-identity environment (no profile, no metadata
/// service): (success, stdout, stderr).
fn run_client(
    program: &std::path::Path,
    args: &[&str],
    endpoint: &str,
    token_file: &std::path::Path,
) -> (bool, String, String) {
    let out = std::process::Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", token_file.parent().unwrap())
        .env("AWS_ENDPOINT_URL_STS", endpoint)
        .env(
            "AWS_ROLE_ARN",
            format!("arn:aws:iam::{ACCOUNT}:role/read-s3"),
        )
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", token_file)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// boto3/botocore and the AWS CLI, with nothing but AWS_ENDPOINT_URL_STS, AWS_ROLE_ARN and
/// AWS_WEB_IDENTITY_TOKEN_FILE, get credentials, call GetCallerIdentity with them, and
/// surface each of our refusals with its code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_and_the_aws_cli_are_peers() {
    let server = with_keys().await;
    let endpoint = server.endpoint_url();
    let python = venv_bin("python");
    let aws = venv_bin("aws");
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    let boto3 = [
        "-c",
        "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])",
    ];
    let cli = [
        "sts",
        "get-caller-identity",
        "--query",
        "Arn",
        "--output",
        "text",
    ];
    let cases: Vec<(String, Option<(&str, &str)>)> = vec![
        (token("read-s3-hello"), None),
        (
            token("default"),
            Some((
                "AccessDenied",
                "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            )),
        ),
        (
            token_for(ISSUER, "default", "read-s3-hello", "vault", now()),
            Some(("InvalidIdentityToken", "Incorrect token audience")),
        ),
        (
            expired_token(),
            Some(("ExpiredTokenException", "Token expired")),
        ),
        (
            token_for(
                "https://oidc.example.test/other",
                "default",
                "read-s3-hello",
                "sts.amazonaws.com",
                now(),
            ),
            Some((
                "InvalidIdentityToken",
                "No OpenIDConnect provider found in your account for https://oidc.example.test/other",
            )),
        ),
    ];
    let mut checked = 0;
    for (token, expected) in cases {
        std::fs::write(&token_file, &token).unwrap();
        for (client, program, args) in [("boto3", &python, &boto3[..]), ("aws", &aws, &cli[..])] {
            let (program, args, endpoint, file) = (
                program.clone(),
                args.to_vec(),
                endpoint.clone(),
                token_file.clone(),
            );
            let (ok, stdout, stderr) =
                tokio::task::spawn_blocking(move || run_client(&program, &args, &endpoint, &file))
                    .await
                    .unwrap();
            match expected {
                None => {
                    assert!(ok, "{client}: {stderr}");
                    assert!(
                        stdout
                            .trim()
                            .starts_with(&format!("arn:aws:sts::{ACCOUNT}:assumed-role/read-s3/")),
                        "{client}: {stdout}"
                    );
                }
                Some((code, message)) => {
                    assert!(!ok, "{client} was let in");
                    assert!(stderr.contains(&format!("({code})")), "{client}: {stderr}");
                    assert!(stderr.contains(message), "{client}: {stderr}");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 10);
    server.shutdown().await;
}

/// The request and response of a recorded real STS exchange (smithy-rs test data).
fn recording(case: &str) -> (String, String) {
    let path = format!("aws-config/default-credential-provider-chain/{case}/http-traffic.json");
    let traffic: serde_json::Value = serde_json::from_str(&text(&path)).unwrap();
    let data: Vec<&str> = traffic["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"]["Data"]["data"]["Utf8"].as_str())
        .collect();
    (data[0].to_owned(), data[1].to_owned())
}

/// Replaced by the recording's: the request ID, and the random credentials.
fn with_request_id(body: &str, id: &str) -> String {
    let start = body.find("<RequestId>").unwrap() + "<RequestId>".len();
    let end = body.find("</RequestId>").unwrap();
    format!("{}{id}{}", &body[..start], &body[end..])
}

/// STS's error for a token whose issuer is not registered, byte for byte as real STS wrote it
/// (the recorded token even ends in a newline, which STS tolerates).
#[tokio::test]
async fn a_recorded_sts_refusal_is_reproduced_byte_for_byte() {
    let (request, response) = recording("web_identity_token_invalid_jwt");
    let sts = Sts::builder(
        Registry::new("123456789012".parse().unwrap())
            .role(Role::new("RoleB", policy_with("{}")).unwrap()),
    )
    .build()
    .unwrap();
    // The recorded account is 9 digits, which IAM never issues; the role is looked up in ours.
    let request = request.replace("123456789%3Arole", "123456789012%3Arole");
    let answer = sts
        .handle(
            http::Request::post("/")
                .body(bytes::Bytes::from(request))
                .unwrap(),
            irsa::http::Peer::default(),
        )
        .await;
    assert_eq!(answer.status(), 400);
    assert_eq!(answer.headers()["content-type"], "text/xml");
    let body = std::str::from_utf8(answer.body()).unwrap();
    assert_eq!(
        with_request_id(body, "5045ca91-d123-4749-9d66-00a3c906be6c"),
        response
    );
}

/// The success body in AWS's element order and layout: the recorded body with our values.
#[tokio::test]
async fn a_success_is_laid_out_as_sts_lays_it_out() {
    let (_, recorded) = recording("web_identity_token_env");
    let server = with_keys().await;
    let request = format!(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A{ACCOUNT}%3Arole%2Fread-s3&RoleSessionName=test-session&WebIdentityToken={}",
        token("read-s3-hello")
    );
    let (status, body) = reqwest_like(&server, &request).await;
    assert_eq!(status, 200);
    // Element names and nesting, line by line, are the recording's.
    let shape = |xml: &str| -> Vec<String> {
        xml.lines()
            .map(|l| l.split('>').next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(shape(&body), shape(&recorded));
    assert!(body.ends_with("</AssumeRoleWithWebIdentityResponse>\n") && !body.starts_with("<?xml"));
    server.shutdown().await;
}

/// Our provider, configured as a pod's environment would configure it, gets credentials from
/// the judging server and calls GetCallerIdentity with them; a token of another service
/// account gives it STS's AccessDenied, typed.
#[tokio::test]
async fn our_provider_is_a_peer() {
    use aws_credential_types::provider::ProvideCredentials as _;
    use irsa::provider::{ProviderError, WebIdentityProvider};
    let server = with_keys().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    let provider = |file: &std::path::Path| {
        let env: std::collections::HashMap<String, String> = [
            (
                "AWS_ROLE_ARN",
                format!("arn:aws:iam::{ACCOUNT}:role/read-s3"),
            ),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", file.display().to_string()),
            ("AWS_ENDPOINT_URL_STS", server.endpoint_url()),
            ("AWS_REGION", "us-east-1".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        WebIdentityProvider::builder().env(env).build()
    };
    std::fs::write(&token_file, token("read-s3-hello")).unwrap();
    let ours = provider(&token_file);
    let credentials = ours.provide_credentials().await.unwrap();
    assert!(credentials.access_key_id().starts_with("ASIA"));
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(server.endpoint_url())
        .credentials_provider(ours)
        .build();
    let identity = aws_sdk_sts::Client::from_conf(config)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert!(
        identity
            .arn()
            .unwrap()
            .starts_with(&format!("arn:aws:sts::{ACCOUNT}:assumed-role/read-s3/"))
    );

    let other_file = dir.path().join("other");
    std::fs::write(&other_file, token("default")).unwrap();
    let refused = provider(&other_file);
    refused.provide_credentials().await.unwrap_err();
    let status = refused.status();
    assert!(
        matches!(status.last_error, Some(ProviderError::Sts(ref f)) if f.code() == Some(irsa::StsErrorCode::AccessDenied)),
        "{:?}",
        status.last_error
    );
    server.shutdown().await;
}

/// Token rotation as the kubelet does it (a `..data` symlink swap), judged for real: the first
/// minted token has expired, so the judging server answers STS's `ExpiredTokenException`; the
/// provider tries again as soon as the file changes, and the fresh token gets credentials.
/// (The scripted server in `tests/provider.rs` can only pretend a token expired; this one
/// reads it.)
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_provider_recovers_from_an_expired_token_when_the_kubelet_rotates_it() {
    use aws_credential_types::provider::ProvideCredentials as _;
    use irsa::provider::{ProviderError, WebIdentityProvider};
    let server = with_keys().await;
    let dir = tempfile::tempdir().unwrap();
    let write = |version: &str, token: &str| {
        let target = dir.path().join(format!("..{version}"));
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join("token"), token).unwrap();
        let tmp = dir.path().join("..data_tmp");
        std::os::unix::fs::symlink(format!("..{version}"), &tmp).unwrap();
        std::fs::rename(&tmp, dir.path().join("..data")).unwrap();
        if std::fs::symlink_metadata(dir.path().join("token")).is_err() {
            std::os::unix::fs::symlink("..data/token", dir.path().join("token")).unwrap();
        }
    };
    write("2026_12_03_10_00_00.1", &expired_token());
    let env: std::collections::HashMap<String, String> = [
        (
            "AWS_ROLE_ARN",
            format!("arn:aws:iam::{ACCOUNT}:role/read-s3"),
        ),
        (
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            dir.path().join("token").display().to_string(),
        ),
        ("AWS_ENDPOINT_URL_STS", server.endpoint_url()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let provider = WebIdentityProvider::builder().env(env).build();
    provider.provide_credentials().await.unwrap_err();
    assert!(
        matches!(provider.status().last_error, Some(ProviderError::Sts(ref f)) if f.code() == Some(irsa::StsErrorCode::ExpiredTokenException)),
        "{:?}",
        provider.status().last_error
    );
    write("2026_12_03_10_48_00.2", &token("read-s3-hello"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let credentials = loop {
        match provider.provide_credentials().await {
            Ok(credentials) => break credentials,
            Err(e) => assert!(std::time::Instant::now() < deadline, "{e}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(credentials.access_key_id().starts_with("ASIA"));
    server.shutdown().await;
}

/// A form for `AssumeRoleWithWebIdentity` of `read-s3` with `token` (percent-encoded here).
fn assume_form(token: &str, extra: &str) -> String {
    let token: String = form_urlencoded::byte_serialize(token.as_bytes()).collect();
    format!(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A{ACCOUNT}%3Arole%2Fread-s3&RoleSessionName=hostile&WebIdentityToken={token}{extra}"
    )
}

/// What an attacker can send before any authentication is answered as STS answers it, and
/// neither breaks the answer's XML nor forges a log line.
#[tokio::test]
async fn hostile_requests_are_answered_as_sts_answers_them() {
    let captured = Captured::global();
    let server = with_keys().await;

    // More than 10 PolicyArns, and a body full of them: one ValidationError, read in one pass.
    let arns: String = (1..=11)
        .map(|n| format!("&PolicyArns.member.{n}.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2Fp{n}"))
        .collect();
    let (status, body) = reqwest_like(&server, &assume_form(&token("read-s3-hello"), &arns)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("<Code>ValidationError</Code>"), "{body}");
    assert!(
        body.contains("Value &apos;[arn:aws:iam::aws:policy/p1, "),
        "{body}"
    );
    assert!(body.contains("at &apos;policyArns&apos; failed to satisfy constraint: Member must have length less than or equal to 10"), "{body}");
    let many: String = (1..=9_000)
        .map(|n| format!("&PolicyArns.member.{n}.arn=x"))
        .collect();
    assert!(many.len() > 150_000);
    let (status, body) = reqwest_like(&server, &assume_form(&token("read-s3-hello"), &many)).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("Member must have length less than or equal to 10"),
        "{body}"
    );

    // An issuer with control characters and a line break is echoed in well-formed XML, and
    // its line break does not start a line of the server's log.
    let signer = helpers::Signer::rsa();
    let forged_iss = "https://x.example\n2026-12-06T00:00:00Z  INFO FORGED-LINE\u{1}\r";
    let hostile = signer.sign(
        r#"{"alg":"RS256","kid":"k"}"#,
        &helpers::claims(&[("iss", serde_json::json!(forged_iss))]),
    );
    let (status, body) = reqwest_like(&server, &assume_form(&hostile, "")).await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>InvalidIdentityToken</Code>"), "{body}");
    assert!(
        body.contains(
            "for https://x.example\n2026-12-06T00:00:00Z  INFO FORGED-LINE\u{FFFD}&#xD;</Message>"
        ),
        "{body}"
    );
    assert!(
        !body.chars().any(|c| c.is_control() && c != '\n'),
        "a control character in the XML: {body:?}"
    );
    let logs = captured.text();
    assert!(logs.contains("FORGED-LINE"), "the refusal is logged");
    assert!(
        !logs
            .lines()
            .any(|l| l.starts_with("2026-12-06T00:00:00Z  INFO FORGED-LINE")),
        "a forged log line: {logs}"
    );

    // Trailing ASCII white space is what SDKs that read the file as is send: accepted. Other
    // white space is part of the token, which is then not a JWT.
    let (status, body) = reqwest_like(
        &server,
        &assume_form(&format!("{}\n", token("read-s3-hello")), ""),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = reqwest_like(
        &server,
        &assume_form(&format!("{}\u{a0}", token("read-s3-hello")), ""),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("The web identity token is malformed"),
        "{body}"
    );
    server.shutdown().await;
}

/// A discovery document whose `jwks_uri` only starts like the issuer is not read from the
/// issuer's endpoint: `https://oidc.example.test/cluster-a.evil.net/keys` is another host's.
#[tokio::test]
async fn a_jwks_uri_beside_the_issuer_is_not_taken_for_the_issuers() {
    let issuer = ISSUER.parse().unwrap();
    let mut document: serde_json::Value = serde_json::from_str(
        &OpenIdConfiguration::new(&issuer, &keys())
            .unwrap()
            .to_json(),
    )
    .unwrap();
    document["jwks_uri"] = serde_json::json!(format!("{ISSUER}.evil.net/keys"));
    let site = StaticSite::new()
        .document(
            "/cluster-a/.well-known/openid-configuration",
            "application/json",
            document.to_string().into_bytes(),
        )
        // Where the old prefix rewrite would have looked.
        .document(
            "/cluster-a.evil.net/keys",
            "application/json",
            keys().to_json().into_bytes(),
        )
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let endpoint = format!("{}/cluster-a", site.endpoint_url())
        .parse()
        .unwrap();
    let discovery = Discovery::new()
        .endpoint(endpoint)
        .timeout(Duration::from_secs(2));
    let provider = OidcProvider::with_discovery(issuer, discovery).unwrap();
    let server = serve(Sts::builder(registry(provider)).build().unwrap()).await;
    let (code, _) = assume(&server, "read-s3", "hello", &token("read-s3-hello"))
        .await
        .unwrap_err();
    assert_eq!(code, "InvalidIdentityToken");
    server.shutdown().await;
    site.shutdown().await;
}

/// GetCallerIdentity's signature must cover the host and the time, its declared payload hash
/// must be the body's, and its scope must name the server's region.
#[tokio::test]
async fn a_signature_must_cover_host_time_body_and_region() {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
    };

    let provider = OidcProvider::with_keys(ISSUER.parse().unwrap(), keys()).unwrap();
    let sts = Sts::builder(registry(provider))
        .region("us-east-1")
        .build()
        .unwrap();
    let server = serve(sts).await;
    let out = assume(&server, "read-s3", "hello", &token("read-s3-hello"))
        .await
        .unwrap();
    let credentials = session_credentials(&out);

    // Another region's scope, from the real SDK.
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url(server.endpoint_url())
        .credentials_provider(credentials.clone());
    let e = aws_sdk_sts::Client::from_conf(config.build())
        .get_caller_identity()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("SignatureDoesNotMatch"));
    assert_eq!(
        e.message(),
        Some("Credential should be scoped to a valid region, not 'eu-west-1'. ")
    );

    // Hand-signed requests: `signed_body` is what the signature covers, `body` is what is sent.
    let send = |signed_body: &'static str, body: &'static str, drop_host: bool| {
        let credentials = credentials.clone();
        let url = server.endpoint_url();
        async move {
            let identity = credentials.into();
            let mut settings = SigningSettings::default();
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            let params = aws_sigv4::sign::v4::SigningParams::builder()
                .identity(&identity)
                .region("us-east-1")
                .name("sts")
                .time(SystemTime::now())
                .settings(settings)
                .build()
                .unwrap()
                .into();
            let headers = [("content-type", "application/x-www-form-urlencoded")];
            let signable = SignableRequest::new(
                "POST",
                format!("{url}/"),
                headers.into_iter(),
                SignableBody::Bytes(signed_body.as_bytes()),
            )
            .unwrap();
            let (instructions, _) = sign(signable, &params).unwrap().into_parts();
            let mut request = http::Request::post(format!("{url}/"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_owned())
                .unwrap();
            instructions.apply_to_request_http1x(&mut request);
            let mut head = format!(
                "POST / HTTP/1.1\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            let authority = url.trim_start_matches("http://");
            head.push_str(&format!("host: {authority}\r\n"));
            for (name, value) in request.headers() {
                let mut value = value.to_str().unwrap().to_owned();
                if drop_host && name == "authorization" {
                    value = value.replace(
                        "SignedHeaders=content-type;host;",
                        "SignedHeaders=content-type;",
                    );
                }
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
            stream
                .write_all(format!("{head}\r\n{body}").as_bytes())
                .await
                .unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).await.unwrap();
            response
        }
    };
    const CALLER: &str = "Action=GetCallerIdentity&Version=2011-06-15";
    let good = send(CALLER, CALLER, false).await;
    assert!(good.starts_with("HTTP/1.1 200"), "{good}");
    assert!(
        good.contains("<Arn>arn:aws:sts::111122223333:assumed-role/read-s3/hello</Arn>"),
        "{good}"
    );

    // The body changed after signing, the declared hash still the signed one's: refused, not
    // verified against the declared hash.
    let tampered = send(
        CALLER,
        "Action=GetCallerIdentity&Version=2011-06-15&X=1",
        false,
    )
    .await;
    assert!(tampered.starts_with("HTTP/1.1 403"), "{tampered}");
    assert!(
        tampered.contains("<Message>The provided &apos;x-amz-content-sha256&apos; header does not match what was computed.</Message>"),
        "{tampered}"
    );
    let hostless = send(CALLER, CALLER, true).await;
    assert!(
        hostless.contains("<Code>IncompleteSignature</Code>"),
        "{hostless}"
    );
    assert!(
        hostless.contains("&apos;Host&apos; or &apos;:authority&apos; must be a &apos;SignedHeader&apos; in the AWS Authorization."),
        "{hostless}"
    );
    server.shutdown().await;
}

/// A failed key fetch is remembered for a few seconds: a burst of tokens for an unreachable
/// issuer costs one fetch, not one per request, and the log says why the others were refused.
#[tokio::test]
async fn a_failed_key_fetch_is_remembered_briefly() {
    let captured = Captured::global();
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/dead-issuer", dead.local_addr().unwrap());
    drop(dead);
    let provider = OidcProvider::with_discovery(
        ISSUER.parse().unwrap(),
        Discovery::new().endpoint(endpoint.parse().unwrap()),
    )
    .unwrap();
    let server = serve(Sts::builder(registry(provider)).build().unwrap()).await;
    for _ in 0..3 {
        let (code, _) = assume(&server, "read-s3", "hello", &token("read-s3-hello"))
            .await
            .unwrap_err();
        assert_eq!(code, "InvalidIdentityToken");
    }
    server.shutdown().await;
    let logs = captured.text();
    let remembered = logs
        .lines()
        .filter(|l| {
            l.contains("keys failed") && l.contains("they are fetched again 5 s after a failure")
        })
        .count();
    assert!(remembered >= 2, "{logs}");
}

/// A key set the test can rotate, counting the fetches of it.
struct RotatingIssuer {
    url: String,
    jwks: std::sync::Arc<std::sync::Mutex<String>>,
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl RotatingIssuer {
    async fn start(keys: &JwkSet) -> RotatingIssuer {
        use http_body_util::Full;
        use hyper_util::rt::TokioIo;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/cluster-a", listener.local_addr().unwrap());
        let discovery = OpenIdConfiguration::new(&ISSUER.parse().unwrap(), keys)
            .unwrap()
            .to_json();
        let jwks = std::sync::Arc::new(std::sync::Mutex::new(keys.to_json()));
        let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (served, counted) = (jwks.clone(), fetches.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (served, counted, discovery) =
                    (served.clone(), counted.clone(), discovery.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |request: http::Request<hyper::body::Incoming>| {
                            let body = if request.uri().path().ends_with("/openid/v1/jwks") {
                                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                served.lock().unwrap().clone()
                            } else {
                                discovery.clone()
                            };
                            async move {
                                Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                                    bytes::Bytes::from(body),
                                )))
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        RotatingIssuer { url, jwks, fetches }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A rotated key is found by one refetch once the cached set is 30 s old; tokens naming keys
/// nobody published cost no fetch at all before then.
#[tokio::test]
async fn an_unknown_kid_refetches_the_keys_at_most_every_thirty_seconds() {
    let clock = ManualTimeSource::new(SystemTime::now());
    let (old, _) = SigningKey::generate_es256().unwrap();
    let (new, _) = SigningKey::generate_es256().unwrap();
    let issuer =
        RotatingIssuer::start(&JwkSet::from_public_keys([old.public_key()]).unwrap()).await;
    let provider = OidcProvider::with_discovery(
        ISSUER.parse().unwrap(),
        Discovery::new().endpoint(issuer.url.parse().unwrap()),
    )
    .unwrap();
    let server = serve(
        Sts::builder(registry(provider))
            .time_source(clock.clone())
            .build()
            .unwrap(),
    )
    .await;
    let signed_by = |key: &SigningKey| {
        use aws_smithy_async::time::TimeSource as _;
        let now = clock.now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let request = BoundToken::new(
            ISSUER.parse().unwrap(),
            Subject::new("default", "read-s3-hello").unwrap(),
            "jti",
        )
        .audience("sts.amazonaws.com");
        key.sign(&request, crate::helpers::at(now as i64))
            .unwrap()
            .expose_secret()
            .to_owned()
    };
    assume(&server, "read-s3", "hello", &signed_by(&old))
        .await
        .unwrap();
    assert_eq!(issuer.fetches(), 1);

    // The issuer rotates to a new key. Within 30 s of the last fetch a token signed by it is
    // refused from the cached set, however many arrive.
    *issuer.jwks.lock().unwrap() = JwkSet::from_public_keys([new.public_key()])
        .unwrap()
        .to_json();
    for _ in 0..5 {
        let (code, _) = assume(&server, "read-s3", "hello", &signed_by(&new))
            .await
            .unwrap_err();
        assert_eq!(code, "InvalidIdentityToken");
    }
    assert_eq!(issuer.fetches(), 1);

    // Past 30 s: one refetch finds it.
    clock.advance(Duration::from_secs(31));
    assume(&server, "read-s3", "hello", &signed_by(&new))
        .await
        .unwrap();
    assume(&server, "read-s3", "hello", &signed_by(&new))
        .await
        .unwrap();
    assert_eq!(issuer.fetches(), 2);
    server.shutdown().await;
}
