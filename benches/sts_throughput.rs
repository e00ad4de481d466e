//! Throughput of the local STS: `AssumeRoleWithWebIdentity` over loopback from 64 concurrent
//! keep-alive clients, beside the verifier's floor measured in the same run (verifications per
//! second on one core, the RSA-2048 check every request needs) and beside moto's
//! `AssumeRoleWithWebIdentity` (which judges nothing) under the same load.
//!
//! The server runs on a runtime of its own with one thread, so its requests per second are per
//! core; the clients run on another. Prints requests per second, p50 and p99 latency, and the
//! ratios.
//!
//! ```text
//! bash scripts/check.sh   # once: makes .venv with moto_server
//! cargo bench --features sts --bench sts_throughput [-- seconds=5 clients=64]
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

#[path = "../tests/it/helpers/sts_fixture.rs"]
mod sts_fixture;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use irsa::sts::Sts;
use irsa::token::Verifier;
use sts_fixture::{Fixture, ISSUER, arg, fixture};

struct Load {
    requests: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// `clients` tasks POST `body` to `url` for `seconds`; every answer must be 200.
fn load(url: &str, body: Bytes, clients: usize, seconds: u64) -> Load {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let url: http::Uri = url.parse().unwrap();
    runtime.block_on(async move {
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
            // Closed before the server's header-read timeout (10 s) would close them, so no
            // request is sent on a connection the server is closing.
            .pool_idle_timeout(std::time::Duration::from_secs(5))
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .build_http();
        let end = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (client, url, body) = (client.clone(), url.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < end {
                    let start = Instant::now();
                    let request = http::Request::post(url.clone())
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(Full::new(body.clone()))
                        .unwrap();
                    let response = client.request(request).await.unwrap();
                    let status = response.status();
                    let text = response.into_body().collect().await.unwrap().to_bytes();
                    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&text));
                    latencies.push(start.elapsed());
                }
                latencies
            }));
        }
        let started = Instant::now();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        let elapsed = started.elapsed().as_secs_f64();
        all.sort();
        Load {
            requests: all.len(),
            per_second: all.len() as f64 / elapsed,
            p50: all[all.len() / 2],
            p99: all[all.len() * 99 / 100],
        }
    })
}

fn main() {
    let seconds = arg("seconds", 5);
    let clients = arg("clients", 64) as usize;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let pem = std::fs::read_to_string(root.join("tests/data/k8s-vectors/rsa-private.pem")).unwrap();
    let Fixture {
        keys,
        token,
        now,
        registry,
        body,
    } = fixture(&pem);
    // The floor: the verifier alone, one core, no cache.
    let verifier = Verifier::builder(&keys)
        .issuer(ISSUER.parse().unwrap())
        .build()
        .unwrap();
    let start = Instant::now();
    let mut verified = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        verifier.verify(&token, now).unwrap();
        verified += 1;
    }
    let floor = verified as f64 / start.elapsed().as_secs_f64();

    // The judge alone, without HTTP: one request after another through `Sts::handle`.
    let judge_only = {
        let sts = Sts::builder(registry.clone()).build().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let start = Instant::now();
            let mut n = 0u64;
            while start.elapsed() < Duration::from_secs(seconds) {
                let request = http::Request::post("/").body(body.clone()).unwrap();
                let response = sts.handle(request, irsa::http::Peer::default()).await;
                assert_eq!(response.status(), 200);
                n += 1;
            }
            n as f64 / start.elapsed().as_secs_f64()
        })
    };

    // Ours, on a one-thread runtime of its own.
    let server_runtime = Arc::new(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let rt = server_runtime.clone();
    let server_thread = std::thread::spawn(move || {
        rt.block_on(async move {
            let server = Sts::builder(registry)
                .build()
                .unwrap()
                .serve("127.0.0.1:0".parse().unwrap())
                .await
                .unwrap();
            let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
            tx.send((server.endpoint_url(), stop_tx)).unwrap();
            let _ = stop_rx.await;
            server.shutdown().await;
        });
    });
    let (url, stop) = rx.recv().unwrap();
    let ours = load(&url, body.clone(), clients, seconds);
    stop.send(()).unwrap();
    server_thread.join().unwrap();

    // moto, under the same load.
    let moto_server = std::env::var_os("IRSA_MOTO_SERVER")
        .map_or_else(|| root.join(".venv/bin/moto_server"), PathBuf::from);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut moto = Command::new(&moto_server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server: run bash scripts/check.sh once to make .venv");
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let theirs = load(&format!("http://127.0.0.1:{port}"), body, clients, seconds);
    let _ = moto.kill();
    let _ = moto.wait();

    println!("verifier floor (one core, RSA-2048): {floor:.0} verifications/s");
    for (name, l) in [("irsa sts (one core)", &ours), ("moto_server", &theirs)] {
        println!(
            "{name:<20} {:>8.0} req/s  p50 {:>8.2?}  p99 {:>8.2?}  ({} requests, {clients} clients)",
            l.per_second, l.p50, l.p99, l.requests
        );
    }
    println!("judge alone, no HTTP (one core): {judge_only:.0} req/s");
    println!("irsa sts / floor: {:.2}", ours.per_second / floor);
    println!(
        "irsa sts / moto:  {:.1}",
        ours.per_second / theirs.per_second
    );
}
