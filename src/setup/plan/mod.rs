//! Desired state from the setup file, observed state as read from AWS, and the plan between
//! them: a pure function, tested without a network.
//!
//! One file per resource (the bucket with its documents and settings, the OIDC provider, a
//! role) beside the desired and observed states and the change list.

mod bucket;
mod change;
mod desired;
mod observed;
mod provider;
mod role;
#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::oidc::{JwkSet, PublishError};
use crate::policy::Finding;

use bucket::{object_difference, plan_bucket};
pub use change::Change;
pub(crate) use desired::ownership_tag;
pub use desired::{Desired, DesiredRole};
pub use observed::{
    Observed, ObservedBucket, ObservedObject, ObservedProvider, ObservedRole, PublicAccessBlock,
};
use provider::plan_provider;
use role::plan_role;

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
    /// The published discovery document names another issuer at the same place.
    #[error(
        "the published discovery document names issuer {published:?} and the file {wanted:?}{}: rewriting it would make STS refuse every token already issued for the published one; make cluster.issuer say exactly {published:?}, or give a new issuer a prefix or bucket of its own (listing the old one in existing_issuers while pods move); delete the document by hand to replace it anyway",
        if published.trim_end_matches('/') == wanted.trim_end_matches('/') { " (they differ by a trailing slash, which STS compares byte for byte)" } else { "" }
    )]
    IssuerChange {
        /// The issuer the hosted document names.
        published: String,
        /// The file's issuer.
        wanted: String,
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
    /// The bucket policy has a public statement that Block Public Access keeps inert.
    #[error(
        "bucket {bucket}: policy statement {statement} is public to S3 ({text}); irsa relaxes Block Public Access for its two documents, which would make it live: remove the statement or pin it with a condition (aws:SourceAccount, aws:SourceVpce, …), or give the issuer a bucket of its own"
    )]
    PublicStatement {
        /// The bucket.
        bucket: String,
        /// The statement's index (and `Sid`).
        statement: String,
        /// The statement.
        text: String,
    },
    /// The IAM OIDC provider exists, irsa did not create it, and it lacks client IDs.
    #[error(
        "the OIDC provider {provider} exists and irsa did not create it; it accepts {} and the file adds {}, which every role trusting it would then accept: set cluster.adopt_provider: true to add them, or add them by hand",
        client_ids.join(", "),
        missing.join(", ")
    )]
    ProviderNotOwned {
        /// The provider's ARN.
        provider: String,
        /// Its client IDs.
        client_ids: Vec<String>,
        /// Those the file adds.
        missing: Vec<String>,
    },
    /// The bucket exists, irsa did not create it, and its object ownership would change.
    #[error(
        "bucket {bucket} exists and irsa did not create it; irsa would set its object ownership from {} to BucketOwnerEnforced, which disables ACLs (whatever grants access through them stops working): set adopt: true under cluster.issuer.s3 to allow it, or give the issuer a bucket of its own",
        ownership.as_deref().unwrap_or("unset (ACLs in use)")
    )]
    BucketNotOwned {
        /// The bucket.
        bucket: String,
        /// Its object ownership now.
        ownership: Option<String>,
    },
    /// A role of this name exists and irsa did not create it.
    #[error(
        "role {role} exists and irsa did not create it; it grants {}: set adopt: true on its entry in the file to add this cluster's trust statements to it (everything it grants is kept), or name another role",
        describe_grants(attached, inline, boundary.as_deref())
    )]
    RoleNotOwned {
        /// The role.
        role: String,
        /// Its attached managed policies.
        attached: Vec<String>,
        /// Its inline policies.
        inline: Vec<String>,
        /// Its permissions boundary.
        boundary: Option<String>,
    },
    /// An adopted role already has an inline policy of a name the file gives to another.
    #[error(
        "role {role} already has an inline policy {policy} that irsa did not write: give the file's policy another name, or delete the role's by hand"
    )]
    ForeignInlinePolicy {
        /// The role.
        role: String,
        /// The policy's name.
        policy: String,
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

/// What a role grants, for a person: its managed policies, inline policies and boundary.
pub(crate) fn describe_grants(
    attached: &[String],
    inline: &[String],
    boundary: Option<&str>,
) -> String {
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        }
    };
    format!(
        "managed policies: {}; inline policies: {}; permissions boundary: {}",
        list(attached),
        list(inline),
        boundary.unwrap_or("none")
    )
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
    let wanted = desired.publishing.issuer().as_str();
    // Only the S3 documents are irsa's to write; a self-hosted issuer's are only read.
    if let Some(published) = observed.documents[0]
        .as_ref()
        .filter(|_| desired.publishing.s3().is_some())
        .and_then(|seen| serde_json::from_slice::<serde_json::Value>(&seen.body).ok())
        .and_then(|doc| doc.get("issuer")?.as_str().map(str::to_owned))
        .filter(|published| published != wanted)
    {
        return Err(PlanError::IssuerChange {
            published,
            wanted: wanted.to_owned(),
        });
    }
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
    plan_provider(desired, observed, options, &mut changes, &mut notes)?;
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
