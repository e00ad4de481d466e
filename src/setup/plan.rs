//! Desired state from the setup file, observed state as read from AWS, and the plan between
//! them: a pure function, tested without a network.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::file::{RoleSpec, SetupFile};
use crate::arn::{AccountId, OidcProviderArn, RoleArn};
use crate::oidc::{BUCKET_POLICY_SID, JwkSet, PublishError, PublishedObject, PublishingPlan};
use crate::policy::{
    ClusterGrant, DEFAULT_SIZE_QUOTA, Finding, LintOptions, Severity, Statement, TrustPolicy,
    lint_document,
};

/// The tag irsa puts on the OIDC providers and roles it creates.
pub const MANAGED_BY_TAG: &str = "irsa/managed-by";
/// The value of [`MANAGED_BY_TAG`].
pub const MANAGED_BY_VALUE: &str = "irsa";
/// Prefix of the role tags recording a managed policy irsa attached (the value is its ARN).
pub const ATTACHED_TAG_PREFIX: &str = "irsa/policy/";
/// Prefix of the role tags recording an inline policy irsa wrote (the value is its name).
pub const INLINE_TAG_PREFIX: &str = "irsa/inline/";
/// The Block Public Access settings irsa wants on an issuer bucket: ACLs stay blocked, public
/// policies are allowed (the bucket policy is what makes the two documents public).
pub const PUBLIC_ACCESS_BLOCK: PublicAccessBlock = PublicAccessBlock {
    block_public_acls: true,
    ignore_public_acls: true,
    block_public_policy: false,
    restrict_public_buckets: false,
};
/// The object ownership irsa wants: ACLs disabled.
pub const OBJECT_OWNERSHIP: &str = "BucketOwnerEnforced";

/// What the file asks for, resolved for one account.
#[derive(Debug, Clone)]
pub struct Desired {
    publishing: PublishingPlan,
    provider_arn: OidcProviderArn,
    sid_prefix: String,
    roles: Vec<DesiredRole>,
}

/// One role as the file asks for it.
#[derive(Debug, Clone)]
pub struct DesiredRole {
    spec: RoleSpec,
    arn: RoleArn,
    statements: Vec<Value>,
}

impl Desired {
    /// Resolves `file` for `account`: the documents to publish, the provider and each role's
    /// statements for this cluster.
    pub fn new(file: &SetupFile, account: AccountId) -> Result<Desired, PlanError> {
        let cluster = file.cluster();
        let partition = file.partition();
        let mut builder = PublishingPlan::builder(cluster.issuer().clone(), cluster.keys().clone())
            .account(account.clone())
            .partition(partition);
        for audience in cluster.audiences() {
            builder = builder.audience(audience);
        }
        for existing in cluster.existing_issuers() {
            builder = builder.existing_issuer(existing);
        }
        let publishing = builder.build().map_err(PlanError::Publish)?;
        let provider_arn = publishing.provider_url().arn(partition, account.clone());
        let sid_prefix = sid_prefix(publishing.provider_url().as_str());
        let audience = cluster
            .audiences()
            .first()
            .map_or(crate::oidc::DEFAULT_AUDIENCE, String::as_str);
        let mut roles = Vec::new();
        for spec in file.roles() {
            let mut grants = Vec::new();
            if !spec.service_accounts().is_empty() {
                grants.push(ClusterGrant::service_accounts(
                    provider_arn.clone(),
                    spec.service_accounts().to_vec(),
                ));
            }
            for namespace in spec.namespaces() {
                grants.push(ClusterGrant::namespace(provider_arn.clone(), namespace));
            }
            let mut statements = Vec::new();
            for (n, grant) in grants.into_iter().enumerate() {
                let grant = grant.and_then(|g| g.with_audience(audience)).map_err(|e| {
                    PlanError::Grant {
                        role: spec.name().to_owned(),
                        source: e,
                    }
                })?;
                let mut statement = Map::new();
                statement.insert("Sid".to_owned(), Value::from(format!("{sid_prefix}{n}")));
                if let Value::Object(body) = grant.statement() {
                    statement.extend(body);
                }
                statements.push(Value::Object(statement));
            }
            let arn = RoleArn::new(partition, account.clone(), spec.path(), spec.name()).map_err(
                |_| PlanError::Grant {
                    role: spec.name().to_owned(),
                    source: crate::policy::GenerateError::NoGrant,
                },
            )?;
            roles.push(DesiredRole {
                spec: spec.clone(),
                arn,
                statements,
            });
        }
        Ok(Desired {
            publishing,
            provider_arn,
            sid_prefix,
            roles,
        })
    }

    /// The documents, bucket policy, provider input and apiserver flags.
    pub fn publishing(&self) -> &PublishingPlan {
        &self.publishing
    }

    /// The OIDC provider's ARN.
    pub fn provider_arn(&self) -> &OidcProviderArn {
        &self.provider_arn
    }

    /// The `Sid` prefix of this cluster's trust-policy statements (`Irsa` and 12 hexadecimal
    /// digits of the provider URL's SHA-256): statements with it are irsa's, all others are
    /// kept as they are.
    pub fn sid_prefix(&self) -> &str {
        &self.sid_prefix
    }

    /// The roles, in file order.
    pub fn roles(&self) -> &[DesiredRole] {
        &self.roles
    }
}

impl DesiredRole {
    /// The role as the file names it.
    pub fn spec(&self) -> &RoleSpec {
        &self.spec
    }

    /// The role's ARN.
    pub fn arn(&self) -> &RoleArn {
        &self.arn
    }

    /// This cluster's trust-policy statements for the role.
    pub fn statements(&self) -> &[Value] {
        &self.statements
    }
}

fn sid_prefix(provider_url: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, provider_url.as_bytes());
    let hex: String = digest
        .as_ref()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("Irsa{hex}")
}

/// A tag key holding 12 hexadecimal digits of `value`'s SHA-256 under `prefix`.
pub(crate) fn ownership_tag(prefix: &str, value: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
    let hex: String = digest
        .as_ref()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{prefix}{hex}")
}

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

/// What exists in AWS, as read by [`Aws::observe`](super::Aws::observe) (or built by hand in tests).
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
}

impl ObservedRole {
    /// The inline policy names irsa's tags record as written by irsa.
    pub fn owned_inline_policies(&self) -> BTreeSet<&str> {
        owned(&self.tags, INLINE_TAG_PREFIX)
    }

    /// The managed policy ARNs irsa's tags record as attached by irsa.
    pub fn owned_policies(&self) -> BTreeSet<&str> {
        owned(&self.tags, ATTACHED_TAG_PREFIX)
    }
}

fn owned<'a>(tags: &'a BTreeMap<String, String>, prefix: &str) -> BTreeSet<&'a str> {
    tags.iter()
        .filter(|(k, v)| k.starts_with(prefix) && *k == &ownership_tag(prefix, v))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Options of [`plan`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlanOptions {
    /// Remove what irsa wrote earlier and the file no longer lists (statements, attachments,
    /// inline policies, client IDs of a provider irsa created).
    pub prune: bool,
    /// Allow dropping keys from the published key set.
    pub allow_key_removal: bool,
}

impl PlanOptions {
    /// With `prune` set.
    #[must_use]
    pub fn prune(mut self, prune: bool) -> Self {
        self.prune = prune;
        self
    }

    /// With `allow_key_removal` set.
    #[must_use]
    pub fn allow_key_removal(mut self, allow: bool) -> Self {
        self.allow_key_removal = allow;
        self
    }
}

/// One change, in the order [`Aws::apply`](super::Aws::apply) makes them.
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

fn describe_pab(p: &PublicAccessBlock) -> String {
    format!(
        "BlockPublicAcls={} IgnorePublicAcls={} BlockPublicPolicy={} RestrictPublicBuckets={}",
        p.block_public_acls, p.ignore_public_acls, p.block_public_policy, p.restrict_public_buckets
    )
}

/// Where the key rotation stands, judged from the keys the file lists against those
/// published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rotation {
    /// Nothing is published yet.
    FirstPublication,
    /// One key, published: no rotation under way.
    Steady,
    /// Stage 1: the file adds keys to the published set.
    PublishingNext {
        /// The key IDs being added.
        added: Vec<String>,
    },
    /// Stage 2: several keys are published; the apiserver can sign with the next one.
    SwitchSigningKey {
        /// The key IDs published.
        published: Vec<String>,
    },
    /// Stage 3: the file drops keys from the published set.
    RetiringOld {
        /// The key IDs being removed.
        removed: Vec<String>,
    },
}

impl Rotation {
    /// What the stage means for a person, and what to do next.
    pub fn describe(&self) -> String {
        match self {
            Rotation::FirstPublication => "first publication of the issuer's keys".to_owned(),
            Rotation::Steady => "one key published: no rotation under way".to_owned(),
            Rotation::PublishingNext { added } => format!(
                "rotation stage 1 (publish the next key): adding {}; next, add its .pub as another --service-account-key-file on every control-plane node",
                added.join(", ")
            ),
            Rotation::SwitchSigningKey { published } => format!(
                "rotation stage 2 (switch the signing key): {} published; point --service-account-signing-key-file at the next key, then wait the longest token lifetime (86400 s by default) before retiring the old one",
                published.join(", ")
            ),
            Rotation::RetiringOld { removed } => format!(
                "rotation stage 3 (retire the old key): removing {} from the key set",
                removed.join(", ")
            ),
        }
    }
}

/// A remark that changes nothing but needs a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Note {
    /// What it is about (a role, the provider, a document).
    pub subject: String,
    /// The remark and what to do.
    pub message: String,
}

/// The changes that make AWS match the file, in dependency order, plus remarks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Plan {
    /// The changes; empty when AWS already matches.
    pub changes: Vec<Change>,
    /// The key-rotation stage the file describes.
    pub rotation: Rotation,
    /// Remarks.
    pub notes: Vec<Note>,
}

impl Plan {
    /// Whether nothing needs to change.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Why no plan can be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The documents cannot be built from the file.
    #[error("cannot build the issuer's documents")]
    Publish(#[source] PublishError),
    /// A role's statements cannot be generated.
    #[error("role {role}: cannot generate its trust statements")]
    Grant {
        /// The role.
        role: String,
        /// Why.
        #[source]
        source: crate::policy::GenerateError,
    },
    /// The file drops published keys.
    #[error(
        "the file drops published key(s) {}: tokens signed by them stay valid for up to their expirationSeconds (86400 s by default) and STS caches keys; keep them listed until the longest token lifetime has passed since the signing key switched, then allow their removal",
        kids.join(", ")
    )]
    KeyRemoval {
        /// The key IDs.
        kids: Vec<String>,
    },
    /// The bucket exists in another region.
    #[error(
        "bucket {bucket} is in {actual}, the file says {expected}: set cluster.issuer.s3.region to {actual} (the issuer URL names the region)"
    )]
    BucketRegion {
        /// The bucket.
        bucket: String,
        /// The file's region.
        expected: String,
        /// The bucket's region.
        actual: String,
    },
    /// An existing document irsa must merge into is not a JSON object.
    #[error(
        "{what} is not a JSON policy document: fix or delete it by hand, irsa does not overwrite what it cannot read"
    )]
    Unreadable {
        /// Which document, e.g. `the trust policy of role read-s3`.
        what: String,
    },
    /// A document irsa would write has error-level lint findings.
    #[error("the trust policy irsa would write for {role} has errors: {}", findings.iter().map(|f| format!("{} ({})", f.message, f.fix)).collect::<Vec<_>>().join("; "))]
    Lint {
        /// The role.
        role: String,
        /// The error-level findings.
        findings: Vec<Finding>,
    },
}

/// Computes the changes that make `observed` match `desired`.
///
/// ```
/// use irsa::setup::{Change, Desired, Observed, PlanOptions, SetupFile, plan};
///
/// let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/keys");
/// let file = SetupFile::parse(r#"
/// cluster:
///   issuer: {s3: {bucket: my-irsa-bucket, region: eu-west-1}}
///   keys: [ecdsa-p384-public.pem]
/// roles: [{name: read-s3, service_accounts: ["default:read-s3-hello"]}]
/// "#, &dir)?;
/// let desired = Desired::new(&file, "111122223333".parse()?)?;
/// let fresh = plan(&desired, &Observed::default(), PlanOptions::default())?;
/// let calls: Vec<&str> = fresh.changes.iter().map(Change::call).collect();
/// assert_eq!(calls, [
///     "s3:CreateBucket", "s3:PutBucketOwnershipControls", "s3:PutPublicAccessBlock",
///     "s3:PutBucketPolicy", "s3:PutObject", "s3:PutObject",
///     "iam:CreateOpenIDConnectProvider", "iam:CreateRole",
/// ]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn plan(
    desired: &Desired,
    observed: &Observed,
    options: PlanOptions,
) -> Result<Plan, PlanError> {
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    let rotation = rotation(
        desired.publishing.keys(),
        observed.documents[1].as_ref(),
        options,
    )?;
    let objects = desired.publishing.objects();
    match desired.publishing.s3() {
        Some(s3) => {
            let bucket = s3.bucket().to_owned();
            plan_bucket(desired, observed, &bucket, s3.region(), &mut changes)?;
            for (object, seen) in objects.iter().zip(&observed.documents) {
                if let Some(reason) = object_difference(object, seen.as_ref()) {
                    changes.push(Change::PutObject {
                        bucket: bucket.clone(),
                        key: object.key.clone(),
                        content_type: object.content_type.to_owned(),
                        cache_control: object.cache_control.to_owned(),
                        reason,
                        before: seen
                            .as_ref()
                            .map(|o| String::from_utf8_lossy(&o.body).into_owned()),
                        after: object.body.clone(),
                    });
                }
            }
        }
        None => {
            for (object, seen) in objects.iter().zip(&observed.documents) {
                if let Some(reason) = object_difference(object, seen.as_ref()) {
                    notes.push(Note {
                        subject: object.url.clone(),
                        message: format!(
                            "{reason}; irsa hosts only S3 issuers: serve these bytes there with Content-Type {}:\n{}",
                            object.content_type, object.body
                        ),
                    });
                }
            }
        }
    }
    plan_provider(desired, observed, options, &mut changes, &mut notes);
    for role in &desired.roles {
        let seen = observed
            .roles
            .get(role.spec.name())
            .and_then(Option::as_ref);
        plan_role(desired, role, seen, options, &mut changes, &mut notes)?;
    }
    Ok(Plan {
        changes,
        rotation,
        notes,
    })
}

fn rotation(
    keys: &JwkSet,
    published: Option<&ObservedObject>,
    options: PlanOptions,
) -> Result<Rotation, PlanError> {
    let wanted: Vec<String> = keys
        .keys()
        .iter()
        .filter_map(|k| k.kid().map(str::to_owned))
        .collect();
    let Some(set) = published.and_then(|o| JwkSet::parse(&o.body).ok()) else {
        return Ok(Rotation::FirstPublication);
    };
    let have: Vec<String> = set
        .keys()
        .iter()
        .filter_map(|k| k.kid().map(str::to_owned))
        .collect();
    let removed: Vec<String> = have
        .iter()
        .filter(|k| !wanted.contains(k))
        .cloned()
        .collect();
    let added: Vec<String> = wanted
        .iter()
        .filter(|k| !have.contains(k))
        .cloned()
        .collect();
    if !removed.is_empty() {
        if !options.allow_key_removal {
            return Err(PlanError::KeyRemoval { kids: removed });
        }
        return Ok(Rotation::RetiringOld { removed });
    }
    Ok(if !added.is_empty() {
        Rotation::PublishingNext { added }
    } else if have.len() > 1 {
        Rotation::SwitchSigningKey { published: have }
    } else {
        Rotation::Steady
    })
}

fn plan_bucket(
    desired: &Desired,
    observed: &Observed,
    bucket: &str,
    region: &str,
    changes: &mut Vec<Change>,
) -> Result<(), PlanError> {
    let seen = match &observed.bucket {
        None => {
            changes.push(Change::CreateBucket {
                bucket: bucket.to_owned(),
                region: region.to_owned(),
            });
            None
        }
        Some(seen) => {
            if let Some(actual) = seen.region.as_deref().filter(|r| *r != region) {
                return Err(PlanError::BucketRegion {
                    bucket: bucket.to_owned(),
                    expected: region.to_owned(),
                    actual: actual.to_owned(),
                });
            }
            Some(seen)
        }
    };
    let ownership = seen.and_then(|s| s.ownership.clone());
    if ownership.as_deref() != Some(OBJECT_OWNERSHIP) {
        changes.push(Change::PutOwnershipControls {
            bucket: bucket.to_owned(),
            before: ownership,
        });
    }
    let pab = seen.and_then(|s| s.public_access_block);
    if pab != Some(PUBLIC_ACCESS_BLOCK) {
        changes.push(Change::PutPublicAccessBlock {
            bucket: bucket.to_owned(),
            before: pab,
        });
    }
    let before = seen.and_then(|s| s.policy.clone());
    let ours = desired
        .publishing
        .bucket_policy()
        .and_then(|p| serde_json::to_value(p).ok())
        .and_then(|mut v| v.get_mut("Statement").map(Value::take))
        .and_then(|s| s.as_array().and_then(|a| a.first().cloned()))
        .unwrap_or(Value::Null);
    let after = merge_bucket_policy(before.as_deref(), &ours, bucket)?;
    if let Some(after) = after {
        changes.push(Change::PutBucketPolicy {
            bucket: bucket.to_owned(),
            before,
            after,
        });
    }
    Ok(())
}

/// The bucket policy with `ours` in place of any statement with irsa's `Sid`, or `None` when
/// the existing policy already has it.
fn merge_bucket_policy(
    existing: Option<&str>,
    ours: &Value,
    bucket: &str,
) -> Result<Option<String>, PlanError> {
    let unreadable = || PlanError::Unreadable {
        what: format!("the bucket policy of {bucket}"),
    };
    let mut document = match existing {
        None => json!({"Version": "2012-10-17", "Statement": []}),
        Some(text) => serde_json::from_str::<Value>(text).map_err(|_| unreadable())?,
    };
    let top = document.as_object_mut().ok_or_else(unreadable)?;
    let statements = statements_of(top).ok_or_else(unreadable)?;
    let is_ours = |s: &Value| s.get("Sid").and_then(Value::as_str) == Some(BUCKET_POLICY_SID);
    let current: Vec<&Value> = statements.iter().filter(|s| is_ours(s)).collect();
    if current == [ours] {
        return Ok(None);
    }
    let mut merged: Vec<Value> = statements.into_iter().filter(|s| !is_ours(s)).collect();
    merged.push(ours.clone());
    top.insert("Statement".to_owned(), Value::Array(merged));
    Ok(Some(
        serde_json::to_string_pretty(&document).unwrap_or_default(),
    ))
}

/// The statements of a policy document (a single object counts as a list of one).
fn statements_of(top: &Map<String, Value>) -> Option<Vec<Value>> {
    match top.get("Statement") {
        None => Some(Vec::new()),
        Some(Value::Array(list)) => Some(list.clone()),
        Some(one @ Value::Object(_)) => Some(vec![one.clone()]),
        Some(_) => None,
    }
}

/// Why a hosted document needs uploading, or `None` when it is as wanted.
fn object_difference(wanted: &PublishedObject, seen: Option<&ObservedObject>) -> Option<String> {
    let Some(seen) = seen else {
        return Some("it is missing".to_owned());
    };
    if seen.body != wanted.body.as_bytes() {
        return Some("its bytes differ from the documents built from the file".to_owned());
    }
    if seen.content_type.as_deref() != Some(wanted.content_type) {
        return Some(format!(
            "its Content-Type is {}, not {}",
            seen.content_type.as_deref().unwrap_or("unset"),
            wanted.content_type
        ));
    }
    if seen.cache_control.as_deref() != Some(wanted.cache_control) {
        return Some(format!(
            "its Cache-Control is {}, not {}",
            seen.cache_control.as_deref().unwrap_or("unset"),
            wanted.cache_control
        ));
    }
    None
}

fn plan_provider(
    desired: &Desired,
    observed: &Observed,
    options: PlanOptions,
    changes: &mut Vec<Change>,
    notes: &mut Vec<Note>,
) {
    let input = desired.publishing.oidc_provider();
    let Some(seen) = &observed.provider else {
        changes.push(Change::CreateOidcProvider {
            url: input.url.clone(),
            client_ids: input.client_ids.clone(),
        });
        return;
    };
    let provider = desired.provider_arn.to_string();
    for client_id in &input.client_ids {
        if !seen.client_ids.contains(client_id) {
            changes.push(Change::AddClientId {
                provider: provider.clone(),
                client_id: client_id.clone(),
            });
        }
    }
    let ours = seen.tags.get(MANAGED_BY_TAG).map(String::as_str) == Some(MANAGED_BY_VALUE);
    for client_id in &seen.client_ids {
        if input.client_ids.contains(client_id) {
            continue;
        }
        if ours && options.prune {
            changes.push(Change::RemoveClientId {
                provider: provider.clone(),
                client_id: client_id.clone(),
            });
        } else {
            notes.push(Note {
                subject: provider.clone(),
                message: format!(
                    "client ID {client_id} is registered but not in the file; kept ({})",
                    if ours {
                        "rerun with --prune to remove it"
                    } else {
                        "irsa did not create this provider"
                    }
                ),
            });
        }
    }
}

fn plan_role(
    desired: &Desired,
    role: &DesiredRole,
    seen: Option<&ObservedRole>,
    options: PlanOptions,
    changes: &mut Vec<Change>,
    notes: &mut Vec<Note>,
) -> Result<(), PlanError> {
    let spec = &role.spec;
    let name = spec.name().to_owned();
    let Some(seen) = seen else {
        let document = json!({"Version": "2012-10-17", "Statement": role.statements});
        let trust_policy = serde_json::to_string_pretty(&document).unwrap_or_default();
        lint_before_write(&name, &trust_policy)?;
        let mut tags = BTreeMap::from([(MANAGED_BY_TAG.to_owned(), MANAGED_BY_VALUE.to_owned())]);
        tags.extend(ownership_tags(
            spec.managed_policies().iter(),
            spec.inline_policies().keys(),
        ));
        changes.push(Change::CreateRole {
            role: name.clone(),
            path: spec.path().to_owned(),
            trust_policy,
            max_session_duration: spec.max_session_duration(),
            permissions_boundary: spec.permissions_boundary().map(str::to_owned),
            tags,
        });
        for policy_arn in spec.managed_policies() {
            changes.push(Change::AttachPolicy {
                role: name.clone(),
                policy_arn: policy_arn.clone(),
            });
        }
        for (policy, document) in spec.inline_policies() {
            changes.push(Change::PutInlinePolicy {
                role: name.clone(),
                name: policy.clone(),
                before: None,
                after: serde_json::to_string_pretty(document).unwrap_or_default(),
            });
        }
        return Ok(());
    };
    if seen.path != spec.path() {
        notes.push(Note {
            subject: name.clone(),
            message: format!(
                "the role's path is {}, the file says {}: IAM cannot change a role's path and irsa does not delete roles; change the file, or recreate the role by hand",
                seen.path,
                spec.path()
            ),
        });
    }
    if let Some(after) = merge_trust_policy(desired, role, &seen.trust_policy)? {
        lint_before_write(&name, &after)?;
        changes.push(Change::UpdateTrustPolicy {
            role: name.clone(),
            before: seen.trust_policy.clone(),
            after,
        });
    }
    if let Some(after) = spec
        .max_session_duration()
        .filter(|d| seen.max_session_duration != Some(*d))
    {
        changes.push(Change::UpdateMaxSessionDuration {
            role: name.clone(),
            before: seen.max_session_duration,
            after,
        });
    }
    if let Some(after) = spec
        .permissions_boundary()
        .filter(|b| seen.permissions_boundary.as_deref() != Some(*b))
    {
        changes.push(Change::PutPermissionsBoundary {
            role: name.clone(),
            before: seen.permissions_boundary.clone(),
            after: after.to_owned(),
        });
    }
    // Ownership is recorded before the write it covers: an interrupted apply leaves at worst
    // a record of something not yet written, which the next run writes.
    let to_attach: Vec<&String> = spec
        .managed_policies()
        .iter()
        .filter(|arn| !seen.attached_policies.contains(*arn))
        .collect();
    let to_put: Vec<(&String, &Value)> = spec
        .inline_policies()
        .iter()
        .filter(|(policy, document)| {
            seen.inline_policies.get(*policy).and_then(Option::as_ref) != Some(*document)
        })
        .collect();
    let mut tags = ownership_tags(to_attach.iter().copied(), to_put.iter().map(|(n, _)| *n));
    tags.retain(|k, v| seen.tags.get(k) != Some(v));
    if !tags.is_empty() {
        changes.push(Change::TagRole {
            role: name.clone(),
            tags,
        });
    }
    for policy_arn in to_attach {
        changes.push(Change::AttachPolicy {
            role: name.clone(),
            policy_arn: policy_arn.clone(),
        });
    }
    for (policy, document) in to_put {
        changes.push(Change::PutInlinePolicy {
            role: name.clone(),
            name: policy.clone(),
            before: seen
                .inline_policies
                .get(policy)
                .and_then(Option::as_ref)
                .map(|d| serde_json::to_string_pretty(d).unwrap_or_default()),
            after: serde_json::to_string_pretty(document).unwrap_or_default(),
        });
    }
    let mut untag = Vec::new();
    for arn in seen.owned_policies() {
        if spec.managed_policies().iter().any(|p| p == arn) {
            continue;
        }
        let attached = seen.attached_policies.contains(arn);
        if options.prune {
            if attached {
                changes.push(Change::DetachPolicy {
                    role: name.clone(),
                    policy_arn: arn.to_owned(),
                });
            }
            untag.push(ownership_tag(ATTACHED_TAG_PREFIX, arn));
        } else if attached {
            notes.push(Note {
                subject: name.clone(),
                message: format!("{arn} was attached by irsa and the file no longer lists it; kept (rerun with --prune to detach it)"),
            });
        }
    }
    for policy in seen.owned_inline_policies() {
        if spec.inline_policies().contains_key(policy) {
            continue;
        }
        let present = seen
            .inline_policies
            .get(policy)
            .is_some_and(Option::is_some);
        if options.prune {
            if present {
                changes.push(Change::DeleteInlinePolicy {
                    role: name.clone(),
                    name: policy.to_owned(),
                });
            }
            untag.push(ownership_tag(INLINE_TAG_PREFIX, policy));
        } else if present {
            notes.push(Note {
                subject: name.clone(),
                message: format!("inline policy {policy} was written by irsa and the file no longer lists it; kept (rerun with --prune to delete it)"),
            });
        }
    }
    if !untag.is_empty() {
        changes.push(Change::UntagRole {
            role: name,
            keys: untag,
        });
    }
    Ok(())
}

fn ownership_tags<'a>(
    policies: impl Iterator<Item = &'a String>,
    inline: impl Iterator<Item = &'a String>,
) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    for arn in policies {
        tags.insert(ownership_tag(ATTACHED_TAG_PREFIX, arn), arn.clone());
    }
    for name in inline {
        tags.insert(ownership_tag(INLINE_TAG_PREFIX, name), name.clone());
    }
    tags
}

fn lint_before_write(role: &str, document: &str) -> Result<(), PlanError> {
    // Without a provider: other clusters' statements are legitimate in a merged policy, and
    // this cluster's are generated for its provider.
    let options = LintOptions {
        size_quota: DEFAULT_SIZE_QUOTA,
        provider: None,
    };
    let findings: Vec<Finding> = lint_document(document.as_bytes(), &options)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    if findings.is_empty() {
        Ok(())
    } else {
        Err(PlanError::Lint {
            role: role.to_owned(),
            findings,
        })
    }
}

/// The trust policy with this cluster's statements in place of the ones irsa wrote before,
/// or `None` when those already mean the same.
fn merge_trust_policy(
    desired: &Desired,
    role: &DesiredRole,
    existing: &str,
) -> Result<Option<String>, PlanError> {
    let unreadable = || PlanError::Unreadable {
        what: format!("the trust policy of role {}", role.spec.name()),
    };
    let mut document: Value = serde_json::from_str(existing).map_err(|_| unreadable())?;
    let top = document.as_object_mut().ok_or_else(unreadable)?;
    let statements = statements_of(top).ok_or_else(unreadable)?;
    let prefix = desired.sid_prefix.as_str();
    let is_ours = |s: &Value| {
        s.get("Sid")
            .and_then(Value::as_str)
            .is_some_and(|sid| sid.starts_with(prefix))
    };
    let current: Vec<Value> = statements.iter().filter(|s| is_ours(s)).cloned().collect();
    if same_meaning(&current, &role.statements) {
        return Ok(None);
    }
    let mut merged: Vec<Value> = statements.into_iter().filter(|s| !is_ours(s)).collect();
    merged.extend(role.statements.iter().cloned());
    top.entry("Version")
        .or_insert_with(|| Value::from("2012-10-17"));
    top.insert("Statement".to_owned(), Value::Array(merged));
    Ok(Some(
        serde_json::to_string_pretty(&document).unwrap_or_default(),
    ))
}

/// Whether two lists of statements mean the same to the evaluator, as multisets.
fn same_meaning(a: &[Value], b: &[Value]) -> bool {
    let parse = |list: &[Value]| -> Option<Vec<Statement>> {
        let doc = json!({"Version": "2012-10-17", "Statement": list});
        let text = serde_json::to_vec(&doc).ok()?;
        TrustPolicy::parse(&text)
            .ok()
            .map(|p| p.statements().to_vec())
    };
    if a.len() != b.len() {
        return false;
    }
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => {
            let mut unmatched: Vec<&Statement> = b.iter().collect();
            a.iter()
                .all(|s| match unmatched.iter().position(|t| s.equivalent(t)) {
                    Some(i) => {
                        unmatched.swap_remove(i);
                        true
                    }
                    None => false,
                })
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn desired(extra: &str) -> Desired {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/keys");
        let file = SetupFile::parse(
            &format!(
                "cluster:\n  issuer: {{s3: {{bucket: my-irsa-bucket, region: eu-west-1, prefix: prod}}}}\n  keys: [ecdsa-p384-public.pem]\nroles:\n  - name: read-s3\n    service_accounts: [default:read-s3-hello]\n    managed_policies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n    inline_policies: {{extra: {{Version: '2012-10-17', Statement: []}}}}\n{extra}"
            ),
            &dir,
        )
        .unwrap();
        Desired::new(&file, "111122223333".parse().unwrap()).unwrap()
    }

    /// What AWS holds after applying `plan` to `observed`, as a perfect executor would leave it.
    fn converge(desired: &Desired, observed: &Observed) -> Observed {
        let plan = plan(desired, observed, PlanOptions::default()).unwrap();
        let mut next = observed.clone();
        for change in plan.changes {
            apply_in_memory(desired, &mut next, change);
        }
        next
    }

    fn role<'a>(state: &'a mut Observed, name: &str) -> &'a mut ObservedRole {
        state.roles.get_mut(name).unwrap().as_mut().unwrap()
    }

    fn apply_in_memory(desired: &Desired, state: &mut Observed, change: Change) {
        let objects = desired.publishing.objects();
        match change {
            Change::CreateBucket { region, .. } => {
                state.bucket = Some(ObservedBucket {
                    region: Some(region),
                    ..Default::default()
                });
            }
            Change::PutOwnershipControls { .. } => {
                state.bucket.as_mut().unwrap().ownership = Some(OBJECT_OWNERSHIP.to_owned());
            }
            Change::PutPublicAccessBlock { .. } => {
                state.bucket.as_mut().unwrap().public_access_block = Some(PUBLIC_ACCESS_BLOCK);
            }
            Change::PutBucketPolicy { after, .. } => {
                state.bucket.as_mut().unwrap().policy = Some(after)
            }
            Change::PutObject {
                key,
                content_type,
                cache_control,
                after,
                ..
            } => {
                let i = objects.iter().position(|o| o.key == key).unwrap();
                state.documents[i] = Some(ObservedObject {
                    body: after.into_bytes(),
                    content_type: Some(content_type),
                    cache_control: Some(cache_control),
                });
            }
            Change::CreateOidcProvider { client_ids, .. } => {
                state.provider = Some(ObservedProvider {
                    client_ids,
                    tags: BTreeMap::from([(
                        MANAGED_BY_TAG.to_owned(),
                        MANAGED_BY_VALUE.to_owned(),
                    )]),
                });
            }
            Change::AddClientId { client_id, .. } => {
                state.provider.as_mut().unwrap().client_ids.push(client_id)
            }
            Change::RemoveClientId { client_id, .. } => {
                state
                    .provider
                    .as_mut()
                    .unwrap()
                    .client_ids
                    .retain(|c| *c != client_id);
            }
            Change::CreateRole {
                role,
                path,
                trust_policy,
                max_session_duration,
                permissions_boundary,
                tags,
            } => {
                state.roles.insert(
                    role,
                    Some(ObservedRole {
                        path,
                        trust_policy,
                        max_session_duration: Some(max_session_duration.unwrap_or(3600)),
                        permissions_boundary,
                        tags,
                        ..Default::default()
                    }),
                );
            }
            Change::UpdateTrustPolicy { role: r, after, .. } => {
                role(state, &r).trust_policy = after
            }
            Change::UpdateMaxSessionDuration { role: r, after, .. } => {
                role(state, &r).max_session_duration = Some(after)
            }
            Change::PutPermissionsBoundary { role: r, after, .. } => {
                role(state, &r).permissions_boundary = Some(after)
            }
            Change::TagRole { role: r, tags } => role(state, &r).tags.extend(tags),
            Change::AttachPolicy {
                role: r,
                policy_arn,
            } => {
                role(state, &r).attached_policies.insert(policy_arn);
            }
            Change::PutInlinePolicy {
                role: r,
                name,
                after,
                ..
            } => {
                role(state, &r)
                    .inline_policies
                    .insert(name, Some(serde_json::from_str(&after).unwrap()));
            }
            Change::DetachPolicy {
                role: r,
                policy_arn,
            } => {
                role(state, &r).attached_policies.remove(&policy_arn);
            }
            Change::DeleteInlinePolicy { role: r, name } => {
                role(state, &r).inline_policies.insert(name, None);
            }
            Change::UntagRole { role: r, keys } => {
                let tags = &mut role(state, &r).tags;
                for key in keys {
                    tags.remove(&key);
                }
            }
        }
    }

    #[test]
    fn a_converged_state_plans_nothing() {
        let desired = desired("");
        let after = converge(&desired, &Observed::default());
        let again = plan(&desired, &after, PlanOptions::default()).unwrap();
        assert_eq!(again.changes, []);
        assert_eq!(again.rotation, Rotation::Steady);
    }

    #[test]
    fn foreign_statements_survive_and_an_equivalent_statement_is_not_rewritten() {
        let desired = desired("");
        let mut state = converge(&desired, &Observed::default());
        let foreign = json!({"Sid": "Other", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"});
        let foreign_bucket = json!({"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::my-irsa-bucket/logs/*"});
        // Another writer reorders our statement's conditions and adds a foreign statement.
        let role = state.roles.get_mut("read-s3").unwrap().as_mut().unwrap();
        let mut ours: Value =
            serde_json::from_str::<Value>(&role.trust_policy).unwrap()["Statement"][0].clone();
        let condition = ours["Condition"]["StringEquals"]
            .as_object()
            .unwrap()
            .clone();
        let reversed: Map<String, Value> = condition.into_iter().rev().collect();
        ours["Condition"]["StringEquals"] = Value::Object(reversed);
        role.trust_policy =
            json!({"Version": "2012-10-17", "Statement": [foreign.clone(), ours]}).to_string();
        let bucket = state.bucket.as_mut().unwrap();
        let mut policy: Value = serde_json::from_str(bucket.policy.as_ref().unwrap()).unwrap();
        policy["Statement"]
            .as_array_mut()
            .unwrap()
            .insert(0, foreign_bucket.clone());
        bucket.policy = Some(policy.to_string());
        assert_eq!(
            plan(&desired, &state, PlanOptions::default())
                .unwrap()
                .changes,
            []
        );

        // Drift in our statement: only ours is replaced, the foreign one is kept.
        let role = state.roles.get_mut("read-s3").unwrap().as_mut().unwrap();
        role.trust_policy = role.trust_policy.replace("read-s3-hello", "someone-else");
        let changes = plan(&desired, &state, PlanOptions::default())
            .unwrap()
            .changes;
        let [Change::UpdateTrustPolicy { after, .. }] = changes.as_slice() else {
            panic!("{changes:?}")
        };
        let after: Value = serde_json::from_str(after).unwrap();
        assert_eq!(after["Statement"][0], foreign);
        assert_eq!(
            after["Statement"][1]["Condition"]["StringEquals"]["my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod:sub"],
            "system:serviceaccount:default:read-s3-hello"
        );
        assert_eq!(after["Statement"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn drift_is_repaired() {
        let desired = desired("");
        let clean = converge(&desired, &Observed::default());
        let mut drifted = clean.clone();
        drifted.documents[1] = None;
        drifted.documents[0].as_mut().unwrap().content_type =
            Some("binary/octet-stream".to_owned());
        drifted.provider.as_mut().unwrap().client_ids.clear();
        drifted.bucket.as_mut().unwrap().public_access_block = Some(PublicAccessBlock {
            block_public_policy: true,
            ..PUBLIC_ACCESS_BLOCK
        });
        let calls: Vec<String> = plan(&desired, &drifted, PlanOptions::default())
            .unwrap()
            .changes
            .iter()
            .map(|c| c.summary())
            .collect();
        assert_eq!(
            calls,
            [
                "set Block Public Access of my-irsa-bucket to BlockPublicAcls=true IgnorePublicAcls=true BlockPublicPolicy=false RestrictPublicBuckets=false (was BlockPublicAcls=true IgnorePublicAcls=true BlockPublicPolicy=true RestrictPublicBuckets=false): public ACLs stay blocked, a public bucket policy is allowed",
                "upload prod/.well-known/openid-configuration: its Content-Type is binary/octet-stream, not application/json",
                "upload prod/openid/v1/jwks: it is missing",
                "add client ID sts.amazonaws.com to the OIDC provider: STS refuses tokens whose aud it does not list",
            ]
        );
        assert_eq!(converge(&desired, &drifted), clean);
    }

    #[test]
    fn prune_removes_only_what_irsa_recorded() {
        let desired = desired("");
        let mut state = converge(&desired, &Observed::default());
        let role = state.roles.get_mut("read-s3").unwrap().as_mut().unwrap();
        // Someone else attached a policy; irsa's records name one that the file dropped.
        role.attached_policies
            .insert("arn:aws:iam::aws:policy/Foreign".to_owned());
        role.attached_policies
            .insert("arn:aws:iam::aws:policy/Dropped".to_owned());
        role.tags.insert(
            ownership_tag(ATTACHED_TAG_PREFIX, "arn:aws:iam::aws:policy/Dropped"),
            "arn:aws:iam::aws:policy/Dropped".to_owned(),
        );
        let kept = plan(&desired, &state, PlanOptions::default()).unwrap();
        assert_eq!(kept.changes, []);
        assert!(
            kept.notes[0]
                .message
                .contains("Dropped was attached by irsa"),
            "{:?}",
            kept.notes
        );
        let pruned = plan(&desired, &state, PlanOptions::default().prune(true)).unwrap();
        assert_eq!(
            pruned.changes,
            [
                Change::DetachPolicy {
                    role: "read-s3".into(),
                    policy_arn: "arn:aws:iam::aws:policy/Dropped".into()
                },
                Change::UntagRole {
                    role: "read-s3".into(),
                    keys: vec![ownership_tag(
                        ATTACHED_TAG_PREFIX,
                        "arn:aws:iam::aws:policy/Dropped"
                    )]
                },
            ]
        );
    }

    #[test]
    fn dropping_a_published_key_is_refused_without_the_flag() {
        let desired = desired("");
        let mut state = converge(&desired, &Observed::default());
        let mut jwks: Value =
            serde_json::from_slice(&state.documents[1].as_ref().unwrap().body).unwrap();
        let mut old = jwks["keys"][0].clone();
        old["kid"] = Value::from("old-key");
        jwks["keys"].as_array_mut().unwrap().insert(0, old);
        state.documents[1].as_mut().unwrap().body = jwks.to_string().into_bytes();
        let err = plan(&desired, &state, PlanOptions::default()).unwrap_err();
        assert!(
            matches!(&err, PlanError::KeyRemoval { kids } if kids == &["old-key"]),
            "{err}"
        );
        let allowed = plan(
            &desired,
            &state,
            PlanOptions::default().allow_key_removal(true),
        )
        .unwrap();
        assert_eq!(
            allowed.rotation,
            Rotation::RetiringOld {
                removed: vec!["old-key".into()]
            }
        );
        assert_eq!(
            allowed.changes.iter().map(Change::call).collect::<Vec<_>>(),
            ["s3:PutObject"]
        );
    }

    #[test]
    fn an_existing_role_gains_our_statement_and_ownership_records() {
        let desired = desired("");
        let foreign = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
        let mut state = converge(&desired, &Observed::default());
        state.roles.insert(
            "read-s3".into(),
            Some(ObservedRole {
                path: "/".into(),
                trust_policy: foreign.into(),
                max_session_duration: Some(3600),
                attached_policies: BTreeSet::from([
                    "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".to_owned(),
                ]),
                ..Default::default()
            }),
        );
        let plan = plan(&desired, &state, PlanOptions::default()).unwrap();
        let calls: Vec<&str> = plan.changes.iter().map(Change::call).collect();
        // Already attached by someone else: not tagged as irsa's, so never detached by irsa.
        assert_eq!(
            calls,
            [
                "iam:UpdateAssumeRolePolicy",
                "iam:TagRole",
                "iam:PutRolePolicy"
            ]
        );
        let Change::TagRole { tags, .. } = &plan.changes[1] else {
            unreachable!()
        };
        assert_eq!(tags.values().collect::<Vec<_>>(), ["extra"]);
    }
}
