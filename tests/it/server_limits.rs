//! Every limit of the shared server layer (`irsa::http::ServerLimits`), against the local STS
//! over real TCP, with a client that misbehaves in exactly one way; and the server still
//! answering a good request afterwards.

use crate::helpers::sts_fixture::{Fixture, fixture};
use crate::helpers::text;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use irsa::http::{RunningServer, ServerLimits};
use irsa::sts::Sts;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Short timeouts, so that the tests take fractions of a second.
fn limits() -> ServerLimits {
    ServerLimits::default()
        .max_body_bytes(64 * 1024)
        .max_header_bytes(8192)
        .max_headers(16)
        .header_read_timeout(Duration::from_millis(400))
        .body_read_timeout(Duration::from_millis(400))
}

async fn start(limits: ServerLimits) -> (RunningServer, Fixture) {
    let fixture = fixture(&text("k8s-vectors/ecdsa-p256-private.pem"));
    let sts = Sts::builder(fixture.registry.clone())
        .limits(limits)
        .build()
        .unwrap();
    let server = sts.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    (server, fixture)
}

/// A well-formed `AssumeRoleWithWebIdentity` request with `body`.
fn request(body: &[u8]) -> Vec<u8> {
    request_with(body, "")
}

/// The same, with `extra` header lines (each ending in CRLF).
fn request_with(body: &[u8], extra: &str) -> Vec<u8> {
    let mut out = format!(
        "POST / HTTP/1.1\r\nhost: sts.test\r\ncontent-type: application/x-www-form-urlencoded\r\n{extra}content-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Everything the server sends until it closes the connection (or 10 s pass: then `None`).
async fn read_to_close(stream: &mut TcpStream) -> Option<String> {
    let mut all = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut all)).await;
    match read {
        Ok(Ok(_)) => Some(String::from_utf8_lossy(&all).into_owned()),
        // A reset after the answer counts as a close.
        Ok(Err(_)) => Some(String::from_utf8_lossy(&all).into_owned()),
        Err(_) => None,
    }
}

/// The status of the first answer on a fresh connection for `bytes`.
async fn status_of(addr: SocketAddr, bytes: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.unwrap();
    std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap()
}

/// A good request is still answered with credentials.
async fn still_serving(addr: SocketAddr, fixture: &Fixture) {
    assert_eq!(status_of(addr, &request(&fixture.body)).await, 200);
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_before_it_is_sent() {
    let (server, fixture) = start(limits()).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    // The headers promise 10 MB; not one byte of it follows.
    stream
        .write_all(b"POST / HTTP/1.1\r\nhost: sts.test\r\ncontent-length: 10000000\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut stream)
        .await
        .expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    // A chunked body that grows past the limit is cut off the same way.
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nhost: sts.test\r\ntransfer-encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    // One byte past the limit, with the final chunk: the server has read all that was sent
    // when it answers, so closing does not reset the connection under the answer.
    let half = format!("{:x}\r\n{}\r\n", 32 * 1024, "a".repeat(32 * 1024));
    let body = format!("{half}{half}1\r\na\r\n0\r\n\r\n");
    stream.write_all(body.as_bytes()).await.unwrap();
    let answer = read_to_close(&mut stream)
        .await
        .expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    still_serving(server.local_addr(), &fixture).await;
}

#[tokio::test]
async fn too_many_or_too_large_headers_are_refused() {
    let (server, fixture) = start(limits()).await;
    let many: String = (0..17).map(|i| format!("x-h{i}: v\r\n")).collect();
    let request = format!("POST / HTTP/1.1\r\nhost: sts.test\r\n{many}content-length: 0\r\n\r\n");
    assert_eq!(
        status_of(server.local_addr(), request.as_bytes()).await,
        431
    );
    let large = format!(
        "POST / HTTP/1.1\r\nhost: sts.test\r\nx-large: {}\r\ncontent-length: 0\r\n\r\n",
        "v".repeat(9000)
    );
    assert_eq!(status_of(server.local_addr(), large.as_bytes()).await, 431);
    still_serving(server.local_addr(), &fixture).await;
}

#[tokio::test]
async fn a_slow_loris_cannot_hold_a_connection() {
    let (server, fixture) = start(limits()).await;
    let addr = server.local_addr();
    // Headers trickled a byte every 50 ms: the 400 ms header timeout counts from the accept.
    let trickle = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let started = Instant::now();
        for byte in b"POST / HTTP/1.1\r\nhost: sts.test\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (read_to_close(&mut stream).await, started.elapsed())
    });
    let (closed, after) = trickle.await.unwrap();
    assert!(closed.is_some(), "the trickling client was never cut off");
    // Cut off long before the trickle would have ended (about 4.5 s).
    assert!(after < Duration::from_secs(4), "held for {after:?}");

    // An idle kept-alive connection is closed after the same time.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&request(&fixture.body)).await.unwrap();
    let answer = read_to_close(&mut stream).await.expect("closed once idle");
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");

    // A body that never finishes arriving: 408, then the connection is closed.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nhost: sts.test\r\ncontent-length: 100\r\n\r\nAction=")
        .await
        .unwrap();
    let answer = read_to_close(&mut stream)
        .await
        .expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    still_serving(addr, &fixture).await;
}

#[tokio::test]
async fn connections_past_the_cap_wait_and_are_served_when_one_closes() {
    let limits = limits()
        .max_connections(4)
        .header_read_timeout(Duration::from_secs(30));
    let (server, fixture) = start(limits).await;
    let addr = server.local_addr();
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        // Each is served (so counted) and then idles.
        stream.write_all(&request(&fixture.body)).await.unwrap();
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.unwrap();
        held.push(stream);
    }
    // The fifth connects (the kernel's listen queue takes it) but is not served.
    let mut fifth = TcpStream::connect(addr).await.unwrap();
    fifth.write_all(&request(&fixture.body)).await.unwrap();
    let mut head = [0u8; 12];
    let early = tokio::time::timeout(Duration::from_millis(300), fifth.read_exact(&mut head)).await;
    assert!(early.is_err(), "served past the connection cap");
    drop(held.pop());
    tokio::time::timeout(Duration::from_secs(5), fifth.read_exact(&mut head))
        .await
        .expect("served once a connection closed")
        .unwrap();
    assert_eq!(&head[9..12], b"200");
}

#[tokio::test]
async fn parameter_names_are_case_sensitive_and_the_first_of_two_counts() {
    let (server, fixture) = start(limits()).await;
    let body = String::from_utf8(fixture.body.to_vec()).unwrap();
    // `roleArn` is not `RoleArn`: STS's words for a missing member.
    let odd = body.replace("RoleArn=", "roleArn=");
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    // `connection: close` rather than a half-close, which ends an HTTP/1 exchange unanswered.
    stream
        .write_all(&request_with(odd.as_bytes(), "connection: close\r\n"))
        .await
        .unwrap();
    let answer = read_to_close(&mut stream).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("<Code>ValidationError</Code>"), "{answer}");
    assert!(
        answer.contains(
            "at &apos;roleArn&apos; failed to satisfy constraint: Member must not be null"
        ),
        "{answer}"
    );
    // A second RoleSessionName after the first: the first is the session's name.
    let twice = format!("{body}&RoleSessionName=second");
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    stream
        .write_all(&request_with(twice.as_bytes(), "connection: close\r\n"))
        .await
        .unwrap();
    let answer = read_to_close(&mut stream).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.contains("assumed-role/app/load</Arn>"), "{answer}");
}
