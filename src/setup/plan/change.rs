//! One change to AWS, and how it reads in a plan.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{PUBLIC_ACCESS_BLOCK, PublicAccessBlock};
use crate::oidc::BUCKET_POLICY_SID;

/// One change, in the order [`Aws::apply`](crate::setup::Aws::apply) makes them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Change {
    /// `CreateBucket`.
    CreateBucket {
        /// The bucket.
        bucket: String,
        /// Its region.
        region: String,
    },
    /// `PutBucketOwnershipControls` with `BucketOwnerEnforced`.
    PutOwnershipControls {
        /// The bucket.
        bucket: String,
        /// The ownership before.
        before: Option<String>,
    },
    /// `PutPublicAccessBlock` with [`PUBLIC_ACCESS_BLOCK`].
    PutPublicAccessBlock {
        /// The bucket.
        bucket: String,
        /// The configuration before.
        before: Option<PublicAccessBlock>,
    },
    /// `PutBucketPolicy` with irsa's statement merged in.
    PutBucketPolicy {
        /// The bucket.
        bucket: String,
        /// The policy before.
        before: Option<String>,
        /// The policy after.
        after: String,
    },
    /// `PutObject` of a document.
    PutObject {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// `Content-Type`.
        content_type: String,
        /// `Cache-Control`.
        cache_control: String,
        /// What differs.
        reason: String,
        /// The body before (as text, lossily), when there was one.
        before: Option<String>,
        /// The body after.
        after: String,
    },
    /// `CreateOpenIDConnectProvider`.
    CreateOidcProvider {
        /// `https://` and the provider URL.
        url: String,
        /// The client IDs.
        client_ids: Vec<String>,
    },
    /// `AddClientIDToOpenIDConnectProvider`.
    AddClientId {
        /// The provider.
        provider: String,
        /// The client ID.
        client_id: String,
    },
    /// `RemoveClientIDFromOpenIDConnectProvider` (a provider irsa created, with `--prune`).
    RemoveClientId {
        /// The provider.
        provider: String,
        /// The client ID.
        client_id: String,
    },
    /// `CreateRole` with this cluster's statements.
    CreateRole {
        /// The role name.
        role: String,
        /// Its path.
        path: String,
        /// The trust policy.
        trust_policy: String,
        /// The maximum session duration, if the file sets it.
        max_session_duration: Option<u32>,
        /// The permissions boundary, if the file sets it.
        permissions_boundary: Option<String>,
        /// The tags: managed-by and the ownership records of what follows.
        tags: BTreeMap<String, String>,
    },
    /// `UpdateAssumeRolePolicy` with this cluster's statements merged in.
    UpdateTrustPolicy {
        /// The role name.
        role: String,
        /// The document before.
        before: String,
        /// The document after.
        after: String,
    },
    /// `UpdateRole` with the maximum session duration.
    UpdateMaxSessionDuration {
        /// The role name.
        role: String,
        /// Before.
        before: Option<u32>,
        /// After.
        after: u32,
    },
    /// `PutRolePermissionsBoundary`.
    PutPermissionsBoundary {
        /// The role name.
        role: String,
        /// Before.
        before: Option<String>,
        /// After.
        after: String,
    },
    /// `TagRole` recording what irsa is about to write.
    TagRole {
        /// The role name.
        role: String,
        /// The tags.
        tags: BTreeMap<String, String>,
    },
    /// `AttachRolePolicy`.
    AttachPolicy {
        /// The role name.
        role: String,
        /// The managed policy.
        policy_arn: String,
    },
    /// `PutRolePolicy`.
    PutInlinePolicy {
        /// The role name.
        role: String,
        /// The policy name.
        name: String,
        /// The document before.
        before: Option<String>,
        /// The document after.
        after: String,
    },
    /// `DetachRolePolicy` of a policy irsa attached (with `--prune`).
    DetachPolicy {
        /// The role name.
        role: String,
        /// The managed policy.
        policy_arn: String,
    },
    /// `DeleteRolePolicy` of an inline policy irsa wrote (with `--prune`).
    DeleteInlinePolicy {
        /// The role name.
        role: String,
        /// The policy name.
        name: String,
    },
    /// `UntagRole` of ownership records that no longer apply (with `--prune`).
    UntagRole {
        /// The role name.
        role: String,
        /// The tag keys.
        keys: Vec<String>,
    },
}

impl Change {
    /// The AWS API call that makes the change.
    pub fn call(&self) -> &'static str {
        match self {
            Change::CreateBucket { .. } => "s3:CreateBucket",
            Change::PutOwnershipControls { .. } => "s3:PutBucketOwnershipControls",
            Change::PutPublicAccessBlock { .. } => "s3:PutPublicAccessBlock",
            Change::PutBucketPolicy { .. } => "s3:PutBucketPolicy",
            Change::PutObject { .. } => "s3:PutObject",
            Change::CreateOidcProvider { .. } => "iam:CreateOpenIDConnectProvider",
            Change::AddClientId { .. } => "iam:AddClientIDToOpenIDConnectProvider",
            Change::RemoveClientId { .. } => "iam:RemoveClientIDFromOpenIDConnectProvider",
            Change::CreateRole { .. } => "iam:CreateRole",
            Change::UpdateTrustPolicy { .. } => "iam:UpdateAssumeRolePolicy",
            Change::UpdateMaxSessionDuration { .. } => "iam:UpdateRole",
            Change::PutPermissionsBoundary { .. } => "iam:PutRolePermissionsBoundary",
            Change::TagRole { .. } => "iam:TagRole",
            Change::AttachPolicy { .. } => "iam:AttachRolePolicy",
            Change::PutInlinePolicy { .. } => "iam:PutRolePolicy",
            Change::DetachPolicy { .. } => "iam:DetachRolePolicy",
            Change::DeleteInlinePolicy { .. } => "iam:DeleteRolePolicy",
            Change::UntagRole { .. } => "iam:UntagRole",
        }
    }

    /// One line for a person: what changes and why.
    pub fn summary(&self) -> String {
        match self {
            Change::CreateBucket { bucket, region } => {
                format!("create bucket {bucket} in {region}: the issuer is hosted there")
            }
            Change::PutOwnershipControls { bucket, before } => format!(
                "set object ownership of {bucket} to BucketOwnerEnforced (was {}): no ACLs, the bucket policy alone decides",
                before.as_deref().unwrap_or("unset")
            ),
            Change::PutPublicAccessBlock { bucket, before } => format!(
                "set Block Public Access of {bucket} to {} (was {}): public ACLs stay blocked, a public bucket policy is allowed",
                describe_pab(&PUBLIC_ACCESS_BLOCK),
                before
                    .as_ref()
                    .map_or_else(|| "unset".to_owned(), describe_pab)
            ),
            Change::PutBucketPolicy { bucket, before, .. } => format!(
                "{} statement {BUCKET_POLICY_SID} in the policy of {bucket}: anyone may read the two documents, nothing else",
                if before.is_some() { "merge" } else { "write" }
            ),
            Change::PutObject { key, reason, .. } => format!("upload {key}: {reason}"),
            Change::CreateOidcProvider { url, client_ids } => format!(
                "register the OIDC provider {url} with client IDs {}: STS trusts the issuer through it",
                client_ids.join(", ")
            ),
            Change::AddClientId { client_id, .. } => format!(
                "add client ID {client_id} to the OIDC provider: STS refuses tokens whose aud it does not list"
            ),
            Change::RemoveClientId { client_id, .. } => {
                format!(
                    "remove client ID {client_id} from the OIDC provider: the file no longer lists it"
                )
            }
            Change::CreateRole { role, .. } => {
                format!("create role {role} trusting this cluster's service accounts")
            }
            Change::UpdateTrustPolicy { role, .. } => format!(
                "update the trust policy of {role}: this cluster's statements differ (other statements kept)"
            ),
            Change::UpdateMaxSessionDuration {
                role,
                before,
                after,
            } => format!(
                "set the maximum session duration of {role} to {after} s (was {})",
                before.map_or_else(|| "unset".to_owned(), |b| format!("{b} s"))
            ),
            Change::PutPermissionsBoundary { role, after, .. } => {
                format!("set the permissions boundary of {role} to {after}")
            }
            Change::TagRole { role, tags } => format!(
                "tag {role} to record what irsa writes ({})",
                tags.values().cloned().collect::<Vec<_>>().join(", ")
            ),
            Change::AttachPolicy { role, policy_arn } => format!("attach {policy_arn} to {role}"),
            Change::PutInlinePolicy {
                role, name, before, ..
            } => format!(
                "{} inline policy {name} of {role}",
                if before.is_some() { "update" } else { "write" }
            ),
            Change::DetachPolicy { role, policy_arn } => format!(
                "detach {policy_arn} from {role}: irsa attached it and the file no longer lists it"
            ),
            Change::DeleteInlinePolicy { role, name } => format!(
                "delete inline policy {name} of {role}: irsa wrote it and the file no longer lists it"
            ),
            Change::UntagRole { role, keys } => {
                format!("remove {} ownership tag(s) from {role}", keys.len())
            }
        }
    }

    /// The document before and after, for changes that write one.
    pub fn documents(&self) -> Option<(Option<&str>, &str)> {
        match self {
            Change::PutBucketPolicy { before, after, .. }
            | Change::PutObject { before, after, .. }
            | Change::PutInlinePolicy { before, after, .. } => Some((before.as_deref(), after)),
            Change::UpdateTrustPolicy { before, after, .. } => Some((Some(before), after)),
            Change::CreateRole { trust_policy, .. } => Some((None, trust_policy)),
            _ => None,
        }
    }
}

pub(super) fn describe_pab(p: &PublicAccessBlock) -> String {
    format!(
        "BlockPublicAcls={} IgnorePublicAcls={} BlockPublicPolicy={} RestrictPublicBuckets={}",
        p.block_public_acls, p.ignore_public_acls, p.block_public_policy, p.restrict_public_buckets
    )
}
