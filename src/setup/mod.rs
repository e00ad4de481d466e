//! `irsa setup`: the AWS side of IRSA from one declarative file — the S3 issuer bucket and its
//! two documents, the IAM OIDC provider, each role's trust policy and permissions — read from
//! AWS on every run, planned as a pure function of desired and observed state, applied in
//! dependency order, verified, and idempotent.
//!
//! The parts:
//! - [`SetupFile`]: the file (YAML or JSON), every value checked with the crate's types;
//! - [`Desired`]: the file resolved for an account (documents, provider, statements);
//! - [`Observed`] and [`plan`]: what exists and the [`Change`]s between, with no I/O;
//! - [`Aws`]: observe, apply and verify with aws-sdk-s3, aws-sdk-iam and aws-sdk-sts;
//! - [`apiserver`]: the kubeadm static pod manifest's flags, edited in place;
//! - [`service_accounts`]: the annotated ServiceAccount manifests.
//!
//! What irsa owns is marked, and nothing else is ever removed: its bucket-policy statement
//! has the `Sid` [`BUCKET_POLICY_SID`](crate::oidc::BUCKET_POLICY_SID); its trust-policy
//! statements have `Sid`s starting with [`Desired::sid_prefix`]; the providers and roles it
//! creates carry [`MANAGED_BY_TAG`]; each managed policy it attaches and each inline policy it
//! writes is recorded in a role tag ([`ATTACHED_TAG_PREFIX`], [`INLINE_TAG_PREFIX`]) before the
//! write, so that `--prune` ([`PlanOptions::prune`]) detaches only those.
//!
//! ```
//! use irsa::setup::{Change, Desired, Observed, PlanOptions, SetupFile, plan};
//!
//! let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/keys");
//! let file = SetupFile::parse(r#"
//! cluster:
//!   issuer: {s3: {bucket: my-irsa-bucket, region: eu-west-1}}
//!   keys: [ecdsa-p384-public.pem]
//! roles: [{name: read-s3, namespaces: [payments]}]
//! "#, &dir)?;
//! let desired = Desired::new(&file, "111122223333".parse()?)?;
//! let plan = plan(&desired, &Observed::default(), PlanOptions::default())?;
//! let Change::CreateRole { trust_policy, .. } = &plan.changes[7] else { unreachable!() };
//! assert!(trust_policy.contains(r#""system:serviceaccount:payments:*""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod apiserver;
mod aws;
pub(crate) mod diff;
mod file;
mod plan;
pub mod service_accounts;

pub use aws::{Aws, DocumentCheck, SetupError, Verification};
pub use file::{Cluster, RoleSpec, SetupFile, SetupFileError};
pub use plan::{
    ATTACHED_TAG_PREFIX, Change, Desired, DesiredRole, INLINE_TAG_PREFIX, MANAGED_BY_TAG,
    MANAGED_BY_VALUE, Note, OBJECT_OWNERSHIP, Observed, ObservedBucket, ObservedObject,
    ObservedProvider, ObservedRole, PUBLIC_ACCESS_BLOCK, Plan, PlanError, PlanOptions,
    PublicAccessBlock, Rotation, plan,
};
