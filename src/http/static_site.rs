//! Static documents over HTTP(S): a stand-in for the bucket that hosts an issuer's discovery
//! document and key set, so that fetch paths (the local STS's, the doctor's) run for real.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;

use super::server::{Handler, RunningServer, ServeError, ServerLimits, spawn};

/// Static documents served over HTTP: a stand-in for the bucket that hosts an issuer's
/// discovery document and key set, so the local STS's fetch path runs for real.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use irsa::http::StaticSite;
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
        spawn(addr, None, ServerLimits::default(), self.handler()).await
    }

    /// Serves the documents on `addr` over TLS with `config`.
    pub async fn serve_tls(
        self,
        addr: SocketAddr,
        config: Arc<rustls::ServerConfig>,
    ) -> Result<RunningServer, ServeError> {
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        spawn(
            addr,
            Some(acceptor),
            ServerLimits::default(),
            self.handler(),
        )
        .await
    }

    fn handler(self) -> Handler {
        let site = Arc::new(self);
        Arc::new(move |request, _peer| {
            let site = site.clone();
            Box::pin(async move {
                let path = request.uri().path();
                if site.denied.iter().any(|p| p == path) {
                    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
                    let mut response = ::http::Response::new(Bytes::from_static(body.as_bytes()));
                    *response.status_mut() = ::http::StatusCode::FORBIDDEN;
                    response.headers_mut().insert(
                        ::http::header::CONTENT_TYPE,
                        ::http::HeaderValue::from_static("application/xml"),
                    );
                    return response;
                }
                let found = site.documents.iter().find(|(p, _, _)| p == path);
                let mut response = ::http::Response::new(
                    found.map(|(_, _, body)| body.clone()).unwrap_or_default(),
                );
                match found {
                    Some((_, content_type, _)) => {
                        response.headers_mut().insert(
                            ::http::header::CONTENT_TYPE,
                            ::http::HeaderValue::from_static(content_type),
                        );
                    }
                    None => *response.status_mut() = ::http::StatusCode::NOT_FOUND,
                }
                response
            })
        })
    }
}
