//! A local STS that judges as AWS does (feature `sts`): `AssumeRoleWithWebIdentity` with the
//! token verified, the role's trust policy evaluated with the whole request context and AWS's
//! error codes, messages and XML; `GetCallerIdentity` signed with SigV4 by the credentials it
//! issued. For tests, CI and local clusters: moto's `AssumeRoleWithWebIdentity` never reads the
//! token, LocalStack ignores trust-policy conditions.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use irsa::oidc::JwkSet;
//! use irsa::sts::{OidcProvider, Registry, Role, Sts};
//!
//! let keys = JwkSet::parse(&std::fs::read("jwks.json")?)?;
//! let registry = Registry::new("111122223333".parse()?)
//!     .provider(OidcProvider::with_keys("https://oidc.example.test/cluster-a".parse()?, keys)?)
//!     .role(Role::new("read-s3", std::fs::read_to_string("trust-policy.json")?.parse()?)?);
//! let server = Sts::builder(registry).build()?.serve("127.0.0.1:0".parse()?).await?;
//! // AWS_ENDPOINT_URL_STS=<this> for any SDK.
//! println!("{}", server.endpoint_url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The judgement, in STS's order: parameters (`ValidationError`, every broken constraint in
//! one message), the role (`AccessDenied` when it does not exist, as STS does not say which
//! roles exist), the token's issuer (the provider), the provider's keys (fetched as STS fetches
//! them when not given), every rule of [`crate::token::Verifier`], the trust policy with
//! [`crate::policy::Request::with_facts`], then `DurationSeconds` against the role's maximum and
//! the session policy. Credentials are random from the system's CSPRNG and shaped as AWS's.

mod assume_role;
mod caller_identity;
mod config;
mod faults;
pub(crate) mod keys;
pub(crate) mod query;
mod registry;
mod server;
mod service;
mod sessions;
pub(crate) mod sigv4;
mod xml;

pub use crate::http::KeyFetchError;
pub use config::{ConfigFile, ConfigFileError};
pub use faults::{Faults, FaultsError};
pub use query::MAX_QUERY_BYTES;
pub use registry::{
    DEFAULT_MAX_SESSION_DURATION, Discovery, KeySource, OidcProvider, Registry, RegistryError, Role,
};
pub use service::{API_VERSION, BuildError, Sts, StsBuilder};
pub use sigv4::CLOCK_WINDOW;
