//! `irsa::setup` against moto's S3, IAM and STS through the real SDKs, behind a proxy that
//! counts every call and can interrupt an apply at any mutation.
//!
//! Where moto differs from AWS (seen against moto 5.2.5; its `moto_server/werkzeug_app.py`
//! routes the unsigned discovery path), the test says so:
//! - an unsigned GET of a path ending in `/.well-known/openid-configuration` is routed to
//!   moto's Cognito, so the anonymous check of the discovery document fails on moto only;
//! - `AddClientIDToOpenIDConnectProvider` and `RemoveClientIDFromOpenIDConnectProvider` are
//!   not implemented (HTML 500), so a removed client ID is planned but cannot be re-added;
//! - Block Public Access and object ownership are stored, not enforced.

use crate::helpers::aws_proxy;
use crate::helpers::moto;

use std::path::Path;
use std::time::Instant;

use aws_proxy::Proxy;
use irsa::setup::{Aws, Change, Desired, PlanOptions, SetupError, SetupFile};
use serde_json::{Value, json};

const BUCKET: &str = "my-irsa-bucket";
const PROVIDER: &str =
    "arn:aws:iam::123456789012:oidc-provider/my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod";

struct World {
    moto: moto::Moto,
    proxy: Proxy,
    config: aws_types::SdkConfig,
    dir: tempfile::TempDir,
}

async fn world() -> World {
    let moto = moto::moto();
    let proxy = Proxy::start(&moto.url).await;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .region(aws_types::region::Region::new("us-east-1"))
        .endpoint_url(&proxy.url)
        .load()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/keys");
    std::fs::copy(
        keys.join("ecdsa-p384-public.pem"),
        dir.path().join("sa.pub"),
    )
    .unwrap();
    std::fs::copy(
        keys.join("rsa-public.pkcs1.pem"),
        dir.path().join("sa-next.pub"),
    )
    .unwrap();
    World {
        moto,
        proxy,
        config,
        dir,
    }
}

impl World {
    fn aws(&self) -> Aws {
        Aws::new(&self.config, "eu-west-1")
            .unwrap()
            .path_style(&self.config, "eu-west-1")
            .public_base(&self.moto.url)
    }

    fn file(&self, roles: &str) -> SetupFile {
        self.file_with("", roles)
    }

    /// A setup file with `cluster` lines added to its cluster.
    fn file_with(&self, cluster: &str, roles: &str) -> SetupFile {
        self.file_with_s3("", cluster, roles)
    }

    /// A setup file with `s3` members added to its bucket and `cluster` lines to its cluster.
    fn file_with_s3(&self, s3: &str, cluster: &str, roles: &str) -> SetupFile {
        let s3 = if s3.is_empty() {
            String::new()
        } else {
            format!(", {s3}")
        };
        let text = format!(
            "cluster:\n  issuer: {{s3: {{bucket: {BUCKET}, region: eu-west-1, prefix: prod{s3}}}}}\n  keys: [sa.pub]\n{cluster}roles:\n{roles}"
        );
        SetupFile::parse(&text, self.dir.path()).unwrap()
    }

    async fn desired(&self, file: &SetupFile) -> Desired {
        let account = self.aws().account(file).await.unwrap();
        Desired::new(file, account).unwrap()
    }

    fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.config)
            .region(aws_types::region::Region::new("eu-west-1"))
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.config)
    }

    async fn bucket_policy(&self) -> Value {
        let out = self
            .s3()
            .get_bucket_policy()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
        serde_json::from_str(out.policy().unwrap()).unwrap()
    }

    /// Plans and applies `desired` from whatever exists now.
    async fn apply(&self, desired: &Desired) {
        let aws = self.aws();
        let (_, plan) = aws.plan(desired, PlanOptions::default()).await.unwrap();
        aws.apply(&plan.changes).await.unwrap();
    }

    async fn trust_policy(&self, role: &str) -> Value {
        let out = self.iam().get_role().role_name(role).send().await.unwrap();
        let raw = out
            .role()
            .unwrap()
            .assume_role_policy_document()
            .unwrap()
            .to_owned();
        let decoded = percent_encoding::percent_decode_str(&raw)
            .decode_utf8_lossy()
            .into_owned();
        serde_json::from_str(&decoded).unwrap()
    }
}

const ROLE: &str = "  - name: read-s3\n    service_accounts: [default:read-s3-hello]\n    managed_policies: [arn:aws:iam::123456789012:policy/read-hello]\n    inline_policies: {extra: {Version: '2012-10-17', Statement: [{Effect: Allow, Action: 's3:GetObject', Resource: '*'}]}}\n    max_session_duration: 7200\n";

/// The issuer bucket, made by hand before irsa runs (as someone else's bucket would be).
async fn existing_bucket(world: &World) -> aws_sdk_s3::Client {
    let s3 = world.s3();
    s3.create_bucket()
        .bucket(BUCKET)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3
}

async fn managed_policy(world: &World) {
    world
        .iam()
        .create_policy()
        .policy_name("read-hello")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_account_is_set_up_as_specified_and_a_second_run_changes_nothing() {
    let world = world().await;
    managed_policy(&world).await;
    let file = world.file(ROLE);
    let aws = world.aws();
    let desired = world.desired(&file).await;
    world.proxy.reset(None);
    let (_, plan) = aws.plan(&desired, PlanOptions::default()).await.unwrap();
    assert_eq!(
        world.proxy.mutations(),
        Vec::<String>::new(),
        "planning changes nothing"
    );
    let calls: Vec<&str> = plan.changes.iter().map(Change::call).collect();
    assert_eq!(
        calls,
        [
            "s3:CreateBucket",
            "s3:PutBucketOwnershipControls",
            "s3:PutPublicAccessBlock",
            "s3:PutBucketPolicy",
            "s3:PutObject",
            "s3:PutObject",
            "iam:CreateOpenIDConnectProvider",
            "iam:CreateRole",
            "iam:AttachRolePolicy",
            "iam:PutRolePolicy",
        ]
    );
    aws.apply(&plan.changes).await.unwrap();
    // The bucket irsa created carries its tag, so a later run may set its ownership.
    let tagging = world
        .s3()
        .get_bucket_tagging()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    assert!(
        tagging
            .tag_set()
            .iter()
            .any(|t| t.key() == "irsa/managed-by" && t.value() == "irsa")
    );
    let verification = aws.verify(&desired, PlanOptions::default()).await.unwrap();
    assert_eq!(verification.remaining, []);
    // moto routes unsigned `.../.well-known/openid-configuration` to its Cognito (404); on
    // AWS both documents are served by S3. The key set is checked byte for byte.
    assert!(
        verification.documents[0]
            .problem
            .as_deref()
            .unwrap()
            .contains("HTTP 404")
    );
    assert_eq!(verification.documents[1].problem, None);

    // Every object, policy, provider and role as specified, read with the SDKs.
    let s3 = world.s3();
    let [discovery, jwks] = desired.publishing().objects();
    for object in [discovery, jwks] {
        let out = s3
            .get_object()
            .bucket(BUCKET)
            .key(&object.key)
            .send()
            .await
            .unwrap();
        assert_eq!(out.content_type(), Some(object.content_type));
        assert_eq!(out.cache_control(), Some("public, max-age=3600"));
        assert_eq!(
            out.body.collect().await.unwrap().into_bytes(),
            object.body.as_bytes()
        );
    }
    let policy = world.bucket_policy().await;
    assert_eq!(
        policy["Statement"],
        json!([{
            "Sid": "IrsaOidcDiscovery", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": [
                "arn:aws:s3:::my-irsa-bucket/prod/.well-known/openid-configuration",
                "arn:aws:s3:::my-irsa-bucket/prod/openid/v1/jwks",
            ],
        }])
    );
    let pab = s3
        .get_public_access_block()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            pab.block_public_acls(),
            pab.ignore_public_acls(),
            pab.block_public_policy(),
            pab.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(false), Some(false))
    );
    let ownership = s3
        .get_bucket_ownership_controls()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ownership.ownership_controls().unwrap().rules()[0]
            .object_ownership()
            .as_str(),
        "BucketOwnerEnforced"
    );
    let provider = world
        .iam()
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(PROVIDER)
        .send()
        .await
        .unwrap();
    assert_eq!(provider.client_id_list(), ["sts.amazonaws.com"]);
    assert_eq!(provider.tags()[0].key(), "irsa/managed-by");
    let trust = world.trust_policy("read-s3").await;
    assert_eq!(trust["Statement"][0]["Principal"]["Federated"], PROVIDER);
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringEquals"],
        json!({
            "my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod:sub": "system:serviceaccount:default:read-s3-hello",
            "my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod:aud": "sts.amazonaws.com",
        })
    );
    let role = world
        .iam()
        .get_role()
        .role_name("read-s3")
        .send()
        .await
        .unwrap();
    assert_eq!(role.role().unwrap().max_session_duration(), Some(7200));
    let attached = world
        .iam()
        .list_attached_role_policies()
        .role_name("read-s3")
        .send()
        .await
        .unwrap();
    assert_eq!(
        attached.attached_policies()[0].policy_arn(),
        Some("arn:aws:iam::123456789012:policy/read-hello")
    );

    // The second run reads and plans nothing: zero mutating calls.
    world.proxy.reset(None);
    let (_, again) = aws.plan(&desired, PlanOptions::default()).await.unwrap();
    assert_eq!(again.changes, []);
    assert_eq!(world.proxy.mutations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_bucket_policy_and_trust_policy_statements_survive() {
    let world = world().await;
    managed_policy(&world).await;
    let s3 = existing_bucket(&world).await;
    let logs = json!({"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::my-irsa-bucket/logs/*"});
    s3.put_bucket_policy()
        .bucket(BUCKET)
        .policy(json!({"Version": "2012-10-17", "Statement": [logs]}).to_string())
        .send()
        .await
        .unwrap();
    let ec2 = json!({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"});
    let other_cluster = json!({"Sid": "OtherCluster", "Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.other.example"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {"oidc.other.example:aud": "sts.amazonaws.com", "oidc.other.example:sub": "system:serviceaccount:a:b"}}});
    let iam = world.iam();
    iam.create_role()
        .role_name("read-s3")
        .assume_role_policy_document(
            json!({"Version": "2012-10-17", "Statement": [ec2, other_cluster]}).to_string(),
        )
        .send()
        .await
        .unwrap();
    // What the role already grants, which irsa did not give it.
    iam.create_policy()
        .policy_name("admin")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let admin = "arn:aws:iam::123456789012:policy/admin";
    iam.attach_role_policy()
        .role_name("read-s3")
        .policy_arn(admin)
        .send()
        .await
        .unwrap();
    let deploy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]});
    iam.put_role_policy()
        .role_name("read-s3")
        .policy_name("deploy")
        .policy_document(deploy.to_string())
        .send()
        .await
        .unwrap();
    let aws = world.aws();

    // A role irsa did not create is not taken over: the plan fails and names what it grants.
    // Someone else's bucket: its ownership changes only because the file adopts it.
    let file = world.file_with_s3("adopt: true", "", ROLE);
    let desired = world.desired(&file).await;
    let refused = aws
        .plan(&desired, PlanOptions::default())
        .await
        .unwrap_err();
    let refused = irsa::ErrorChain(&refused).to_string();
    assert!(
        refused.contains("role read-s3 exists and irsa did not create it; it grants managed policies: arn:aws:iam::123456789012:policy/admin; inline policies: deploy; permissions boundary: none: set adopt: true"),
        "{refused}"
    );

    // Adopted: this cluster's statement and the file's grants are added, the rest is kept, and
    // a pruning run takes away none of what irsa did not give.
    let file = world.file_with_s3("adopt: true", "", &format!("{ROLE}    adopt: true\n"));
    let desired = world.desired(&file).await;
    let (_, plan) = aws.plan(&desired, PlanOptions::default()).await.unwrap();
    assert!(
        plan.notes
            .iter()
            .any(|n| n.message.starts_with("adopting role read-s3, which already grants managed policies: arn:aws:iam::123456789012:policy/admin; inline policies: deploy;")),
        "{:?}",
        plan.notes
    );
    world.apply(&desired).await;
    let (_, pruned) = aws
        .plan(&desired, PlanOptions::default().prune(true))
        .await
        .unwrap();
    aws.apply(&pruned.changes).await.unwrap();
    let attached = iam
        .list_attached_role_policies()
        .role_name("read-s3")
        .send()
        .await
        .unwrap();
    assert!(
        attached
            .attached_policies()
            .iter()
            .any(|p| p.policy_arn() == Some(admin))
    );
    let kept = iam
        .get_role_policy()
        .role_name("read-s3")
        .policy_name("deploy")
        .send()
        .await
        .unwrap();
    assert!(kept.policy_document().contains("ec2"));
    let policy = world.bucket_policy().await;
    assert_eq!(policy["Statement"][0], logs);
    assert_eq!(policy["Statement"][1]["Sid"], "IrsaOidcDiscovery");
    let trust = world.trust_policy("read-s3").await;
    let statements = trust["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 3);
    assert_eq!(statements[0], ec2);
    assert_eq!(statements[1], other_cluster);
    assert!(
        statements[2]["Sid"]
            .as_str()
            .unwrap()
            .starts_with(desired.sid_prefix())
    );
    // The attachment made now is recorded as irsa's; a second run is a no-op.
    let (_, again) = aws.plan(&desired, PlanOptions::default()).await.unwrap();
    assert_eq!(again.changes, []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_repaired() {
    let world = world().await;
    managed_policy(&world).await;
    let file = world.file(ROLE);
    let desired = world.desired(&file).await;
    world.apply(&desired).await;
    let aws = world.aws();

    // Someone edits the trust policy, deletes the key set, re-uploads the discovery document
    // without its content type, detaches the policy and turns BlockPublicPolicy back on.
    let s3 = world.s3();
    let iam = world.iam();
    let [discovery, jwks] = desired.publishing().objects();
    let edited = world
        .trust_policy("read-s3")
        .await
        .to_string()
        .replace("read-s3-hello", "intruder");
    iam.update_assume_role_policy()
        .role_name("read-s3")
        .policy_document(edited)
        .send()
        .await
        .unwrap();
    s3.delete_object()
        .bucket(BUCKET)
        .key(&jwks.key)
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(BUCKET)
        .key(&discovery.key)
        .body(discovery.body.clone().into_bytes().into())
        .send()
        .await
        .unwrap();
    iam.detach_role_policy()
        .role_name("read-s3")
        .policy_arn("arn:aws:iam::123456789012:policy/read-hello")
        .send()
        .await
        .unwrap();
    let blocked = aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(false)
        .build();
    s3.put_public_access_block()
        .bucket(BUCKET)
        .public_access_block_configuration(blocked)
        .send()
        .await
        .unwrap();

    let (_, plan) = aws.plan(&desired, PlanOptions::default()).await.unwrap();
    let summaries: Vec<String> = plan.changes.iter().map(Change::summary).collect();
    assert_eq!(
        summaries,
        [
            "set Block Public Access of my-irsa-bucket to BlockPublicAcls=true IgnorePublicAcls=true BlockPublicPolicy=false RestrictPublicBuckets=false (was BlockPublicAcls=true IgnorePublicAcls=true BlockPublicPolicy=true RestrictPublicBuckets=false): public ACLs stay blocked, a public bucket policy is allowed",
            // The Rust SDK sends application/octet-stream for a body without a content type.
            "upload prod/.well-known/openid-configuration: its Content-Type is application/octet-stream, not application/json",
            "upload prod/openid/v1/jwks: it is missing",
            "update the trust policy of read-s3: this cluster's statements differ (other statements kept)",
            "attach arn:aws:iam::123456789012:policy/read-hello to read-s3",
        ]
    );
    aws.apply(&plan.changes).await.unwrap();
    let (_, again) = aws.plan(&desired, PlanOptions::default()).await.unwrap();
    assert_eq!(again.changes, []);

    // A removed client ID (moto cannot remove one: the provider is recreated without it).
    iam.delete_open_id_connect_provider()
        .open_id_connect_provider_arn(PROVIDER)
        .send()
        .await
        .unwrap();
    iam.create_open_id_connect_provider()
        .url("https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod")
        .client_id_list("other-audience")
        .send()
        .await
        .unwrap();
    // Not created by irsa: adding an audience needs the file's word.
    let refused = aws
        .plan(&desired, PlanOptions::default())
        .await
        .unwrap_err();
    assert!(
        irsa::ErrorChain(&refused)
            .to_string()
            .contains("exists and irsa did not create it; it accepts other-audience and the file adds sts.amazonaws.com"),
        "{refused:?}"
    );
    let file = world.file_with("  adopt_provider: true\n", ROLE);
    let desired = world.desired(&file).await;
    let (_, plan) = aws.plan(&desired, PlanOptions::default()).await.unwrap();
    assert_eq!(
        plan.changes,
        [Change::AddClientId {
            provider: PROVIDER.into(),
            client_id: "sts.amazonaws.com".into()
        }]
    );
    // Not created by irsa (no tag): the other client ID is kept, and said so.
    assert!(plan.notes[0].message.contains("client ID other-audience is registered but not in the file; kept (irsa did not create this provider)"));
    // moto 5.2.5 does not implement AddClientIDToOpenIDConnectProvider (HTML 500); AWS does.
    let err = aws.apply(&plan.changes).await.unwrap_err();
    assert!(
        matches!(
            &err,
            SetupError::Aws {
                call: "iam:AddClientIDToOpenIDConnectProvider",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_interrupted_at_any_mutation_converges_on_the_next_run() {
    let world = world().await;
    // moto's new buckets have no ownership controls (AWS's are BucketOwnerEnforced from their
    // creation): a run stopped between creating and tagging the bucket leaves, on moto only, an
    // untagged bucket whose ownership would change, which the file must then adopt.
    let file = world.file_with_s3("adopt: true", "", ROLE);
    let desired = world.desired(&file).await;
    let aws = world.aws();
    let mut total = None;
    let mut step = 0;
    loop {
        assert_eq!(
            post(&format!("{}/moto-api/reset", world.moto.url)).await,
            200
        );
        managed_policy(&world).await;
        let (_, plan) = aws.plan(&desired, PlanOptions::default()).await.unwrap();
        // One mutation per change, and two for the bucket (created, then tagged as irsa's).
        let count = *total.get_or_insert(plan.changes.len() + 1);
        if step == count {
            break;
        }
        world.proxy.reset(Some(step));
        let err = aws.apply(&plan.changes).await.unwrap_err();
        assert!(
            matches!(&err, SetupError::Aws { code, .. } if code == "AccessDenied"),
            "step {step}: {err}"
        );
        world.proxy.reset(None);
        let (_, resumed) = aws.plan(&desired, PlanOptions::default()).await.unwrap();
        assert!(
            resumed.changes.len() <= count - step,
            "step {step}: {:?}",
            resumed.changes
        );
        aws.apply(&resumed.changes).await.unwrap();
        let (_, done) = aws.plan(&desired, PlanOptions::default()).await.unwrap();
        assert_eq!(done.changes, [], "step {step}");
        step += 1;
    }
    assert_eq!(step, 11);
}

/// An instant sleep that records what it was asked to wait.
#[derive(Debug, Clone, Default)]
struct Waits(std::sync::Arc<std::sync::Mutex<Vec<u64>>>);

impl aws_smithy_async::rt::sleep::AsyncSleep for Waits {
    fn sleep(&self, duration: std::time::Duration) -> aws_smithy_async::rt::sleep::Sleep {
        self.0.lock().unwrap().push(duration.as_millis() as u64);
        aws_smithy_async::rt::sleep::Sleep::new(std::future::ready(()))
    }
}

/// What IAM answers while a just-created provider has not reached every endpoint.
fn invalid_principal() -> String {
    format!("Invalid principal in policy: &quot;Federated&quot;:&quot;{PROVIDER}&quot;")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trust_policy_naming_a_provider_created_in_the_same_apply_waits_for_iam() {
    let world = world().await;
    managed_policy(&world).await;
    let file = world.file(ROLE);
    let desired = world.desired(&file).await;
    let waits = Waits::default();
    let aws = world.aws().sleep(waits.clone());
    let (_, plan) = aws.plan(&desired, PlanOptions::default()).await.unwrap();
    world.proxy.reset(None);
    world.proxy.lag(
        "iam:CreateRole",
        2,
        "MalformedPolicyDocument",
        &invalid_principal(),
    );
    aws.apply(&plan.changes).await.unwrap();
    let creates = world
        .proxy
        .calls()
        .iter()
        .filter(|c| c.name == "iam:CreateRole")
        .count();
    assert_eq!(creates, 3, "two refusals, then the role");
    // The provider's own wait found it readable at once; then two back-offs for the role.
    assert_eq!(*waits.0.lock().unwrap(), [250, 500]);
    let (_, again) = aws.plan(&desired, PlanOptions::default()).await.unwrap();
    assert_eq!(again.changes, []);

    // With the provider already there, the same answer is the policy's fault: no retry.
    let moved = world.file(&ROLE.replace("default:read-s3-hello", "default:other"));
    let moved = world.desired(&moved).await;
    let (_, plan) = aws.plan(&moved, PlanOptions::default()).await.unwrap();
    assert!(
        plan.changes
            .iter()
            .any(|c| matches!(c, Change::UpdateTrustPolicy { .. }))
    );
    world.proxy.reset(None);
    world.proxy.lag(
        "iam:UpdateAssumeRolePolicy",
        1,
        "MalformedPolicyDocument",
        &invalid_principal(),
    );
    let err = aws.apply(&plan.changes).await.unwrap_err();
    assert!(
        matches!(&err, SetupError::Aws { code, .. } if code == "MalformedPolicyDocument"),
        "{err}"
    );
    assert_eq!(world.proxy.mutations(), ["iam:UpdateAssumeRolePolicy"]);
    assert_eq!(*waits.0.lock().unwrap(), [250, 500], "no new wait");
}

/// POST with no body to moto's own API (its reset endpoint), with hyper.
async fn post(url: &str) -> u16 {
    use http_body_util::Empty;
    let client: hyper_util::client::legacy::Client<_, Empty<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let request = hyper::Request::post(url).body(Empty::new()).unwrap();
    client.request(request).await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_op_plan_for_fifty_roles_makes_two_reads_per_role_and_no_mutation() {
    let world = world().await;
    let roles: String = (0..50)
        .map(|i| format!("  - name: app-{i}\n    service_accounts: [apps:app-{i}]\n    managed_policies: [arn:aws:iam::123456789012:policy/read-hello]\n"))
        .collect();
    managed_policy(&world).await;
    let file = world.file(&roles);
    let desired = world.desired(&file).await;
    world.apply(&desired).await;
    let aws = world.aws();

    world.proxy.reset(None);
    let started = Instant::now();
    let (_, plan) = aws.plan(&desired, PlanOptions::default()).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(plan.changes, []);
    let calls = world.proxy.calls();
    assert!(calls.iter().all(|c| !c.mutating), "{calls:?}");
    let per_role = calls
        .iter()
        .filter(|c| c.name == "iam:GetRole" || c.name == "iam:ListAttachedRolePolicies")
        .count();
    assert_eq!(per_role, 100, "two reads per role");
    // HeadBucket, ownership, Block Public Access, policy, two objects, the provider.
    assert_eq!(
        calls.len(),
        100 + 8,
        "{:?}",
        calls.iter().map(|c| &c.name).collect::<Vec<_>>()
    );
    eprintln!(
        "no-op plan, 50 roles: {} calls ({} per role + 8), {elapsed:?} against moto",
        calls.len(),
        2
    );
}

/// us-east-1 takes no LocationConstraint (and refuses one); creating the bucket twice there
/// answers 200, which an interrupted-then-resumed apply meets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_us_east_1_bucket_is_created_without_a_location_constraint() {
    let world = world().await;
    let text = "cluster:\n  issuer: {s3: {bucket: irsa-use1, region: us-east-1}}\n  keys: [sa.pub]\nroles: []\n";
    let file = SetupFile::parse(text, world.dir.path()).unwrap();
    let desired = world.desired(&file).await;
    let aws = Aws::new(&world.config, "us-east-1")
        .unwrap()
        .path_style(&world.config, "us-east-1")
        .public_base(&world.moto.url);
    let (_, plan) = aws.plan(&desired, PlanOptions::default()).await.unwrap();
    assert_eq!(
        plan.changes[0],
        Change::CreateBucket {
            bucket: "irsa-use1".into(),
            region: "us-east-1".into()
        }
    );
    aws.apply(&plan.changes[..1]).await.unwrap();
    aws.apply(&plan.changes).await.unwrap();
    let head = world
        .s3()
        .head_bucket()
        .bucket("irsa-use1")
        .send()
        .await
        .unwrap();
    assert_eq!(head.bucket_region(), Some("us-east-1"));
    let (_, again) = aws.plan(&desired, PlanOptions::default()).await.unwrap();
    assert_eq!(again.changes, []);
}

/// An existing bucket whose policy holds an old public statement, kept inert by Block Public
/// Access: irsa refuses to relax Block Public Access and names the statement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_with_a_public_statement_is_not_opened() {
    let world = world().await;
    managed_policy(&world).await;
    let s3 = existing_bucket(&world).await;
    s3.put_public_access_block()
        .bucket(BUCKET)
        .public_access_block_configuration(
            aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let legacy = json!({"Sid": "Legacy", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::my-irsa-bucket/*"});
    s3.put_bucket_policy()
        .bucket(BUCKET)
        .policy(json!({"Version": "2012-10-17", "Statement": [legacy]}).to_string())
        .send()
        .await
        .unwrap();
    let file = world.file(ROLE);
    let desired = world.desired(&file).await;
    let refused = world
        .aws()
        .plan(&desired, PlanOptions::default())
        .await
        .unwrap_err();
    let refused = irsa::ErrorChain(&refused).to_string();
    assert!(
        refused.contains("bucket my-irsa-bucket: policy statement 0 (Legacy) is public to S3"),
        "{refused}"
    );
    // Nothing was changed: Block Public Access is still on.
    let pab = s3
        .get_public_access_block()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let config = pab.public_access_block_configuration().unwrap();
    assert_eq!(config.block_public_policy(), Some(true));
}
