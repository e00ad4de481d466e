//! The socket side: HTTP/1.1 over TCP, optionally TLS, with graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::query::MAX_QUERY_BYTES;
use super::service::{Peer, Sts};

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
}

type Handler = Arc<
    dyn Fn(
            http::Request<Bytes>,
            Peer,
        ) -> Pin<Box<dyn Future<Output = http::Response<Bytes>> + Send>>
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

    /// `http://ADDR` (or `https://`), for `AWS_ENDPOINT_URL_STS` or an SDK's endpoint.
    pub fn endpoint_url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Stops accepting, lets the requests in flight finish, and returns when they have.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl Sts {
    /// Serves this STS on `addr` (e.g. `127.0.0.1:0` for a free port) over plain HTTP.
    pub async fn serve(self, addr: SocketAddr) -> Result<RunningServer, ServeError> {
        let sts = self;
        let handler: Handler = Arc::new(move |request, peer| {
            let sts = sts.clone();
            Box::pin(async move { sts.handle(request, peer).await })
        });
        spawn(addr, None, handler).await
    }

    /// Serves this STS on `addr` over TLS with `config` (certificate and key of your choice).
    pub async fn serve_tls(
        self,
        addr: SocketAddr,
        config: Arc<rustls::ServerConfig>,
    ) -> Result<RunningServer, ServeError> {
        let sts = self;
        let handler: Handler = Arc::new(move |request, peer| {
            let sts = sts.clone();
            Box::pin(async move { sts.handle(request, peer).await })
        });
        spawn(addr, Some(tokio_rustls::TlsAcceptor::from(config)), handler).await
    }
}

/// Static documents served over HTTP: a stand-in for the bucket that hosts an issuer's
/// discovery document and key set, so the local STS's fetch path runs for real.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use irsa::sts::StaticSite;
///
/// let site = StaticSite::new()
///     .document("/.well-known/openid-configuration", "application/json", b"{}".to_vec())
///     .serve("127.0.0.1:0".parse()?)
///     .await?;
/// println!("{}", site.endpoint_url());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticSite {
    documents: Vec<(String, &'static str, Bytes)>,
    denied: Vec<String>,
}

impl StaticSite {
    /// No document.
    pub fn new() -> StaticSite {
        StaticSite::default()
    }

    /// Serves `body` at `path` with `content_type`.
    #[must_use]
    pub fn document(mut self, path: &str, content_type: &'static str, body: Vec<u8>) -> StaticSite {
        self.documents
            .push((path.to_owned(), content_type, Bytes::from(body)));
        self
    }

    /// Answers `path` with 403 and S3's `AccessDenied` body, as a private object is answered.
    #[must_use]
    pub fn denied(mut self, path: &str) -> StaticSite {
        self.denied.push(path.to_owned());
        self
    }

    /// Serves the documents on `addr`; any other path is 404.
    pub async fn serve(self, addr: SocketAddr) -> Result<RunningServer, ServeError> {
        spawn(addr, None, self.handler()).await
    }

    /// Serves the documents on `addr` over TLS with `config`.
    pub async fn serve_tls(
        self,
        addr: SocketAddr,
        config: Arc<rustls::ServerConfig>,
    ) -> Result<RunningServer, ServeError> {
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        spawn(addr, Some(acceptor), self.handler()).await
    }

    fn handler(self) -> Handler {
        let site = Arc::new(self);
        Arc::new(move |request, _peer| {
            let site = site.clone();
            Box::pin(async move {
                let path = request.uri().path();
                if site.denied.iter().any(|p| p == path) {
                    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
                    let mut response = http::Response::new(Bytes::from_static(body.as_bytes()));
                    *response.status_mut() = http::StatusCode::FORBIDDEN;
                    response.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/xml"),
                    );
                    return response;
                }
                let found = site.documents.iter().find(|(p, _, _)| p == path);
                let mut response =
                    http::Response::new(found.map(|(_, _, body)| body.clone()).unwrap_or_default());
                match found {
                    Some((_, content_type, _)) => {
                        response.headers_mut().insert(
                            http::header::CONTENT_TYPE,
                            http::HeaderValue::from_static(content_type),
                        );
                    }
                    None => *response.status_mut() = http::StatusCode::NOT_FOUND,
                }
                response
            })
        })
    }
}

async fn spawn(
    addr: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
    handler: Handler,
) -> Result<RunningServer, ServeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    let (stop, mut stopped) = watch::channel(false);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let task = tokio::spawn(async move {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stopped.changed() => break,
            };
            let Ok((stream, remote)) = accepted else {
                // Out of file descriptors and the like: keep serving the connections we have.
                tokio::task::yield_now().await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            let peer = Peer::new(Some(remote.ip()), tls.is_some());
            let handler = handler.clone();
            let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(answer(request, peer, handler).await) }
            });
            let builder = hyper::server::conn::http1::Builder::new();
            match &tls {
                None => {
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    let watched = graceful.watch(connection);
                    tokio::spawn(async move {
                        let _ = watched.await;
                    });
                }
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    let watcher = graceful.watcher();
                    tokio::spawn(async move {
                        let Ok(stream) = acceptor.accept(stream).await else {
                            return;
                        };
                        let connection = builder.serve_connection(TokioIo::new(stream), service);
                        let _ = watcher.watch(connection).await;
                    });
                }
            }
        }
        drop(listener);
        graceful.shutdown().await;
    });
    Ok(RunningServer {
        addr: local,
        scheme,
        stop,
        task,
    })
}

async fn answer(
    request: http::Request<Incoming>,
    peer: Peer,
    handler: Handler,
) -> http::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let response = match Limited::new(body, MAX_QUERY_BYTES).collect().await {
        Ok(collected) => {
            handler(http::Request::from_parts(parts, collected.to_bytes()), peer).await
        }
        Err(_) => {
            let mut response =
                http::Response::new(Bytes::from_static(b"request body too large or broken\n"));
            *response.status_mut() = http::StatusCode::PAYLOAD_TOO_LARGE;
            response
        }
    };
    response.map(Full::new)
}
