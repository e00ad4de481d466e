//! The server plumbing every server of the crate shares: HTTP/1.1 over TCP or TLS, bounded
//! bodies and headers, a header-read timeout that holds, a TLS handshake timeout, a cap on
//! connections, accept errors backed off, and a graceful drain on shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: is another process using it? listen on another address")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No interface of this host has the address.
    #[error(
        "cannot listen on {addr}: no interface of this host has that address; add it (for the agent's link-local address, the init container of `irsa agent manifests` does) or listen on another, e.g. 127.0.0.1:2704 to try it locally"
    )]
    NotLocal {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Where a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Peer {
    /// The caller's address (`aws:SourceIp` to the local STS).
    pub ip: Option<IpAddr>,
    /// Whether the connection is TLS (`aws:SecureTransport`).
    pub secure: bool,
}

impl Peer {
    /// A caller at `ip` over plain HTTP, or over TLS when `secure`.
    pub fn new(ip: Option<IpAddr>, secure: bool) -> Peer {
        Peer { ip, secure }
    }
}

/// What one server accepts from its clients. The defaults suit a small API on a trusted
/// network; every server of the crate states its own in its documentation.
///
/// ```
/// use std::time::Duration;
/// use irsa::http::ServerLimits;
///
/// let limits = ServerLimits::default().max_body_bytes(64 * 1024).max_connections(512);
/// assert_eq!(limits.body_limit(), 64 * 1024);
/// assert_eq!(ServerLimits::default().header_read(), Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    max_body_bytes: usize,
    max_header_bytes: usize,
    max_headers: usize,
    header_read_timeout: Duration,
    body_read_timeout: Duration,
    tls_handshake_timeout: Duration,
    max_connections: usize,
}

impl Default for ServerLimits {
    /// 256 KiB bodies, 16 KiB and 64 headers, 10 s to send the headers (an idle keep-alive
    /// connection is closed after the same time), 10 s to send the body, 10 s to finish the
    /// TLS handshake, 4,096 connections at once (further ones wait in the listen queue until
    /// one closes).
    fn default() -> ServerLimits {
        ServerLimits {
            max_body_bytes: 256 * 1024,
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
            max_connections: 4096,
        }
    }
}

impl ServerLimits {
    /// The largest request body; a larger one is answered `413` without being read.
    #[must_use]
    pub fn max_body_bytes(mut self, bytes: usize) -> ServerLimits {
        self.max_body_bytes = bytes;
        self
    }

    /// The largest request head (request line and headers), at least 8 KiB (hyper's floor).
    #[must_use]
    pub fn max_header_bytes(mut self, bytes: usize) -> ServerLimits {
        self.max_header_bytes = bytes.max(8192);
        self
    }

    /// The most headers in one request.
    #[must_use]
    pub fn max_headers(mut self, count: usize) -> ServerLimits {
        self.max_headers = count;
        self
    }

    /// How long a client has to send a request's headers, counted from the accept (or, on a
    /// kept-alive connection, from the end of the last answer): then the connection is closed. A client trickling its headers a byte at a time, or holding an
    /// idle connection, cannot keep it past this.
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> ServerLimits {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a client has to send a request's body once its headers are in: then the
    /// request is answered `408` and the connection closed.
    #[must_use]
    pub fn body_read_timeout(mut self, timeout: Duration) -> ServerLimits {
        self.body_read_timeout = timeout;
        self
    }

    /// How long a client has to finish the TLS handshake.
    #[must_use]
    pub fn tls_handshake_timeout(mut self, timeout: Duration) -> ServerLimits {
        self.tls_handshake_timeout = timeout;
        self
    }

    /// The most connections served at once; further ones wait in the listen queue.
    #[must_use]
    pub fn max_connections(mut self, count: usize) -> ServerLimits {
        self.max_connections = count.max(1);
        self
    }

    /// The body limit.
    pub fn body_limit(&self) -> usize {
        self.max_body_bytes
    }

    /// The header-read timeout.
    pub fn header_read(&self) -> Duration {
        self.header_read_timeout
    }

    /// The body-read timeout.
    pub fn body_read(&self) -> Duration {
        self.body_read_timeout
    }

    /// The header limits: the most bytes in a request head, the most headers.
    pub fn header_limits(&self) -> (usize, usize) {
        (self.max_header_bytes, self.max_headers)
    }

    /// The most connections served at once.
    pub fn connection_limit(&self) -> usize {
        self.max_connections
    }
}

/// A request handler: the whole body read, the answer built.
pub(crate) type Handler = Arc<
    dyn Fn(
            ::http::Request<Bytes>,
            Peer,
        ) -> Pin<Box<dyn Future<Output = ::http::Response<Bytes>> + Send>>
        + Send
        + Sync,
>;

/// A running server: its address, and a handle to stop it.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    scheme: &'static str,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` (or `https://`), e.g. for `AWS_ENDPOINT_URL_STS` or an SDK's endpoint.
    pub fn endpoint_url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Stops accepting, lets the requests in flight finish, and returns when they have.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Stops a service's servers as a pod should stop (its readiness already false): after
/// `delay`, so the endpoints drop it, stop accepting and answer what is in flight, waiting at
/// most `timeout`. Whether everything in flight was answered.
#[cfg_attr(
    not(any(feature = "webhook-server", feature = "agent")),
    allow(dead_code)
)]
pub(crate) async fn drain(servers: Vec<RunningServer>, delay: Duration, timeout: Duration) -> bool {
    tokio::time::sleep(delay).await;
    let drained = async {
        for server in servers {
            server.shutdown().await;
        }
    };
    let done = tokio::time::timeout(timeout, drained).await.is_ok();
    if !done {
        tracing::warn!(?timeout, "requests still in flight at the drain timeout");
    }
    done
}

/// A plain-text answer (health, refusals).
#[cfg_attr(
    not(any(feature = "webhook-server", feature = "agent")),
    allow(dead_code)
)]
pub(crate) fn text(status: ::http::StatusCode, body: impl Into<Bytes>) -> ::http::Response<Bytes> {
    let mut response = ::http::Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        ::http::header::CONTENT_TYPE,
        ::http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Metrics in Prometheus' text exposition format.
#[cfg_attr(
    not(any(feature = "webhook-server", feature = "agent")),
    allow(dead_code)
)]
pub(crate) fn metrics_text(body: Vec<u8>) -> ::http::Response<Bytes> {
    let mut response = ::http::Response::new(Bytes::from(body));
    response.headers_mut().insert(
        ::http::header::CONTENT_TYPE,
        ::http::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

/// Binds `addr` and serves `handler` there until [`RunningServer::shutdown`].
pub(crate) async fn spawn(
    addr: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: ServerLimits,
    handler: Handler,
) -> Result<RunningServer, ServeError> {
    let listener = TcpListener::bind(addr).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrNotAvailable {
            ServeError::NotLocal { addr, source }
        } else {
            ServeError::Bind { addr, source }
        }
    })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    let (stop, stopped) = watch::channel(false);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let task = tokio::spawn(accept_loop(listener, tls, limits, handler, stopped));
    Ok(RunningServer {
        addr: local,
        scheme,
        stop,
        task,
    })
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: ServerLimits,
    handler: Handler,
    mut stopped: watch::Receiver<bool>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut backoff = Duration::ZERO;
    loop {
        // At the cap, stop accepting: further clients wait in the kernel's listen queue.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            _ = stopped.changed() => break,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => break,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => {
                backoff = Duration::ZERO;
                accepted
            }
            Err(error) => {
                // Out of file descriptors and the like: back off (5 ms doubling to 1 s) rather
                // than spin, and keep serving the connections we have.
                backoff = (backoff * 2).clamp(Duration::from_millis(5), Duration::from_secs(1));
                tracing::warn!(%error, ?backoff, "cannot accept a connection");
                tokio::time::sleep(backoff).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let peer = Peer::new(Some(remote.ip()), tls.is_some());
        let handler = handler.clone();
        let service = hyper::service::service_fn(move |request: ::http::Request<Incoming>| {
            let handler = handler.clone();
            async move { Ok::<_, Infallible>(answer(request, peer, limits, handler).await) }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .max_buf_size(limits.max_header_bytes)
            .max_headers(limits.max_headers);
        match &tls {
            None => {
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                let watched = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = watched.await;
                    drop(slot);
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let handshake =
                        tokio::time::timeout(limits.tls_handshake_timeout, acceptor.accept(stream));
                    let Ok(Ok(stream)) = handshake.await else {
                        return;
                    };
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(connection).await;
                    drop(slot);
                });
            }
        }
    }
    drop(listener);
    graceful.shutdown().await;
}

async fn answer(
    request: ::http::Request<Incoming>,
    peer: Peer,
    limits: ServerLimits,
    handler: Handler,
) -> ::http::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let refuse = |status: ::http::StatusCode, text: &'static str| {
        let mut response = ::http::Response::new(Bytes::from_static(text.as_bytes()));
        *response.status_mut() = status;
        // The rest of the body is not read: the connection cannot carry another request.
        response.headers_mut().insert(
            ::http::header::CONNECTION,
            ::http::HeaderValue::from_static("close"),
        );
        response
    };
    let too_large = || {
        refuse(
            ::http::StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large or broken\n",
        )
    };
    // A declared length over the limit is refused before a byte of the body is read.
    let response = if declared.is_some_and(|length| length > limits.max_body_bytes as u64) {
        too_large()
    } else {
        let collect = Limited::new(body, limits.max_body_bytes).collect();
        match tokio::time::timeout(limits.body_read_timeout, collect).await {
            Ok(Ok(collected)) => {
                handler(
                    ::http::Request::from_parts(parts, collected.to_bytes()),
                    peer,
                )
                .await
            }
            Ok(Err(_)) => too_large(),
            Err(_) => refuse(
                ::http::StatusCode::REQUEST_TIMEOUT,
                "request body not received in time\n",
            ),
        }
    };
    response.map(Full::new)
}
