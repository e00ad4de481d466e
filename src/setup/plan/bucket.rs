//! The issuer bucket: its settings, its policy and the two documents.

use serde_json::{Map, Value, json};

use super::{
    Change, Desired, MANAGED_BY_TAG, MANAGED_BY_VALUE, OBJECT_OWNERSHIP, Observed, ObservedObject,
    PUBLIC_ACCESS_BLOCK, PlanError,
};
use crate::oidc::{BUCKET_POLICY_SID, PublishedObject};

pub(super) fn plan_bucket(
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
    let changes_ownership = ownership.as_deref() != Some(OBJECT_OWNERSHIP);
    let pab = seen.and_then(|s| s.public_access_block);
    let relaxes = pab.is_none_or(|p| p.block_public_policy || p.restrict_public_buckets);
    if relaxes && let Some(policy) = seen.and_then(|s| s.policy.as_deref()) {
        // Block Public Access may be what keeps an old statement inert: judge every statement
        // that is not irsa's as S3 judges "public" before turning it off.
        refuse_public_statements(bucket, policy)?;
    }
    // Object ownership is irsa's to set only on a bucket it created, or one the file adopts:
    // `BucketOwnerEnforced` disables ACLs, and whatever relies on them stops working.
    if changes_ownership
        && let Some(seen) = seen
        && seen.tags.get(MANAGED_BY_TAG).map(String::as_str) != Some(MANAGED_BY_VALUE)
        && !desired.adopt_bucket
    {
        return Err(PlanError::BucketNotOwned {
            bucket: bucket.to_owned(),
            ownership: seen.ownership.clone(),
        });
    }
    if changes_ownership {
        changes.push(Change::PutOwnershipControls {
            bucket: bucket.to_owned(),
            before: ownership,
        });
    }
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
pub(super) fn merge_bucket_policy(
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

/// The condition keys that pin a statement to known callers, so that S3 does not judge it
/// public (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status>).
const PINNING_KEYS: [&str; 10] = [
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceowner",
    "aws:sourceaccount",
    "aws:sourceip",
    "aws:principalaccount",
    "aws:principalorgid",
    "aws:principalarn",
    "aws:userid",
];

/// Whether S3 judges `statement` public: an `Allow` to everyone (`"*"`, or `"*"` among its
/// `AWS` principals) that no condition pins to an account, organisation, network or source
/// with a fixed, positive match.
pub(super) fn is_public(statement: &Value) -> bool {
    if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
        return false;
    }
    let star = |v: &Value| match v {
        Value::String(s) => s == "*",
        Value::Array(list) => list.iter().any(|p| p.as_str() == Some("*")),
        _ => false,
    };
    let everyone = match statement.get("Principal") {
        Some(Value::String(p)) => p == "*",
        Some(Value::Object(map)) => map.get("AWS").is_some_and(star),
        _ => false,
    };
    if !everyone {
        return false;
    }
    let Some(conditions) = statement.get("Condition").and_then(Value::as_object) else {
        return true;
    };
    let pinned = conditions.iter().any(|(operator, entries)| {
        let operator = operator.to_ascii_lowercase();
        // A negated operator, or one that passes when the key is absent, pins nothing.
        if operator.contains("not") || operator.ends_with("ifexists") {
            return false;
        }
        let fixed = |v: &Value| {
            v.as_str()
                .is_some_and(|s| !s.is_empty() && !s.contains('*') && !s.contains('?'))
        };
        entries.as_object().is_some_and(|entries| {
            entries.iter().any(|(key, values)| {
                let values_fixed = match values {
                    Value::Array(list) => !list.is_empty() && list.iter().all(fixed),
                    other => fixed(other),
                };
                values_fixed && PINNING_KEYS.contains(&key.to_ascii_lowercase().as_str())
            })
        })
    });
    !pinned
}

fn refuse_public_statements(bucket: &str, policy: &str) -> Result<(), PlanError> {
    let unreadable = || PlanError::Unreadable {
        what: format!("the bucket policy of {bucket}"),
    };
    let document: Value = serde_json::from_str(policy).map_err(|_| unreadable())?;
    let top = document.as_object().ok_or_else(unreadable)?;
    let statements = statements_of(top).ok_or_else(unreadable)?;
    for (index, statement) in statements.iter().enumerate() {
        if statement.get("Sid").and_then(Value::as_str) == Some(BUCKET_POLICY_SID) {
            continue;
        }
        if is_public(statement) {
            return Err(PlanError::PublicStatement {
                bucket: bucket.to_owned(),
                statement: statement
                    .get("Sid")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("{index}"), |sid| format!("{index} ({sid})")),
                text: statement.to_string(),
            });
        }
    }
    Ok(())
}

/// The statements of a policy document (a single object counts as a list of one).
pub(super) fn statements_of(top: &Map<String, Value>) -> Option<Vec<Value>> {
    match top.get("Statement") {
        None => Some(Vec::new()),
        Some(Value::Array(list)) => Some(list.clone()),
        Some(one @ Value::Object(_)) => Some(vec![one.clone()]),
        Some(_) => None,
    }
}

/// Why a hosted document needs uploading, or `None` when it is as wanted.
pub(super) fn object_difference(
    wanted: &PublishedObject,
    seen: Option<&ObservedObject>,
) -> Option<String> {
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
