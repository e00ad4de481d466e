//! `irsa agent` against real clients: the agent on loopback, the local STS upstream, and the
//! SDKs' own container-credentials providers driven by environment variables only — aws-config
//! (Rust), boto3, the AWS CLI and the JavaScript v3 SDK — each then calling
//! GetCallerIdentity with what it got, which the local STS checks by SigV4.

use crate::helpers::{self, text, venv_bin};

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_smithy_async::test_util::ManualTimeSource;
use aws_smithy_async::time::{SharedTimeSource, TimeSource as _};
use irsa::agent::{Agent, CacheScope, KeySource, RoleSource};
use irsa::http::RunningServer;
use irsa::oidc::JwkSet;
use irsa::sts::{OidcProvider, Registry, Role, Sts};
use irsa::token::{BoundToken, SigningKey, Subject};

const ACCOUNT: &str = "111122223333";
const ISSUER: &str = "https://oidc.example.test/agent";

fn key() -> SigningKey {
    SigningKey::from_pem(&text("k8s-vectors/rsa-private.pem")).unwrap()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A projected token for `namespace:name`, bound to pod `pod`.
fn token_with(
    key: &SigningKey,
    namespace: &str,
    name: &str,
    pod: &str,
    audience: &str,
    iat: i64,
) -> String {
    let request = BoundToken::new(
        ISSUER.parse().unwrap(),
        Subject::new(namespace, name).unwrap(),
        format!("jti-{pod}"),
    )
    .audience(audience)
    .expiration_seconds(3600)
    .pod(pod, Some(format!("uid-{pod}")));
    key.sign(&request, helpers::at(iat))
        .unwrap()
        .expose_secret()
        .to_owned()
}

fn token(name: &str, pod: &str) -> String {
    token_with(&key(), "shop", name, pod, "sts.amazonaws.com", now())
}

fn trust(name: &str) -> irsa::policy::TrustPolicy {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.example.test/agent"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"oidc.example.test/agent:sub":"system:serviceaccount:shop:{name}","oidc.example.test/agent:aud":"sts.amazonaws.com"}}}}}}]}}"#
    )
    .parse()
    .unwrap()
}

/// The local STS: roles `cart` and `pay`, each trusting only its own ServiceAccount.
async fn local_sts() -> RunningServer {
    let keys = JwkSet::from_public_keys([key().public_key()]).unwrap();
    let registry = Registry::new(ACCOUNT.parse().unwrap())
        .provider(OidcProvider::with_keys(ISSUER.parse().unwrap(), keys).unwrap())
        .role(Role::new("cart", trust("cart")).unwrap())
        .role(Role::new("pay", trust("pay")).unwrap());
    Sts::builder(registry)
        .build()
        .unwrap()
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// The key file and the role file: `shop:cart` and `shop:pay` mapped, `shop:nobody` not.
fn files(dir: &Path) -> (PathBuf, PathBuf) {
    let jwks = dir.join("jwks.json");
    std::fs::write(
        &jwks,
        JwkSet::from_public_keys([key().public_key()])
            .unwrap()
            .to_json(),
    )
    .unwrap();
    let roles = dir.join("roles.yaml");
    std::fs::write(
        &roles,
        format!("shop:cart: arn:aws:iam::{ACCOUNT}:role/cart\nshop:pay: arn:aws:iam::{ACCOUNT}:role/pay\n"),
    )
    .unwrap();
    (jwks, roles)
}

fn sdk_config(sts: &RunningServer) -> aws_types::SdkConfig {
    aws_types::SdkConfig::builder()
        .region(aws_types::region::Region::new("us-east-1"))
        .endpoint_url(sts.endpoint_url())
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

/// One GET of `/v1/credentials` with `authorization`: the status and the JSON body.
async fn ask(addr: std::net::SocketAddr, authorization: Option<&str>) -> (u16, serde_json::Value) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(connection);
    let mut request = http::Request::get("/v1/credentials").header("host", addr.to_string());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = sender
        .send_request(
            request
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    use http_body_util::BodyExt as _;
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

/// The ARN GetCallerIdentity gives for `credentials`, signed by the real SDK.
async fn caller(sts: &RunningServer, body: &serde_json::Value) -> String {
    let credentials = aws_credential_types::Credentials::new(
        body["AccessKeyId"].as_str().unwrap(),
        body["SecretAccessKey"].as_str().unwrap(),
        body["Token"].as_str().map(str::to_owned),
        None,
        "agent",
    );
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .endpoint_url(sts.endpoint_url())
        .credentials_provider(credentials)
        .build();
    let identity = aws_sdk_sts::Client::from_conf(config)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    identity.arn.unwrap()
}

/// 50 pods of one ServiceAccount, concurrently: one STS call, one session. Two
/// ServiceAccounts get their own roles, never the other's. No role, expired, wrong-audience,
/// foreign-key and missing tokens are refused with the status and code SDKs read. Pod scope
/// gives one session per pod, named for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call_per_service_account_and_every_refusal() {
    let sts = local_sts().await;
    let dir = tempfile::tempdir().unwrap();
    let (jwks, roles) = files(dir.path());
    let agent = Agent::builder(
        ISSUER.parse().unwrap(),
        KeySource::Jwks(jwks.clone()),
        RoleSource::File(roles.clone()),
        &sdk_config(&sts),
    )
    .listen(vec!["127.0.0.1:0".parse().unwrap()])
    .metrics_listen(None)
    .cluster_name("test")
    .shutdown_delay(Duration::ZERO)
    .start()
    .await
    .unwrap();
    assert!(agent.is_ready());
    let addr = agent.local_addrs()[0];
    let asks: Vec<_> = (0..50)
        .map(|n| {
            let token = token("cart", &format!("cart-{n}"));
            tokio::spawn(async move { ask(addr, Some(&token)).await })
        })
        .collect();
    let mut keys = std::collections::BTreeSet::new();
    for ask in asks {
        let (status, body) = ask.await.unwrap();
        assert_eq!(status, 200, "{body}");
        keys.insert(body["AccessKeyId"].as_str().unwrap().to_owned());
        assert_eq!(body["AccountId"], ACCOUNT);
        assert!(body["Expiration"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!((keys.len(), agent.sts_calls()), (1, 1));
    let (_, cart) = ask(addr, Some(&token("cart", "cart-0"))).await;
    assert_eq!(
        caller(&sts, &cart).await,
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/cart/test@shop.cart")
    );
    let (status, pay) = ask(addr, Some(&format!("Bearer {}", token("pay", "pay-0")))).await;
    assert_eq!(status, 200);
    assert_ne!(pay["AccessKeyId"], cart["AccessKeyId"]);
    assert_eq!(
        caller(&sts, &pay).await,
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/pay/test@shop.pay")
    );
    assert_eq!(agent.sts_calls(), 2);

    let (other_key, _) = SigningKey::generate_es256().unwrap();
    let refusals = [
        (
            Some(token("nobody", "n-0")),
            403,
            "AccessDenied",
            "ServiceAccount shop/nobody gets no credentials",
        ),
        (
            Some(token_with(
                &key(),
                "shop",
                "cart",
                "c",
                "sts.amazonaws.com",
                now() - 3600 - 400,
            )),
            401,
            "InvalidToken",
            "the token expired",
        ),
        (
            Some(token_with(&key(), "shop", "cart", "c", "vault", now())),
            401,
            "InvalidToken",
            "audiences [\"vault\"]",
        ),
        (
            Some(token_with(
                &other_key,
                "shop",
                "cart",
                "c",
                "sts.amazonaws.com",
                now(),
            )),
            401,
            "InvalidToken",
            "kid",
        ),
        (
            Some("not-a-token".to_owned()),
            401,
            "InvalidToken",
            "malformed",
        ),
        (None, 401, "MissingToken", "no Authorization header"),
    ];
    for (token, status, code, message) in refusals {
        let (got, body) = ask(addr, token.as_deref()).await;
        assert_eq!(
            (got, body["code"].as_str().unwrap()),
            (status, code),
            "{body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains(message),
            "{body}"
        );
        assert_eq!(body["Code"], code, "the JavaScript SDK reads Code");
    }
    assert_eq!(agent.sts_calls(), 2, "no refusal reached STS");
    agent.shutdown().await;

    let agent = Agent::builder(
        ISSUER.parse().unwrap(),
        KeySource::Jwks(jwks),
        RoleSource::File(roles),
        &sdk_config(&sts),
    )
    .listen(vec!["127.0.0.1:0".parse().unwrap()])
    .metrics_listen(None)
    .scope(CacheScope::Pod)
    .rate_limit(1, 3)
    .shutdown_delay(Duration::ZERO)
    .start()
    .await
    .unwrap();
    let addr = agent.local_addrs()[0];
    for pod in ["cart-a", "cart-b", "cart-a"] {
        let (status, body) = ask(addr, Some(&token("cart", pod))).await;
        assert_eq!(status, 200);
        let arn = caller(&sts, &body).await;
        assert_eq!(
            arn,
            format!("arn:aws:sts::{ACCOUNT}:assumed-role/cart/shop.cart.{pod}")
        );
    }
    assert_eq!(agent.sts_calls(), 2);
    // Three requests spent the burst of 3; refilled at one a second, the next ones are
    // throttled.
    let mut throttled = Vec::new();
    for _ in 0..3 {
        let (status, body) = ask(addr, Some(&token("cart", "cart-a"))).await;
        if status == 429 {
            throttled.push(body["code"].as_str().unwrap().to_owned());
        }
    }
    assert!(
        !throttled.is_empty() && throttled.iter().all(|c| c == "Throttling"),
        "{throttled:?}"
    );
    agent.shutdown().await;
    sts.shutdown().await;
}

/// STS down: the cached credentials are served until only the margin is left, then a clear
/// 503; a rotated token is answered from the cache. The clock is the agent's injected one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_down_serves_the_cache_to_the_margin_then_a_clear_503() {
    let sts = local_sts().await;
    let dir = tempfile::tempdir().unwrap();
    let (jwks, roles) = files(dir.path());
    let clock = ManualTimeSource::new(SystemTime::now());
    let agent = Agent::builder(
        ISSUER.parse().unwrap(),
        KeySource::Jwks(jwks),
        RoleSource::File(roles),
        &sdk_config(&sts),
    )
    .listen(vec!["127.0.0.1:0".parse().unwrap()])
    .metrics_listen(Some("127.0.0.1:0".parse().unwrap()))
    .session_duration(Duration::from_secs(3600))
    .time_source(SharedTimeSource::new(clock.clone()))
    .shutdown_delay(Duration::ZERO)
    .start()
    .await
    .unwrap();
    let addr = agent.local_addrs()[0];
    let (status, first) = ask(addr, Some(&token("cart", "cart-0"))).await;
    assert_eq!(status, 200);
    sts.shutdown().await;
    // The kubelet rotated the pod's token: same ServiceAccount, served from the cache.
    clock.advance(Duration::from_secs(20 * 60));
    let rotated = token_with(
        &key(),
        "shop",
        "cart",
        "cart-0",
        "sts.amazonaws.com",
        clock.now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64,
    );
    let (status, again) = ask(addr, Some(&rotated)).await;
    assert_eq!(
        (status, &again["AccessKeyId"]),
        (200, &first["AccessKeyId"])
    );
    // 44 minutes in: the background refresh (due from 30 minutes before expiry) failed; the
    // cache still has more than 15 minutes.
    clock.advance(Duration::from_secs(24 * 60));
    assert_eq!(agent.refresh_now().await, 1);
    let (status, _) = ask(addr, Some(&rotated)).await;
    assert_eq!(status, 200);
    // 45 minutes and a second: nothing servable; STS cannot be reached.
    clock.advance(Duration::from_secs(61));
    let (status, body) = ask(addr, Some(&rotated)).await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (503, "ServiceUnavailable"),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("STS cannot be reached"),
        "{body}"
    );
    assert_eq!(agent.sts_calls(), 3);
    let metrics = reqwest_get(agent.metrics_addr().unwrap(), "/metrics").await;
    for line in [
        "irsa_agent_sts_calls_total{outcome=\"success\"} 1",
        "irsa_agent_sts_calls_total{outcome=\"error\"} 2",
        "irsa_agent_cache_total{result=\"hit\"} 2",
        "irsa_agent_requests_total{code=\"503\"} 1",
        "irsa_agent_refresh_errors_total 1",
        "irsa_agent_cached_keys 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} not in\n{metrics}"
        );
    }
    agent.shutdown().await;
}

async fn reqwest_get(addr: std::net::SocketAddr, path: &str) -> String {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = http::Request::get(path)
        .header("host", addr.to_string())
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    use http_body_util::BodyExt as _;
    String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

/// `irsa agent serve` as a process, reached by each SDK's container provider.
struct AgentProcess {
    child: Child,
    url: String,
    metrics: String,
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent_process(dir: &Path, sts: &RunningServer) -> AgentProcess {
    let (jwks, roles) = files(dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_irsa"))
        .args([
            "agent",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-address",
            "127.0.0.1:0",
            "--issuer",
            ISSUER,
            "--cluster-name",
            "sdk",
            "--shutdown-delay",
            "0s",
        ])
        .arg("--jwks")
        .arg(&jwks)
        .arg("--service-account-roles")
        .arg(&roles)
        .env_clear()
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL_STS", sts.endpoint_url())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("agent.log")).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // listening on http://127.0.0.1:P/v1/credentials, metrics on http://127.0.0.1:Q
    let Some((url, metrics)) = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|rest| rest.split_once(", metrics on http://"))
    else {
        panic!(
            "{line:?}: {}",
            std::fs::read_to_string(dir.join("agent.log")).unwrap()
        );
    };
    let (url, metrics) = (url.to_owned(), metrics.to_owned());
    AgentProcess {
        child,
        url,
        metrics,
    }
}

/// The environment the webhook injects, and nothing else of AWS's.
fn client_env(
    agent: &AgentProcess,
    token_file: &Path,
    sts: &RunningServer,
) -> Vec<(String, String)> {
    [
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", agent.url.clone()),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            token_file.display().to_string(),
        ),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_ENDPOINT_URL_STS", sts.endpoint_url()),
        ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn run(program: &Path, args: &[&str], env: &[(String, String)], home: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// aws-config (Rust), boto3, the AWS CLI and the JavaScript v3 SDK take credentials from the
/// agent through their own container providers, driven by the environment alone, and sign
/// GetCallerIdentity with them; all of them together cost one STS call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_sdks_take_credentials_from_the_agent() {
    let sts = local_sts().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = agent_process(dir.path(), &sts);
    let token_file = dir.path().join("eks-pod-identity-token");
    std::fs::write(&token_file, token("cart", "cart-0")).unwrap();
    let env = client_env(&agent, &token_file, &sts);
    let expected = format!("arn:aws:sts::{ACCOUNT}:assumed-role/cart/sdk@shop.cart");

    let home = dir.path().to_owned();
    let python = venv_bin("python");
    let boto3 = "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])";
    let aws = venv_bin("aws");
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/container.mjs");
    // Rust: aws-config's default chain in examples/whoami.rs (built beside the binary).
    let whoami = Path::new(env!("CARGO_BIN_EXE_irsa"))
        .with_file_name("examples")
        .join("whoami");
    assert!(
        whoami.exists(),
        "{} not built: run `cargo test --all-features` (which builds the examples)",
        whoami.display()
    );
    let (env2, home2) = (env.clone(), home.clone());
    let arns = tokio::task::spawn_blocking(move || {
        let mut arns = vec![
            ("aws-config", run(&whoami, &[], &env2, &home2)),
            ("boto3", run(&python, &["-c", boto3], &env2, &home2)),
            (
                "aws",
                run(
                    &aws,
                    &[
                        "sts",
                        "get-caller-identity",
                        "--query",
                        "Arn",
                        "--output",
                        "text",
                    ],
                    &env2,
                    &home2,
                ),
            ),
        ];
        match which("node") {
            Some(node) => arns.push(("js", run(&node, &[js.to_str().unwrap()], &env2, &home2))),
            None => eprintln!("node is not installed here: the JavaScript SDK was not driven"),
        }
        arns
    })
    .await
    .unwrap();
    for (client, output) in &arns {
        // The JavaScript SDK prints the key it was given; the others the caller's ARN.
        if *client == "js" {
            let got: serde_json::Value = serde_json::from_str(output).unwrap();
            assert!(
                got["accessKeyId"].as_str().unwrap().starts_with("ASIA"),
                "{client}: {output}"
            );
            assert_eq!(got["hasSessionToken"], true, "{client}: {output}");
            assert!(
                got["expiration"].as_str().unwrap().ends_with('Z'),
                "{client}: {output}"
            );
        } else {
            assert_eq!(output, &expected, "{client}");
        }
    }
    let metrics = reqwest_get(agent.metrics.parse().unwrap(), "/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l == "irsa_agent_sts_calls_total{outcome=\"success\"} 1"),
        "{metrics}"
    );

    // The log says who got what, never a token, a secret key or a session token.
    let addr: std::net::SocketAddr = agent
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/v1/credentials")
        .parse()
        .unwrap();
    let the_token = token("cart", "cart-9");
    let (_, body) = ask(addr, Some(&the_token)).await;
    let _ = ask(addr, Some(&token("nobody", "n"))).await;
    // SIGTERM: the agent drains and exits 0.
    let mut agent = agent;
    let pid = agent.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = agent.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(dir.path().join("agent.log")).unwrap();
    for line in [
        "\"message\":\"credentials issued\"",
        "\"message\":\"no role\"",
        "\"message\":\"agent stopped\"",
    ] {
        assert!(log.contains(line), "{line} not in {log}");
    }
    for secret in [
        the_token.as_str(),
        body["SecretAccessKey"].as_str().unwrap(),
        body["Token"].as_str().unwrap(),
    ] {
        assert!(
            !log.contains(&secret[secret.len() - 16..]),
            "a secret reached the log"
        );
    }
    drop(agent);
    sts.shutdown().await;
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// `irsa agent manifests` for an example image and the tests' issuer, and `extra`.
fn run_agent_manifests(extra: &[&str]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_irsa"))
        .args([
            "agent",
            "manifests",
            "--image",
            "example.com/irsa:1",
            "--issuer",
            ISSUER,
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    output
}

fn agent_manifests(extra: &[&str]) -> Vec<serde_json::Value> {
    let output = run_agent_manifests(extra);
    let yaml = String::from_utf8(output.stdout).unwrap();
    serde_norway::Deserializer::from_str(&yaml)
        .map(|document| serde::Deserialize::deserialize(document).unwrap())
        .collect()
}

/// The DaemonSet and its RBAC pass the Kubernetes schemas (strict), and hold what the agent
/// needs: host network, the link-local address put up by an init container that alone has
/// NET_ADMIN, a serving container without capabilities on a high port (NET_BIND_SERVICE
/// alone on port 80), no API access with a role ConfigMap.
#[test]
fn agent_manifests_pass_the_kubernetes_schemas() {
    let cluster = agent_manifests(&["--cluster-name", "prod", "--ipv6"]);
    let kinds: Vec<&str> = cluster
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "DaemonSet"
        ]
    );
    let pod = &cluster[4]["spec"]["template"]["spec"];
    assert_eq!(
        (
            pod["hostNetwork"].as_bool(),
            pod["priorityClassName"].as_str()
        ),
        (Some(true), Some("system-node-critical"))
    );
    assert_eq!(
        pod["initContainers"][0]["securityContext"]["capabilities"]["add"],
        serde_json::json!(["NET_ADMIN"])
    );
    let agent = &pod["containers"][0];
    assert_eq!(agent["securityContext"]["runAsUser"], 65532);
    assert!(
        agent["securityContext"]["capabilities"]
            .get("add")
            .is_none()
    );
    let args: Vec<&str> = agent["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    for arg in [
        "--listen=169.254.170.23:2704",
        "--listen=[fd00:ec2::23]:2704",
        "--cluster-name=prod",
    ] {
        assert!(args.contains(&arg), "{arg} not in {args:?}");
    }
    let script = pod["initContainers"][0]["command"][2].as_str().unwrap();
    assert!(
        script.contains("ip addr add 169.254.170.23/32 dev irsa-agent0"),
        "{script}"
    );

    let file = agent_manifests(&["--roles-configmap", "agent-roles", "--port", "80"]);
    let kinds: Vec<&str> = file.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Namespace", "ServiceAccount", "DaemonSet"]);
    let pod = &file[2]["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    let agent = &pod["containers"][0];
    assert_eq!(
        agent["securityContext"]["capabilities"]["add"],
        serde_json::json!(["NET_BIND_SERVICE"])
    );
    assert!(
        agent["args"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(
                "--service-account-roles=/etc/irsa-agent/roles.yaml"
            ))
    );

    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, objects) in [("cluster", &cluster), ("file", &file)] {
        let path = dir.path().join(format!("{name}.yaml"));
        let yaml: String = objects
            .iter()
            .map(|o| format!("---\n{}", serde_norway::to_string(o).unwrap()))
            .collect();
        std::fs::write(&path, yaml).unwrap();
        files.push(path);
    }
    let report = crate::helpers::cli::kubernetes_validate(&files);
    assert_eq!(
        report.matches(" passed for resource ").count(),
        8,
        "{report}"
    );
}

/// What `irsa agent manifests` tells the user to give the webhook, `irsa webhook manifests`
/// takes, and its Deployment runs the webhook server with it.
#[test]
fn the_agent_manifests_note_configures_the_webhook() {
    let agent = run_agent_manifests(&[]);
    let note = String::from_utf8(agent.stderr).unwrap();
    let flags: Vec<&str> = note
        .split([' ', ','])
        .filter(|word| word.starts_with("--container-credentials-"))
        .collect();
    assert_eq!(
        flags,
        [
            "--container-credentials-full-uri=http://169.254.170.23:2704/v1/credentials",
            "--container-credentials-audience=sts.amazonaws.com"
        ],
        "{note}"
    );
    assert!(
        note.contains(
            r#"annotate their ServiceAccounts irsa-rs.github.io/container-credentials: "true""#
        ),
        "{note}"
    );
    let webhook = Command::new(env!("CARGO_BIN_EXE_irsa"))
        .args(["webhook", "manifests", "--image", "example.com/irsa:1"])
        .args(&flags)
        .output()
        .unwrap();
    assert!(webhook.status.success(), "{webhook:?}");
    let yaml = String::from_utf8(webhook.stdout).unwrap();
    let deployment: serde_json::Value = serde_norway::Deserializer::from_str(&yaml)
        .map(|document| serde::Deserialize::deserialize(document).unwrap())
        .find(|o: &serde_json::Value| o["kind"] == "Deployment")
        .unwrap();
    let args = &deployment["spec"]["template"]["spec"]["containers"][0]["args"];
    for flag in &flags {
        assert!(
            args.as_array().unwrap().contains(&serde_json::json!(flag)),
            "{flag} not in {args}"
        );
    }
    // Refused, exit 2, saying why: plain http to a host the SDKs refuse for container
    // credentials, and no endpoint at all.
    for (uri, reason) in [
        (
            "http://irsa-agent.kube-system.svc/v1/credentials",
            "the SDKs take plain http only to loopback, 169.254.170.2, 169.254.170.23 or fd00:ec2::23, not irsa-agent.kube-system.svc",
        ),
        (
            "169.254.170.23",
            "give the agent's endpoint as an absolute http or https URL, e.g. http://169.254.170.23:2704/v1/credentials",
        ),
    ] {
        let refused = Command::new(env!("CARGO_BIN_EXE_irsa"))
            .args(["webhook", "manifests", "--image", "x"])
            .args(["--container-credentials-full-uri", uri])
            .output()
            .unwrap();
        assert_eq!(refused.status.code(), Some(2), "{uri}");
        let stderr = String::from_utf8(refused.stderr).unwrap();
        assert!(
            stderr.contains("--container-credentials-full-uri") && stderr.contains(reason),
            "{uri}: {stderr}"
        );
    }
}

/// The agent as a cluster runs it: roles from the ServiceAccounts' annotations through the
/// kube-rs cache (a fake apiserver over HTTPS), keys from the issuer's discovery document. It is
/// ready once both are in; an unannotated or missing ServiceAccount gets `403` with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_from_annotations_and_keys_from_discovery() {
    use crate::helpers::fake_apiserver::FakeApiserver;
    let sts = local_sts().await;
    let dir = tempfile::tempdir().unwrap();
    let apiserver = FakeApiserver::start().await;
    let role = format!("arn:aws:iam::{ACCOUNT}:role/cart");
    apiserver.put(
        "shop",
        "cart",
        &[("eks.amazonaws.com/role-arn", role.as_str())],
        false,
    );
    apiserver.put("shop", "plain", &[], false);
    apiserver.put(
        "shop",
        "typo",
        &[("eks.amazonaws.com/role-arn", "cart")],
        false,
    );
    let kubeconfig = kube::config::Kubeconfig::read_from(apiserver.kubeconfig(dir.path())).unwrap();
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    let client = kube::Client::try_from(config).unwrap();

    let issuer: irsa::oidc::IssuerUrl = ISSUER.parse().unwrap();
    let keys = JwkSet::from_public_keys([key().public_key()]).unwrap();
    let site = irsa::http::StaticSite::new()
        .document(
            "/agent/.well-known/openid-configuration",
            "application/json",
            irsa::oidc::OpenIdConfiguration::new(&issuer, &keys)
                .unwrap()
                .to_json()
                .into_bytes(),
        )
        .document(
            "/agent/openid/v1/jwks",
            "application/json",
            keys.to_json().into_bytes(),
        )
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let endpoint = format!("{}/agent", site.endpoint_url()).parse().unwrap();
    let agent = Agent::builder(
        issuer,
        KeySource::Discovery {
            endpoint: Some(endpoint),
        },
        RoleSource::Cluster {
            client,
            annotation_prefix: "eks.amazonaws.com".to_owned(),
        },
        &sdk_config(&sts),
    )
    .listen(vec!["127.0.0.1:0".parse().unwrap()])
    .metrics_listen(Some("127.0.0.1:0".parse().unwrap()))
    .shutdown_delay(Duration::ZERO)
    .start()
    .await
    .unwrap();
    for _ in 0..200 {
        if agent.is_ready() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        agent.is_ready(),
        "keys fetched and ServiceAccounts listed within 5 s"
    );
    assert_eq!(
        reqwest_get(agent.metrics_addr().unwrap(), "/readyz").await,
        "ok\n"
    );
    let addr = agent.local_addrs()[0];
    let (status, body) = ask(addr, Some(&token("cart", "cart-0"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        caller(&sts, &body).await,
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/cart/shop.cart")
    );
    for (name, reason) in [
        (
            "plain",
            "ServiceAccount shop/plain gets no credentials: it has no role",
        ),
        ("typo", "its role annotation \"cart\" is not a role ARN"),
        (
            "ghost",
            "ServiceAccount shop/ghost gets no credentials: it does not exist",
        ),
    ] {
        let (status, body) = ask(addr, Some(&token(name, "p"))).await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (403, "AccessDenied"),
            "{body}"
        );
        assert!(body["message"].as_str().unwrap().contains(reason), "{body}");
    }
    // The missing one cost one GET, and its retries none: the apiserver's answer is remembered.
    let gets = apiserver.gets();
    for _ in 0..3 {
        assert_eq!(ask(addr, Some(&token("ghost", "p"))).await.0, 403);
    }
    assert_eq!(apiserver.gets(), gets);
    // Until the watch brings it: its role is then asked of STS (whose `cart` trusts only
    // shop:cart, so the refusal names the role the annotation gave).
    apiserver.put(
        "shop",
        "ghost",
        &[("eks.amazonaws.com/role-arn", role.as_str())],
        false,
    );
    let refused = format!("STS refused role {role} for shop/ghost");
    let mut answer = serde_json::Value::Null;
    for _ in 0..100 {
        answer = ask(addr, Some(&token("ghost", "p"))).await.1;
        if answer["message"].as_str().unwrap().contains(&refused) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        answer["message"].as_str().unwrap().contains(&refused),
        "a created ServiceAccount is mapped at once: {answer}"
    );
    assert_eq!(apiserver.gets(), gets);
    agent.shutdown().await;
    site.shutdown().await;
    sts.shutdown().await;
}

/// What the agent cannot use is refused before it listens, in one line that names the flag or
/// file and the fix.
#[test]
fn unusable_agent_settings_are_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (jwks, roles) = files(dir.path());
    let (jwks, roles) = (jwks.to_str().unwrap(), roles.to_str().unwrap());
    let serve = |extra: &[&str]| -> Vec<String> {
        [
            "agent",
            "serve",
            "--issuer",
            ISSUER,
            "--metrics-address",
            "",
            "--log-format",
            "text",
        ]
        .iter()
        .chain(extra)
        .map(|s| (*s).to_owned())
        .collect()
    };
    let bad_roles = dir.path().join("bad.yaml");
    std::fs::write(&bad_roles, "cart: arn:aws:iam::111122223333:role/cart\n").unwrap();
    let cases: [(Vec<String>, &[&str]); 5] = [
        (
            serve(&[
                "--jwks",
                jwks,
                "--service-account-roles",
                bad_roles.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ]),
            &[
                "--service-account-roles",
                "has key \"cart\"",
                "`namespace:name`",
            ],
        ),
        (
            serve(&[
                "--jwks",
                roles,
                "--service-account-roles",
                roles,
                "--listen",
                "127.0.0.1:0",
            ]),
            &["--jwks", "is not a JWKS"],
        ),
        (
            serve(&[
                "--jwks",
                jwks,
                "--service-account-roles",
                roles,
                "--listen",
                "127.0.0.1:0",
                "--session-duration",
                "15m",
            ]),
            &[
                "--session-duration and --min-remaining",
                "ask for a longer session or a smaller margin",
            ],
        ),
        (
            // No interface here has the link-local address: the init container's job.
            serve(&[
                "--jwks",
                jwks,
                "--service-account-roles",
                roles,
                "--listen",
                "169.254.170.23:2704",
            ]),
            &[
                "--listen",
                "no interface of this host has that address",
                "init container",
            ],
        ),
        (
            [
                "agent",
                "serve",
                "--issuer",
                "http://oidc.example.test",
                "--jwks",
                jwks,
            ]
            .map(str::to_owned)
            .to_vec(),
            &["--issuer http://oidc.example.test"],
        ),
    ];
    for (args, fragments) in cases {
        // A node's region comes from its environment (or the instance metadata, which is not
        // here).
        let output = Command::new(env!("CARGO_BIN_EXE_irsa"))
            .args(&args)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        for fragment in fragments {
            assert!(
                stderr.contains(fragment),
                "{args:?}: {stderr:?} lacks {fragment:?}"
            );
        }
    }
}

/// `irsa token --out` writes a token file as the kubelet does: no newline (SDKs refuse one in
/// the Authorization header they send the agent), readable by its owner only.
#[test]
fn a_token_file_is_written_as_the_kubelet_writes_it() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    let key = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/k8s-vectors/rsa-private.pem");
    let output = Command::new(env!("CARGO_BIN_EXE_irsa"))
        .args([
            "token",
            "--issuer",
            ISSUER,
            "--service-account",
            "shop:cart",
            "--signing-key",
        ])
        .arg(&key)
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("wrote {} (the token, 0600)\n", file.display())
    );
    let token = std::fs::read_to_string(&file).unwrap();
    assert_eq!(token.matches('.').count(), 2);
    assert!(!token.ends_with('\n'));
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
}
