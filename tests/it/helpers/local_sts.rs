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
    /// Hold the request without answering until the client gives up (closes the connection):
    /// a timeout, as the client's own clock sees it.
    Hold,
}

/// One recorded request: the form fields STS would see.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub role_arn: String,
    pub session_name: String,
    pub token: String,
    pub duration_seconds: Option<String>,
    pub policy: Option<String>,
    /// The server's clock when the request arrived.
    pub at: Option<SystemTime>,
    /// How the server answered it.
    pub outcome: Outcome,
}

/// How a request was answered, as a client's retry logic sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Outcome {
    /// Credentials.
    #[default]
    Credentials,
    /// An error worth retrying: throttling, 5xx, `IDPCommunicationError`, a held request.
    Retryable,
    /// An error that only a new token mends: `InvalidIdentityToken` and the like.
    NotRetryable,
}

impl Reply {
    fn outcome(&self) -> Outcome {
        match self {
            Reply::Credentials(_) | Reply::CredentialsFor(_) => Outcome::Credentials,
            Reply::Delay(_, next) => next.outcome(),
            Reply::Hold | Reply::Status(_) => Outcome::Retryable,
            Reply::Error(status, code, _) => {
                if *status >= 500 || ["Throttling", "IDPCommunicationError"].contains(code) {
                    Outcome::Retryable
                } else {
                    Outcome::NotRetryable
                }
            }
            Reply::Raw(status, _) if *status >= 500 => Outcome::Retryable,
            Reply::Raw(status, _) if *status == 200 => Outcome::Credentials,
            Reply::Raw(..) => Outcome::NotRetryable,
        }
    }
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
    in_flight: Arc<AtomicU64>,
    max_in_flight: Arc<AtomicU64>,
    held: Arc<AtomicU64>,
    /// When set, any other token is answered `InvalidIdentityToken`.
    valid_tokens: Arc<Mutex<Option<Vec<String>>>>,
}

/// Counts a request in flight for as long as it lives (answered, or abandoned by the client).
struct InFlight(Arc<AtomicU64>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
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
            in_flight: Arc::default(),
            max_in_flight: Arc::default(),
            held: Arc::default(),
            valid_tokens: Arc::default(),
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

    /// Requests received and not yet answered or abandoned.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The most requests ever in flight at once.
    pub fn max_in_flight(&self) -> u64 {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Requests held by [`Reply::Hold`] right now.
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::SeqCst)
    }

    /// Answers `InvalidIdentityToken` to any token but these (`None`: every token is good).
    pub fn accept_only(&self, tokens: Option<Vec<String>>) {
        *self.valid_tokens.lock().unwrap() = tokens;
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
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            let _counted = InFlight(self.in_flight.clone());
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            let mut request = parse_form(&body);
            request.at = Some((self.clock)());
            let mut reply = self
                .script
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| self.default.lock().unwrap().clone());
            if let Some(valid) = &*self.valid_tokens.lock().unwrap()
                && !valid.contains(&request.token)
            {
                reply = Reply::Error(
                    400,
                    "InvalidIdentityToken",
                    "The web identity token that was passed could not be validated by Amazon Web Services. Get a new identity token from the identity provider and then retry the request.",
                );
            }
            request.outcome = reply.outcome();
            self.requests.lock().unwrap().push(request);
            if let Reply::Hold = reply {
                // Until the client closes its end; nothing is ever answered.
                self.held.fetch_add(1, Ordering::SeqCst);
                let mut rest = [0u8; 1024];
                while let Ok(n) = stream.read(&mut rest).await {
                    if n == 0 {
                        break;
                    }
                }
                self.held.fetch_sub(1, Ordering::SeqCst);
                return;
            }
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
            Reply::Delay(..) | Reply::Hold => unreachable!(),
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

/// A provider builder for `role` with the token file at `token_file`, reaching this server in
/// `eu-west-1`, with an empty environment: tests add their clock and sleeps.
#[cfg(feature = "provider")]
pub fn provider_builder(
    sts: &LocalSts,
    role: &str,
    token_file: std::path::PathBuf,
) -> irsa::provider::WebIdentityProviderBuilder {
    irsa::provider::WebIdentityProvider::builder()
        .role_arn(role)
        .token_file(token_file)
        .region("eu-west-1")
        .endpoint_url(sts.url())
        .env(std::collections::HashMap::<String, String>::new())
}
