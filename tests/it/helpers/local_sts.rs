//! A small STS-compatible server on loopback for tests and experiments: it answers
//! `AssumeRoleWithWebIdentity` with real awsQuery XML, from a script of replies (credentials of
//! a chosen expiry, STS errors, HTTP 5xx, delays), and records every request.
//!
//! Shared by `tests/it/` and `benches/refresh_latency.rs` (`#[path]`-included).

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server answers to one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Credentials expiring at this time.
    Credentials(SystemTime),
    /// Credentials expiring this long after the server's clock says now.
    CredentialsFor(Duration),
    /// An STS error with HTTP status, code and message.
    Error(u16, &'static str, &'static str),
    /// A bare HTTP status with a non-STS body (a load balancer's 502, say).
    Status(u16),
    /// A recorded response: status and body as they are.
    Raw(u16, String),
    /// Wait, then answer.
    Delay(Duration, Box<Reply>),
}

/// One recorded request: the form fields STS would see.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub role_arn: String,
    pub session_name: String,
    pub token: String,
    pub duration_seconds: Option<String>,
    pub policy: Option<String>,
}

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The running server.
#[derive(Clone)]
pub struct LocalSts {
    pub addr: SocketAddr,
    script: Arc<Mutex<VecDeque<Reply>>>,
    default: Arc<Mutex<Reply>>,
    requests: Arc<Mutex<Vec<Request>>>,
    served: Arc<AtomicU64>,
    clock: Clock,
}

impl LocalSts {
    /// Starts on an ephemeral loopback port; unscripted requests get `default`. `clock` is the
    /// server's "now" for [`Reply::CredentialsFor`].
    pub async fn start(default: Reply, clock: Clock) -> LocalSts {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = LocalSts {
            addr: listener.local_addr().unwrap(),
            script: Arc::default(),
            default: Arc::new(Mutex::new(default)),
            requests: Arc::default(),
            served: Arc::default(),
            clock,
        };
        let accept = server.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let server = accept.clone();
                tokio::spawn(async move { server.serve(stream).await });
            }
        });
        server
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues replies for the next requests.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.script.lock().unwrap().extend(replies);
    }

    pub fn set_default(&self, reply: Reply) {
        *self.default.lock().unwrap() = reply;
    }

    /// Requests answered so far.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    async fn serve(&self, mut stream: TcpStream) {
        // HTTP/1.1 keep-alive: answer requests until the client closes.
        let mut buf = Vec::new();
        loop {
            let Some((head_len, content_length)) = read_head(&mut stream, &mut buf).await else {
                return;
            };
            while buf.len() < head_len + content_length {
                let mut chunk = [0u8; 8192];
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let body =
                String::from_utf8_lossy(&buf[head_len..head_len + content_length]).into_owned();
            buf.drain(..head_len + content_length);
            let request = parse_form(&body);
            self.requests.lock().unwrap().push(request);
            let reply = self
                .script
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| self.default.lock().unwrap().clone());
            let response = self.render(reply).await;
            self.served.fetch_add(1, Ordering::SeqCst);
            if stream.write_all(response.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    async fn render(&self, mut reply: Reply) -> String {
        while let Reply::Delay(delay, next) = reply {
            tokio::time::sleep(delay).await;
            reply = *next;
        }
        let n = self.served.load(Ordering::SeqCst);
        let (status, body) = match reply {
            Reply::Credentials(expiry) => (200, credentials_xml(n, expiry)),
            Reply::CredentialsFor(lifetime) => (200, credentials_xml(n, (self.clock)() + lifetime)),
            Reply::Error(status, code, message) => (status, error_xml(code, message)),
            Reply::Status(status) => (status, "<html>bad gateway</html>".to_owned()),
            Reply::Raw(status, body) => (status, body),
            Reply::Delay(..) => unreachable!(),
        };
        // STS's `Date`, by this server's clock.
        let date = DateTime::from((self.clock)())
            .fmt(Format::HttpDate)
            .unwrap();
        format!(
            "HTTP/1.1 {status} X\r\ncontent-type: text/xml\r\ndate: {date}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
    }
}

async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(usize, usize)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            return Some((end + 4, length));
        }
        let mut chunk = [0u8; 8192];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn parse_form(body: &str) -> Request {
    let mut request = Request::default();
    for (key, value) in url::form_urlencoded::parse(body.as_bytes()) {
        let value = value.into_owned();
        match key.as_ref() {
            "RoleArn" => request.role_arn = value,
            "RoleSessionName" => request.session_name = value,
            "WebIdentityToken" => request.token = value,
            "DurationSeconds" => request.duration_seconds = Some(value),
            "Policy" => request.policy = Some(value),
            _ => {}
        }
    }
    request
}

/// The secret access key the server hands out for request `n`; tests look for it in logs.
pub fn secret_for(n: u64) -> String {
    format!("wJalrXUtnFEMI/K7MDENG/bPxRfiCY{n:010}")
}

fn credentials_xml(n: u64, expiry: SystemTime) -> String {
    let expiration = DateTime::from(expiry).fmt(Format::DateTime).unwrap();
    format!(
        r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:apps:reader</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::111122223333:assumed-role/reader/session</Arn>
      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:session</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>FwoGZXIvYXdzEBYaDLocalSessionToken{n}</SessionToken>
      <SecretAccessKey>{secret}</SecretAccessKey>
      <Expiration>{expiration}</Expiration>
      <AccessKeyId>ASIALOCALSTS{n:08}</AccessKeyId>
    </Credentials>
    <Provider>https://issuer.example.com</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>req-{n}</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>"#,
        secret = secret_for(n)
    )
}

fn error_xml(code: &str, message: &str) -> String {
    format!(
        r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>
  <RequestId>req-error</RequestId>
</ErrorResponse>"#
    )
}
