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
    let jwks_uri = match (&local, document.jwks_uri().strip_prefix(base)) {
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
