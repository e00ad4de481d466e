//! The issuer bucket: its settings, its policy and the two documents.

use serde_json::{Map, Value, json};

use super::{
    Change, Desired, OBJECT_OWNERSHIP, Observed, ObservedObject, PUBLIC_ACCESS_BLOCK, PlanError,
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
