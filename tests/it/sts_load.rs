//! A bounded load test of the local STS over loopback: 10,000 `AssumeRoleWithWebIdentity`
//! requests from 1,000 concurrent clients, with faults injected by seed. No error but the
//! injected ones; the server keeps nothing per session (tokens are sealed, not stored).

use crate::helpers;
use crate::helpers::sts_fixture;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use helpers::text;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use irsa::sts::{Faults, Sts};
use sts_fixture::fixture;

const CLIENTS: usize = 1_000;
const PER_CLIENT: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_requests_from_a_thousand_clients() {
    let fixture = fixture(&text("k8s-vectors/ecdsa-p256-private.pem"));
    let registry = fixture.registry;
    let faults = Faults::seeded(11)
        .throttling(0.02)
        .unwrap()
        .server_error(0.01)
        .unwrap();
    let sts = Sts::builder(registry).faults(faults).build().unwrap();
    let server = sts
        .clone()
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url: http::Uri = server.endpoint_url().parse().unwrap();
    let body = fixture.body;
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        // Closed before the server's header-read timeout (10 s) would close them, so no
        // request is sent on a connection the server is closing.
        .pool_idle_timeout(std::time::Duration::from_secs(5))
        .pool_timer(hyper_util::rt::TokioTimer::new())
        .build_http();
    let (ok, throttled, failed) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let mut tasks = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        let (ok, throttled, failed) = (ok.clone(), throttled.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..PER_CLIENT {
                let request = http::Request::post(url.clone())
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Full::new(body.clone()))
                    .unwrap();
                let response = client.request(request).await.unwrap();
                let status = response.status().as_u16();
                let text = response.into_body().collect().await.unwrap().to_bytes();
                let text = std::str::from_utf8(&text).unwrap().to_owned();
                match status {
                    200 => assert!(text.contains("<AccessKeyId>ASIA"), "{text}"),
                    400 => assert!(text.contains("<Code>Throttling</Code>"), "{text}"),
                    500 => assert!(text.contains("<Code>InternalFailure</Code>"), "{text}"),
                    other => panic!("unexpected {other}: {text}"),
                }
                let counter = match status {
                    200 => &ok,
                    400 => &throttled,
                    _ => &failed,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let (ok, throttled, failed) = (
        ok.load(Ordering::Relaxed),
        throttled.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
    );
    assert_eq!(ok + throttled + failed, CLIENTS * PER_CLIENT);
    // 2 % and 1 % of 10,000, within ±5 standard deviations.
    assert!((130..=270).contains(&throttled), "{throttled} throttled");
    assert!((50..=150).contains(&failed), "{failed} failed");
    server.shutdown().await;
}
