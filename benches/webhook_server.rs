//! The webhook server measured: admissions per second over HTTPS keep-alive with a warm cache,
//! the server on one core, with p50 and p99 latency, beside its floor — the library's bare work
//! on the same reviews (read the AdmissionReview, patch the pod, write the response) on one
//! core; and the ServiceAccount cache's memory at 10 000 and 100 000 ServiceAccounts.
//!
//! The apiserver is a `tower` service inside this process (lists of N ServiceAccounts, a watch
//! that stays open); the server is the library's `WebhookServer`, what `irsa webhook serve`
//! runs. Memory is counted by an instrumented allocator (stats_alloc): the heap the cache keeps
//! once synced, exact to the byte — the process's resident set says little here, since the
//! allocator reuses the memory the bench's own list fixture freed.
//!
//! ```text
//! cargo bench --features webhook-server --bench webhook_server [-- seconds=5 connections=8]
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    clippy::cast_precision_loss
)]

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use irsa::http::ReloadingCertificate;
use irsa::webhook::{
    AdmissionRequest, Identity, PodMutator, ServiceAccountAnnotations, WebhookConfig,
};
use irsa::webhook_server::{ServiceAccountCache, WebhookServer};
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const ROLE: &str = "arn:aws:iam::111122223333:role/s3-reader";

/// A kube client whose apiserver lists `accounts` (one in ten with a role) and keeps every
/// watch open without events.
fn client(accounts: usize) -> kube::Client {
    let items: Vec<serde_json::Value> = (0..accounts)
        .map(|i| {
            let annotations = if i % 10 == 0 {
                json!({"eks.amazonaws.com/role-arn": ROLE})
            } else {
                json!({})
            };
            json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": {
                "name": format!("app-{i}"), "namespace": format!("team-{}", i % 200),
                "uid": format!("00000000-0000-0000-0000-{i:012}"), "resourceVersion": "7",
                "annotations": annotations}})
        })
        .collect();
    let list = Bytes::from(
        json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList",
               "metadata": {"resourceVersion": "7"}, "items": items})
        .to_string(),
    );
    let service = tower::service_fn(move |request: http::Request<kube::client::Body>| {
        let list = list.clone();
        async move {
            let watch = request
                .uri()
                .query()
                .is_some_and(|q| q.contains("watch=true"));
            let body: BoxBody<Bytes, Infallible> = if watch {
                StreamBody::new(futures_util::stream::pending::<
                    Result<hyper::body::Frame<Bytes>, Infallible>,
                >())
                .boxed()
            } else {
                Full::new(list).boxed()
            };
            Ok::<_, Infallible>(http::Response::new(body))
        }
    });
    kube::Client::new(service, "default")
}

/// The heap the cache keeps for `accounts` ServiceAccounts once synced: the bytes allocated
/// and not freed while the cache filled, with the watcher stopped (so its buffers are gone),
/// checked against what dropping the cache frees.
fn cache_memory(accounts: usize) -> i64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // kube's client must be made inside a runtime; the list it serves is built here too,
        // before the counting starts.
        let client = client(accounts);
        let region = Region::new(GLOBAL);
        let live = || {
            let change = region.change();
            // A realloc's growth counts in bytes_allocated (and again in bytes_reallocated).
            change.bytes_allocated as i64 - change.bytes_deallocated as i64
        };
        let cache = ServiceAccountCache::new(client, "eks.amazonaws.com", Duration::ZERO);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(cache.clone().run(None, stopped));
        while !cache.is_synced() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(cache.len(), accounts);
        let _ = stop.send(true);
        let _ = task.await;
        let kept = live();
        drop(cache);
        let freed = kept - live();
        // The cache owns the client too: all but a few kilobytes must be the map's.
        assert!(
            (kept - freed).abs() < 64 * 1024,
            "kept {kept} B, dropping the cache freed {freed} B"
        );
        kept
    })
}

fn review(i: usize) -> Vec<u8> {
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": format!("3f1c2b4e-0000-4000-8000-{i:012}"),
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": format!("team-{}", (i * 10) % 200), "operation": "CREATE",
            "object": {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"generateName": "web-7d9c6b-", "labels": {"app": "web"}},
                "spec": {"serviceAccountName": format!("app-{}", (i * 10) % 1000),
                    "containers": [
                        {"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
                         "env": [{"name": "LOG", "value": "info"}],
                         "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                        {"name": "sidecar", "image": "envoy:1.31"}]}},
        },
    })
    .to_string()
    .into_bytes()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
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
    let reviews: Arc<Vec<Bytes>> = Arc::new((0..1000).map(|i| Bytes::from(review(i))).collect());

    // The floor: the library's own work per review, on one core.
    let config = WebhookConfig::builder()
        .region("eu-west-1")
        .build()
        .unwrap();
    let mutator = PodMutator::new(config.clone());
    let identity = Identity::WebIdentity(ServiceAccountAnnotations::from_annotations(
        [("eks.amazonaws.com/role-arn", ROLE)],
        "eks.amazonaws.com",
    ));
    let started = Instant::now();
    let mut bare = 0usize;
    while started.elapsed() < Duration::from_secs(seconds.min(3)) {
        for body in reviews.iter() {
            let request = AdmissionRequest::from_slice(body).unwrap();
            let response = request.respond(&mutator, Some(&identity), true);
            assert!(response.patch().is_some());
            bare += response.to_vec().len().min(1);
        }
    }
    let bare_each = started.elapsed() / bare as u32;

    // The server: its own runtime on one thread.
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["irsa-webhook.irsa-webhook.svc".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.path().join("tls.crt"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("tls.key"), key.serialize_pem()).unwrap();
    let certificate =
        ReloadingCertificate::load(dir.path().join("tls.crt"), dir.path().join("tls.key")).unwrap();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let running = WebhookServer::builder(client(1000), certificate, config)
                .listen("127.0.0.1:0".parse().unwrap())
                .metrics_listen(None)
                .shutdown_delay(Duration::ZERO)
                .start()
                .await
                .unwrap();
            while !running.is_ready() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            addr_tx.send(running.local_addr()).unwrap();
            let _ = stop_rx.await;
            running.shutdown().await;
        });
    });
    let addr = addr_rx.recv().unwrap();
    let roots = {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.der().clone()).unwrap();
        roots
    };
    let tls = tokio_rustls::TlsConnector::from(Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    ));
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let run = |connections: usize| {
        let (tls, reviews) = (tls.clone(), reviews.clone());
        client_runtime.block_on(async move {
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let tasks: Vec<_> = (0..connections)
                .map(|c| {
                    let (tls, reviews) = (tls.clone(), reviews.clone());
                    tokio::spawn(async move {
                        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
                        tcp.set_nodelay(true).unwrap();
                        let name = rustls::pki_types::ServerName::try_from(
                            "irsa-webhook.irsa-webhook.svc",
                        )
                        .unwrap();
                        let stream = tls.connect(name, tcp).await.unwrap();
                        let (mut sender, connection) = hyper::client::conn::http1::handshake(
                            hyper_util::rt::TokioIo::new(stream),
                        )
                        .await
                        .unwrap();
                        tokio::spawn(connection);
                        let mut latencies = Vec::new();
                        let mut i = c;
                        while Instant::now() < deadline {
                            let request = hyper::Request::post("/mutate")
                                .header("host", "irsa-webhook.irsa-webhook.svc")
                                .header("content-type", "application/json")
                                .body(Full::new(reviews[i % reviews.len()].clone()))
                                .unwrap();
                            let sent = Instant::now();
                            let response = sender.send_request(request).await.unwrap();
                            assert_eq!(response.status(), 200);
                            let body = response.into_body().collect().await.unwrap().to_bytes();
                            latencies.push(sent.elapsed());
                            assert!(body.windows(9).any(|w| w == b"\"patch\":\""), "mutated");
                            i += connections;
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
    println!(
        "webhook server over HTTPS keep-alive, warm cache of 1 000 ServiceAccounts, server on one core"
    );
    println!(
        "  floor: the library's bare work per review (read, patch, write): {:.1} µs, {:.0} reviews/s",
        bare_each.as_secs_f64() * 1e6,
        1.0 / bare_each.as_secs_f64()
    );
    for clients in [1, connections] {
        let latencies = run(clients);
        let per_second = latencies.len() as f64 / seconds as f64;
        let each = 1.0 / per_second;
        println!(
            "  {clients} connection(s): {per_second:.0} admissions/s, p50 {:.0} µs, p99 {:.0} µs; {:.1} × the floor's time per review",
            percentile(&latencies, 0.5).as_secs_f64() * 1e6,
            percentile(&latencies, 0.99).as_secs_f64() * 1e6,
            each / bare_each.as_secs_f64()
        );
    }
    let _ = stop_tx.send(());
    server.join().unwrap();

    println!("ServiceAccount cache (one in ten with a role): heap kept once synced");
    let mut kept = Vec::new();
    for accounts in [10_000, 100_000] {
        let heap = cache_memory(accounts);
        println!(
            "  {accounts} ServiceAccounts: {:.2} MB, {:.0} B each",
            heap as f64 / 1e6,
            heap as f64 / accounts as f64,
        );
        kept.push(heap);
    }
    println!(
        "  per ServiceAccount beyond the fixed cost (100k − 10k)/90k: {:.0} B (goal: ≤ 300)",
        (kept[1] - kept[0]) as f64 / 90_000.0
    );
}
