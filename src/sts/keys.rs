//! A provider's keys as STS gets them: given, or fetched from the issuer's discovery document
//! and its `jwks_uri` ([`fetch_key_set`]), within STS's limits, cached; every failure is the
//! one transient `InvalidIdentityToken` STS answers.

use std::sync::Arc;

use super::registry::{Discovery, KeySource, OidcProvider};
use crate::http::KeyFetchError;
use crate::http::client::{FetchError, HttpsClient};
use crate::http::issuer_keys::fetch_key_set;
use crate::oidc::JwkSet;
use crate::token::{Verifier, VerifierError};

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
    let (keys, jwks_uri) = fetch_key_set(
        client,
        &provider.url,
        discovery.endpoint.as_ref(),
        discovery.timeout,
        discovery.max_bytes,
    )
    .await?;
    verifier(provider, &keys).map_err(|source| KeyFetchError::Keys {
        url: jwks_uri,
        source,
    })
}
