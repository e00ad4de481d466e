//! The plan without a network: every resource's cases and a perfect in-memory executor that
//! proves convergence.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::*;
use crate::setup::file::SetupFile;
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
                tags: BTreeMap::from([(MANAGED_BY_TAG.to_owned(), MANAGED_BY_VALUE.to_owned())]),
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
                tags: BTreeMap::from([(MANAGED_BY_TAG.to_owned(), MANAGED_BY_VALUE.to_owned())]),
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
        Change::UpdateTrustPolicy { role: r, after, .. } => role(state, &r).trust_policy = after,
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
    drifted.documents[0].as_mut().unwrap().content_type = Some("binary/octet-stream".to_owned());
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

/// A file whose issuer differs from the published one (here by a trailing slash) would rewrite
/// the discovery document in place and break every token already issued: refused.
#[test]
fn a_published_issuer_is_never_rewritten() {
    let desired = desired("");
    let mut state = converge(&desired, &Observed::default());
    let discovery = state.documents[0].as_mut().unwrap();
    let mut document: Value = serde_json::from_slice(&discovery.body).unwrap();
    document["issuer"] = Value::from("https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod/");
    discovery.body = document.to_string().into_bytes();
    let err = plan(&desired, &state, PlanOptions::default()).unwrap_err();
    assert!(
        matches!(&err, PlanError::IssuerChange { published, wanted }
            if published == "https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod/"
                && wanted == "https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("(they differ by a trailing slash, which STS compares byte for byte)"),
        "{err}"
    );
}

/// A self-hosted issuer's documents are only read: another issuer there is no reason to stop.
#[test]
fn a_self_hosted_issuer_is_not_held_to_its_served_document() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/keys");
    let file = SetupFile::parse(
        "cluster:\n  issuer: {url: https://oidc.example.com/cluster}\n  keys: [ecdsa-p384-public.pem]\nroles:\n  - name: read-s3\n    service_accounts: [default:read-s3-hello]\n",
        &dir,
    )
    .unwrap();
    let desired = Desired::new(&file, "111122223333".parse().unwrap()).unwrap();
    let state = Observed {
        documents: [
            Some(ObservedObject {
                body: br#"{"issuer":"https://oidc.example.com/cluster/"}"#.to_vec(),
                ..ObservedObject::default()
            }),
            None,
        ],
        ..Observed::default()
    };
    assert!(plan(&desired, &state, PlanOptions::default()).is_ok());
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
fn a_role_irsa_did_not_create_is_refused_unless_adopted_and_then_kept() {
    let foreign = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
    let powerful = |state: &mut Observed| {
        state.roles.insert(
            "read-s3".into(),
            Some(ObservedRole {
                path: "/".into(),
                trust_policy: foreign.into(),
                max_session_duration: Some(3600),
                attached_policies: BTreeSet::from([
                    "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".to_owned(),
                    "arn:aws:iam::aws:policy/AdministratorAccess".to_owned(),
                ]),
                permissions_boundary: Some("arn:aws:iam::111122223333:policy/boundary".into()),
                inline_policy_names: BTreeSet::from(["deploy".to_owned()]),
                ..Default::default()
            }),
        );
    };
    // Not adopted: refused, naming everything the role grants.
    let desired = desired("");
    let mut state = converge(&desired, &Observed::default());
    powerful(&mut state);
    let refused = plan(&desired, &state, PlanOptions::default()).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "role read-s3 exists and irsa did not create it; it grants managed policies: arn:aws:iam::aws:policy/AdministratorAccess, arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess; inline policies: deploy; permissions boundary: arn:aws:iam::111122223333:policy/boundary: set adopt: true on its entry in the file to add this cluster's trust statements to it (everything it grants is kept), or name another role"
    );

    // Adopted: our statement, what the file adds, and nothing of the role's is replaced.
    let desired = super::tests::desired("    adopt: true\n");
    let plan = plan(&desired, &state, PlanOptions::default().prune(true)).unwrap();
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
    let Change::UpdateTrustPolicy { after, .. } = &plan.changes[0] else {
        unreachable!()
    };
    assert!(
        after.contains("ec2.amazonaws.com"),
        "the role's own statement is kept"
    );
    assert_eq!(plan.notes.len(), 1);
    assert!(
        plan.notes[0].message.starts_with("adopting role read-s3, which already grants managed policies: arn:aws:iam::aws:policy/AdministratorAccess, "),
        "{}",
        plan.notes[0].message
    );

    // An inline policy of the file's name that irsa did not write: refused, not overwritten.
    let mut taken = state.clone();
    role(&mut taken, "read-s3")
        .inline_policy_names
        .insert("extra".into());
    assert!(matches!(
        super::plan(&desired, &taken, PlanOptions::default()),
        Err(PlanError::ForeignInlinePolicy { policy, .. }) if policy == "extra"
    ));
}

#[test]
fn a_public_statement_that_block_public_access_keeps_inert_stops_the_plan() {
    use super::bucket::is_public;
    let public = [
        json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}),
        json!({"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111122223333:root", "*"]}, "Action": "s3:*", "Resource": "*"}),
        json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*", "Condition": {"StringLike": {"aws:SourceVpce": "vpce-*"}}}),
        json!({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:SourceAccount": "111122223333"}}}),
        json!({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"StringEqualsIfExists": {"aws:SourceAccount": "111122223333"}}}),
    ];
    let not_public = [
        json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}),
        json!({"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "*"}),
        json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}}),
        json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"AWS:PrincipalOrgID": ["o-abc123"]}}}),
    ];
    for statement in &public {
        assert!(is_public(statement), "{statement}");
    }
    for statement in &not_public {
        assert!(!is_public(statement), "{statement}");
    }

    // An existing bucket with Block Public Access on and an old public statement: refused,
    // naming it; once the statement is pinned, planned.
    let mut desired = desired("");
    let legacy = json!({"Sid": "Legacy", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::my-irsa-bucket/*"});
    let mut observed = Observed {
        bucket: Some(ObservedBucket {
            region: Some("eu-west-1".into()),
            public_access_block: Some(PublicAccessBlock {
                block_public_acls: true,
                ignore_public_acls: true,
                block_public_policy: true,
                restrict_public_buckets: true,
            }),
            policy: Some(json!({"Version": "2012-10-17", "Statement": [legacy]}).to_string()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let refused = plan(&desired, &observed, PlanOptions::default()).unwrap_err();
    assert!(
        refused
            .to_string()
            .starts_with("bucket my-irsa-bucket: policy statement 0 (Legacy) is public to S3 ({"),
        "{refused}"
    );
    let pinned = json!({"Sid": "Legacy", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::my-irsa-bucket/*", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}});
    observed.bucket.as_mut().unwrap().policy =
        Some(json!({"Version": "2012-10-17", "Statement": [pinned]}).to_string());
    // Not irsa's bucket, and its ownership would change: refused unless adopted.
    assert!(matches!(
        plan(&desired, &observed, PlanOptions::default()),
        Err(PlanError::BucketNotOwned {
            ownership: None,
            ..
        })
    ));
    desired.adopt_bucket = true;
    let adopted = plan(&desired, &observed, PlanOptions::default()).unwrap();
    assert_eq!(adopted.changes[0].call(), "s3:PutBucketOwnershipControls");
}

#[test]
fn a_provider_irsa_did_not_create_gains_no_client_id_unless_adopted() {
    let mut desired = desired("");
    let mut observed = converge(&desired, &Observed::default());
    observed.provider = Some(ObservedProvider {
        client_ids: vec!["vault".into()],
        tags: BTreeMap::new(),
    });
    let refused = plan(&desired, &observed, PlanOptions::default().prune(true)).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "the OIDC provider arn:aws:iam::111122223333:oidc-provider/my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod exists and irsa did not create it; it accepts vault and the file adds sts.amazonaws.com, which every role trusting it would then accept: set cluster.adopt_provider: true to add them, or add them by hand"
    );
    desired.adopt_provider = true;
    let adopted = plan(&desired, &observed, PlanOptions::default().prune(true)).unwrap();
    let calls: Vec<&str> = adopted.changes.iter().map(Change::call).collect();
    // Added, and the other cluster's audience is kept even with --prune.
    assert_eq!(calls, ["iam:AddClientIDToOpenIDConnectProvider"]);
}
