//! # irsa
//!
//! IAM Roles for Service Accounts (IRSA) on any Kubernetes cluster: self-managed, kubeadm, k3s,
//! on-premises — not only EKS.
//!
//! IRSA lets a pod call AWS with short-lived credentials. The kube-apiserver signs a projected
//! service-account token; AWS STS trusts the cluster's issuer as an IAM OIDC provider, whose
//! discovery documents are hosted publicly (for example in S3); the pod exchanges its token for
//! credentials with `AssumeRoleWithWebIdentity`; the role's trust policy decides by the token's
//! `sub` and `aud`. This crate makes each of those steps typed, generated and checkable.
//!
//! ## Architecture
//!
//! Six layers, lowest first. An import goes down a layer or stays in its own module; between
//! modules of one layer only where the table says so, and never sideways between services.
//! `tests/it/architecture.rs` reads this table and every `crate::` path in `src/`, and fails
//! when a module imports what its row does not allow or when a module is missing here.
//!
//! ```text
//!  5 binaries     src/bin/irsa (feature cli), src/bin/irsa-demo.rs      know everything
//!  4 services     provider   sts   setup   doctor   webhook_server   agent
//!                     │        │      │       │          │           │
//!  3 plumbing        env ─────http────┴───────┴──────────┴───────────┘   injected surroundings; sockets
//!                   service_accounts (webhook_server, agent)          the kube-rs ServiceAccount cache
//!  2 I/O-free       policy  webhook                trust policies; pod patches
//!  1 typed core     token   oidc                   tokens and the verifier; issuer, keys, discovery
//!  0 foundation     arn  json  base64  sts_code  error_text
//! ```
//!
//! | layer | module | feature | may import |
//! |-------|--------|---------|------------|
//! | 0 | [`arn`] | — | — |
//! | 0 | `base64` | — | — |
//! | 0 | `error_text` ([`ErrorChain`]) | — | — |
//! | 0 | `json` ([`JsonError`], the strict readers, Go-identical output) | — | `error_text` |
//! | 0 | `sts_code` ([`StsErrorCode`], STS's messages) | — | — |
//! | 1 | [`oidc`] | — | `arn` `base64` `json` |
//! | 1 | [`token`] | — | `oidc` `arn` `base64` `json` `sts_code` |
//! | 2 | [`policy`] | — | `token` `oidc` `arn` `base64` `error_text` `json` `sts_code` |
//! | 2 | [`webhook`] | `webhook` | `oidc` `arn` `base64` `json` |
//! | 3 | [`env`](mod@env) | `env` | — |
//! | 3 | [`http`] | `http-client`, `http-server` | `token` `oidc` `error_text` |
//! | 3 | [`service_accounts`] | `service-accounts` | `webhook` `error_text` |
//! | 4 | [`provider`] | `provider` (default) | `env` `token` `arn` `error_text` `sts_code` |
//! | 4 | [`sts`] | `sts` | `http` `policy` `token` `oidc` `arn` `base64` `error_text` `json` `sts_code` |
//! | 4 | [`setup`] | `setup` | `env` `http` `policy` `token` `oidc` `arn` `json` `error_text` |
//! | 4 | [`doctor`] | `doctor` | `env` `http` `webhook` `policy` `token` `oidc` `arn` `error_text` `sts_code` |
//! | 4 | [`webhook_server`] | `webhook-server` | `http` `service_accounts` `webhook` `error_text` |
//! | 4 | [`agent`] | `agent` | `http` `service_accounts` `token` `oidc` `arn` `error_text` |
//! | test | `error_messages` (every error message in one snapshot) | — | everything |
//!
//! Layers 0–2 do no I/O, read no ambient clock or environment (clippy's `disallowed_methods`
//! enforces it) and build with `--no-default-features`. Every feature builds alone and pulls
//! only the layers it uses (the test command checks each one). The doctor may read through
//! `setup`'s AWS observation, the one sideways edge the design allows; it does not need to yet.
//!
//! ### Error types
//!
//! One `#[non_exhaustive]` error type per concern, next to the code it describes, each
//! message lower case and never repeating its source:
//!
//! | module | concerns and their error types |
//! |--------|--------------------------------|
//! | [`arn`] | ARNs: [`arn::ArnError`] |
//! | json | JSON input: [`JsonError`], its position [`SyntaxError`] |
//! | sts_code | STS's vocabulary: [`UnknownStsErrorCode`] |
//! | [`oidc`] | issuer URLs [`oidc::IssuerError`]; keys [`oidc::KeyError`] (the crypto library's refusal: [`oidc::CryptoRejection`]); key sets [`oidc::JwksError`] (a key skipped: [`oidc::Unusable`]); discovery [`oidc::DiscoveryError`]; publishing [`oidc::PublishError`] |
//! | [`token`] | token syntax [`token::MalformedToken`]; claims [`token::ClaimsError`]; subjects [`token::SubjectError`]; secrets [`token::SecretError`]; verifier set-up [`token::VerifierError`]; a refused token [`token::Rejection`]; minting [`token::MintError`] |
//! | [`policy`] | policy documents [`policy::MalformedPolicyDocument`]; operators [`policy::UnknownOperator`]; generation [`policy::GenerateError`]; prediction [`policy::PredictError`] |
//! | [`webhook`] | configuration [`webhook::WebhookError`]; pods [`webhook::PodError`]; reviews [`webhook::AdmissionError`] |
//! | [`webhook_server`] | starting the server [`webhook_server::WebhookServerError`] |
//! | [`agent`] | starting the agent [`agent::AgentError`]; its role file [`agent::RoleFileError`] |
//! | [`http`] | fetches `http::FetchError`, CA bundles `http::CaError`, an issuer's keys `http::KeyFetchError`; listening `http::ServeError`; server certificates `http::TlsError` |
//! | [`provider`] | configuration `provider::ConfigError` (a profile: `provider::ProfileLoadError`); the token file `provider::TokenFileError`; a failed call `provider::ProviderError` (STS's answer `provider::StsFailure`, the transport's `provider::TransportError`) |
//! | [`sts`] | its config file `sts::ConfigFileError`, faults `sts::FaultsError`, the registry `sts::RegistryError`, building `sts::BuildError`, requests `sts::QueryError`, signatures `sts::AuthorizationError`, issuers' keys (`http::KeyFetchError`, re-exported) |
//! | [`setup`] | the file `setup::SetupFileError`; planning `setup::PlanError`; AWS calls `setup::SetupError`; the apiserver manifest `setup::apiserver::ManifestError`, its writing `setup::apiserver::ManifestWriteError` |
//!
//! ## Getting started
//!
//! Publish a cluster's issuer in S3: turn the apiserver's service-account public key into the
//! discovery documents, the bucket policy, the IAM provider and the apiserver flags.
//!
//! ```
//! use irsa::oidc::{JwkSet, PublicKey, PublishingPlan, S3Issuer};
//!
//! # let sa_pub = "-----BEGIN PUBLIC KEY-----
//! # MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEH6cuzP8XuD5wal6wf9M6xDljTOPL
//! # X2i8uIp/C/ASqiIGUeeKQtX0/IR3qCXyThP/dbCiHrF3v1cuhBOHY8CLVg==
//! # -----END PUBLIC KEY-----";
//! let keys = JwkSet::from_public_keys(&PublicKey::from_pem(sa_pub)?)?;
//! let issuer = S3Issuer::new("acme-irsa", "eu-west-1")?.with_prefix("prod")?.issuer();
//! let plan = PublishingPlan::builder(issuer, keys).account("111122223333".parse()?).build()?;
//!
//! assert_eq!(plan.objects()[0].key, "prod/.well-known/openid-configuration");
//! assert_eq!(plan.provider_url().condition_key("sub"), "acme-irsa.s3.eu-west-1.amazonaws.com/prod:sub");
//! assert_eq!(plan.oidc_provider().client_ids, ["sts.amazonaws.com"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Features
//!
//! | feature    | default | what it adds |
//! |------------|---------|--------------|
//! | `provider` | yes     | [`provider`]: web-identity credential provider for aws-config chains, refreshed in the background |
//! | `webhook`  | no      | [`webhook`]: pod patch generator (EKS pod identity webhook compatible) and AdmissionReview handling |
//! | `sts`      | no      | [`sts`]: a local STS that judges `AssumeRoleWithWebIdentity` as AWS does and checks `GetCallerIdentity`'s SigV4; the `irsa-demo` binary |
//! | `setup`    | no      | [`setup`]: the AWS side planned from a declarative file and applied idempotently with the real SDKs (S3 issuer bucket, IAM OIDC provider, roles); the kube-apiserver manifest editor |
//! | `webhook-server` | no | [`webhook_server`]: the pod identity webhook as a server — ServiceAccount cache (kube-rs watcher), admission budget, fail-closed entry, metrics, health, certificate reload, graceful drain |
//! | `agent`    | no      | [`agent`]: EKS Pod Identity's container-credentials endpoint on any cluster — tokens verified offline, ServiceAccounts mapped to roles (annotation or file), one STS call per ServiceAccount for all its pods, refreshed in the background, metrics, health, rate limit, drain |
//! | `doctor`   | no      | [`doctor`]: a live IRSA setup checked end to end — pod, token, the issuer fetched as STS fetches it, IAM, optionally STS — naming the first broken thing and its fix |
//! | `cli`      | no      | the `irsa` binary: `irsa discovery`, `irsa verify`, `irsa trust-policy`, `irsa lint`, `irsa explain`, `irsa patch`, `irsa credential-process`, `irsa token`, `irsa sts serve`, `irsa setup`, `irsa apiserver`, `irsa service-accounts`, `irsa doctor`, `irsa webhook`, `irsa agent`, `irsa completions`, `irsa man` |
//! | `env`, `http-client`, `http-server`, `service-accounts` | no | the building blocks above, for those who build their own service on them |
//!
//! Without any feature the crate is layers 0–2: [`arn`], [`oidc`], [`token`], [`policy`].
//!
//! ## Judging a token as STS would
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use irsa::oidc::JwkSet;
//! use irsa::token::Verifier;
//!
//! let keys = JwkSet::parse(include_bytes!("../tests/data/k8s-vectors/jwks.rsa-ecdsa.json"))?;
//! let verifier = Verifier::builder(&keys).issuer("https://issuer.example.com/".parse()?).build()?;
//! let token = include_str!("../tests/data/k8s-vectors/token.bound.rs256.jwt");
//!
//! // The token's issuer has no trailing slash; the provider's has one.
//! let rejection = verifier.verify(token, UNIX_EPOCH + Duration::from_secs(1_514_764_860)).unwrap_err();
//! assert_eq!(rejection.sts_code().as_str(), "InvalidIdentityToken");
//! assert_eq!(
//!     rejection.sts_message().as_deref(),
//!     Some("No OpenIDConnect provider found in your account for https://issuer.example.com")
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

#[cfg(feature = "agent")]
#[cfg_attr(docsrs, doc(cfg(feature = "agent")))]
pub mod agent;
pub mod arn;
mod base64;
#[cfg(feature = "doctor")]
#[cfg_attr(docsrs, doc(cfg(feature = "doctor")))]
pub mod doctor;
#[cfg(feature = "env")]
#[cfg_attr(docsrs, doc(cfg(feature = "env")))]
pub mod env;
#[cfg(test)]
mod error_messages;
mod error_text;
#[cfg(any(feature = "http-client", feature = "http-server"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "http-client", feature = "http-server")))
)]
pub mod http;
mod json;
pub mod oidc;
pub mod policy;
#[cfg(feature = "provider")]
#[cfg_attr(docsrs, doc(cfg(feature = "provider")))]
pub mod provider;
#[cfg(feature = "service-accounts")]
#[cfg_attr(docsrs, doc(cfg(feature = "service-accounts")))]
pub mod service_accounts;
#[cfg(feature = "setup")]
#[cfg_attr(docsrs, doc(cfg(feature = "setup")))]
pub mod setup;
#[cfg(feature = "sts")]
#[cfg_attr(docsrs, doc(cfg(feature = "sts")))]
pub mod sts;
mod sts_code;
pub mod token;
#[cfg(feature = "webhook")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhook")))]
pub mod webhook;
#[cfg(feature = "webhook-server")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhook-server")))]
pub mod webhook_server;

/// Items public only for the crate's own fuzz targets and binaries: no part of the API, no
/// semver promise. Use the documented modules instead.
#[doc(hidden)]
pub mod __private {
    /// The agent's role file, read: `(namespace, name, role ARN)` per entry, sorted.
    #[cfg(feature = "agent")]
    pub fn parse_role_file(bytes: &[u8]) -> Result<Vec<(String, String, String)>, String> {
        let map = crate::agent::roles::parse_role_file(std::path::Path::new("roles.yaml"), bytes)
            .map_err(|e| e.to_string())?;
        let mut entries: Vec<_> = map
            .into_iter()
            .map(|((namespace, name), arn)| (namespace.into(), name.into(), arn.to_string()))
            .collect();
        entries.sort();
        Ok(entries)
    }
    #[cfg(feature = "setup")]
    pub use crate::setup::diff::line_diff;
    #[cfg(feature = "sts")]
    pub use crate::sts::query::{AwsQuery, QueryError};
    #[cfg(feature = "sts")]
    pub use crate::sts::sigv4::{AuthorizationError, SigV4Authorization};
    pub use crate::token::mint::uuid_v4;

    /// The fast scanner's verdict on a whole document (fuzzing reaches it here).
    pub fn scan_json(text: &str) -> Result<(), String> {
        let mut scanner = crate::json::scan::Scanner::new(text);
        scanner
            .skip()
            .and_then(|()| scanner.end())
            .map_err(|e| e.to_string())
    }

    /// The strict object reader (duplicate names refused), with no size limit.
    pub fn parse_strict_json(
        bytes: &[u8],
    ) -> Result<serde_json::Map<String, serde_json::Value>, crate::JsonError> {
        crate::json::parse_strict(bytes, usize::MAX)
    }

    /// A `Numeric*` condition value as the evaluator reads it.
    pub fn policy_number(s: &str) -> Option<f64> {
        crate::policy::value::parse_number(s)
    }

    /// A `Date*` condition value as the evaluator reads it, in seconds since the epoch.
    pub fn policy_date(s: &str) -> Option<f64> {
        crate::policy::value::parse_date(s)
    }
}

pub use error_text::ErrorChain;
pub use json::{JsonError, SyntaxError};
pub use sts_code::{StsErrorCode, UnknownStsErrorCode};
