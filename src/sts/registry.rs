//! What the local STS knows, as IAM would: the account, its OIDC providers and its roles.

use std::sync::Arc;
use std::time::Duration;

use crate::arn::{AccountId, OidcProviderArn, Partition, RoleArn};
use crate::oidc::{DEFAULT_AUDIENCE, IssuerUrl, JwkSet};
use crate::policy::TrustPolicy;

/// A role's `MaxSessionDuration` unless set: one hour, IAM's default.
pub const DEFAULT_MAX_SESSION_DURATION: u32 = 3600;

/// The account, providers and roles the server judges against.
///
/// ```
/// use irsa::oidc::JwkSet;
/// use irsa::sts::{OidcProvider, Registry, Role};
///
/// let keys = JwkSet::parse(include_bytes!("../../tests/data/k8s-vectors/jwks.rsa-ecdsa.json"))?;
/// let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
///   "Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/issuer.example.com/"},
///   "Action":"sts:AssumeRoleWithWebIdentity"}]}"#.parse()?;
/// let registry = Registry::new("111122223333".parse()?)
///     .provider(OidcProvider::with_keys("https://issuer.example.com/".parse()?, keys)?)
///     .role(Role::new("read-s3", policy)?.max_session_duration(7200)?);
/// assert_eq!(registry.roles()[0].arn().to_string(), "arn:aws:iam::111122223333:role/read-s3");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Registry {
    pub(crate) account: AccountId,
    pub(crate) partition: Partition,
    pub(crate) providers: Vec<OidcProvider>,
    pub(crate) roles: Vec<Role>,
}

impl Registry {
    /// An account with no provider and no role, in the `aws` partition.
    pub fn new(account: AccountId) -> Registry {
        Registry {
            account,
            partition: Partition::Aws,
            providers: Vec::new(),
            roles: Vec::new(),
        }
    }

    /// Registers an OIDC provider (a later one with the same URL replaces it, as IAM allows
    /// one provider per URL).
    #[must_use]
    pub fn provider(mut self, provider: OidcProvider) -> Registry {
        self.providers.retain(|p| p.url != provider.url);
        self.providers.push(provider);
        self
    }

    /// Creates a role (a later one with the same name replaces it).
    #[must_use]
    pub fn role(mut self, role: Role) -> Registry {
        self.roles.retain(|r| r.arn.name() != role.arn.name());
        let arn = role.arn.in_account(self.partition, self.account.clone());
        self.roles.push(Role { arn, ..role });
        self
    }

    /// The account.
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// The providers.
    pub fn providers(&self) -> &[OidcProvider] {
        &self.providers
    }

    /// The roles.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// The ARN IAM gives `provider` in this account.
    pub fn provider_arn(&self, provider: &OidcProvider) -> OidcProviderArn {
        OidcProviderArn::from_validated(
            self.partition,
            self.account.clone(),
            provider.provider_url().to_owned(),
        )
    }
}

/// An IAM OIDC provider: its URL exactly as registered (tokens' `iss` must equal it), its client
/// IDs, and where its keys come from.
#[derive(Debug, Clone)]
pub struct OidcProvider {
    pub(crate) url: IssuerUrl,
    pub(crate) client_ids: Vec<String>,
    pub(crate) keys: KeySource,
}

/// Where a provider's keys come from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeySource {
    /// A key set given up front.
    Jwks(Arc<JwkSet>),
    /// Fetched as STS fetches them: the issuer's discovery document, then its `jwks_uri`.
    Discovery(Discovery),
}

/// How a provider's keys are fetched: `<issuer>/.well-known/openid-configuration`, then its
/// `jwks_uri`, over HTTPS with the system's roots (plus an optional CA), within size and time
/// limits, cached.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub(crate) endpoint: Option<url::Url>,
    pub(crate) ca_pem: Option<Arc<Vec<u8>>>,
    pub(crate) resolve: Vec<(String, std::net::SocketAddr)>,
    pub(crate) timeout: Duration,
    pub(crate) max_bytes: usize,
    pub(crate) ttl: Duration,
}

impl Default for Discovery {
    fn default() -> Discovery {
        Discovery::new()
    }
}

impl Discovery {
    /// STS's limits: 5 seconds per fetch (re:Post names "latency of more than 5 seconds" as a
    /// cause of the fetch error), 128 KiB per document, keys cached for 5 minutes.
    pub fn new() -> Discovery {
        Discovery {
            endpoint: None,
            ca_pem: None,
            resolve: Vec::new(),
            timeout: Duration::from_secs(5),
            max_bytes: 128 * 1024,
            ttl: Duration::from_secs(300),
        }
    }

    /// Fetches from `endpoint` instead of the issuer: the discovery document at
    /// `<endpoint>/.well-known/openid-configuration`, and a `jwks_uri` under the issuer at the
    /// same path under `endpoint` (e.g. a local web server standing in for the public bucket).
    #[must_use]
    pub fn endpoint(mut self, endpoint: url::Url) -> Discovery {
        self.endpoint = Some(endpoint);
        self
    }

    /// Connects to `addr` for `host` (as curl's `--resolve`): the URL and the certificate
    /// check keep the host name, e.g. a local HTTPS server standing in for a public issuer.
    #[must_use]
    pub fn resolve(mut self, host: &str, addr: std::net::SocketAddr) -> Discovery {
        self.resolve.push((host.to_owned(), addr));
        self
    }

    /// Also trusts the CA certificates of this PEM bundle.
    #[must_use]
    pub fn ca_pem(mut self, pem: Vec<u8>) -> Discovery {
        self.ca_pem = Some(Arc::new(pem));
        self
    }

    /// The time limit of each fetch.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Discovery {
        self.timeout = timeout;
        self
    }

    /// How long fetched keys are used before they are fetched again.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Discovery {
        self.ttl = ttl;
        self
    }
}

/// Why a provider or a role cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The URL is not one IAM registers.
    #[error("provider URL {url:?} cannot be registered in IAM")]
    ProviderUrl {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: crate::oidc::IssuerError,
    },
    /// A client ID breaks IAM's limits.
    #[error(
        "client ID {client_id:?} is not 1 to 255 characters, or there are more than 100: register at least one, such as sts.amazonaws.com"
    )]
    ClientId {
        /// The client ID.
        client_id: String,
    },
    /// The role's name or path breaks IAM's rules.
    #[error("role {name:?} cannot be created")]
    Role {
        /// The role's name.
        name: String,
        /// Why.
        #[source]
        source: crate::arn::ArnError,
    },
    /// `MaxSessionDuration` is outside 3600–43200.
    #[error("max session duration {seconds} is not within 3600 to 43200 seconds, as IAM requires")]
    MaxSessionDuration {
        /// The value.
        seconds: u32,
    },
}

impl OidcProvider {
    /// A provider for `url` whose keys are `keys`, with client ID `sts.amazonaws.com`.
    pub fn with_keys(url: IssuerUrl, keys: JwkSet) -> Result<OidcProvider, RegistryError> {
        OidcProvider::new(url, KeySource::Jwks(Arc::new(keys)))
    }

    /// A provider for `url` whose keys are fetched per `discovery`, with client ID
    /// `sts.amazonaws.com`.
    pub fn with_discovery(
        url: IssuerUrl,
        discovery: Discovery,
    ) -> Result<OidcProvider, RegistryError> {
        OidcProvider::new(url, KeySource::Discovery(discovery))
    }

    fn new(url: IssuerUrl, keys: KeySource) -> Result<OidcProvider, RegistryError> {
        url.aws_provider_url()
            .map_err(|source| RegistryError::ProviderUrl {
                url: url.as_str().to_owned(),
                source,
            })?;
        Ok(OidcProvider {
            url,
            client_ids: vec![DEFAULT_AUDIENCE.to_owned()],
            keys,
        })
    }

    /// Replaces the client IDs (1 to 100, each 1 to 255 characters).
    pub fn client_ids<S: Into<String>>(
        mut self,
        client_ids: impl IntoIterator<Item = S>,
    ) -> Result<OidcProvider, RegistryError> {
        let ids: Vec<String> = client_ids.into_iter().map(Into::into).collect();
        if ids.is_empty() || ids.len() > 100 {
            return Err(RegistryError::ClientId {
                client_id: ids.into_iter().next().unwrap_or_default(),
            });
        }
        if let Some(bad) = ids.iter().find(|c| c.is_empty() || c.chars().count() > 255) {
            return Err(RegistryError::ClientId {
                client_id: bad.clone(),
            });
        }
        self.client_ids = ids;
        Ok(self)
    }

    /// The issuer, exactly as registered.
    pub fn url(&self) -> &IssuerUrl {
        &self.url
    }

    /// The URL IAM keeps: the issuer without `https://`.
    pub fn provider_url(&self) -> &str {
        self.url.as_str().trim_start_matches("https://")
    }

    /// The client IDs.
    pub fn registered_client_ids(&self) -> &[String] {
        &self.client_ids
    }

    /// Where the keys come from.
    pub fn key_source(&self) -> &KeySource {
        &self.keys
    }
}

/// An IAM role: name, path, trust policy and maximum session duration.
#[derive(Debug, Clone)]
pub struct Role {
    pub(crate) arn: RoleArn,
    pub(crate) trust_policy: Arc<TrustPolicy>,
    pub(crate) max_session_duration: u32,
}

/// The account of a role not yet in a registry; [`Registry::role`] puts it in the registry's.
fn no_account() -> AccountId {
    AccountId::from_validated("000000000000")
}

impl Role {
    /// A role at path `/` trusting per `trust_policy`, for sessions up to an hour.
    pub fn new(name: &str, trust_policy: TrustPolicy) -> Result<Role, RegistryError> {
        Ok(Role {
            arn: role_arn("/", name)?,
            trust_policy: Arc::new(trust_policy),
            max_session_duration: DEFAULT_MAX_SESSION_DURATION,
        })
    }

    /// The role's path (`/`, or `/a/b/`).
    pub fn path(mut self, path: &str) -> Result<Role, RegistryError> {
        self.arn = role_arn(path, self.arn.name())?
            .in_account(self.arn.partition(), self.arn.account().clone());
        Ok(self)
    }

    /// The longest session it grants, 3600–43200 seconds.
    pub fn max_session_duration(mut self, seconds: u32) -> Result<Role, RegistryError> {
        if !(3600..=43200).contains(&seconds) {
            return Err(RegistryError::MaxSessionDuration { seconds });
        }
        self.max_session_duration = seconds;
        Ok(self)
    }

    /// The role's name.
    pub fn name(&self) -> &str {
        self.arn.name()
    }

    /// The role's ARN (in its registry's account once registered).
    pub fn arn(&self) -> &RoleArn {
        &self.arn
    }

    /// The trust policy.
    pub fn trust_policy(&self) -> &TrustPolicy {
        &self.trust_policy
    }

    /// The longest session it grants, in seconds.
    pub fn max_session_seconds(&self) -> u32 {
        self.max_session_duration
    }
}

fn role_arn(path: &str, name: &str) -> Result<RoleArn, RegistryError> {
    RoleArn::new(Partition::Aws, no_account(), path, name).map_err(|source| RegistryError::Role {
        name: name.to_owned(),
        source,
    })
}
