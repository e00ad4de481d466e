//! The HTTPS client with STS's fetch rules: one GET, a time limit, a size limit, no redirect
//! followed, the system's roots plus the caller's CA bundles, and fixed name resolution (as
//! curl's `--resolve`) so tests reach a host name on loopback with its real certificate check.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The client every fetch goes through. hyper's legacy client follows no redirect: a `3xx`
/// is an answer like any other, as STS treats it.
pub(crate) type HttpsClient =
    Client<hyper_rustls::HttpsConnector<HttpConnector<Resolve>>, Empty<Bytes>>;

/// Why a GET failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL is not a URL.
    #[error("{url} is not a URL")]
    Url {
        /// The URL.
        url: String,
    },
    /// The request failed (connection, TLS, …).
    #[error("GET {url} failed")]
    Request {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No answer within the time limit.
    #[error("GET {url} took longer than {limit:?}")]
    TimedOut {
        /// The URL.
        url: String,
        /// The limit.
        limit: Duration,
    },
    /// An answer other than 200.
    #[error("GET {url} answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The body exceeds the size limit.
    #[error("GET {url}: the body exceeds {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: usize,
    },
}

/// An answer to an anonymous GET: its status, `Content-Type` and body.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Bytes,
}

/// An anonymous GET of `url` within `timeout` and `max_bytes` (whatever the status).
pub(crate) async fn fetch(
    client: &HttpsClient,
    url: &str,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Fetched, FetchError> {
    let uri: ::http::Uri = url.parse().map_err(|_| FetchError::Url {
        url: url.to_owned(),
    })?;
    let request = async {
        let response = client.get(uri).await.map_err(|e| FetchError::Request {
            url: url.to_owned(),
            source: Box::new(e),
        })?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = Limited::new(response.into_body(), max_bytes)
            .collect()
            .await
            .map(|c| c.to_bytes())
            .map_err(|_| FetchError::TooLarge {
                url: url.to_owned(),
                limit: max_bytes,
            })?;
        Ok(Fetched {
            status,
            content_type,
            body,
        })
    };
    tokio::time::timeout(timeout, request)
        .await
        .map_err(|_| FetchError::TimedOut {
            url: url.to_owned(),
            limit: timeout,
        })?
}

/// A GET of `url` that must answer 200: its body.
pub(crate) async fn get_ok(
    client: &HttpsClient,
    url: &str,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Bytes, FetchError> {
    let fetched = fetch(client, url, timeout, max_bytes).await?;
    if fetched.status != 200 {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status: fetched.status,
        });
    }
    Ok(fetched.body)
}

/// An HTTPS (and HTTP, for local endpoints) client trusting the system's roots and `extra_ca`
/// (PEM bundles), connecting to `resolve`'s address for each host it names.
pub(crate) fn client(
    extra_ca: &[Arc<Vec<u8>>],
    resolve: &[(String, SocketAddr)],
) -> Result<HttpsClient, CaError> {
    let mut http = HttpConnector::new_with_resolver(Resolve(Arc::new(resolve.to_vec())));
    http.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config(extra_ca)?)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// Name resolution with fixed answers for some hosts, as curl's `--resolve`: the connection
/// goes to the given address while TLS still checks the certificate for the host name.
#[derive(Clone, Debug)]
pub(crate) struct Resolve(Arc<Vec<(String, SocketAddr)>>);

type Resolved = std::vec::IntoIter<SocketAddr>;

impl tower_service::Service<hyper_util::client::legacy::connect::dns::Name> for Resolve {
    type Response = Resolved;
    type Error = std::io::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Resolved, std::io::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: hyper_util::client::legacy::connect::dns::Name) -> Self::Future {
        let fixed: Vec<SocketAddr> = self
            .0
            .iter()
            .filter(|(host, _)| host == name.as_str())
            .map(|(_, addr)| *addr)
            .collect();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if !fixed.is_empty() {
                return Ok(fixed.into_iter());
            }
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok(found.into_iter())
        })
    }
}

/// The TLS client settings of every fetch: the system's roots plus `extra_ca` (PEM bundles).
fn tls_config(extra_ca: &[Arc<Vec<u8>>]) -> Result<rustls::ClientConfig, CaError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates are skipped, as every rustls-native-certs user does.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    for pem in extra_ca {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| CaError(e.to_string()))?;
            roots.add(cert).map_err(|e| CaError(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(CaError("no CERTIFICATE block".to_owned()));
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CaError(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Why a CA bundle cannot be used (its PEM, or the TLS library's refusal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CaError(String);

impl CaError {
    #[cfg(test)]
    pub(crate) fn new(message: &str) -> CaError {
        CaError(message.to_owned())
    }
}
