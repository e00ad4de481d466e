//! A provider's keys as STS gets them: given, or fetched from the issuer's discovery document
//! and its `jwks_uri`, within STS's limits, cached; every failure is the one transient
//! `InvalidIdentityToken` STS answers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::registry::{Discovery, KeySource, OidcProvider};
use crate::oidc::{JwkSet, OpenIdConfiguration};
use crate::token::{Verifier, VerifierError};

/// STS's message when it cannot get a provider's keys; the double space is STS's.
pub(crate) const KEY_FETCH_MESSAGE: &str = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements";

pub(crate) type HttpsClient =
    Client<hyper_rustls::HttpsConnector<HttpConnector<Resolve>>, Empty<Bytes>>;

/// Why a provider's keys could not be fetched: logged, while the caller hears STS's own
/// transient `InvalidIdentityToken` ("Couldn't retrieve verification key from your identity
/// provider, …").
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
    /// The discovery document cannot be read.
    #[error("{url} is not a discovery document")]
    Discovery {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: crate::oidc::DiscoveryError,
    },
    /// The discovery document names another issuer.
    #[error("the discovery document at {url} names issuer {found:?}, not {expected:?}")]
    IssuerMismatch {
        /// The URL.
        url: String,
        /// The issuer it names.
        found: String,
        /// The provider's.
        expected: String,
    },
    /// The key set cannot be read.
    #[error("{url} is not a key set")]
    Jwks {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: crate::oidc::JwksError,
    },
    /// The key set cannot verify anything.
    #[error("the key set at {url} cannot verify tokens")]
    Keys {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: VerifierError,
    },
}

/// The verifier for one provider: its audiences, its issuer, its keys.
pub(crate) fn verifier(provider: &OidcProvider, keys: &JwkSet) -> Result<Verifier, VerifierError> {
    let mut builder = Verifier::builder(keys).issuer(provider.url.clone());
    for id in &provider.client_ids {
        builder = builder.audience(id.clone());
    }
    builder.build()
}

/// One provider's keys, cached.
#[derive(Debug)]
pub(crate) struct ProviderKeys {
    pub(crate) provider: OidcProvider,
    fixed: Option<Arc<Verifier>>,
    cached: tokio::sync::Mutex<Option<(Arc<Verifier>, i64)>>,
}

impl ProviderKeys {
    pub(crate) fn new(provider: OidcProvider) -> Result<ProviderKeys, VerifierError> {
        let fixed = match &provider.keys {
            KeySource::Jwks(keys) => Some(Arc::new(verifier(&provider, keys)?)),
            KeySource::Discovery(_) => None,
        };
        Ok(ProviderKeys {
            provider,
            fixed,
            cached: tokio::sync::Mutex::new(None),
        })
    }

    /// The verifier, fetching the keys when they are not cached (or the cache is older than
    /// its time to live at `now`).
    pub(crate) async fn verifier(
        &self,
        client: &HttpsClient,
        now: i64,
    ) -> Result<Arc<Verifier>, FetchError> {
        if let Some(fixed) = &self.fixed {
            return Ok(fixed.clone());
        }
        let KeySource::Discovery(discovery) = &self.provider.keys else {
            return Err(FetchError::Url {
                url: self.provider.url.as_str().to_owned(),
            });
        };
        let mut cached = self.cached.lock().await;
        let ttl = i64::try_from(discovery.ttl.as_secs()).unwrap_or(i64::MAX);
        if let Some((verifier, at)) = cached.as_ref()
            && now.saturating_sub(*at) < ttl
        {
            return Ok(verifier.clone());
        }
        let fresh = Arc::new(fetch_verifier(&self.provider, discovery, client).await?);
        *cached = Some((fresh.clone(), now));
        Ok(fresh)
    }
}

async fn fetch_verifier(
    provider: &OidcProvider,
    discovery: &Discovery,
    client: &HttpsClient,
) -> Result<Verifier, FetchError> {
    let issuer = provider.url.as_str();
    let base = issuer.trim_end_matches('/');
    let local = discovery
        .endpoint
        .as_ref()
        .map(|e| e.as_str().trim_end_matches('/').to_owned());
    let discovery_url = format!(
        "{}/.well-known/openid-configuration",
        local.as_deref().unwrap_or(base)
    );
    let body = get(client, &discovery_url, discovery).await?;
    let document = OpenIdConfiguration::parse(&body).map_err(|source| FetchError::Discovery {
        url: discovery_url.clone(),
        source,
    })?;
    if document.issuer().as_str() != issuer {
        return Err(FetchError::IssuerMismatch {
            url: discovery_url,
            found: document.issuer().as_str().to_owned(),
            expected: issuer.to_owned(),
        });
    }
    let jwks_uri = match (&local, document.jwks_uri().strip_prefix(base)) {
        (Some(local), Some(rest)) => format!("{local}{rest}"),
        _ => document.jwks_uri().to_owned(),
    };
    let body = get(client, &jwks_uri, discovery).await?;
    let keys = JwkSet::parse(&body).map_err(|source| FetchError::Jwks {
        url: jwks_uri.clone(),
        source,
    })?;
    verifier(provider, &keys).map_err(|source| FetchError::Keys {
        url: jwks_uri,
        source,
    })
}

async fn get(client: &HttpsClient, url: &str, limits: &Discovery) -> Result<Bytes, FetchError> {
    let fetched = fetch(client, url, limits.timeout, limits.max_bytes).await?;
    if fetched.status != 200 {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status: fetched.status,
        });
    }
    Ok(fetched.body)
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
    let uri: http::Uri = url.parse().map_err(|_| FetchError::Url {
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
            .get(http::header::CONTENT_TYPE)
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

/// An HTTPS (and HTTP, for local endpoints) client trusting the system's roots and `extra`,
/// connecting to `resolve`'s address for each host it names.
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
pub(crate) fn tls_config(extra_ca: &[Arc<Vec<u8>>]) -> Result<rustls::ClientConfig, CaError> {
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
    #[cfg(all(test, feature = "setup"))]
    pub(crate) fn new(message: &str) -> CaError {
        CaError(message.to_owned())
    }
}
