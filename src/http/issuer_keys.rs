//! An issuer's keys fetched as STS fetches them: the discovery document at
//! `ISSUER/.well-known/openid-configuration`, its issuer checked, then its `jwks_uri`, each one
//! GET within a time and size limit. The local STS and the agent both read keys this way.

use std::time::Duration;

use super::client::{FetchError, HttpsClient, get_ok};
use crate::oidc::{IssuerUrl, JwkSet, OpenIdConfiguration};
use crate::token::VerifierError;

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

/// The key set of `issuer`, and the URL it came from. With `endpoint`, the documents are
/// fetched from there instead of the issuer: the discovery document at
/// `ENDPOINT/.well-known/openid-configuration`, and a `jwks_uri` below the issuer at the same
/// path below `endpoint` (a local server standing in for the public one).
pub(crate) async fn fetch_key_set(
    client: &HttpsClient,
    issuer: &IssuerUrl,
    endpoint: Option<&url::Url>,
    timeout: Duration,
    max_bytes: usize,
) -> Result<(JwkSet, String), KeyFetchError> {
    let issuer = issuer.as_str();
    let base = issuer.trim_end_matches('/');
    let local = endpoint.map(|e| e.as_str().trim_end_matches('/').to_owned());
    let discovery_url = format!(
        "{}/.well-known/openid-configuration",
        local.as_deref().unwrap_or(base)
    );
    let body = get_ok(client, &discovery_url, timeout, max_bytes).await?;
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
    let body = get_ok(client, &jwks_uri, timeout, max_bytes).await?;
    let keys = JwkSet::parse(&body).map_err(|source| KeyFetchError::Jwks {
        url: jwks_uri.clone(),
        source,
    })?;
    Ok((keys, jwks_uri))
}
