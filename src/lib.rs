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
//! ```text
//!            src/bin/irsa/            CLI (feature `cli`): the only part that knows them all
//!                    │
//!               src/lib.rs            this map
//!         ┌──────────┼──────────┬──────────┐
//!    provider/    policy/    webhook/    sts/   provider (default feature): credentials for
//!         │          │          │          │    aws-config; policy: trust policies, the doctor;
//!         │          ├──────────┼──────────┘    webhook (feature): pod patches, AdmissionReview;
//!         └────┬─────┘          │               sts (feature): a local STS judging by policy+token
//!            token              │       claims, secret token, verifier (+ cache)
//!              │                │
//!            oidc  ─────────────┤       issuer URL, discovery document, JWKS, publishing plan
//!              └──────┬─────────┘
//!                    arn                RoleArn, OidcProviderArn, partitions
//! ```
//!
//! The typed core ([`arn`], [`oidc`], [`token`], [`policy`]) does no I/O, reads no clock and no
//! environment, and builds with `--no-default-features`. `provider` and `webhook` never import
//! each other. Each concern has one `#[non_exhaustive]` error type next to its code.
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
//! | `doctor`   | no      | [`doctor`]: a live IRSA setup checked end to end — pod, token, the issuer fetched as STS fetches it, IAM, optionally STS — naming the first broken thing and its fix |
//! | `cli`      | no      | the `irsa` binary: `irsa discovery`, `irsa verify`, `irsa trust-policy`, `irsa lint`, `irsa explain`, `irsa patch`, `irsa credential-process`, `irsa token`, `irsa sts serve` |
//!
//! Without any feature the crate is the typed core: [`arn`], [`oidc`], [`token`] and [`policy`].
//!
//! ## Judging a token as STS would
//!
//! ```
//! use irsa::oidc::JwkSet;
//! use irsa::token::Verifier;
//!
//! let keys = JwkSet::parse(include_bytes!("../tests/data/k8s-vectors/jwks.rsa-ecdsa.json"))?;
//! let verifier = Verifier::builder(&keys).issuer("https://issuer.example.com/".parse()?).build()?;
//! let token = include_str!("../tests/data/k8s-vectors/token.bound.rs256.jwt");
//!
//! // The token's issuer has no trailing slash; the provider's has one.
//! let rejection = verifier.verify(token, 1_514_764_860).unwrap_err();
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

pub use error_text::ErrorChain;
pub use json::{JsonError, SyntaxError};
pub use sts_code::{StsErrorCode, UnknownStsErrorCode};
