//! The issuer side of IRSA: issuer URLs, the discovery document, key sets, and the plan that
//! publishes them where STS can fetch them.
//!
//! Everything here is pure: no I/O, no clock, no environment. Documents built here are
//! byte-identical to what kube-apiserver serves at `/.well-known/openid-configuration` and
//! `/openid/v1/jwks`, so a cluster's issuer can be rehosted (for example in S3) without any
//! hand editing.
//!
//! ```
//! use irsa::oidc::{JwkSet, PublicKey, PublishingPlan, S3Issuer};
//!
//! # let pem = "-----BEGIN PUBLIC KEY-----
//! # MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEH6cuzP8XuD5wal6wf9M6xDljTOPL
//! # X2i8uIp/C/ASqiIGUeeKQtX0/IR3qCXyThP/dbCiHrF3v1cuhBOHY8CLVg==
//! # -----END PUBLIC KEY-----";
//! // The apiserver's service-account public key (e.g. /etc/kubernetes/pki/sa.pub).
//! let keys = JwkSet::from_public_keys(&PublicKey::from_pem(pem)?)?;
//! let issuer = S3Issuer::new("acme-irsa", "us-east-1")?.issuer();
//! let plan = PublishingPlan::builder(issuer, keys).build()?;
//! for object in plan.objects() {
//!     println!("{} ({}): {}", object.key, object.content_type, object.body);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod discovery;
mod issuer;
mod jwk;
mod key;
mod publish;
mod s3;

pub use discovery::{DiscoveryError, MAX_DISCOVERY_BYTES, OpenIdConfiguration};
pub use issuer::{
    IssuerError, IssuerErrorKind, IssuerUrl, JWKS_PATH, OPENID_CONFIGURATION_PATH, ProviderUrl,
};
pub use jwk::{Jwk, JwkMember, JwkSet, JwksError, MAX_JWKS_BYTES, MAX_KEYS, Unusable};
pub(crate) use key::pem_blocks;
pub use key::{
    CryptoRejection, Curve, JwsAlgorithm, KeyError, KeyMaterial, MAX_RSA_BITS, MIN_RSA_BITS,
    PublicKey,
};
pub use publish::{
    BUCKET_POLICY_SID, BucketPolicy, CACHE_CONTROL, CreateOidcProviderInput, DEFAULT_AUDIENCE,
    DISCOVERY_CONTENT_TYPE, JWKS_CONTENT_TYPE, PublishError, PublishedObject, PublishingPlan,
    PublishingPlanBuilder,
};
pub use s3::S3Issuer;
