//! What exists in AWS, as read by `Aws::observe` or built by hand in tests.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::{ATTACHED_TAG_PREFIX, INLINE_TAG_PREFIX, ownership_tag};

/// An S3 Block Public Access configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[allow(clippy::struct_excessive_bools)]
pub struct PublicAccessBlock {
    /// `BlockPublicAcls`.
    pub block_public_acls: bool,
    /// `IgnorePublicAcls`.
    pub ignore_public_acls: bool,
    /// `BlockPublicPolicy`.
    pub block_public_policy: bool,
    /// `RestrictPublicBuckets`.
    pub restrict_public_buckets: bool,
}

/// What exists in AWS, as read by [`Aws::observe`](crate::setup::Aws::observe) (or built by hand in tests).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Observed {
    /// The issuer bucket, `None` when it does not exist (or the issuer is not on S3).
    pub bucket: Option<ObservedBucket>,
    /// The discovery document and the key set as stored (S3) or served (other hosts), in that
    /// order; `None` for a missing object.
    pub documents: [Option<ObservedObject>; 2],
    /// The OIDC provider, `None` when it is not registered.
    pub provider: Option<ObservedProvider>,
    /// Each role of the file by name, `None` when it does not exist.
    pub roles: BTreeMap<String, Option<ObservedRole>>,
}

/// An issuer bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObservedBucket {
    /// The region it lives in.
    pub region: Option<String>,
    /// Its object ownership, when configured.
    pub ownership: Option<String>,
    /// Its Block Public Access configuration, when configured.
    pub public_access_block: Option<PublicAccessBlock>,
    /// Its bucket policy document, when it has one.
    pub policy: Option<String>,
    /// Its tags (irsa tags the buckets it creates).
    pub tags: BTreeMap<String, String>,
}

/// A hosted document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObservedObject {
    /// The bytes.
    pub body: Vec<u8>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
}

/// A registered OIDC provider.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObservedProvider {
    /// Its client IDs (audiences).
    pub client_ids: Vec<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// A role.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ObservedRole {
    /// Its path.
    pub path: String,
    /// Its trust policy, percent-decoded.
    pub trust_policy: String,
    /// Its maximum session duration in seconds.
    pub max_session_duration: Option<u32>,
    /// Its permissions boundary's ARN.
    pub permissions_boundary: Option<String>,
    /// The ARNs of its attached managed policies.
    pub attached_policies: BTreeSet<String>,
    /// The inline policies read (those the file names and those irsa's tags record), by name;
    /// a name read but absent maps to `None`.
    pub inline_policies: BTreeMap<String, Option<Value>>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// The names of all its inline policies, read for a role irsa did not create (to say what
    /// it grants); empty for irsa's own roles.
    pub inline_policy_names: BTreeSet<String>,
}

impl ObservedRole {
    /// Whether irsa created the role (its `irsa/managed-by` tag).
    pub fn managed_by_irsa(&self) -> bool {
        self.tags.get(super::MANAGED_BY_TAG).map(String::as_str) == Some(super::MANAGED_BY_VALUE)
    }

    /// The inline policy names irsa's tags record as written by irsa.
    pub fn owned_inline_policies(&self) -> BTreeSet<&str> {
        owned(&self.tags, INLINE_TAG_PREFIX)
    }

    /// The managed policy ARNs irsa's tags record as attached by irsa.
    pub fn owned_policies(&self) -> BTreeSet<&str> {
        owned(&self.tags, ATTACHED_TAG_PREFIX)
    }
}

pub(super) fn owned<'a>(tags: &'a BTreeMap<String, String>, prefix: &str) -> BTreeSet<&'a str> {
    tags.iter()
        .filter(|(k, v)| k.starts_with(prefix) && *k == &ownership_tag(prefix, v))
        .map(|(_, v)| v.as_str())
        .collect()
}
