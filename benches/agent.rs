//! The agent measured: cached answers per second over keep-alive with the agent on one core,
//! with p50 and p99, beside its floor (the library's verification of the same tokens, cached
//! as the agent caches it, and the answer's JSON); the heap one cached ServiceAccount costs;
//! and the STS calls of one simulated hour for 100 pods of one ServiceAccount, beside what the
//! EKS agent's cache (keyed by the token string) would make for the same requests.
//!
//! The upstream is the local STS inside this process; the agent is the library's `Agent`,
//! what `irsa agent serve` runs. The simulated hour drives one injected clock shared by the
//! agent and the local STS: no sleeping.
//!
//! ```text
//! cargo bench --features cli --bench agent [-- seconds=5 connections=8]
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    clippy::cast_precision_loss
)]

use std::alloc::System;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_smithy_async::test_util::ManualTimeSource;
use aws_smithy_async::time::{SharedTimeSource, TimeSource as _};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use irsa::agent::{Agent, KeySource, RoleSource};
use irsa::http::RunningServer;
use irsa::oidc::JwkSet;
use irsa::sts::{OidcProvider, Registry, Role, Sts};
use irsa::token::{BoundToken, SigningKey, Subject, Verifier};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const ACCOUNT: &str = "111122223333";
const ISSUER: &str = "https://oidc.example.test/bench";

fn key() -> SigningKey {
    let pem = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/k8s-vectors/rsa-private.pem"),
    )
    .unwrap();
    SigningKey::from_pem(&pem).unwrap()
}

fn token(key: &SigningKey, name: &str, pod: &str, at: SystemTime) -> String {
    let request = BoundToken::new(
        ISSUER.parse().unwrap(),
        Subject::new("shop", name).unwrap(),
        format!("{pod}-{}", at.duration_since(UNIX_EPOCH).unwrap().as_secs()),
    )
    .audience("sts.amazonaws.com")
    .expiration_seconds(3600)
    .pod(pod, Some(format!("uid-{pod}")));
    key.sign(&request, at).unwrap().expose_secret().to_owned()
}

/// The local STS trusting `shop:sa-*` for role `app`.
async fn local_sts(key: &SigningKey, time: Option<ManualTimeSource>) -> RunningServer {
    let keys = JwkSet::from_public_keys([key.public_key()]).unwrap();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.example.test/bench"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringLike":{{"oidc.example.test/bench:sub":"system:serviceaccount:shop:sa-*"}}}}}}]}}"#
    );
    let registry = Registry::new(ACCOUNT.parse().unwrap())
        .provider(OidcProvider::with_keys(ISSUER.parse().unwrap(), keys).unwrap())
        .role(Role::new("app", policy.parse().unwrap()).unwrap());
    let mut builder = Sts::builder(registry);
    if let Some(time) = time {
        builder = builder.time_source(time);
    }
    builder
        .build()
        .unwrap()
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn files(
    dir: &Path,
    key: &SigningKey,
    accounts: usize,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let jwks = dir.join("jwks.json");
    std::fs::write(
        &jwks,
        JwkSet::from_public_keys([key.public_key()])
            .unwrap()
            .to_json(),
    )
    .unwrap();
    let roles = dir.join("roles.yaml");
    let mut text = String::new();
    for i in 0..accounts {
        text.push_str(&format!("shop:sa-{i}: arn:aws:iam::{ACCOUNT}:role/app\n"));
    }
    std::fs::write(&roles, text).unwrap();
    (jwks, roles)
}

fn sdk_config(sts: &RunningServer) -> aws_types::SdkConfig {
    aws_types::SdkConfig::builder()
        .region(aws_types::region::Region::new("us-east-1"))
        .endpoint_url(sts.endpoint_url())
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

async fn ask(
    sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    addr: SocketAddr,
    token: &str,
) -> u16 {
    let request = hyper::Request::get("/v1/credentials")
        .header("host", addr.to_string())
        .header("authorization", token)
        .body(Empty::new())
        .unwrap();
    sender.ready().await.unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let _ = response.into_body().collect().await.unwrap();
    status
}

async fn connect(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<Empty<Bytes>> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(connection);
    sender
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p) as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: u64| {
        args.iter()
            .find_map(|a| {
                a.strip_prefix(&format!("{name}="))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(default)
    };
    let seconds = arg("seconds", 5);
    let connections = arg("connections", 8) as usize;
    let key = key();
    let now = SystemTime::now();
    let tokens: Arc<Vec<String>> = Arc::new(
        (0..100)
            .map(|p| token(&key, "sa-0", &format!("pod-{p}"), now))
            .collect(),
    );

    // The floor: the verification the agent does (its verifier caches a token for a minute)
    // and the answer's JSON, on one core.
    let keys = JwkSet::from_public_keys([key.public_key()]).unwrap();
    let verifier = Verifier::builder(&keys)
        .issuer(ISSUER.parse().unwrap())
        .audience("sts.amazonaws.com")
        .cache(10_000, Duration::from_secs(60))
        .build()
        .unwrap();
    let started = Instant::now();
    let mut bare = 0u32;
    while started.elapsed() < Duration::from_secs(seconds.min(3)) {
        for token in tokens.iter() {
            let verified = verifier.verify(token, now).unwrap();
            let body = serde_json::json!({"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "x".repeat(40), "Token": "y".repeat(700), "Expiration": "2026-12-06T18:00:00Z", "AccountId": ACCOUNT, "sub": verified.claims().sub});
            bare += body.to_string().len().min(1) as u32;
        }
    }
    let bare_each = started.elapsed() / bare;

    // The agent on one thread, the local STS and the clients on another runtime.
    let dir = tempfile::tempdir().unwrap();
    let (jwks, roles) = files(dir.path(), &key, 20_000);
    let io = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sts = io.block_on(local_sts(&key, None));
    let config = sdk_config(&sts);
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (jwks2, roles2) = (jwks.clone(), roles.clone());
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let running = Agent::builder(
                ISSUER.parse().unwrap(),
                KeySource::Jwks(jwks2),
                RoleSource::File(roles2),
                &config,
            )
            .listen(vec!["127.0.0.1:0".parse().unwrap()])
            .metrics_listen(None)
            .rate_limit(1_000_000, 1_000_000)
            .shutdown_delay(Duration::ZERO)
            .start()
            .await
            .unwrap();
            addr_tx.send(running.local_addrs()[0]).unwrap();
            let _ = stop_rx.await;
            running.shutdown().await;
        });
    });
    let addr = addr_rx.recv().unwrap();
    let run = |clients: usize| {
        let tokens = tokens.clone();
        io.block_on(async move {
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let tasks: Vec<_> = (0..clients)
                .map(|c| {
                    let tokens = tokens.clone();
                    tokio::spawn(async move {
                        let mut sender = connect(addr).await;
                        let mut latencies = Vec::new();
                        let mut i = c;
                        while Instant::now() < deadline {
                            let sent = Instant::now();
                            assert_eq!(
                                ask(&mut sender, addr, &tokens[i % tokens.len()]).await,
                                200
                            );
                            latencies.push(sent.elapsed());
                            i += clients;
                        }
                        latencies
                    })
                })
                .collect();
            let mut latencies = Vec::new();
            for task in tasks {
                latencies.extend(task.await.unwrap());
            }
            latencies.sort();
            latencies
        })
    };
    // Warm: the one STS call for sa-0.
    let _ = run(1);
    println!(
        "agent over HTTP keep-alive, 100 pods' tokens of one ServiceAccount, cached, agent on one core"
    );
    println!(
        "  floor: the library's verification (cached) and the answer's JSON: {:.1} µs, {:.0} answers/s",
        bare_each.as_secs_f64() * 1e6,
        1.0 / bare_each.as_secs_f64()
    );
    for clients in [1, connections] {
        let latencies = run(clients);
        let per_second = latencies.len() as f64 / seconds as f64;
        println!(
            "  {clients} connection(s): {per_second:.0} answers/s, p50 {:.0} µs, p99 {:.0} µs; {:.1} × the floor's time per answer",
            percentile(&latencies, 0.5).as_secs_f64() * 1e6,
            percentile(&latencies, 0.99).as_secs_f64() * 1e6,
            (1.0 / per_second) / bare_each.as_secs_f64()
        );
    }
    let _ = stop_tx.send(());
    server.join().unwrap();

    // Memory: the heap 10 000 more ServiceAccounts' sessions keep (one token each, its
    // verification cached, the session's credentials, the key).
    let accounts = 10_000usize;
    let sa_tokens: Vec<String> = (1..=accounts)
        .map(|i| token(&key, &format!("sa-{i}"), "pod-0", now))
        .collect();
    let heap = io.block_on(async {
        let running = Agent::builder(
            ISSUER.parse().unwrap(),
            KeySource::Jwks(jwks.clone()),
            RoleSource::File(roles.clone()),
            &sdk_config(&sts),
        )
        .listen(vec!["127.0.0.1:0".parse().unwrap()])
        .metrics_listen(None)
        .rate_limit(1_000_000, 1_000_000)
        .max_keys(20_000)
        .shutdown_delay(Duration::ZERO)
        .start()
        .await
        .unwrap();
        let addr = running.local_addrs()[0];
        let mut sender = connect(addr).await;
        assert_eq!(
            ask(&mut sender, addr, &token(&key, "sa-0", "pod-0", now)).await,
            200
        );
        let region = Region::new(GLOBAL);
        for token in &sa_tokens {
            assert_eq!(ask(&mut sender, addr, token).await, 200);
        }
        let change = region.change();
        assert_eq!(running.cached_sessions(), accounts + 1);
        running.shutdown().await;
        change.bytes_allocated as i64 - change.bytes_deallocated as i64
    });
    println!(
        "cache memory: {accounts} more ServiceAccounts keep {:.2} MB of heap, {:.0} B each (the session's credentials, the freshest token, its cached verification)",
        heap as f64 / 1e6,
        heap as f64 / accounts as f64
    );

    // One simulated hour, 100 pods of sa-0: each asks every 5 minutes (Go's and JavaScript's
    // SDKs refresh 5 minutes ahead; botocore 15), the kubelet rotates each pod's token at 80 %
    // of its hour (minute 48, offset per pod).
    let clock = ManualTimeSource::new(SystemTime::now());
    let (ours, eks) = io.block_on(async {
        let sts = local_sts(&key, Some(clock.clone())).await;
        let running = Agent::builder(
            ISSUER.parse().unwrap(),
            KeySource::Jwks(jwks.clone()),
            RoleSource::File(roles.clone()),
            &sdk_config(&sts),
        )
        .listen(vec!["127.0.0.1:0".parse().unwrap()])
        .metrics_listen(None)
        .rate_limit(1_000_000, 1_000_000)
        .time_source(SharedTimeSource::new(clock.clone()))
        .shutdown_delay(Duration::ZERO)
        .start()
        .await
        .unwrap();
        let addr = running.local_addrs()[0];
        let mut sender = connect(addr).await;
        let start = clock.now();
        let mut pod_tokens: Vec<String> = (0..100)
            .map(|p| token(&key, "sa-0", &format!("pod-{p}"), start))
            .collect();
        let mut distinct = HashSet::new();
        for minute in 0..60u64 {
            for (p, pod_token) in pod_tokens.iter_mut().enumerate() {
                let p = p as u64;
                if minute == 48 + p % 10 {
                    *pod_token = token(&key, "sa-0", &format!("pod-{p}"), clock.now());
                }
                if minute % 5 == p % 5 {
                    assert_eq!(ask(&mut sender, addr, pod_token).await, 200);
                    distinct.insert(pod_token.clone());
                }
            }
            running.refresh_now().await;
            clock.advance(Duration::from_secs(60));
        }
        let calls = running.sts_calls();
        running.shutdown().await;
        sts.shutdown().await;
        (calls, distinct.len())
    });
    println!(
        "one simulated hour, 100 pods of one ServiceAccount asking every 5 minutes, tokens rotated at minute 48–57: {ours} STS calls here; {eks} distinct tokens, so {eks} calls for a cache keyed by token (the EKS agent's)"
    );
    io.block_on(sts.shutdown());
}
