//! The judge: one awsQuery request in, STS's answer out — parameters, token, trust policy,
//! credentials, signatures — with no socket in sight.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use aws_smithy_async::time::{SharedTimeSource, SystemTimeSource, TimeSource};
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};

use super::faults::{Fault, Faults, Injector};
use super::keys::ProviderKeys;
use super::query::AwsQuery;
use super::registry::{KeySource, Registry};
use super::sessions::SessionKey;
use super::sigv4::SignedRequest;
use super::xml::{self};
use crate::StsErrorCode;
use crate::http::client::{self, CaError, HttpsClient};
use crate::http::{Peer, ServerLimits};
use crate::token::VerifierError;

/// The only API version STS has.
pub const API_VERSION: &str = "2011-06-15";

/// Why a server cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A provider's key set cannot verify tokens.
    #[error("the keys of provider {url} cannot verify tokens")]
    Keys {
        /// The provider's URL.
        url: String,
        /// Why.
        #[source]
        source: VerifierError,
    },
    /// The system's random source failed (for the key that seals session tokens).
    #[error("the system's random source failed: the server cannot seal session tokens")]
    Random,
    /// A provider's CA bundle cannot be used.
    #[error("the CA bundle of provider {url} cannot be used")]
    Ca {
        /// The provider's URL.
        url: String,
        /// Why.
        #[source]
        source: CaError,
    },
}

/// Builds an [`Sts`].
#[derive(Debug)]
pub struct StsBuilder {
    registry: Registry,
    faults: Option<Faults>,
    time: SharedTimeSource,
    limits: ServerLimits,
    region: Option<String>,
}

impl StsBuilder {
    /// Injects faults.
    #[must_use]
    pub fn faults(mut self, faults: Faults) -> StsBuilder {
        self.faults = Some(faults);
        self
    }

    /// The clock (the system's unless said otherwise): token expiry, session expiry and the
    /// signature window are judged by it.
    #[must_use]
    pub fn time_source(mut self, time: impl TimeSource + 'static) -> StsBuilder {
        self.time = SharedTimeSource::new(time);
        self
    }

    /// What the server accepts from its clients (by default [`ServerLimits::default`] with
    /// bodies up to [`MAX_QUERY_BYTES`](super::MAX_QUERY_BYTES), STS's own limit).
    #[must_use]
    pub fn limits(mut self, limits: ServerLimits) -> StsBuilder {
        self.limits = limits;
        self
    }

    /// The region this STS is (e.g. `eu-west-1`): SigV4 scopes naming another are refused, as
    /// a regional endpoint refuses them. Without it, the region of an
    /// `sts.REGION.amazonaws.com` `Host` is required, and on a local endpoint any region is
    /// accepted.
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> StsBuilder {
        self.region = Some(region.into());
        self
    }

    /// The server's judge.
    pub fn build(self) -> Result<Sts, BuildError> {
        let mut providers = Vec::new();
        let mut cas = Vec::new();
        let mut resolve = Vec::new();
        for provider in &self.registry.providers {
            if let KeySource::Discovery(d) = &provider.keys {
                resolve.extend(d.resolve.iter().cloned());
            }
            if let KeySource::Discovery(d) = &provider.keys
                && let Some(pem) = &d.ca_pem
            {
                // Each bundle is checked on its own so a bad one is named.
                client::client(std::slice::from_ref(pem), &[]).map_err(|source| {
                    BuildError::Ca {
                        url: provider.url.as_str().to_owned(),
                        source,
                    }
                })?;
                cas.push(pem.clone());
            }
            providers.push(ProviderKeys::new(provider.clone()).map_err(|source| {
                BuildError::Keys {
                    url: provider.url.as_str().to_owned(),
                    source,
                }
            })?);
        }
        let client = client::client(&cas, &resolve).map_err(|source| BuildError::Ca {
            url: String::new(),
            source,
        })?;
        Ok(Sts {
            inner: Arc::new(Inner {
                registry: self.registry,
                providers,
                session_key: SessionKey::generate().ok_or(BuildError::Random)?,
                faults: self.faults.map(Injector::new),
                time: self.time,
                client,
                limits: self.limits,
                region: self.region,
            }),
        })
    }
}

/// The local STS's judge: answers an awsQuery request as AWS STS does. Cheap to clone; serve
/// it with [`Sts::serve`], or call [`Sts::handle`] from your own server.
#[derive(Clone)]
pub struct Sts {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for Sts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sts")
            .field("account", &self.inner.registry.account)
            .field("providers", &self.inner.registry.providers.len())
            .field("roles", &self.inner.registry.roles.len())
            .finish_non_exhaustive()
    }
}

pub(super) struct Inner {
    pub(super) registry: Registry,
    pub(super) providers: Vec<ProviderKeys>,
    pub(super) session_key: SessionKey,
    pub(super) faults: Option<Injector>,
    pub(super) time: SharedTimeSource,
    pub(super) client: HttpsClient,
    pub(super) limits: ServerLimits,
    pub(super) region: Option<String>,
}

/// An STS error answer.
#[derive(Debug)]
pub(super) struct Refusal {
    pub(super) code: StsErrorCode,
    pub(super) message: String,
}

impl Refusal {
    pub(super) fn new(code: StsErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

pub(super) type Answer = Result<String, Refusal>;

impl Sts {
    /// A judge for `registry`.
    pub fn builder(registry: Registry) -> StsBuilder {
        StsBuilder {
            registry,
            faults: None,
            time: SharedTimeSource::new(SystemTimeSource::new()),
            limits: ServerLimits::default().max_body_bytes(super::MAX_QUERY_BYTES),
            region: None,
        }
    }

    /// What its server accepts from clients.
    pub(crate) fn limits(&self) -> ServerLimits {
        self.inner.limits
    }

    /// The registry it judges by.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    pub(super) fn now(&self) -> i64 {
        self.inner
            .time
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }

    /// Answers one request: `POST /` with a form body, or `GET /?Action=…`.
    pub async fn handle(&self, request: http::Request<Bytes>, peer: Peer) -> http::Response<Bytes> {
        let request_id = request_id();
        let (parts, body) = request.into_parts();
        let query_string = parts.uri.query().unwrap_or_default();
        let params = if parts.method == Method::POST && !body.is_empty() {
            AwsQuery::parse(&body)
        } else {
            AwsQuery::parse(query_string.as_bytes())
        };
        let action = params
            .as_ref()
            .ok()
            .and_then(|p| p.action().map(str::to_owned));
        let web_identity = action.as_deref() == Some("AssumeRoleWithWebIdentity");
        let fault = self
            .inner
            .faults
            .as_ref()
            .and_then(|f| f.draw(web_identity));
        if let Some(latency) = self.inner.faults.as_ref().map(Injector::latency)
            && latency > Duration::ZERO
        {
            tokio::time::sleep(latency).await;
        }
        let answer = match (params, fault) {
            (_, Some(Fault::Throttling)) => {
                Err(Refusal::new(StsErrorCode::Throttling, "Rate exceeded"))
            }
            (_, Some(Fault::ServerError)) => Err(Refusal::new(
                StsErrorCode::InternalFailure,
                "An internal error occurred (injected fault)",
            )),
            (Err(e), _) => Err(Refusal::new(
                StsErrorCode::ValidationError,
                crate::error_text::chain(&e),
            )),
            (Ok(params), fault) => {
                let version = params.get("Version");
                match (params.action(), version) {
                    (Some(action), Some(v)) if v != API_VERSION => Err(invalid_action(action, v)),
                    (Some("AssumeRoleWithWebIdentity"), _) => {
                        if fault == Some(Fault::IdpCommunicationError) {
                            Err(Refusal::new(
                                StsErrorCode::IdpCommunicationError,
                                "The identity provider could not be reached (injected fault)",
                            ))
                        } else {
                            self.assume_role(&params, &parts.headers, peer, &request_id)
                                .await
                        }
                    }
                    (Some("GetCallerIdentity"), _) => {
                        let signed = SignedRequest {
                            method: parts.method.as_str(),
                            path: parts.uri.path(),
                            query: query_string,
                            headers: &parts.headers,
                            body: &body,
                        };
                        self.caller_identity(&signed, &request_id)
                    }
                    (Some(action), _) => {
                        Err(invalid_action(action, version.unwrap_or(API_VERSION)))
                    }
                    (None, _) => Err(Refusal::new(
                        StsErrorCode::InvalidAction,
                        "The request must contain the parameter Action",
                    )),
                }
            }
        };
        let action = action.as_deref().unwrap_or("-");
        match answer {
            Ok(body) => {
                tracing::debug!(request_id, action, "answered");
                respond(StatusCode::OK, body, &request_id)
            }
            Err(refusal) => {
                tracing::info!(request_id, action, code = refusal.code.as_str(), message = ?refusal.message, "refused");
                let status = refusal.code.http_status();
                let body = xml::error(
                    status < 500,
                    refusal.code.as_str(),
                    &refusal.message,
                    &request_id,
                );
                respond(
                    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                    body,
                    &request_id,
                )
            }
        }
    }
}

pub(super) fn invalid_action(action: &str, version: &str) -> Refusal {
    Refusal::new(
        StsErrorCode::InvalidAction,
        format!("Could not find operation {action} for version {version}"),
    )
}

/// The region of `sts.REGION.amazonaws.com`-style hosts; `None` for local endpoints.
pub(super) fn region_of(headers: &http::HeaderMap) -> Option<&str> {
    let host = headers.get(http::header::HOST)?.to_str().ok()?;
    let rest = host.strip_prefix("sts.")?;
    let (region, suffix) = rest.split_once('.')?;
    suffix.starts_with("amazonaws.com").then_some(region)
}

pub(super) fn request_id() -> String {
    let mut bytes = [0u8; 16];
    // A request ID only has to be unique; the CSPRNG failing leaves zeros, still well-formed.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    crate::token::mint::uuid_v4(bytes)
}

pub(super) fn respond(status: StatusCode, body: String, request_id: &str) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml"),
    );
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}
