//! The local STS under load and abuse, as a cluster would run it: the real `irsa sts serve`
//! process, 2,000 clients that each make one call and then hold their connection idle, and
//! 100,000 `AssumeRoleWithWebIdentity` calls from 64 keep-alive clients beside them. Prints
//! how many good requests failed (the target: none), the throughput, and the server's peak
//! resident memory (`VmHWM`), with the idle connections held.
//!
//! Not a timed assertion and not part of the test command:
//!
//! ```text
//! ulimit -n 8192   # both ends of 2,000 connections, in one machine
//! cargo bench --features cli --bench sts_abuse [-- requests=100000 idle=2000 clients=64]
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

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sts_fixture::{ISSUER, arg, fixture};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A field of `/proc/PID/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Reads one whole response from `stream` and returns its status.
async fn read_response(stream: &mut tokio::net::TcpStream) -> Option<u16> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())?;
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    head.get(9..12)?.parse().ok()
}

fn main() {
    let (requests, idle, clients) = (
        arg("requests", 100_000),
        arg("idle", 2_000),
        arg("clients", 64),
    );
    let pem = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/k8s-vectors/ecdsa-p256-private.pem"),
    )
    .unwrap();
    let fixture = fixture(&pem);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jwks.json"), fixture.keys.to_json()).unwrap();
    let provider = ISSUER.trim_start_matches("https://");
    let config = format!(
        "account: \"111122223333\"\nproviders:\n  - url: {ISSUER}\n    jwks: jwks.json\nroles:\n  - name: app\n    trust_policy: {{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Principal\":{{\"Federated\":\"arn:aws:iam::111122223333:oidc-provider/{provider}\"}},\"Action\":\"sts:AssumeRoleWithWebIdentity\",\"Condition\":{{\"StringEquals\":{{\"{provider}:sub\":\"system:serviceaccount:default:app\"}}}}}}]}}\n"
    );
    std::fs::write(dir.path().join("sts.yaml"), config).unwrap();
    // The idle connections must outlive the run: a header timeout longer than it.
    let mut server = Command::new(env!("CARGO_BIN_EXE_irsa"))
        .args(["sts", "serve", "--listen", "127.0.0.1:0"])
        .args(["--header-timeout", "10m", "--config"])
        .arg(dir.path().join("sts.yaml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = server.id();
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_owned();
    let at_start = status_kib(pid, "VmRSS:");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let body = fixture.body.clone();
    let (failed, held, seconds) = runtime.block_on(async {
        // 2,000 clients: one call each, then silence on an open connection.
        let raw = format!(
            "POST / HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let mut idle_streams = Vec::with_capacity(idle);
        for _ in 0..idle {
            let mut stream = tokio::net::TcpStream::connect(&addr)
                .await
                .expect("connect: raise the open-file limit (ulimit -n 8192) for the idle connections");
            stream.write_all(raw.as_bytes()).await.unwrap();
            stream.write_all(&body).await.unwrap();
            assert_eq!(read_response(&mut stream).await, Some(200));
            idle_streams.push(stream);
        }
        let url: http::Uri = format!("http://{addr}/").parse().unwrap();
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let failed = Arc::new(AtomicUsize::new(0));
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (client, url, body) = (client.clone(), url.clone(), body.clone());
            let (failed, next) = (failed.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < requests {
                    let request = http::Request::post(url.clone())
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(Full::new(body.clone()))
                        .unwrap();
                    match client.request(request).await {
                        Ok(response) if response.status() == 200 => {
                            let _ = response.into_body().collect().await;
                        }
                        _ => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let seconds = started.elapsed().as_secs_f64();
        // Every idle connection is still open and still served.
        let mut still_open = 0;
        for stream in &mut idle_streams {
            let alive = stream.write_all(raw.as_bytes()).await.is_ok()
                && stream.write_all(&body).await.is_ok();
            if alive && read_response(stream).await == Some(200) {
                still_open += 1;
            }
        }
        (failed.load(Ordering::Relaxed), still_open, seconds)
    });
    let peak = status_kib(pid, "VmHWM:");
    let now = status_kib(pid, "VmRSS:");
    server.kill().unwrap();
    let _ = server.wait();
    println!(
        "sts_abuse: {requests} AssumeRoleWithWebIdentity from {clients} keep-alive clients beside {idle} idle connections"
    );
    println!(
        "  failed good requests: {failed}; idle connections still served afterwards: {held}/{idle}"
    );
    println!(
        "  {:.0} requests/s over {seconds:.1} s",
        requests as f64 / seconds
    );
    println!(
        "  server RSS: {} KiB at start, {} KiB at the end, peak {} KiB ({:.1} KiB per held connection above the start)",
        at_start,
        now,
        peak,
        (peak.saturating_sub(at_start)) as f64 / idle.max(1) as f64
    );
}
