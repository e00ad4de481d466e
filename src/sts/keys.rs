//! A provider's keys as STS gets them: given, or fetched from the issuer's discovery document
//! and its `jwks_uri`, within STS's limits, cached; every failure is the one transient
//! `InvalidIdentityToken` STS answers.

use std::sync::Arc;

use super::registry::{Discovery, KeySource, OidcProvider};
use crate::http::client::{FetchError, HttpsClient, get_ok};
use crate::oidc::{JwkSet, OpenIdConfiguration};
use crate::token::{Verifier, VerifierError};

/// Why a provider's keys could not be fetched: logged, while the caller hears STS's own
/// transient `InvalidIdentityToken` ("Couldn't retrieve verification key from your identity
/// provider, …").
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFetchError {
    /// A GET failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
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
    /// The last fetch failed a moment ago: STS is not asked to hammer a failing issuer, and
    /// neither is this one.
    #[error(
        "the last fetch of {url}'s keys failed {seconds} s ago ({reason}): they are fetched again {retry} s after a failure"
    )]
    Recent {
        /// The issuer.
        url: String,
        /// How long ago.
        seconds: i64,
        /// Why it failed.
        reason: String,
        /// Seconds between tries.
        retry: i64,
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
    /// One fetch at a time per provider: later callers wait for it and take its result.
    cached: tokio::sync::Mutex<Cached>,
}

/// What the last fetches left.
#[derive(Debug, Default)]
struct Cached {
    /// The keys and when they were fetched.
    keys: Option<(Arc<Verifier>, i64)>,
    /// The last failure: when, and why.
    failure: Option<(i64, String)>,
}

/// How long a failed fetch is remembered before the issuer is asked again.
const FAILURE_MEMORY: i64 = 5;
/// How often a token signed by a key the cached set lacks may cause a fetch (a rotated key
/// is found within this, a stream of made-up `kid`s costs one fetch per interval).
const UNKNOWN_KID_REFETCH: i64 = 30;

impl ProviderKeys {
    pub(crate) fn new(provider: OidcProvider) -> Result<ProviderKeys, VerifierError> {
        let fixed = match &provider.keys {
            KeySource::Jwks(keys) => Some(Arc::new(verifier(&provider, keys)?)),
            KeySource::Discovery(_) => None,
        };
        Ok(ProviderKeys {
            provider,
            fixed,
            cached: tokio::sync::Mutex::new(Cached::default()),
        })
    }

    /// The verifier, fetching the keys when they are not cached, when the cache is older than
    /// its time to live at `now`, or when the token's `kid` is not among them and the cache
    /// is older than [`UNKNOWN_KID_REFETCH`]. A failure is remembered for
    /// [`FAILURE_MEMORY`] seconds; one fetch runs at a time.
    pub(crate) async fn verifier(
        &self,
        client: &HttpsClient,
        now: i64,
        kid: Option<&str>,
    ) -> Result<Arc<Verifier>, KeyFetchError> {
        if let Some(fixed) = &self.fixed {
            return Ok(fixed.clone());
        }
        let KeySource::Discovery(discovery) = &self.provider.keys else {
            return Err(FetchError::Url {
                url: self.provider.url.as_str().to_owned(),
            }
            .into());
        };
        let mut cached = self.cached.lock().await;
        let ttl = i64::try_from(discovery.ttl.as_secs()).unwrap_or(i64::MAX);
        if let Some((verifier, at)) = cached.keys.as_ref() {
            let age = now.saturating_sub(*at);
            let known = kid.is_none_or(|kid| verifier.knows_kid(kid));
            if age < ttl && (known || age < UNKNOWN_KID_REFETCH) {
                return Ok(verifier.clone());
            }
        }
        if let Some((at, reason)) = &cached.failure
            && now.saturating_sub(*at) < FAILURE_MEMORY
        {
            return Err(KeyFetchError::Recent {
                url: self.provider.url.as_str().to_owned(),
                seconds: now.saturating_sub(*at),
                reason: reason.clone(),
                retry: FAILURE_MEMORY,
            });
        }
        match fetch_verifier(&self.provider, discovery, client).await {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                cached.keys = Some((fresh.clone(), now));
                cached.failure = None;
                Ok(fresh)
            }
            Err(e) => {
                cached.failure = Some((now, crate::error_text::chain(&e)));
                Err(e)
            }
        }
    }
}

async fn fetch_verifier(
    provider: &OidcProvider,
    discovery: &Discovery,
    client: &HttpsClient,
) -> Result<Verifier, KeyFetchError> {
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
    let body = get_ok(
        client,
        &discovery_url,
        discovery.timeout,
        discovery.max_bytes,
    )
    .await?;
    let document =
        OpenIdConfiguration::parse(&body).map_err(|source| KeyFetchError::Discovery {
            url: discovery_url.clone(),
            source,
        })?;
    if document.issuer().as_str() != issuer {
        return Err(KeyFetchError::IssuerMismatch {
            url: discovery_url,
            found: document.issuer().as_str().to_owned(),
            expected: issuer.to_owned(),
        });
    }
    // Only a URL below the issuer is redirected to the local endpoint: the prefix must end at
    // a path boundary, or `https://issuer.example.com.evil.net/…` would pass as the issuer's.
    let below_issuer = document
        .jwks_uri()
        .strip_prefix(base)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'));
    let jwks_uri = match (&local, below_issuer) {
        (Some(local), Some(rest)) => format!("{local}{rest}"),
        _ => document.jwks_uri().to_owned(),
    };
    let body = get_ok(client, &jwks_uri, discovery.timeout, discovery.max_bytes).await?;
    let keys = JwkSet::parse(&body).map_err(|source| KeyFetchError::Jwks {
        url: jwks_uri.clone(),
        source,
    })?;
    verifier(provider, &keys).map_err(|source| KeyFetchError::Keys {
        url: jwks_uri,
        source,
    })
}
