//! A role: trust policy, permissions, boundary and ownership tags.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::bucket::statements_of;
use super::{
    ATTACHED_TAG_PREFIX, Change, Desired, DesiredRole, INLINE_TAG_PREFIX, MANAGED_BY_TAG,
    MANAGED_BY_VALUE, Note, ObservedRole, PlanError, PlanOptions, ownership_tag,
};
use crate::policy::{
    DEFAULT_SIZE_QUOTA, Finding, LintOptions, Severity, Statement, TrustPolicy, lint_document,
};

pub(super) fn plan_role(
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
    // A role irsa did not create is never taken over: refused unless the file adopts it,
    // and then everything it grants is kept and named.
    let adopted = !seen.managed_by_irsa();
    if adopted {
        let attached: Vec<String> = seen.attached_policies.iter().cloned().collect();
        let inline: Vec<String> = seen.inline_policy_names.iter().cloned().collect();
        if !spec.adopt() {
            return Err(PlanError::RoleNotOwned {
                role: name,
                attached,
                inline,
                boundary: seen.permissions_boundary.clone(),
            });
        }
        if let Some(policy) = spec.inline_policies().keys().find(|p| {
            seen.inline_policy_names.contains(*p)
                && !seen.owned_inline_policies().contains(p.as_str())
        }) {
            return Err(PlanError::ForeignInlinePolicy {
                role: name,
                policy: policy.clone(),
            });
        }
        notes.push(Note {
            subject: name.clone(),
            message: format!(
                "adopting role {name}, which already grants {}: irsa adds this cluster's trust statements and what the file lists, and keeps the rest",
                super::describe_grants(&attached, &inline, seen.permissions_boundary.as_deref())
            ),
        });
    }
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

pub(super) fn ownership_tags<'a>(
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

pub(super) fn lint_before_write(role: &str, document: &str) -> Result<(), PlanError> {
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
pub(super) fn merge_trust_policy(
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
pub(super) fn same_meaning(a: &[Value], b: &[Value]) -> bool {
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
